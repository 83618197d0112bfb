"""Reference models of the course, one builder per architecture, behind one registry.

::

    from cnnkit import models
    models.names()                          # ['alexnet', 'basenet', ...]
    models.info("basenet")                  # description, seed/exercise, default parameter count
    model = models.build("keras_cifar10_cnn", kernel_size=5)
    vgg = models.build("vgg19", up_to_block=2, include_top=False)   # seed 001, activity 1

Every builder is keyword-only with the same core arguments —
``input_shape``, ``num_classes`` (where there is a classifier), ``weights``
(``None``, ``"imagenet"`` where Keras publishes ImageNet weights, or a local
weights file) and ``name`` — and returns an uncompiled ``keras.Model``. The
builders use the Keras 3 API only, so they work with the TensorFlow and JAX
backends. Weights resolution (Keras cache, offline errors, mismatched files)
lives in :mod:`cnnkit.models._weights`.

=====================  ===========================================
name                   source
=====================  ===========================================
``keras_cifar10_cnn``  seed 000, ejercicio 2 (``kernel_size`` 3 or 5)
``vgg16_cifar``        seed 000, ejercicio 3a
``vgg16_features``     seed 000, ejercicios 3c, 4
``vgg19``              seed 001, parte 1
``alexnet``            seed 001, parte 2
``basenet``            seed 002, apartado 1
``resnet50_transfer``  seed 002, apartado 3
``tf_tutorial_cnn``    seed 003
``fashion_cnn``        seed 004
=====================  ===========================================

Their exact parameter counts are what the course's exercises ask students to work out, so
they are not written here (the package is installed by students): ``tests/test_models.py``
asserts each one, and ``cnnkit.params.layer_table(model)`` derives them from the formulas.
The grading sandbox hides this subpackage: a submission cannot answer with it.
"""
from __future__ import annotations

from ._registry import ModelInfo, build, info, names, register
from ._weights import (
    IMAGENET_FILES, WeightsError, WeightsMismatchError, WeightsNotFoundError,
    keras_cache_dir, load_weights_file,
)
# Importing the builder modules registers them.
from .alexnet import alexnet
from .course_cnns import basenet, fashion_cnn, keras_cifar10_cnn, tf_tutorial_cnn
from .resnet import RESNET50_TRANSFER_VARIANTS, resnet50_transfer, set_fine_tune, transfer_base
from .vgg import (
    VGG19_BLOCKS, VGG19_TOP, add_vgg19_block, add_vgg19_top, vgg16_cifar, vgg16_features, vgg19,
)

__all__ = [
    "ModelInfo", "build", "info", "names", "register",
    "IMAGENET_FILES", "WeightsError", "WeightsMismatchError", "WeightsNotFoundError",
    "keras_cache_dir", "load_weights_file",
    "alexnet", "basenet", "fashion_cnn", "keras_cifar10_cnn", "tf_tutorial_cnn",
    "RESNET50_TRANSFER_VARIANTS", "resnet50_transfer", "set_fine_tune", "transfer_base",
    "VGG19_BLOCKS", "VGG19_TOP", "add_vgg19_block", "add_vgg19_top",
    "vgg16_cifar", "vgg16_features", "vgg19",
]

"""VGG models: VGG-16 from ``keras.applications`` (seed 000) and VGG-19 block by block (seed 001).

Seed 001 (parte 1) builds VGG-19 step by step in a ``Sequential`` and checks
``output_shape`` and ``summary()`` after every step:

=========  =================================
activity   adds
=========  =================================
(text)     block 1: 2 × Conv 64 + pool
1          block 2: 2 × Conv 128 + pool
2          block 3: 4 × Conv 256 + pool
3          blocks 4, 5: 4 × Conv 512 + pool
4          Flatten
5          Dense 4096 relu ("capa 6")
6          Dense 4096 relu, Dense 1000 softmax ("capas 7 y 8")
=========  =================================

The shapes and parameter counts after each step are the activities' answers
(students install this package): ``tests/test_models.py`` asserts them.

:func:`add_vgg19_block` and :func:`add_vgg19_top` perform those steps on a
``Sequential``; :func:`vgg19` builds the model up to any of them
(``up_to_block=k``, ``include_top=False | "flatten" | "fc1" | "fc2" | True``).
Layer names follow ``keras.applications.VGG19`` (``block1_conv1`` …
``fc1``, ``fc2``, ``predictions``), and the weights come in the same order,
so Keras' ImageNet files load into these models.
"""
from __future__ import annotations

import keras
from keras import layers

from ._common import check_input_shape, check_num_classes, finish, pool
from ._registry import register
from ._weights import IMAGENET_FILES, resolve_weights

__all__ = [
    "VGG19_BLOCKS", "VGG19_TOP", "add_vgg19_block", "add_vgg19_top", "vgg19",
    "vgg16_cifar", "vgg16_features",
]

# (number of 3×3 convolutions, filters) of VGG-19's five blocks (configuration E).
VGG19_BLOCKS: list[tuple[int, int]] = [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)]
# The top, in order: Flatten (activity 4), fc1 = "capa 6" (activity 5),
# fc2 = "capa 7" and predictions = "capa 8" (activity 6).
VGG19_TOP: tuple[str, ...] = ("flatten", "fc1", "fc2", "predictions")
_FC_UNITS = 4096


def _last_layer_name(model: keras.Sequential) -> str | None:
    return model.layers[-1].name if model.layers else None


def add_vgg19_block(model: keras.Sequential, k: int, *,
                    input_shape: tuple[int, int, int] | None = None) -> keras.Sequential:
    """Append VGG-19 block ``k`` (1–5) to ``model``, as seed 001 does by hand.

    Block ``k`` is ``VGG19_BLOCKS[k-1][0]`` layers
    ``Conv2D(filters, (3, 3), strides=(1, 1), padding="same", activation="relu")``
    followed by ``MaxPooling2D((2, 2), strides=(2, 2))``: the convolutions keep
    the height and width, the pooling halves them (224 → 112 for block 1).

    Blocks must be added in order: block 1 to a model without layers (pass
    ``input_shape`` if the model has no ``keras.Input`` yet), block ``k`` to a
    model whose last layer is ``block{k-1}_pool``. Returns ``model``.

    Example (seed 001, activity 1)::

        model = keras.Sequential(name="vgg19")
        add_vgg19_block(model, 1, input_shape=(224, 224, 3))
        add_vgg19_block(model, 2)
        model.output_shape        # (None, 56, 56, 128)
    """
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(VGG19_BLOCKS):
        raise ValueError(f"VGG-19 has blocks 1 to {len(VGG19_BLOCKS)}, got k={k!r}")
    last = _last_layer_name(model)
    if k == 1:
        if last is not None:
            raise ValueError(f"block 1 starts the network; model {model.name!r} already has "
                             f"layers (last: {last!r})")
        if input_shape is not None:
            model.add(keras.Input(shape=tuple(input_shape), name="image"))
    else:
        if last != f"block{k - 1}_pool":
            raise ValueError(f"block {k} follows block {k - 1}: the model should end with "
                             f"'block{k - 1}_pool' but ends with {last!r}")
        if input_shape is not None:
            raise ValueError("input_shape only applies to block 1")
    convs, filters = VGG19_BLOCKS[k - 1]
    for i in range(1, convs + 1):
        model.add(layers.Conv2D(filters, (3, 3), strides=(1, 1), padding="same",
                                activation="relu", name=f"block{k}_conv{i}"))
    model.add(layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{k}_pool"))
    return model


def add_vgg19_top(model: keras.Sequential, *, up_to: str = "predictions",
                  num_classes: int = 1000) -> keras.Sequential:
    """Append VGG-19's top to ``model`` after block 5, up to and including layer ``up_to``.

    The top is ``Flatten`` (activity 4),
    ``fc1 = Dense(4096, relu)`` (activity 5), ``fc2 = Dense(4096, relu)`` and
    ``predictions = Dense(num_classes, softmax)`` (activity 6). Continues from
    wherever the model stops (after ``block5_pool``, ``flatten``, ``fc1`` or
    ``fc2``), so the activities can be done one call at a time. Returns ``model``.
    """
    if up_to not in VGG19_TOP:
        raise ValueError(f"up_to must be one of {VGG19_TOP}, got {up_to!r}")
    num_classes = check_num_classes(num_classes, builder="add_vgg19_top")
    last = _last_layer_name(model)
    stages = ("block5_pool", *VGG19_TOP)
    if last not in stages:
        raise ValueError(f"the top follows block 5: the model should end with 'block5_pool' "
                         f"or a top layer {VGG19_TOP}, but ends with {last!r}")
    start, stop = stages.index(last) + 1, stages.index(up_to) + 1
    if start > stop:
        raise ValueError(f"model {model.name!r} already goes beyond {up_to!r} (ends with {last!r})")
    makers = {
        "flatten": lambda: layers.Flatten(name="flatten"),
        "fc1": lambda: layers.Dense(_FC_UNITS, activation="relu", name="fc1"),
        "fc2": lambda: layers.Dense(_FC_UNITS, activation="relu", name="fc2"),
        "predictions": lambda: layers.Dense(num_classes, activation="softmax", name="predictions"),
    }
    for stage in stages[start:stop]:
        model.add(makers[stage]())
    return model


@register(
    description="VGG-19 (configuration E) as a Sequential built block by block, "
                "with optional partial builds (up_to_block, include_top) for each activity.",
    source="seed 001, parte 1 (actividades 1-6) and parte 2 (comparison, training)",
    input_shape=(224, 224, 3), num_classes=1000,
)
def vgg19(*, input_shape=(224, 224, 3), num_classes: int = 1000, weights=None,
          up_to_block: int = 5, include_top: bool | str = True,
          name: str = "vgg19") -> keras.Sequential:
    """VGG-19 (Simonyan & Zisserman, ICLR 2015, configuration E), built as seed 001 teaches.

    The output is ``(None, num_classes)`` softmax probabilities; the same weights
    layout as ``keras.applications.VGG19``. The shapes and counts along the way are
    seed 001's activities (asserted in ``tests/test_models.py``).

    Args:
        input_shape: ``(height, width, channels)``; at least 32 × 32 for 5 blocks.
        num_classes: units of ``predictions``.
        weights: ``None``, ``"imagenet"`` (needs ``up_to_block=5`` and
            ``include_top`` True or False; with the top also 224 × 224 × 3 and
            1000 classes; see :mod:`cnnkit.models._weights` for the offline
            behaviour) or the path of a weights file saved from a model built
            with the same arguments.
        up_to_block: build blocks 1 to ``up_to_block`` only (activities 1–3).
        include_top: ``True`` for the whole top, ``False`` for none, or the
            last top layer to include: ``"flatten"`` (activity 4), ``"fc1"``
            (activity 5), ``"fc2"``. Any top needs ``up_to_block=5``.
        name: model name.
    """
    builder = "vgg19"
    if (isinstance(up_to_block, bool) or not isinstance(up_to_block, int)
            or not 1 <= up_to_block <= len(VGG19_BLOCKS)):
        raise ValueError(f"{builder}: up_to_block must be 1 to {len(VGG19_BLOCKS)}, "
                         f"got {up_to_block!r}")
    if include_top is True:
        top_up_to = "predictions"
    elif include_top is False:
        top_up_to = None
    elif include_top in VGG19_TOP:
        top_up_to = include_top
    else:
        raise ValueError(f"{builder}: include_top must be True, False or one of {VGG19_TOP}, "
                         f"got {include_top!r}")
    if top_up_to is not None and up_to_block != len(VGG19_BLOCKS):
        raise ValueError(f"{builder}: the top sits on block 5; use include_top=False with "
                         f"up_to_block={up_to_block}")
    shape = check_input_shape(input_shape, builder=builder, steps=[pool()] * up_to_block)
    num_classes = check_num_classes(num_classes, builder=builder)

    requirement = None
    if up_to_block != 5 or include_top not in (True, False):
        requirement = ("ImageNet weights exist for the whole network (include_top=True) or its "
                       "convolutional base (include_top=False, up_to_block=5); build one of "
                       "those and cut it with keras.Model(model.inputs, "
                       "model.get_layer('block2_pool').output)")
    elif include_top and (shape != (224, 224, 3) or num_classes != 1000):
        requirement = ("ImageNet weights with the top need input_shape=(224, 224, 3) and "
                       "num_classes=1000; use include_top=False for other inputs or classes")
    elif shape[2] != 3:
        requirement = "ImageNet weights expect RGB input (3 channels)"
    path = resolve_weights(weights, model=builder, imagenet=IMAGENET_FILES[("vgg19", bool(top_up_to))],
                           imagenet_requirements=requirement)

    model = keras.Sequential(name=name)
    add_vgg19_block(model, 1, input_shape=shape)
    for k in range(2, up_to_block + 1):
        add_vgg19_block(model, k)
    if top_up_to is not None:
        add_vgg19_top(model, up_to=top_up_to, num_classes=num_classes)
    return finish(model, path, builder=builder)


@register(
    description="keras.applications.VGG16 with include_top=True, weights=None on 32x32x3 "
                "CIFAR-10 images, 10 classes.",
    source="seed 000, ejercicio 3a-3b (and 4b: trained VGG16 feature maps)",
    input_shape=(32, 32, 3), num_classes=10,
)
def vgg16_cifar(*, input_shape=(32, 32, 3), num_classes: int = 10, weights=None,
                name: str = "vgg16_cifar") -> keras.Model:
    """``keras.applications.VGG16(include_top=True, weights=None, input_shape=(32, 32, 3), classes=10)``.

    Seed 000 ejercicio 3a. 13 convolutions in 5 blocks (64, 128, 256, 512,
    512 filters) shrink 32 × 32 to 1 × 1 × 512; Flatten gives 512; then fc1
    and fc2 (4,096 each) and the softmax output ``(None, num_classes)``. Its
    parameter count is exercise 3a's answer (asserted in ``tests/test_models.py``):
    most of it in fc1 and fc2, whose inputs shrink with the 32 × 32 input.

    Args:
        input_shape: ``(height, width, channels)``, at least 32 × 32 × 3.
        num_classes: units of the output layer.
        weights: ``None`` or the path of a weights file saved from this model.
            ImageNet weights belong to the 1000-class top on 224 × 224 input;
            for CIFAR-10 use :func:`vgg16_features` with ``weights="imagenet"``
            (ejercicio 3c).
        name: model name.
    """
    builder = "vgg16_cifar"
    shape = check_input_shape(input_shape, builder=builder, steps=[pool()] * 5)
    num_classes = check_num_classes(num_classes, builder=builder)
    requirement = None
    if shape != (224, 224, 3) or num_classes != 1000:
        requirement = ("ImageNet weights belong to VGG16's 1000-class top on 224x224x3 input, "
                       "not to this CIFAR model; for transfer learning use "
                       "build('vgg16_features', weights='imagenet') (seed 000, ejercicio 3c)")
    path = resolve_weights(weights, model=builder, imagenet=IMAGENET_FILES[("vgg16", True)],
                           imagenet_requirements=requirement)
    model = keras.applications.VGG16(include_top=True, weights=None, input_tensor=None,
                                     input_shape=shape, classes=num_classes, name=name)
    return finish(model, path, builder=builder)


@register(
    description="keras.applications.VGG16 convolutional base (include_top=False) as a "
                "feature extractor, optionally with global pooling.",
    source="seed 000, ejercicios 3c (features + LinearSVC) and 4b-4c (feature maps)",
    input_shape=(32, 32, 3), num_classes=None,
)
def vgg16_features(*, weights=None, input_shape=(32, 32, 3), pooling: str | None = None,
                   name: str = "vgg16_features") -> keras.Model:
    """``keras.applications.VGG16(include_top=False, ...)``: the 13-convolution feature extractor.

    Output: ``(None, H/32, W/32, 512)`` with ``pooling=None`` — ``(None, 1, 1, 512)``
    for 32 × 32 CIFAR images, ``(None, 7, 7, 512)`` for 224 × 224 — or
    ``(None, 512)`` with ``pooling="avg"`` / ``"max"``. 14,714,688 parameters
    whatever the input size (convolution weights do not depend on it).

    Args:
        weights: ``None``, ``"imagenet"`` (the ``..._notop.h5`` file; needs 3
            channels — convert grey images to RGB first) or a weights file path.
        input_shape: ``(height, width, channels)``, at least 32 × 32.
        pooling: ``None``, ``"avg"`` or ``"max"`` (global pooling of the last feature map).
        name: model name.
    """
    builder = "vgg16_features"
    shape = check_input_shape(input_shape, builder=builder, steps=[pool()] * 5)
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{builder}: pooling must be None, 'avg' or 'max', got {pooling!r}")
    requirement = None if shape[2] == 3 else (
        "ImageNet weights expect RGB input (3 channels); repeat a grey channel three times first")
    path = resolve_weights(weights, model=builder, imagenet=IMAGENET_FILES[("vgg16", False)],
                           imagenet_requirements=requirement)
    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=shape,
                                     pooling=pooling, name=name)
    return finish(model, path, builder=builder)

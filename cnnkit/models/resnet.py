"""ResNet-50 transfer learning on Caltech-UCSD Birds (seed 002, apartado 3).

Seed 002 asks for three heads on a ResNet-50 trained on ImageNet, first with
the base frozen (feature extraction), then fine-tuning everything:

* 3.1.A ``"new_head"`` — remove the FC layers and the output, add new FC
  layer(s) and a new output; compared with
* 3.1.A ``"output_only"`` — only a new output layer after the global pooling;
* 3.1.B ``"no_pooling"`` — also remove the global average pooling and add new
  layers on the 7 × 7 × 2048 feature map;
* 3.2 ``fine_tune=True`` — the whole network trainable.
"""
from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

from ._common import check_input_shape, check_num_classes, finish
from ._registry import register
from ._weights import IMAGENET_FILES, resolve_weights

__all__ = ["RESNET50_TRANSFER_VARIANTS", "resnet50_transfer", "set_fine_tune", "transfer_base"]

RESNET50_TRANSFER_VARIANTS = ("new_head", "output_only", "no_pooling")
_DEFAULT_INPUT = (224, 224, 3)


def transfer_base(model: keras.Model) -> keras.Model:
    """The pretrained base inside a model from :func:`resnet50_transfer`.

    ``model.base_model`` when the model came from the builder; for a model
    reloaded from a ``.keras`` file (where that attribute is gone) the first
    nested model among its layers. Freeze or unfreeze it with
    ``transfer_base(model).trainable = False / True`` and compile again.
    """
    base = getattr(model, "base_model", None)
    if isinstance(base, keras.Model):
        return base
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ValueError(f"model {model.name!r} has no nested base model")


def set_fine_tune(model: keras.Model, fine_tune: bool, *, freeze_batchnorm: bool = True) -> None:
    """Freeze (``fine_tune=False``) or unfreeze (``True``) the base of a transfer model.

    When unfreezing, the base's ``BatchNormalization`` layers stay frozen
    unless ``freeze_batchnorm=False``. In Keras 3 a frozen BatchNormalization
    layer also runs in inference mode (moving statistics, no updates), which
    keeps the ImageNet statistics while the small dataset fine-tunes the
    convolutions — the Keras fine-tuning examples do the same. (Calling the
    base with ``training=False``, the Keras 2 recipe, does not help here:
    Keras 3 overrides it with ``fit``'s ``training=True``, keras-team/keras#20285.)

    Compile the model again after calling this.
    """
    base = transfer_base(model)
    base.trainable = bool(fine_tune)
    if fine_tune and freeze_batchnorm:
        for layer in _all_layers(base):
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False


def _all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


@register(
    description="ResNet-50 (include_top=False) base + a new classifier head for "
                "Caltech-UCSD Birds-200; variants new_head / output_only / no_pooling, "
                "frozen or fine-tuned.",
    source="seed 002, apartado 3 (3.1.A, 3.1.B transfer; 3.2 fine-tuning)",
    input_shape=_DEFAULT_INPUT, num_classes=200,
)
def resnet50_transfer(*, variant: str = "new_head", weights=None, num_classes: int = 200,
                      input_shape=None, fine_tune: bool = False,
                      head_units: Sequence[int] = (1024,), dropout: float = 0.5,
                      reduce_channels: int = 256, freeze_batchnorm: bool = True,
                      base: keras.Model | None = None, name: str | None = None) -> keras.Model:
    """A classifier on top of a ResNet-50 feature extractor (seed 002, apartado 3).

    The base is ``keras.applications.ResNet50(include_top=False)`` (named
    ``"resnet50"``; 23,587,712 parameters, of which 53,120 are BatchNorm
    moving statistics that are never trainable), or the model given as
    ``base=``. Heads, on the base output ``(None, 7, 7, 2048)`` for
    224 × 224 input:

    ``"new_head"``
        GlobalAveragePooling2D → for each ``u`` in ``head_units``:
        Dense(u, relu) · Dropout(dropout) → Dense(num_classes, softmax).
        With the defaults: 2,098,176 + 205,000 = 2,303,176 new parameters,
        25,890,888 in total.
    ``"output_only"``
        GlobalAveragePooling2D → Dense(num_classes, softmax) — ResNet-50's own
        top with a new output: 409,800 new parameters, 23,997,512 in total.
    ``"no_pooling"``
        Conv2D(reduce_channels, 1×1, relu) → Flatten → Dropout(dropout) →
        Dense(num_classes, softmax). Without global pooling the classifier
        sees *where* on the 7 × 7 grid each feature fires; the 1 × 1
        convolution first cuts 2048 channels to 256 so that the flattened
        12,544 features (instead of 100,352) keep the output layer at 2.5M
        parameters instead of 20M. 524,544 + 2,509,000 = 3,033,544 new
        parameters, 26,621,256 in total.

    Trainable parameters (defaults, 200 classes): ``fine_tune=False`` → only the
    head (2,303,176 / 409,800 / 3,033,544); ``fine_tune=True`` → everything but
    the base's 106,240 BatchNorm parameters, which stay frozen and in inference
    mode (see :func:`set_fine_tune`): 25,784,648 / 23,891,272 / 26,515,016.
    Output ``(None, num_classes)`` probabilities.

    Args:
        variant: ``"new_head"``, ``"output_only"`` or ``"no_pooling"``.
        weights: weights of the *base*: ``None``, ``"imagenet"`` (the
            ``resnet50_..._notop.h5`` file) or a file path (e.g. that same
            file copied by hand). To restore a whole trained transfer model use
            ``model.load_weights``.
        num_classes: units of the output layer (200 bird species).
        input_shape: ``(height, width, channels)``; default ``(224, 224, 3)``,
            or the base's own input shape when ``base=`` is given.
        fine_tune: ``False`` freezes the base (feature extraction),
            ``True`` makes the whole network trainable (apartado 3.2) except,
            by default, the base's BatchNormalization layers.
        freeze_batchnorm: with ``fine_tune=True``, keep the base's
            BatchNormalization layers frozen (default ``True``; ``False``
            trains literally everything; see :func:`set_fine_tune`).
        head_units: hidden Dense layers of ``"new_head"``.
        dropout: dropout rate before the output of ``"new_head"`` and
            ``"no_pooling"`` (unused by ``"output_only"``).
        reduce_channels: filters of the 1 × 1 convolution of ``"no_pooling"``.
        base: a ready Keras model to use instead of ResNet-50 (tests, smoke
            runs with a small self-trained base); it must output a 4-D feature map.
        name: model name (default ``"resnet50_<variant>"``).

    Returns:
        The uncompiled model; the base is ``model.base_model`` (also
        :func:`transfer_base`); switch between frozen and fine-tuned with
        :func:`set_fine_tune` and compile again.
    """
    builder = "resnet50_transfer"
    if variant not in RESNET50_TRANSFER_VARIANTS:
        raise ValueError(f"{builder}: variant must be one of {RESNET50_TRANSFER_VARIANTS}, "
                         f"got {variant!r}")
    num_classes = check_num_classes(num_classes, builder=builder)
    units = tuple(head_units)
    if variant == "new_head" and not units:
        raise ValueError(f"{builder}: 'new_head' needs at least one hidden layer in head_units; "
                         f"use variant='output_only' for none")
    for u in units:
        check_num_classes(u, builder=f"{builder} head_units")
    if not 0 <= dropout < 1:
        raise ValueError(f"{builder}: dropout must be in [0, 1), got {dropout!r}")

    if base is None:
        shape = check_input_shape(_DEFAULT_INPUT if input_shape is None else input_shape,
                                  builder=builder)
        requirement = None
        if shape[2] != 3 or min(shape[:2]) < 32:
            requirement = "ImageNet weights expect RGB input (3 channels) of at least 32 × 32"
        path = resolve_weights(weights, model=builder, imagenet=IMAGENET_FILES[("resnet50", False)],
                               imagenet_requirements=requirement)
        base = keras.applications.ResNet50(include_top=False, weights=None, input_shape=shape,
                                           name="resnet50")
        finish(base, path, builder=f"{builder} base (ResNet-50)")
    else:
        if not isinstance(base, keras.Model):
            raise TypeError(f"{builder}: base must be a keras.Model, got {type(base).__name__}")
        base_shape = tuple(base.input_shape[1:])
        shape = base_shape if input_shape is None else check_input_shape(input_shape, builder=builder)
        if isinstance(weights, str) and weights == "imagenet":
            raise ValueError(f"{builder}: weights='imagenet' is for the ResNet-50 base; "
                             f"load the weights into your own base= before passing it")
        path = resolve_weights(weights, model=builder, imagenet=None)
        finish(base, path, builder=f"{builder} base ({base.name})")
    if len(base.output_shape) != 4:
        raise ValueError(f"{builder}: the base must output a feature map (batch, height, width, "
                         f"channels), got {base.output_shape}; build it without pooling or top")

    inputs = keras.Input(shape=shape, name="image")
    features = base(inputs)
    if variant in ("new_head", "output_only"):
        x = layers.GlobalAveragePooling2D(name="avg_pool")(features)
        if variant == "new_head":
            for i, u in enumerate(units, start=1):
                x = layers.Dense(u, activation="relu", name=f"fc{i}")(x)
                x = layers.Dropout(dropout, name=f"dropout{i}")(x)
    else:
        x = layers.Conv2D(reduce_channels, (1, 1), activation="relu", name="reduce_conv")(features)
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name=name or f"resnet50_{variant}")

    # Keep a handle on the base so callers can freeze/unfreeze it; Keras tracks
    # it as the same layer object, so no weight is counted twice.
    model.base_model = base
    set_fine_tune(model, fine_tune, freeze_batchnorm=freeze_batchnorm)
    return model

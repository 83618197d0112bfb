"""AlexNet, single-tower, for seed 001's architecture comparison (parte 2)."""
from __future__ import annotations

import keras
from keras import layers

from ._common import check_input_shape, check_num_classes, conv, finish, pool
from ._registry import register
from ._weights import resolve_weights

__all__ = ["alexnet"]


@register(
    description="AlexNet (Krizhevsky et al. 2012), single-tower 96-256-384-384-256 variant "
                "on 227x227x3, no LRN; dropout 0.5 after fc6 and fc7.",
    source="seed 001, parte 2 (AlexNet vs VGG-19 vs ResNet-50; training on mini-ImageNet)",
    input_shape=(227, 227, 3), num_classes=1000,
)
def alexnet(*, input_shape=(227, 227, 3), num_classes: int = 1000, weights=None,
            dropout: float = 0.5, name: str = "alexnet") -> keras.Model:
    """AlexNet as one tower: A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet
    Classification with Deep Convolutional Neural Networks", NIPS 2012.

    Layers and shapes for 227 × 227 × 3 input (all activations ReLU)::

        conv1  Conv2D(96, 11×11, stride 4, valid)   → (55, 55, 96)       34,944
        pool1  MaxPooling2D(3, stride 2)             → (27, 27, 96)
        conv2  Conv2D(256, 5×5, same)                → (27, 27, 256)     614,656
        pool2  MaxPooling2D(3, stride 2)             → (13, 13, 256)
        conv3  Conv2D(384, 3×3, same)                → (13, 13, 384)     885,120
        conv4  Conv2D(384, 3×3, same)                → (13, 13, 384)   1,327,488
        conv5  Conv2D(256, 3×3, same)                → (13, 13, 256)     884,992
        pool5  MaxPooling2D(3, stride 2)             → (6, 6, 256)
        flatten                                      → 9,216
        fc6    Dense(4096, relu) · Dropout(0.5)      → 4,096          37,752,832
        fc7    Dense(4096, relu) · Dropout(0.5)      → 4,096          16,781,312
        fc8    Dense(num_classes, softmax)           → (None, 1000)    4,097,000

    62,378,344 parameters with 1000 classes.

    How it differs from the paper's network:

    * The original was split over two GPUs, each holding half of every
      layer's kernels; conv2, conv4 and conv5 only saw the feature maps on
      their own GPU, i.e. grouped convolutions with two groups. That network
      has 60,965,224 parameters (the paper's "60 million"; check with
      ``cnnkit.params.conv2d_params(256, 5, 96, groups=2)`` and friends); here
      every kernel sees all input channels, hence 62,378,344.
    * No Local Response Normalisation after conv1 and conv2 (Keras has no LRN
      layer; Simonyan & Zisserman 2015 later found it did not help on ILSVRC).
    * The paper's "224 × 224" input only works out with 227 × 227 (or padding)
      for an 11 × 11 stride-4 convolution to give 55 × 55; 227 is used here.

    Kept from the paper: the filter counts, kernel sizes and strides,
    overlapping 3/2 max pooling, dropout 0.5 in the first two fully connected
    layers. torchvision's AlexNet follows a different single-tower variant
    (64-192-384-256-256, 61,100,840 parameters; Krizhevsky 2014, "One weird
    trick ..."). No ImageNet weights are distributed for this model.

    Args:
        input_shape: ``(height, width, channels)``; at least 67 × 67.
        num_classes: units of fc8.
        weights: ``None`` or the path of a weights file saved from this model.
        dropout: dropout rate after fc6 and fc7.
        name: model name.
    """
    builder = "alexnet"
    shape = check_input_shape(input_shape, builder=builder, steps=[
        conv(11, stride=4), pool(3, 2), conv(5, padding="same"), pool(3, 2),
        conv(3, padding="same"), conv(3, padding="same"), conv(3, padding="same"), pool(3, 2)])
    num_classes = check_num_classes(num_classes, builder=builder)
    if not 0 <= dropout < 1:
        raise ValueError(f"{builder}: dropout must be in [0, 1), got {dropout!r}")
    path = resolve_weights(weights, model=builder, imagenet=None)
    model = keras.Sequential([
        keras.Input(shape=shape, name="image"),
        layers.Conv2D(96, (11, 11), strides=(4, 4), activation="relu", name="conv1"),
        layers.MaxPooling2D((3, 3), strides=(2, 2), name="pool1"),
        layers.Conv2D(256, (5, 5), padding="same", activation="relu", name="conv2"),
        layers.MaxPooling2D((3, 3), strides=(2, 2), name="pool2"),
        layers.Conv2D(384, (3, 3), padding="same", activation="relu", name="conv3"),
        layers.Conv2D(384, (3, 3), padding="same", activation="relu", name="conv4"),
        layers.Conv2D(256, (3, 3), padding="same", activation="relu", name="conv5"),
        layers.MaxPooling2D((3, 3), strides=(2, 2), name="pool5"),
        layers.Flatten(name="flatten"),
        layers.Dense(4096, activation="relu", name="fc6"),
        layers.Dropout(dropout, name="dropout6"),
        layers.Dense(4096, activation="relu", name="fc7"),
        layers.Dropout(dropout, name="dropout7"),
        layers.Dense(num_classes, activation="softmax", name="fc8"),
    ], name=name)
    return finish(model, path, builder=builder)

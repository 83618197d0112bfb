"""The small CNNs the course seeds write by hand.

Each builder reproduces its seed's layer sequence exactly (the autograder
compares student models against these layer by layer), with explicit layer
names so that summaries and feedback are stable. All return uncompiled
``keras.Sequential`` models that start with a ``keras.Input``.
"""
from __future__ import annotations

import keras
from keras import layers

from ._common import check_input_shape, check_num_classes, conv, finish, pool
from ._registry import register
from ._weights import resolve_weights

__all__ = ["keras_cifar10_cnn", "tf_tutorial_cnn", "basenet", "fashion_cnn"]


@register(
    description="The classic Keras cifar10_cnn example: two conv-conv-pool-dropout stages, "
                "Dense 512, softmax; separate Activation layers as in the original.",
    source="seed 000, ejercicios 2a-2e (3x3 vs 5x5 kernels) and 4a (feature maps)",
    input_shape=(32, 32, 3), num_classes=10,
)
def keras_cifar10_cnn(*, kernel_size: int = 3, input_shape=(32, 32, 3), num_classes: int = 10,
                      weights=None, name: str | None = None) -> keras.Model:
    """The Keras ``cifar10_cnn`` example (Keras 2 ``examples/cifar10_cnn.py``).

    Layers, with ``k = kernel_size``::

        Conv2D(32, k, same) · Activation(relu) · Conv2D(32, k) · Activation(relu)
        MaxPooling2D(2) · Dropout(0.25)
        Conv2D(64, k, same) · Activation(relu) · Conv2D(64, k) · Activation(relu)
        MaxPooling2D(2) · Dropout(0.25)
        Flatten · Dense(512) · Activation(relu) · Dropout(0.5)
        Dense(num_classes) · Activation(softmax)

    Shapes for 32 × 32 × 3 input: ``k=3``: 32 → 32 → 30 → 15 → 15 → 13 → 6,
    Flatten 2,304; ``k=5``: 32 → 32 → 28 → 14 → 14 → 10 → 5, Flatten 1,600.
    Output ``(None, num_classes)`` softmax probabilities.

    The 5 × 5 model has more parameters in its convolutions but fewer overall,
    because its smaller last feature map feeds fewer inputs to the 512-unit
    Dense layer (seed 000, 2e: the counts are the exercise's answer).

    Args:
        kernel_size: side ``m`` of every ``m × m`` convolution kernel (3 or 5 in the seed).
        input_shape: ``(height, width, channels)``.
        num_classes: units of the output layer.
        weights: ``None`` or the path of a weights file saved from this model.
        name: model name (default ``keras_cifar10_cnn_{k}x{k}``).
    """
    builder = "keras_cifar10_cnn"
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
        raise ValueError(f"{builder}: kernel_size must be a positive int, got {kernel_size!r}")
    shape = check_input_shape(input_shape, builder=builder, steps=[
        conv(kernel_size, padding="same"), conv(kernel_size), pool(),
        conv(kernel_size, padding="same"), conv(kernel_size), pool()])
    num_classes = check_num_classes(num_classes, builder=builder)
    k = (kernel_size, kernel_size)
    path = resolve_weights(weights, model=builder, imagenet=None)
    model = keras.Sequential([
        keras.Input(shape=shape, name="image"),
        layers.Conv2D(32, k, padding="same", name="conv1"),
        layers.Activation("relu", name="relu1"),
        layers.Conv2D(32, k, name="conv2"),
        layers.Activation("relu", name="relu2"),
        layers.MaxPooling2D(pool_size=(2, 2), name="pool1"),
        layers.Dropout(0.25, name="dropout1"),
        layers.Conv2D(64, k, padding="same", name="conv3"),
        layers.Activation("relu", name="relu3"),
        layers.Conv2D(64, k, name="conv4"),
        layers.Activation("relu", name="relu4"),
        layers.MaxPooling2D(pool_size=(2, 2), name="pool2"),
        layers.Dropout(0.25, name="dropout2"),
        layers.Flatten(name="flatten"),
        layers.Dense(512, name="fc1"),
        layers.Activation("relu", name="relu5"),
        layers.Dropout(0.5, name="dropout3"),
        layers.Dense(num_classes, name="fc2"),
        layers.Activation("softmax", name="softmax"),
    ], name=name or f"keras_cifar10_cnn_{kernel_size}x{kernel_size}")
    return finish(model, path, builder=builder)


@register(
    description="The TensorFlow 'Convolutional Neural Network' tutorial CNN: "
                "Conv32-Pool-Conv64-Pool-Conv64, Dense 64, 10-way softmax.",
    source="seed 003 (CIFAR-10 class model), with a correct 10-unit softmax output",
    input_shape=(32, 32, 3), num_classes=10,
)
def tf_tutorial_cnn(*, input_shape=(32, 32, 3), num_classes: int = 10, weights=None,
                    name: str = "tf_tutorial_cnn") -> keras.Model:
    """The TensorFlow CNN tutorial model that seed 003 starts from.

    Layers and shapes for 32 × 32 × 3 input::

        Conv2D(32, 3, relu)  → (30, 30, 32)      896
        MaxPooling2D(2)      → (15, 15, 32)
        Conv2D(64, 3, relu)  → (13, 13, 64)   18,496
        MaxPooling2D(2)      → (6, 6, 64)
        Conv2D(64, 3, relu)  → (4, 4, 64)     36,928
        Flatten              → 1024
        Dense(64, relu)      → 64             65,600
        Dense(10, softmax)   → 10                650

    122,570 parameters. Output ``(None, num_classes)`` probabilities. Seed
    003's submission replaced the output by ``Dense(20, sigmoid)`` trained with
    ``from_logits=True``; the reference keeps the tutorial's 10 classes and
    uses softmax so that the loss is plain (sparse) categorical cross-entropy.

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: units of the softmax output.
        weights: ``None`` or the path of a weights file saved from this model.
        name: model name.
    """
    builder = "tf_tutorial_cnn"
    shape = check_input_shape(input_shape, builder=builder,
                              steps=[conv(3), pool(), conv(3), pool(), conv(3)])
    num_classes = check_num_classes(num_classes, builder=builder)
    path = resolve_weights(weights, model=builder, imagenet=None)
    model = keras.Sequential([
        keras.Input(shape=shape, name="image"),
        layers.Conv2D(32, (3, 3), activation="relu", name="conv1"),
        layers.MaxPooling2D((2, 2), name="pool1"),
        layers.Conv2D(64, (3, 3), activation="relu", name="conv2"),
        layers.MaxPooling2D((2, 2), name="pool2"),
        layers.Conv2D(64, (3, 3), activation="relu", name="conv3"),
        layers.Flatten(name="flatten"),
        layers.Dense(64, activation="relu", name="fc1"),
        layers.Dense(num_classes, activation="softmax", name="predictions"),
    ], name=name)
    return finish(model, path, builder=builder)


@register(
    description="BaseNet: seed 002's reference table (conv 5x5 3->6, pool, conv 5x5 6->16, "
                "pool, Dense 50, Dense 25), separate ReLU layers as in the table.",
    source="seed 002, apartado 1 (BaseNet on 25 classes of CIFAR-100)",
    input_shape=(32, 32, 3), num_classes=25,
)
def basenet(*, input_shape=(32, 32, 3), num_classes: int = 25, weights=None,
            name: str = "basenet") -> keras.Model:
    """BaseNet exactly as seed 002's table lists it (one Keras layer per table row).

    ====  ============  ======  ==========  ===========  ==========
    No.   table type    kernel  in → out    channels     parameters
    ====  ============  ======  ==========  ===========  ==========
    1     Conv2D        5       32 → 28     3 → 6            456
    2     Relu                  28 → 28
    3     MaxPooling2D  2       28 → 14
    4     Conv2D        5       14 → 10     6 → 16         2,416
    5     Relu                  10 → 10
    6     MaxPooling2D  2       10 → 5
    \\     (Flatten)             5·5·16 = 400
    7     Linear                400 → 50                  20,050
    8     Relu                  50 → 50
    9     Linear                50 → 25                    1,275
    ====  ============  ======  ==========  ===========  ==========

    The table's layer 9 carries the
    softmax the seed's slides prescribe for the last layer ("una capa Dense
    con tantas neuronas como clases ... y una activación softmax"); the
    unnumbered Flatten is what turns 5 × 5 × 16 into the 400 inputs of
    layer 7. Output ``(None, num_classes)`` probabilities.

    Args:
        input_shape: ``(height, width, channels)``; 32 × 32 × 3 in the seed.
        num_classes: units of the output layer (25 CIFAR-100 classes in the seed).
        weights: ``None`` or the path of a weights file saved from this model.
        name: model name.
    """
    builder = "basenet"
    shape = check_input_shape(input_shape, builder=builder,
                              steps=[conv(5), pool(), conv(5), pool()])
    num_classes = check_num_classes(num_classes, builder=builder)
    path = resolve_weights(weights, model=builder, imagenet=None)
    model = keras.Sequential([
        keras.Input(shape=shape, name="image"),
        layers.Conv2D(6, (5, 5), name="conv1"),
        layers.Activation("relu", name="relu1"),
        layers.MaxPooling2D((2, 2), name="pool1"),
        layers.Conv2D(16, (5, 5), name="conv2"),
        layers.Activation("relu", name="relu2"),
        layers.MaxPooling2D((2, 2), name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(50, name="fc1"),
        layers.Activation("relu", name="relu3"),
        layers.Dense(num_classes, activation="softmax", name="predictions"),
    ], name=name)
    return finish(model, path, builder=builder)


@register(
    description="Seed 004's Fashion-MNIST CNN: Conv32 5x5, pool, Conv64 5x5, pool, "
                "Flatten, Dense 10 softmax.",
    source="seed 004 (Fashion-MNIST practice, 28x28x1)",
    input_shape=(28, 28, 1), num_classes=10,
)
def fashion_cnn(*, input_shape=(28, 28, 1), num_classes: int = 10, weights=None,
                name: str = "fashion_cnn") -> keras.Model:
    """Seed 004's CNN for 28 × 28 grey Fashion-MNIST images.

    Layers::

        Conv2D(32, 5, relu) → MaxPooling2D(2) → Conv2D(64, 5, relu) → MaxPooling2D(2)
        → Flatten → Dense(num_classes, softmax)

    Output ``(None, num_classes)`` probabilities. Its shapes and parameter
    counts are seed 004's exercise 1 (asserted in ``tests/test_models.py``); the
    seed's walk-through of the spatial sizes is
    ``cnnkit.params.conv_output_size`` / ``pool_output_size`` applied in turn.

    Args:
        input_shape: ``(height, width, channels)``; 28 × 28 × 1 in the seed.
        num_classes: units of the output layer.
        weights: ``None`` or the path of a weights file saved from this model.
        name: model name.
    """
    builder = "fashion_cnn"
    shape = check_input_shape(input_shape, builder=builder,
                              steps=[conv(5), pool(), conv(5), pool()])
    num_classes = check_num_classes(num_classes, builder=builder)
    path = resolve_weights(weights, model=builder, imagenet=None)
    model = keras.Sequential([
        keras.Input(shape=shape, name="image"),
        layers.Conv2D(32, (5, 5), activation="relu", name="conv1"),
        layers.MaxPooling2D((2, 2), name="pool1"),
        layers.Conv2D(64, (5, 5), activation="relu", name="conv2"),
        layers.MaxPooling2D((2, 2), name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(num_classes, activation="softmax", name="predictions"),
    ], name=name)
    return finish(model, path, builder=builder)

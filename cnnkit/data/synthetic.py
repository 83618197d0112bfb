"""Synthetic, learnable stand-ins for datasets a machine does not have.

The smoke profile uses them where no real sample can ship (CIFAR-100,
Fashion-MNIST): every class is a shape drawn in a colour (or, in greyscale, a
fill style) at a random position, size and slight rotation over a noisy
background. A small CNN separates them well above chance after an epoch or
two on a few hundred images, so training code is exercised for real, but
nobody can mistake them for the real data: ``is_stand_in`` is True and the
class names say what they are ("red circle", "outline triangle").
"""
from __future__ import annotations

import numpy as np

from ._dataset import Dataset

__all__ = ["shapes", "SHAPES", "COLOURS", "GREY_STYLES", "max_classes"]

SHAPES = ("circle", "square", "triangle", "diamond", "plus", "cross")
COLOURS = {
    "red": (220, 40, 40), "green": (40, 190, 60), "blue": (50, 90, 235),
    "yellow": (230, 215, 40), "magenta": (215, 50, 205), "cyan": (40, 205, 215),
}
# In greyscale a colour cannot tell classes apart; the fill style does.
GREY_STYLES = ("filled", "outline")


def _unit_polygon(shape: str) -> np.ndarray:
    """Corner points of ``shape`` centred on 0 with radius about 1, shape (k, 2)."""
    if shape == "circle":
        angles = np.linspace(0.0, 2 * np.pi, 32, endpoint=False)
        return np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if shape == "square":
        return np.array([(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)])
    if shape == "triangle":
        return np.array([(0.0, -1.0), (0.95, 0.75), (-0.95, 0.75)])
    if shape == "diamond":
        return np.array([(0.0, -1.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0)])
    arm = 0.3
    plus = np.array([(-arm, -1), (arm, -1), (arm, -arm), (1, -arm), (1, arm), (arm, arm),
                     (arm, 1), (-arm, 1), (-arm, arm), (-1, arm), (-1, -arm), (-arm, -arm)])
    if shape == "plus":
        return plus
    if shape == "cross":   # the plus turned by 45 degrees: an X
        c = np.cos(np.pi / 4)
        return plus @ np.array([[c, -c], [c, c]])
    raise ValueError(shape)


def max_classes(channels: int) -> int:
    """How many distinct classes :func:`shapes` can draw with this many channels."""
    return len(SHAPES) * (len(COLOURS) if channels == 3 else len(GREY_STYLES))


def _classes(num_classes: int, channels: int) -> list[tuple[str, str]]:
    """(shape, colour-or-style) of each class.

    Class ``i`` gets shape ``i % S`` and appearance ``(i % S + i // S) % A``:
    consecutive classes differ in shape *and* appearance, and the map is
    one-to-one for ``i < S * A``, so any prefix of classes is a fair task.
    """
    appearances = list(COLOURS) if channels == 3 else list(GREY_STYLES)
    n_shapes, n_looks = len(SHAPES), len(appearances)
    return [(SHAPES[i % n_shapes], appearances[(i % n_shapes + i // n_shapes) % n_looks])
            for i in range(num_classes)]


def _draw(rng: np.random.Generator, shape: str, look: str, height: int, width: int,
          channels: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    # Variation is kept moderate on purpose (shapes fill 60-90 % of the image,
    # the centre moves by up to half the free margin, +-8 degrees, mild noise):
    # a course-sized CNN reaches 40-80 % test accuracy in two epochs on a few
    # hundred images, so smoke runs show learning, not chance.
    size = min(height, width)
    radius = rng.uniform(0.3, 0.45) * size
    centre = (width / 2 + rng.uniform(-0.5, 0.5) * (width - 2 * radius),
              height / 2 + rng.uniform(-0.5, 0.5) * (height - 2 * radius))
    angle = np.deg2rad(rng.uniform(-8.0, 8.0))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = _unit_polygon(shape) @ rotation.T * radius + centre
    mask_image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask_image)
    corners = [tuple(p) for p in points]
    if look == "outline":
        draw.polygon(corners, outline=255, width=max(1, round(radius / 4)))
    else:
        draw.polygon(corners, fill=255)
    mask = np.asarray(mask_image, dtype=np.float32)[..., np.newaxis] / 255.0

    if channels == 3:
        background = rng.uniform(0, 90, size=3)
        colour = np.clip(np.array(COLOURS[look]) + rng.normal(0, 15, size=3), 0, 255)
    else:
        background = rng.uniform(0, 70, size=1)
        colour = rng.uniform(180, 255, size=1)
    noise = rng.normal(0.0, 8.0, size=(height, width, channels))
    image = background + noise + mask * (colour - background)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _split(seed: int, split_index: int, classes, per_class: int, height: int, width: int,
           channels: int):
    # One generator per split: the test images do not change when n_train does.
    rng = np.random.default_rng([seed, split_index])
    labels = np.repeat(np.arange(len(classes), dtype=np.int64), per_class)
    labels = labels[rng.permutation(len(labels))]    # interleave classes
    images = np.empty((len(labels), height, width, channels), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i] = _draw(rng, *classes[label], height, width, channels)
    return images, labels


def shapes(num_classes: int = 10, image_size=(32, 32), channels: int = 3,
           n_train_per_class: int = 50, n_test_per_class: int = 10, seed: int = 0) -> Dataset:
    """Coloured (or grey) shapes on noisy backgrounds: a learnable synthetic dataset.

    Parameters
    ----------
    num_classes : int
        Up to 36 with 3 channels (6 shapes × 6 colours), up to 12 with 1
        channel (6 shapes × filled/outline).
    image_size : int or (height, width)
    channels : {1, 3}
    n_train_per_class, n_test_per_class : int
        Images per class in each split (the classes are balanced).
    seed : int
        Same arguments, same images.

    Returns
    -------
    Dataset
        ``x_train`` (num_classes * n_train_per_class, height, width, channels)
        uint8, ``y_train`` int64, ``x_test`` (num_classes * n_test_per_class,
        height, width, channels) uint8, ``y_test`` int64, classes interleaved;
        ``class_names`` like "red circle" or "outline triangle";
        ``is_stand_in=True``.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if not 1 <= num_classes <= max_classes(channels):
        raise ValueError(f"shapes() draws 1..{max_classes(channels)} classes with "
                         f"{channels} channel(s); got num_classes={num_classes}")
    height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
    if min(height, width) < 8:
        raise ValueError(f"image_size must be at least 8×8 to draw shapes, got {image_size}")
    classes = _classes(num_classes, channels)
    x_train, y_train = _split(seed, 0, classes, n_train_per_class, height, width, channels)
    x_test, y_test = _split(seed, 1, classes, n_test_per_class, height, width, channels)
    kind = "colour" if channels == 3 else "fill style"
    return Dataset(
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        class_names=[f"{look} {shape}" for shape, look in classes],
        name="synthetic_shapes",
        source=(f"synthetic shapes (cnnkit.data.synthetic.shapes, seed={seed}): "
                f"{num_classes} classes of shape × {kind} on noisy backgrounds, "
                f"{height}×{width}×{channels}; not real images"),
        is_stand_in=True)

"""Synthetic, learnable stand-ins for datasets a machine does not have.

The smoke profile uses them where no real sample can ship (CIFAR-100,
Fashion-MNIST): every class is a shape drawn in a colour (or, in greyscale, a
fill style) at a random position, size and slight rotation over a noisy
background. A small CNN separates them well above chance after an epoch or
two on a few hundred images, so training code is exercised for real, but
nobody can mistake them for the real data: ``is_stand_in`` is True and the
class names say what they are, in the notebook's language ("círculo rojo",
"triángulo hueco"; "red circle", "outline triangle" in English).
"""
from __future__ import annotations

import numpy as np

from .. import messages
from ._dataset import Dataset

__all__ = ["shapes", "class_name", "SHAPES", "COLOURS", "GREY_STYLES", "max_classes"]

SHAPES = ("circle", "square", "triangle", "diamond", "plus", "cross")
COLOURS = {
    "red": (220, 40, 40), "green": (40, 190, 60), "blue": (50, 90, 235),
    "yellow": (230, 215, 40), "magenta": (215, 50, 205), "cyan": (40, 205, 215),
}
# In greyscale a colour cannot tell classes apart; the fill style does.
GREY_STYLES = ("filled", "outline")

# SHAPES, COLOURS and GREY_STYLES are identifiers (what _draw understands);
# what a student reads is rendered from the catalogue. Spanish adjectives
# agree with the noun's gender (círculo rojo, cruz roja), so each look has a
# masculine and a feminine form and each shape's template picks its own;
# English puts the adjective first and has one form.
_SHAPE_TEMPLATES = {
    "circle": ("círculo {look_m}", "{look} circle"),
    "square": ("cuadrado {look_m}", "{look} square"),
    "triangle": ("triángulo {look_m}", "{look} triangle"),
    "diamond": ("rombo {look_m}", "{look} diamond"),
    "plus": ("cruz {look_f}", "{look} plus"),
    "cross": ("aspa {look_f}", "{look} cross"),      # an X
}
_LOOK_WORDS = {   # identifier: (Spanish masculine, Spanish feminine, English)
    "red": ("rojo", "roja", "red"), "green": ("verde", "verde", "green"),
    "blue": ("azul", "azul", "blue"), "yellow": ("amarillo", "amarilla", "yellow"),
    "magenta": ("magenta", "magenta", "magenta"), "cyan": ("cian", "cian", "cyan"),
    "filled": ("relleno", "rellena", "filled"), "outline": ("hueco", "hueca", "outline"),
}
messages.register({f"synthetic.shape.{shape}": {"es": es, "en": en}
                   for shape, (es, en) in _SHAPE_TEMPLATES.items()})
messages.register({f"synthetic.look.{look}.{gender}": {"es": forms[k], "en": forms[2]}
                   for look, forms in _LOOK_WORDS.items() for k, gender in enumerate(("m", "f"))})
messages.register({
    "synthetic.kind_colour": {"es": "color", "en": "colour"},
    "synthetic.kind_style": {"es": "tipo de relleno", "en": "fill style"},
    "synthetic.source": {
        "es": "formas sintéticas (cnnkit.data.synthetic.shapes, seed={seed}): {num_classes} clases de "
              "forma × {kind} sobre fondos con ruido, {height}×{width}×{channels}; no son imágenes reales",
        "en": "synthetic shapes (cnnkit.data.synthetic.shapes, seed={seed}): {num_classes} classes of "
              "shape × {kind} on noisy backgrounds, {height}×{width}×{channels}; not real images",
    },
})


def class_name(shape: str, look: str, lang: str | None = None) -> str:
    """The name of the class drawn as ``shape`` in ``look``, in ``lang``.

    Parameters
    ----------
    shape : one of :data:`SHAPES`
    look : a key of :data:`COLOURS` or one of :data:`GREY_STYLES`
    lang : {"es", "en"}, optional
        Default :func:`cnnkit.messages.current_lang` (``$CNNKIT_LANG``, else Spanish).

    Returns
    -------
    str
        e.g. ``"cruz roja"`` (es) or ``"red plus"`` (en).
    """
    lang = messages.current_lang(lang)
    words = {f"look_{g}": messages.render(f"synthetic.look.{look}.{g}", lang) for g in ("m", "f")}
    return messages.render(f"synthetic.shape.{shape}", lang, look=words["look_m"], **words)


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
           n_train_per_class: int = 50, n_test_per_class: int = 10, seed: int = 0, *,
           lang: str | None = None) -> Dataset:
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
    lang : {"es", "en"}, optional
        Language of ``class_names`` and ``source``; default
        :func:`cnnkit.messages.current_lang`. The images do not depend on it.

    Returns
    -------
    Dataset
        ``x_train`` (num_classes * n_train_per_class, height, width, channels)
        uint8, ``y_train`` int64, ``x_test`` (num_classes * n_test_per_class,
        height, width, channels) uint8, ``y_test`` int64, classes interleaved;
        ``class_names`` like "círculo rojo" / "triángulo hueco" (es) or
        "red circle" / "outline triangle" (en), all distinct;
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
    lang = messages.current_lang(lang)
    kind = messages.render("synthetic.kind_colour" if channels == 3 else "synthetic.kind_style", lang)
    return Dataset(
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        class_names=[class_name(shape, look, lang) for shape, look in classes],
        name="synthetic_shapes",
        source=messages.render("synthetic.source", lang, seed=seed, num_classes=num_classes, kind=kind,
                               height=height, width=width, channels=channels),
        is_stand_in=True)

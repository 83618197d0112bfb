"""The :class:`Dataset` container, stratified subsets and train/validation splits."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["Dataset", "train_val_split", "stratified_indices"]


def _as_images(x, field_name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim != 4:
        raise ValueError(
            f"{field_name} must be a uint8 array of shape (n, height, width, channels); "
            f"got dtype {x.dtype} and shape {x.shape}")
    return x


def _as_labels(y, n_images: int, field_name: str) -> np.ndarray:
    # Keras' loaders return labels of shape (n, 1); one flat int64 vector is what
    # scikit-learn metrics and sparse categorical losses want, so normalise here.
    y = np.asarray(y)
    if y.size == 0:   # [] arrives as float64; an empty split has no labels to check
        y = np.zeros(0, dtype=np.int64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{field_name} must be a 1-D integer array; got dtype {y.dtype} "
                         f"and shape {y.shape}")
    if len(y) != n_images:
        raise ValueError(f"{field_name} has {len(y)} labels for {n_images} images")
    return y.astype(np.int64, copy=False)


@dataclass(eq=False)
class Dataset:
    """An image classification dataset held in memory.

    Attributes
    ----------
    x_train : ndarray of shape (n_train, height, width, channels), dtype uint8
        Training images, channels last (NHWC), pixel values 0-255.
    y_train : ndarray of shape (n_train,), dtype int64
        Training labels, integers in ``[0, num_classes)``.
    x_test : ndarray of shape (n_test, height, width, channels), dtype uint8
        Test images (``n_test`` may be 0 when the source has no test split).
    y_test : ndarray of shape (n_test,), dtype int64
        Test labels.
    class_names : list of str
        ``class_names[k]`` names label ``k``.
    name : str
        Short identifier, e.g. ``"cifar10"``.
    source : str
        The file or folder the data came from, or, for stand-ins, a plain
        description of what the data is and why it is used.
    is_stand_in : bool
        True when the data is *not* the dataset the exercise names (e.g.
        synthetic shapes standing in for CIFAR-100 in the smoke profile).
    x_val : ndarray of shape (n_val, height, width, channels), dtype uint8, or None
        Validation images; ``None`` unless a validation split was made.
    y_val : ndarray of shape (n_val,), dtype int64, or None
        Validation labels.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    name: str
    source: str
    is_stand_in: bool = False
    x_val: Optional[np.ndarray] = None
    y_val: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        self.class_names = [str(c) for c in self.class_names]
        self.x_train = _as_images(self.x_train, "x_train")
        self.x_test = _as_images(self.x_test, "x_test")
        self.y_train = _as_labels(self.y_train, len(self.x_train), "y_train")
        self.y_test = _as_labels(self.y_test, len(self.x_test), "y_test")
        if (self.x_val is None) != (self.y_val is None):
            raise ValueError("x_val and y_val must both be given or both be None")
        if self.x_val is not None:
            self.x_val = _as_images(self.x_val, "x_val")
            self.y_val = _as_labels(self.y_val, len(self.x_val), "y_val")
        shapes = {x.shape[1:] for x in (self.x_train, self.x_test, self.x_val)
                  if x is not None and len(x)}
        if len(shapes) > 1:
            raise ValueError(f"splits have different image shapes: {sorted(shapes)}")
        for field_name, y in (("y_train", self.y_train), ("y_test", self.y_test),
                              ("y_val", self.y_val)):
            if y is not None and len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(f"{field_name} has labels outside [0, {self.num_classes}) "
                                 f"for {self.num_classes} class names")

    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(class_names)``."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)`` of every image."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    def subset(self, n_train: int | None = None, n_test: int | None = None,
               n_val: int | None = None, seed: int = 0) -> "Dataset":
        """A smaller copy with the same class proportions in every split.

        Parameters
        ----------
        n_train, n_test, n_val : int or None
            How many images to keep in each split; ``None`` keeps the whole
            split, a number larger than the split keeps all of it.
        seed : int
            Same seed, same images.

        Returns
        -------
        Dataset
            Images keep their original relative order; each class keeps its
            share of the split, rounded by largest remainder (so a balanced
            split stays balanced to within one image per class).
        """
        rng = np.random.default_rng(seed)
        changes = {}
        for split, n in (("train", n_train), ("test", n_test), ("val", n_val)):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if n is None or x is None:
                continue
            keep = stratified_indices(y, n, rng)
            changes[f"x_{split}"], changes[f"y_{split}"] = x[keep], y[keep]
        return dataclasses.replace(self, **changes)

    def with_validation(self, fraction: float = 0.1, seed: int = 0) -> "Dataset":
        """Move a stratified ``fraction`` of the training images to a validation split.

        Returns
        -------
        Dataset
            ``x_train``/``y_train`` shrink by ``round(fraction * n_train)``
            images, which become ``x_val``/``y_val``. The test split is untouched
            (the seeds ask for validation taken from training data, never test).
        """
        if self.x_val is not None:
            raise ValueError(f"{self.name} already has a validation split "
                             f"({len(self.x_val)} images)")
        x_train, y_train, x_val, y_val = train_val_split(
            self.x_train, self.y_train, fraction=fraction, seed=seed)
        return dataclasses.replace(self, x_train=x_train, y_train=y_train,
                                   x_val=x_val, y_val=y_val)

    def __repr__(self) -> str:
        # Attribute names only, no prose: the same in a Spanish or an English
        # notebook (``source`` is already in the notebook's language).
        val = None if self.x_val is None else self.x_val.shape
        kind = ", is_stand_in=True" if self.is_stand_in else ""
        return (f"Dataset({self.name!r}{kind}, x_train={self.x_train.shape}, x_val={val}, "
                f"x_test={self.x_test.shape}, num_classes={self.num_classes}, "
                f"source={self.source!r})")


def stratified_indices(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` items of ``y`` with the class proportions of ``y``.

    Parameters
    ----------
    y : ndarray of shape (n_items,)
        Integer labels.
    n : int
        How many to pick (clipped to ``len(y)``).
    rng : numpy Generator
        Chooses which items of each class.

    Returns
    -------
    ndarray of shape (min(n, n_items),), dtype int64
        Sorted indices into ``y``.
    """
    y = np.asarray(y)
    if n < 0:
        raise ValueError(f"subset size must be >= 0, got {n}")
    if n >= len(y):
        return np.arange(len(y), dtype=np.int64)
    classes, counts = np.unique(y, return_counts=True)
    # Largest-remainder apportionment: exact total n, each class within one
    # image of its proportional share. Ties go to the larger class, then to
    # the smaller label, so the result does not depend on the rng.
    quota = counts * (n / len(y))
    take = np.floor(quota).astype(np.int64)
    remainder = quota - take
    order = np.lexsort((classes, -counts, -remainder))
    take[order[: n - int(take.sum())]] += 1
    chosen = [rng.choice(np.flatnonzero(y == c), size=k, replace=False)
              for c, k in zip(classes, take) if k]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def train_val_split(x: np.ndarray, y: np.ndarray, fraction: float = 0.1, seed: int = 0):
    """Stratified train/validation split (scikit-learn's ``train_test_split``).

    Parameters
    ----------
    x : ndarray of shape (n, ...)
        Images (any dtype; kept as is).
    y : ndarray of shape (n,) or (n, 1)
        Integer labels.
    fraction : float in (0, 1)
        Share of the images that go to validation.
    seed : int
        ``random_state``: same seed, same split.

    Returns
    -------
    x_train : ndarray of shape (n - n_val, ...)
    y_train : ndarray of shape (n - n_val,), dtype int64
    x_val : ndarray of shape (n_val, ...), ``n_val = ceil(fraction * n)``
    y_val : ndarray of shape (n_val,), dtype int64
    """
    from sklearn.model_selection import train_test_split

    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be between 0 and 1 (exclusive), got {fraction}")
    y = _as_labels(y, len(x), "y")
    n_val = int(np.ceil(fraction * len(y)))
    classes, counts = np.unique(y, return_counts=True)
    # scikit-learn refuses these cases with a terse message; say what to change.
    if counts.min() < 2 or n_val < len(classes) or len(y) - n_val < len(classes):
        raise ValueError(
            f"cannot make a stratified split of {len(y)} images in {len(classes)} classes "
            f"with fraction={fraction}: every class needs >= 2 images (smallest has "
            f"{counts.min()}) and both parts need >= {len(classes)} images (validation "
            f"would get {n_val}). Use more images or a different fraction.")
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=fraction, stratify=y, random_state=seed)
    return x_train, y_train, x_val, y_val

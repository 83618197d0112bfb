"""The small real CIFAR-10 sample shipped inside the package (see sample/README.md)."""
from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np

from .. import messages
from ._dataset import Dataset

__all__ = ["load_cifar10_sample", "SAMPLE_PATH", "SAMPLE_TRAIN_PER_CLASS",
           "SAMPLE_TEST_PER_CLASS", "sample_jpegs", "decode_jpegs"]

SAMPLE_PATH = Path(__file__).with_name("sample") / "cifar10_sample.npz"
SAMPLE_TRAIN_PER_CLASS = 100
SAMPLE_TEST_PER_CLASS = 20

messages.register({
    "data.sample_source": {
        "es": "muestra de CIFAR-10 incluida en cnnkit ({train} imágenes de entrenamiento y {test} de test "
              "por clase), {path}",
        "en": "CIFAR-10 sample shipped with cnnkit ({train} train + {test} test images per class), {path}",
    },
})


@functools.lru_cache(maxsize=1)
def _raw() -> dict[str, np.ndarray]:
    with np.load(SAMPLE_PATH, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def sample_jpegs(split: str) -> list[tuple[int, int, bytes]]:
    """The sample's original JPEG files of one split.

    Returns
    -------
    list of (label, file number, JPEG bytes)
        In the sample's order; the file number is ``NNNN`` of
        ``<split>/<class>/NNNN.jpg`` in the JPEG export it was cut from.
    """
    raw = _raw()
    blob = raw[f"{split}_jpeg"].tobytes()
    offsets = raw[f"{split}_offsets"]
    return [(int(label), int(number), blob[start:end]) for label, number, start, end
            in zip(raw[f"{split}_labels"], raw[f"{split}_numbers"], offsets[:-1], offsets[1:])]


def decode_jpegs(raw, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 32, 32, 3) uint8 and labels (n,) int64 of one split stored in the sample's format."""
    from PIL import Image

    blob = raw[f"{split}_jpeg"].tobytes()
    offsets = raw[f"{split}_offsets"]
    images = np.empty((len(offsets) - 1, 32, 32, 3), dtype=np.uint8)
    for i, (start, end) in enumerate(zip(offsets[:-1], offsets[1:])):
        images[i] = np.asarray(Image.open(io.BytesIO(blob[start:end])).convert("RGB"))
    return images, np.asarray(raw[f"{split}_labels"], dtype=np.int64)


@functools.lru_cache(maxsize=1)
def _decoded() -> dict[str, np.ndarray]:
    arrays = {}
    for split in ("train", "test"):
        images, labels = decode_jpegs(_raw(), split)
        images.flags.writeable = False   # the cached copy must never change
        arrays[f"x_{split}"], arrays[f"y_{split}"] = images, labels
    return arrays


def load_cifar10_sample(*, lang: str | None = None) -> Dataset:
    """A small real CIFAR-10 sample that ships with cnnkit: works offline, loads in ~0.1 s.

    1,000 training images (100 per class) and 200 test images (20 per class),
    drawn at random from the CIFAR-10 train and test splits (Krizhevsky, 2009)
    via a per-image JPEG export (quality about 75, so pixels differ slightly
    from the original release). Decoded once per process, then copied.

    Parameters
    ----------
    lang : {"es", "en"}, optional
        Language of ``source``; default :func:`cnnkit.messages.current_lang`.
        The class names are CIFAR-10's own labels in every language.

    Returns
    -------
    Dataset
        ``x_train`` (1000, 32, 32, 3) uint8, ``y_train`` (1000,) int64,
        ``x_test`` (200, 32, 32, 3) uint8, ``y_test`` (200,) int64, classes
        interleaved; ``class_names`` airplane ... truck (CIFAR-10's label order).
    """
    arrays = _decoded()
    return Dataset(
        # Copies: a notebook that edits its arrays in place must not change
        # what the next call returns.
        **{key: value.copy() for key, value in arrays.items()},
        class_names=[str(c) for c in _raw()["class_names"]],
        name="cifar10_sample",
        # Rendered per call, in the notebook's language (the arrays are what is cached).
        source=messages.render("data.sample_source", lang, train=SAMPLE_TRAIN_PER_CLASS,
                               test=SAMPLE_TEST_PER_CLASS, path=SAMPLE_PATH))

"""Fashion-MNIST from its four idx files (Xiao, Rasul & Vollgraf, 2017)."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from .. import messages
from ._dataset import Dataset
from ._locate import Wanted, find

__all__ = ["load_fashion_mnist", "FASHION_MNIST_CLASSES"]

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

_FILES = {
    "x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
}


def _idx_file(folder: Path, stem: str) -> Path | None:
    # The official files are gzipped; accept them unpacked too (some mirrors
    # and `gunzip`-happy users leave them that way).
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _usable(path: Path) -> bool:
    return path.is_dir() and all(_idx_file(path, stem) for stem in _FILES.values())


messages.register({
    "data.wanted_fashion_mnist": {
        "es": "una carpeta con los cuatro ficheros train-images-idx3-ubyte.gz, "
              "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz y "
              "t10k-labels-idx1-ubyte.gz (de https://github.com/zalandoresearch/fashion-mnist, 30 MiB)",
        "en": "a folder holding the four files train-images-idx3-ubyte.gz, "
              "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
              "t10k-labels-idx1-ubyte.gz (from https://github.com/zalandoresearch/fashion-mnist, 30 MiB)",
    },
})

FASHION_MNIST_WANTED = Wanted(
    title="Fashion-MNIST", loader="load_fashion_mnist", file_name="fashion-mnist/",
    description="data.wanted_fashion_mnist",
    # "fashion-mnist" is where keras.datasets.fashion_mnist caches them;
    # "FashionMNIST/raw" is torchvision's layout.
    candidates=("fashion-mnist", "fashion_mnist", "FashionMNIST/raw", "."),
    usable=_usable, keras_module="fashion_mnist")


def _read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Read one idx file: big-endian magic, one uint32 per dimension, then uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise ValueError(f"{path} is not an idx file of the expected kind "
                         f"(magic number {magic}, expected {expected_magic})")
    ndim = magic & 0xFF
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, holds {data.size} bytes")
    return data.reshape(shape)


def load_fashion_mnist(path=None) -> Dataset:
    """Fashion-MNIST: 70,000 28×28 greyscale images of Zalando articles, 10 classes.

    Parameters
    ----------
    path : str or Path, optional
        The folder with the four idx files (``.gz`` or unpacked), or a folder
        holding ``fashion-mnist/``. When omitted: ``$CNNKIT_DATA_DIR``, then the
        Keras cache (``datasets/fashion-mnist``), then a download with
        ``keras.datasets.fashion_mnist`` (not when ``$CNNKIT_OFFLINE`` is set).

    Returns
    -------
    Dataset
        ``x_train`` (60000, 28, 28, 1) uint8, ``y_train`` (60000,) int64,
        ``x_test`` (10000, 28, 28, 1) uint8, ``y_test`` (10000,) int64. The
        channel axis is added (Keras returns (n, 28, 28)) so that ``Conv2D``
        takes the images as they are. ``class_names``: "T-shirt/top" ... "Ankle boot".
    """
    folder = find(FASHION_MNIST_WANTED, path)
    arrays = {}
    for key, stem in _FILES.items():
        is_images = key.startswith("x")
        array = _read_idx(_idx_file(folder, stem), 2051 if is_images else 2049)
        arrays[key] = array[..., np.newaxis] if is_images else array
    return Dataset(**arrays, class_names=FASHION_MNIST_CLASSES,
                   name="fashion_mnist", source=str(folder))

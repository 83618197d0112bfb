"""CIFAR-10 and CIFAR-100 from their original "python version" files."""
from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from .. import messages
from ._dataset import Dataset
from ._locate import Wanted, find

__all__ = ["load_cifar10", "load_cifar100", "load_cifar100_subset", "CIFAR10_CLASSES"]

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]

# The batches are pickles. Unpickling runs whatever a file names, so only the
# globals a CIFAR batch needs are allowed: numpy array reconstruction (numpy 1
# and 2 spellings) and `_codecs.encode`, which Python 3 writes for bytes in
# protocol-2 pickles (e.g. files rebuilt from the JPEG export).
_ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
})


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name} from a CIFAR batch: the file is not an "
            "original CIFAR pickle (corrupted or tampered with)")


def _unpickle(raw: bytes) -> dict[str, object]:
    # encoding="bytes": the original batches were pickled by Python 2, whose
    # str keys/values must stay bytes (latin-1 would mangle the pixel arrays).
    batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in batch.items()}


def _read_members(location: Path, names: list[str]) -> dict[str, dict[str, object]]:
    """Unpickle the named batch files from an extracted folder or a tar(.gz) archive."""
    if location.is_dir():
        return {name: _unpickle((location / name).read_bytes()) for name in names}
    found: dict[str, dict[str, object]] = {}
    with tarfile.open(location) as archive:
        # One sequential pass: random access into a .tar.gz re-decompresses.
        for member in archive:
            base = member.name.rsplit("/", 1)[-1]
            if member.isfile() and base in names and base not in found:
                found[base] = _unpickle(archive.extractfile(member).read())
    missing = [n for n in names if n not in found]
    if missing:
        raise ValueError(f"{location} is not a complete CIFAR archive: missing {missing}")
    return found


def _images(batches: list[dict[str, object]]) -> np.ndarray:
    # Rows are 3072 bytes in plane order (1024 red, 1024 green, 1024 blue), as
    # the CIFAR page documents; transpose to channels-last like keras.datasets.
    rows = np.concatenate([np.asarray(b["data"], dtype=np.uint8) for b in batches])
    return np.ascontiguousarray(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _labels(batches: list[dict[str, object]], key: str) -> np.ndarray:
    return np.concatenate([np.asarray(b[key], dtype=np.int64) for b in batches])


def _names(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _has(*names: str):
    return lambda p: p.is_file() or (p.is_dir() and all((p / n).is_file() for n in names))


_CIFAR10_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]

messages.register({
    "data.wanted_cifar10": {
        "es": "cifar-10-python.tar.gz (la 'CIFAR-10 python version' de "
              "https://www.cs.toronto.edu/~kriz/cifar.html, 163 MiB) o la carpeta "
              "cifar-10-batches-py/ extraída de él",
        "en": "cifar-10-python.tar.gz (the 'CIFAR-10 python version' from "
              "https://www.cs.toronto.edu/~kriz/cifar.html, 163 MiB) or the folder "
              "cifar-10-batches-py/ extracted from it",
    },
    "data.wanted_cifar100": {
        "es": "cifar-100-python.tar.gz (la 'CIFAR-100 python version' de "
              "https://www.cs.toronto.edu/~kriz/cifar.html, 161 MiB) o la carpeta "
              "cifar-100-python/ extraída de él (ficheros train, test, meta)",
        "en": "cifar-100-python.tar.gz (the 'CIFAR-100 python version' from "
              "https://www.cs.toronto.edu/~kriz/cifar.html, 161 MiB) or the folder "
              "cifar-100-python/ extracted from it (files train, test, meta)",
    },
})

CIFAR10_WANTED = Wanted(
    title="CIFAR-10", loader="load_cifar10", file_name="cifar-10-python.tar.gz",
    description="data.wanted_cifar10",
    # Extracted folders first (no gunzip), then archives. Names: ours, Keras 3
    # (get_file "…-target" + "_archive"), Keras 2 / tf.keras ("…batches-py.tar.gz").
    candidates=("cifar-10-batches-py", "cifar-10-batches-py-target/cifar-10-batches-py",
                "cifar-10-python.tar.gz", "cifar-10-batches-py-target_archive",
                "cifar-10-batches-py.tar.gz"),
    usable=_has(*_CIFAR10_BATCHES, "test_batch"),
    keras_module="cifar10",
)


def load_cifar10(path=None) -> Dataset:
    """CIFAR-10: 60,000 32×32 colour images in 10 classes (Krizhevsky, 2009).

    Parameters
    ----------
    path : str or Path, optional
        ``cifar-10-python.tar.gz``, the extracted ``cifar-10-batches-py/``
        folder, or a folder holding either. When omitted: ``$CNNKIT_DATA_DIR``,
        then the Keras cache, then a download with ``keras.datasets.cifar10``
        (not when ``$CNNKIT_OFFLINE`` is set).

    Returns
    -------
    Dataset
        ``x_train`` (50000, 32, 32, 3) uint8, ``y_train`` (50000,) int64,
        ``x_test`` (10000, 32, 32, 3) uint8, ``y_test`` (10000,) int64, in the
        order of ``keras.datasets.cifar10.load_data()`` (batches 1-5, then the
        test batch); labels are flat, where Keras returns shape (n, 1).
        ``class_names`` come from ``batches.meta`` (airplane ... truck).

    Raises
    ------
    DatasetNotFoundError
        When the files are not found and cannot be downloaded.
    """
    location = find(CIFAR10_WANTED, path)
    batches = _read_members(location, _CIFAR10_BATCHES + ["test_batch", "batches.meta"])
    train = [batches[name] for name in _CIFAR10_BATCHES]
    test = [batches["test_batch"]]
    return Dataset(
        x_train=_images(train), y_train=_labels(train, "labels"),
        x_test=_images(test), y_test=_labels(test, "labels"),
        class_names=_names(batches["batches.meta"]["label_names"]),
        name="cifar10", source=str(location))


def _cifar100_wanted(loader: str, loader_args: str = "") -> Wanted:
    return Wanted(
        title="CIFAR-100", loader=loader, file_name="cifar-100-python.tar.gz",
        description="data.wanted_cifar100",
        candidates=("cifar-100-python", "cifar-100-python-target/cifar-100-python",
                    "cifar-100-python.tar.gz", "cifar-100-python-target_archive"),
        usable=_has("train", "test", "meta"),
        keras_module="cifar100", loader_args=loader_args)


def _load_cifar100(path, label_mode: str, wanted: Wanted) -> Dataset:
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    location = find(wanted, path)
    parts = _read_members(location, ["train", "test", "meta"])
    key = f"{label_mode}_labels"
    return Dataset(
        x_train=_images([parts["train"]]), y_train=_labels([parts["train"]], key),
        x_test=_images([parts["test"]]), y_test=_labels([parts["test"]], key),
        class_names=_names(parts["meta"][f"{label_mode}_label_names"]),
        name="cifar100" if label_mode == "fine" else "cifar100_coarse",
        source=str(location))


def load_cifar100(path=None, label_mode: str = "fine") -> Dataset:
    """CIFAR-100: 60,000 32×32 colour images, 100 fine / 20 coarse classes.

    Parameters
    ----------
    path : str or Path, optional
        ``cifar-100-python.tar.gz``, the extracted ``cifar-100-python/``
        folder, or a folder holding either; searched for like
        :func:`load_cifar10` when omitted.
    label_mode : {"fine", "coarse"}
        100 fine classes or 20 superclasses, as in ``keras.datasets.cifar100``.

    Returns
    -------
    Dataset
        ``x_train`` (50000, 32, 32, 3) uint8, ``y_train`` (50000,) int64,
        ``x_test`` (10000, 32, 32, 3) uint8, ``y_test`` (10000,) int64;
        ``class_names`` from ``meta`` (e.g. "apple", "aquarium_fish", ...).
    """
    return _load_cifar100(path, label_mode, _cifar100_wanted("load_cifar100"))


def load_cifar100_subset(path=None, num_classes: int = 25) -> Dataset:
    """The first ``num_classes`` fine classes of CIFAR-100 (seed 002, "BaseNet").

    Keeps the images whose fine label is below ``num_classes`` and keeps the
    labels as they are, exactly like the course's helper functions (which
    filter ``keras.datasets.cifar100`` with ``np.isin(y, np.arange(25))``).

    Returns
    -------
    Dataset
        For 25 classes: ``x_train`` (12500, 32, 32, 3) uint8, ``y_train``
        (12500,) int64 in 0-24, ``x_test`` (2500, 32, 32, 3), ``y_test`` (2500,);
        ``class_names`` = the first 25 fine names (apple ... cloud).
        Take the seed's 10 % validation with ``.with_validation(0.1)``.
    """
    if not 1 <= num_classes <= 100:
        raise ValueError(f"num_classes must be in 1..100, got {num_classes}")
    full = _load_cifar100(path, "fine", _cifar100_wanted(
        "load_cifar100_subset", loader_args=f"num_classes={num_classes}"))
    keep_train = full.y_train < num_classes
    keep_test = full.y_test < num_classes
    return Dataset(
        x_train=full.x_train[keep_train], y_train=full.y_train[keep_train],
        x_test=full.x_test[keep_test], y_test=full.y_test[keep_test],
        class_names=full.class_names[:num_classes],
        name=f"cifar100_{num_classes}", source=full.source)

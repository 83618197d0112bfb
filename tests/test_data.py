"""cnnkit.data: every loader against tiny files in the dataset's original on-disk format.

Offline and fast: the files are written into tmp_path by the helpers below in
the formats the real datasets ship in (pickled CIFAR batches, idx.gz, CUB text
files, class folders), then loaded back and compared value by value.
"""
from __future__ import annotations

import dataclasses
import gzip
import io
import os
import pickle
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cnnkit.data as data
from cnnkit.data import (Dataset, DatasetNotFoundError, course_dataset, describe,
                         load_cifar10, load_cifar10_sample, load_cifar100,
                         load_cifar100_subset, load_cub200, load_fashion_mnist,
                         load_image_folder, synthetic, train_val_split)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """No test sees the developer's real data, Keras cache or cnnkit cache."""
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("CNNKIT_CACHE_DIR", str(tmp_path / "cnnkit_cache"))
    monkeypatch.setenv("CNNKIT_OFFLINE", "1")
    for name in ("CNNKIT_DATA_DIR", "CNNKIT_IMAGE_FOLDER", "CNNKIT_CUB_DIR"):
        monkeypatch.delenv(name, raising=False)
    return keras_home


# --------------------------------------------------------------------------- writers

def _pixels(n: int, offset: int) -> np.ndarray:
    """n distinct images, as CIFAR rows (n, 3072) in red/green/blue plane order."""
    rng = np.random.default_rng(offset)
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)


def _as_nhwc(rows: np.ndarray) -> np.ndarray:
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _py2_style_pickle(obj) -> bytes:
    # The original batches were written by Python 2: keys and strings are
    # bytes. Protocol 2 from Python 3 writes bytes via _codecs.encode, like the
    # JPEG-rebuilt archive; the loader must read both.
    return pickle.dumps(obj, protocol=2)


def write_cifar10(folder: Path, *, as_archive: bool, name="cifar-10-python.tar.gz",
                  inner="cifar-10-batches-py", per_batch=3, n_test=4):
    """A 5-batch CIFAR-10 in the original layout; returns (path, expected arrays)."""
    label_names = [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                   b"dog", b"frog", b"horse", b"ship", b"truck"]
    files = {}
    train_rows, train_labels = [], []
    for b in range(1, 6):
        rows = _pixels(per_batch, b)
        labels = [(b * 3 + i) % 10 for i in range(per_batch)]
        train_rows.append(rows)
        train_labels += labels
        files[f"data_batch_{b}"] = {b"batch_label": b"training batch", b"labels": labels,
                                    b"data": rows, b"filenames": [b"x.png"] * per_batch}
    test_rows, test_labels = _pixels(n_test, 99), [9, 0, 5, 1][:n_test]
    files["test_batch"] = {b"batch_label": b"testing batch", b"labels": test_labels,
                           b"data": test_rows, b"filenames": [b"t.png"] * n_test}
    files["batches.meta"] = {b"label_names": label_names, b"num_cases_per_batch": per_batch,
                             b"num_vis": 3072}
    expected = {"x_train": _as_nhwc(np.concatenate(train_rows)), "y_train": train_labels,
                "x_test": _as_nhwc(test_rows), "y_test": test_labels,
                "class_names": [n.decode() for n in label_names]}
    return _write_members(folder, files, as_archive, name, inner), expected


def _write_members(folder: Path, files: dict, as_archive: bool, name: str, inner: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if as_archive:
        path = folder / name
        with tarfile.open(path, "w:gz") as archive:
            for member, obj in files.items():
                raw = _py2_style_pickle(obj)
                info = tarfile.TarInfo(f"{inner}/{member}")
                info.size = len(raw)
                archive.addfile(info, io.BytesIO(raw))
        return path
    path = folder / inner
    path.mkdir(parents=True)
    for member, obj in files.items():
        (path / member).write_bytes(_py2_style_pickle(obj))
    return path


def write_cifar100(folder: Path, *, as_archive: bool, inner="cifar-100-python"):
    fine_names = [f"fine{k:02d}".encode() for k in range(100)]
    coarse_names = [f"coarse{k:02d}".encode() for k in range(20)]
    # Fine labels 0..99 spread over 40 train / 20 test images: eleven train
    # and six test images fall in the 25-class subset (labels 0-24).
    y_fine = {"train": [(7 * i) % 100 for i in range(40)], "test": [(13 * i) % 100 for i in range(20)]}
    rows = {"train": _pixels(40, 1), "test": _pixels(20, 2)}
    files = {split: {b"filenames": [b"f.png"] * len(y_fine[split]), b"batch_label": b"b",
                     b"fine_labels": y_fine[split],
                     b"coarse_labels": [y // 5 for y in y_fine[split]],
                     b"data": rows[split]}
             for split in ("train", "test")}
    files["meta"] = {b"fine_label_names": fine_names, b"coarse_label_names": coarse_names}
    path = _write_members(folder, files, as_archive, "cifar-100-python.tar.gz", inner)
    return path, rows, y_fine


def write_idx(path: Path, array: np.ndarray, magic: int, compress=True) -> None:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def write_fashion_mnist(folder: Path, compress=True):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    arrays = {"x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              "y_train": np.array([0, 9, 3, 3, 1, 7], np.uint8),
              "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
              "y_test": np.array([5, 2], np.uint8)}
    suffix = ".gz" if compress else ""
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", arrays["x_train"], 2051, compress)
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", arrays["y_train"], 2049, compress)
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", arrays["x_test"], 2051, compress)
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", arrays["y_test"], 2049, compress)
    return arrays


# Flat colours survive JPEG/PNG and resizing, so a pixel identifies its class.
CLASS_COLOURS = {"cat": (200, 30, 30), "dog": (30, 200, 30), "emu": (30, 30, 200)}


def write_image(path: Path, colour, size=(40, 30), fmt="PNG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt)


def write_class_tree(root: Path, counts: dict[str, int], fmt="PNG") -> None:
    for class_name, n in counts.items():
        for i in range(n):
            ext = "png" if fmt == "PNG" else "jpg"
            write_image(root / class_name / f"img_{i:03d}.{ext}", CLASS_COLOURS[class_name], fmt=fmt)


def write_cub(root: Path, per_class_split=((3, 2), (2, 2), (4, 1))):
    """CUB_200_2011 layout: 1-based ids, images/<NNN.Name>/<file>.jpg."""
    names = ["Black_footed_Albatross", "Laysan_Albatross", "Sooty_Albatross"]
    colours = [(250, 20, 20), (20, 250, 20), (20, 20, 250)]
    images, labels, splits = [], [], []
    image_id = 0
    for class_index, (n_train, n_test) in enumerate(per_class_split):
        folder = f"{class_index + 1:03d}.{names[class_index]}"
        for i in range(n_train + n_test):
            image_id += 1
            relative = f"{folder}/{names[class_index]}_{i:04d}_{image_id}.jpg"
            write_image(root / "images" / relative, colours[class_index], size=(50, 40),
                        fmt="JPEG")
            images.append(f"{image_id} {relative}")
            labels.append(f"{image_id} {class_index + 1}")
            splits.append(f"{image_id} {1 if i < n_train else 0}")
    (root / "images.txt").write_text("\n".join(images) + "\n")
    (root / "image_class_labels.txt").write_text("\n".join(labels) + "\n")
    (root / "train_test_split.txt").write_text("\n".join(splits) + "\n")
    (root / "classes.txt").write_text(
        "\n".join(f"{k + 1} {k + 1:03d}.{n}" for k, n in enumerate(names)) + "\n")
    return names


def dominant_class(image: np.ndarray) -> str:
    """Which CLASS_COLOURS entry an (h, w, 3) image is closest to."""
    mean = image.reshape(-1, image.shape[-1]).mean(axis=0)
    return min(CLASS_COLOURS, key=lambda c: np.abs(mean - CLASS_COLOURS[c]).sum())


def assert_matches(dataset: Dataset, expected: dict) -> None:
    assert dataset.x_train.dtype == np.uint8 and dataset.x_test.dtype == np.uint8
    assert dataset.y_train.dtype == np.int64 and dataset.y_train.ndim == 1
    np.testing.assert_array_equal(dataset.x_train, expected["x_train"])
    np.testing.assert_array_equal(dataset.x_test, expected["x_test"])
    assert dataset.y_train.tolist() == list(expected["y_train"])
    assert dataset.y_test.tolist() == list(expected["y_test"])
    assert dataset.class_names == expected["class_names"]


# --------------------------------------------------------------------------- CIFAR

@pytest.mark.parametrize("as_archive", [True, False], ids=["tar.gz", "extracted"])
def test_cifar10_reads_original_layout(tmp_path, as_archive):
    path, expected = write_cifar10(tmp_path / "d", as_archive=as_archive)
    dataset = load_cifar10(path)
    assert dataset.x_train.shape == (15, 32, 32, 3) and dataset.x_test.shape == (4, 32, 32, 3)
    assert_matches(dataset, expected)
    # channel order: the first 1024 bytes of a row are the red plane
    rows = _pixels(3, 1)
    assert dataset.x_train[0, 0, 1, 0] == rows[0, 1]            # red, row 0, column 1
    assert dataset.x_train[0, 1, 0, 2] == rows[0, 2048 + 32]    # blue, row 1, column 0
    assert dataset.name == "cifar10" and dataset.source == str(path)
    assert not dataset.is_stand_in and dataset.num_classes == 10


def test_cifar10_path_may_be_the_folder_holding_it(tmp_path):
    write_cifar10(tmp_path / "mydata", as_archive=True)
    assert load_cifar10(tmp_path / "mydata").source == str(tmp_path / "mydata" / "cifar-10-python.tar.gz")


def test_cifar10_found_in_data_dir_before_keras_cache(tmp_path, monkeypatch, isolated_dirs):
    keras_datasets = isolated_dirs / "datasets"
    # Keras 3's names: get_file(fname="cifar-10-batches-py-target", extract=True)
    write_cifar10(keras_datasets / "cifar-10-batches-py-target", as_archive=False)
    assert load_cifar10().source == str(
        keras_datasets / "cifar-10-batches-py-target" / "cifar-10-batches-py")
    data_dir = tmp_path / "data"
    write_cifar10(data_dir, as_archive=True)
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(data_dir))
    assert load_cifar10().source == str(data_dir / "cifar-10-python.tar.gz")


def test_cifar10_keras3_archive_name_in_cache(isolated_dirs):
    path, expected = write_cifar10(isolated_dirs / "datasets", as_archive=True,
                                   name="cifar-10-batches-py-target_archive")
    dataset = load_cifar10()
    assert dataset.source == str(path)
    assert_matches(dataset, expected)


def test_cifar_refuses_pickles_that_run_code(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()

    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (folder / name).write_bytes(pickle.dumps({b"data": Exploit()}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="system"):
        load_cifar10(folder)


@pytest.mark.parametrize("as_archive", [True, False], ids=["tar.gz", "extracted"])
def test_cifar100_fine_and_coarse(tmp_path, as_archive):
    path, rows, y_fine = write_cifar100(tmp_path, as_archive=as_archive)
    fine = load_cifar100(path)
    assert fine.x_train.shape == (40, 32, 32, 3) and fine.x_test.shape == (20, 32, 32, 3)
    np.testing.assert_array_equal(fine.x_train, _as_nhwc(rows["train"]))
    assert fine.y_train.tolist() == y_fine["train"] and fine.y_test.tolist() == y_fine["test"]
    assert fine.class_names[:2] == ["fine00", "fine01"] and fine.num_classes == 100
    coarse = load_cifar100(path, label_mode="coarse")
    assert coarse.y_train.tolist() == [y // 5 for y in y_fine["train"]]
    assert coarse.num_classes == 20 and coarse.class_names[-1] == "coarse19"
    with pytest.raises(ValueError, match="label_mode"):
        load_cifar100(path, label_mode="medium")


def test_cifar100_subset_keeps_first_25_fine_labels_unchanged(tmp_path):
    path, rows, y_fine = write_cifar100(tmp_path, as_archive=True)
    subset = load_cifar100_subset(path)
    keep_train = np.array(y_fine["train"]) < 25
    keep_test = np.array(y_fine["test"]) < 25
    assert subset.y_train.tolist() == np.array(y_fine["train"])[keep_train].tolist()
    assert subset.y_test.tolist() == np.array(y_fine["test"])[keep_test].tolist()
    np.testing.assert_array_equal(subset.x_train, _as_nhwc(rows["train"])[keep_train])
    assert len(subset.y_train) == 11 and len(subset.y_test) == 6
    assert subset.class_names == [f"fine{k:02d}" for k in range(25)]
    assert subset.name == "cifar100_25"


# --------------------------------------------------------------------------- Fashion-MNIST

@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw"])
def test_fashion_mnist_idx_files(tmp_path, compress):
    arrays = write_fashion_mnist(tmp_path / "fashion-mnist", compress=compress)
    dataset = load_fashion_mnist(tmp_path / "fashion-mnist")
    assert dataset.x_train.shape == (6, 28, 28, 1) and dataset.x_test.shape == (2, 28, 28, 1)
    np.testing.assert_array_equal(dataset.x_train[..., 0], arrays["x_train"])
    np.testing.assert_array_equal(dataset.x_test[..., 0], arrays["x_test"])
    assert dataset.y_train.tolist() == [0, 9, 3, 3, 1, 7] and dataset.y_test.tolist() == [5, 2]
    assert dataset.class_names[0] == "T-shirt/top" and dataset.class_names[9] == "Ankle boot"


def test_fashion_mnist_in_keras_cache_and_bad_magic(tmp_path, isolated_dirs):
    # keras.datasets.fashion_mnist caches under datasets/fashion-mnist/
    write_fashion_mnist(isolated_dirs / "datasets" / "fashion-mnist")
    assert load_fashion_mnist().x_train.shape == (6, 28, 28, 1)
    bad = tmp_path / "bad"
    write_fashion_mnist(bad)
    write_idx(bad / "train-images-idx3-ubyte.gz", np.zeros((6, 28, 28), np.uint8), 2049)
    with pytest.raises(ValueError, match="magic number 2049, expected 2051"):
        load_fashion_mnist(bad)


# --------------------------------------------------------------------------- not found

def test_offline_error_says_what_where_and_how(tmp_path, monkeypatch, isolated_dirs, english):
    empty_data = tmp_path / "empty_data"
    empty_data.mkdir()
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(empty_data))
    with pytest.raises(DatasetNotFoundError) as caught:
        load_cifar10()
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert "cifar-10-python.tar.gz" in message                          # what
    assert str(empty_data / "cifar-10-python.tar.gz") in message        # where: data dir
    assert str(isolated_dirs / "datasets" / "cifar-10-python.tar.gz") in message  # Keras cache
    assert 'load_cifar10(path="/path/to/cifar-10-python.tar.gz")' in message      # how
    assert "CNNKIT_OFFLINE" in message

    with pytest.raises(DatasetNotFoundError) as caught:
        load_fashion_mnist()
    assert "train-images-idx3-ubyte.gz" in str(caught.value)
    assert str(empty_data / "fashion-mnist/") in str(caught.value)
    with pytest.raises(DatasetNotFoundError, match=r"load_cifar100_subset\(path=.*num_classes=25"):
        load_cifar100_subset()


def test_offline_error_in_spanish(tmp_path, monkeypatch, isolated_dirs, spanish):
    empty_data = tmp_path / "empty_data"
    empty_data.mkdir()
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(empty_data))
    with pytest.raises(DatasetNotFoundError) as caught:
        load_cifar10()
    message = str(caught.value)
    assert message.startswith("No se encontró CIFAR-10. load_cifar10() necesita cifar-10-python.tar.gz")
    assert str(empty_data / "cifar-10-python.tar.gz") in message
    assert "(la caché de Keras, $KERAS_HOME/datasets)" in message
    assert 'load_cifar10(path="/ruta/a/cifar-10-python.tar.gz")' in message
    assert "No se descargó nada porque CNNKIT_OFFLINE está definida" in message
    with pytest.raises(DatasetNotFoundError, match="no existe"):
        load_cifar10(tmp_path / "nope.tar.gz")
    with pytest.raises(DatasetNotFoundError, match="No hay ninguna carpeta de imágenes"):
        load_image_folder(tmp_path / "missing", 8)
    with pytest.raises(DatasetNotFoundError, match="necesita en el perfil full"):
        course_dataset("cub200", "full")


def test_wrong_explicit_path_is_an_error_not_a_search(tmp_path, isolated_dirs, english):
    write_cifar10(isolated_dirs / "datasets", as_archive=True)   # would be found by a search
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_cifar10(tmp_path / "nope.tar.gz")


def test_download_failure_becomes_dataset_not_found(monkeypatch, english):
    import types
    import urllib.error

    def failing_load_data():
        raise urllib.error.URLError("no route to host")

    # A stand-in keras.datasets.cifar10 whose download fails like urllib does.
    fake = types.ModuleType("keras.datasets.cifar10")
    fake.load_data = failing_load_data
    monkeypatch.setitem(sys.modules, "keras.datasets.cifar10", fake)
    monkeypatch.setenv("CNNKIT_OFFLINE", "0")
    with pytest.raises(DatasetNotFoundError) as caught:
        load_cifar10()
    assert "keras.datasets.cifar10.load_data() failed" in str(caught.value)
    assert "no route to host" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_download_through_keras_is_read_from_the_keras_cache(monkeypatch, isolated_dirs):
    import types

    written = {}

    def downloading_load_data():
        # what keras.datasets.cifar10.load_data() leaves in Keras 3's cache
        written["path"], written["expected"] = write_cifar10(
            isolated_dirs / "datasets" / "cifar-10-batches-py-target", as_archive=False)

    fake = types.ModuleType("keras.datasets.cifar10")
    fake.load_data = downloading_load_data
    monkeypatch.setitem(sys.modules, "keras.datasets.cifar10", fake)
    monkeypatch.setenv("CNNKIT_OFFLINE", "0")
    dataset = load_cifar10()
    assert dataset.source == str(written["path"])
    assert_matches(dataset, written["expected"])


def test_importing_cnnkit_data_does_not_import_keras():
    code = ("import sys, cnnkit.data; "
            "bad = [m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --------------------------------------------------------------------------- image folders

def test_image_folder_flat_tree_with_val_and_test_fractions(tmp_path):
    write_class_tree(tmp_path / "pets", {"dog": 10, "cat": 10, "emu": 20})
    dataset = load_image_folder(tmp_path / "pets", (8, 12), val_fraction=0.2, test_fraction=0.1)
    assert dataset.class_names == ["cat", "dog", "emu"]                 # sorted
    assert dataset.x_train.shape[1:] == (8, 12, 3) and dataset.x_train.dtype == np.uint8
    assert len(dataset.y_test) == 4 and len(dataset.y_val) == 8 and len(dataset.y_train) == 28
    assert np.bincount(dataset.y_test).tolist() == [1, 1, 2]           # stratified
    assert np.bincount(dataset.y_val).tolist() == [2, 2, 4]
    for x, y in ((dataset.x_train, dataset.y_train), (dataset.x_val, dataset.y_val),
                 (dataset.x_test, dataset.y_test)):
        assert [dominant_class(img) for img in x] == [dataset.class_names[k] for k in y]
    assert np.any(np.diff(dataset.y_train) < 0)                        # shuffled, not grouped
    again = load_image_folder(tmp_path / "pets", (8, 12), val_fraction=0.2, test_fraction=0.1)
    np.testing.assert_array_equal(again.x_train, dataset.x_train)      # deterministic
    assert again.y_val.tolist() == dataset.y_val.tolist()


def test_image_folder_flat_tree_without_fractions_has_empty_test(tmp_path):
    write_class_tree(tmp_path / "pets", {"dog": 2, "cat": 3})
    dataset = load_image_folder(tmp_path / "pets", 6, color_mode="grayscale", max_per_class=2)
    assert dataset.x_train.shape == (4, 6, 6, 1)
    assert dataset.x_test.shape == (0, 6, 6, 1) and dataset.x_val is None
    assert np.bincount(dataset.y_train).tolist() == [2, 2]


@pytest.mark.parametrize("val_name", ["val", "validation"])
def test_image_folder_with_split_folders(tmp_path, val_name):
    root = tmp_path / "mini"
    write_class_tree(root / "train", {"cat": 4, "dog": 3}, fmt="JPEG")
    write_class_tree(root / val_name, {"cat": 1, "dog": 2}, fmt="JPEG")
    write_class_tree(root / "test", {"cat": 2, "dog": 2}, fmt="JPEG")
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    dataset = load_image_folder(root, (16, 16))
    assert dataset.class_names == ["cat", "dog"]
    assert (len(dataset.y_train), len(dataset.y_val), len(dataset.y_test)) == (7, 3, 4)
    assert np.bincount(dataset.y_val).tolist() == [1, 2]
    assert [dominant_class(img) for img in dataset.x_test] == \
        [dataset.class_names[k] for k in dataset.y_test]
    with pytest.raises(ValueError, match="already has a validation folder"):
        load_image_folder(root, (16, 16), val_fraction=0.1)


def test_image_folder_val_from_train_and_bad_trees(tmp_path, english):
    root = tmp_path / "splits"
    write_class_tree(root / "train", {"cat": 5, "dog": 5})
    write_class_tree(root / "test", {"cat": 1, "emu": 1})
    with pytest.raises(ValueError, match=r"classes that train/ lacks: \['emu'\]"):
        load_image_folder(root, 8)
    (root / "test" / "emu" / "img_000.png").unlink()
    (root / "test" / "emu").rmdir()
    dataset = load_image_folder(root, 8, val_fraction=0.2)
    assert (len(dataset.y_train), len(dataset.y_val), len(dataset.y_test)) == (8, 2, 1)
    with pytest.raises(DatasetNotFoundError, match="No image folder"):
        load_image_folder(tmp_path / "missing", 8)


# --------------------------------------------------------------------------- CUB-200

def test_cub200_official_split_zero_based_labels(tmp_path):
    names = write_cub(tmp_path / "CUB_200_2011")
    dataset = load_cub200(tmp_path, image_size=(20, 24))     # the folder holding it works too
    assert dataset.class_names == names
    assert dataset.x_train.shape == (9, 20, 24, 3) and dataset.x_test.shape == (5, 20, 24, 3)
    assert np.bincount(dataset.y_train).tolist() == [3, 2, 4]
    assert np.bincount(dataset.y_test).tolist() == [2, 2, 1]
    dominant = dataset.x_train.reshape(9, -1, 3).mean(axis=1).argmax(axis=1)
    assert dominant.tolist() == dataset.y_train.tolist()     # red→0, green→1, blue→2
    capped = load_cub200(tmp_path / "CUB_200_2011", 8, max_per_class=1)
    assert np.bincount(capped.y_train).tolist() == [1, 1, 1]
    with pytest.raises(DatasetNotFoundError, match="CUB_200_2011.tgz"):
        load_cub200(tmp_path / "elsewhere")


# --------------------------------------------------------------------------- sample

def test_shipped_sample_counts_size_and_speed():
    from cnnkit.data import _sample

    assert _sample.SAMPLE_PATH.stat().st_size <= 1_048_576
    _sample._decoded.cache_clear()
    _sample._raw.cache_clear()
    # CPU time, not wall time: the property is "cheap", and CI machines are shared.
    start = time.process_time()
    sample = load_cifar10_sample()
    elapsed = time.process_time() - start
    assert elapsed < 1.0, f"decoding the sample took {elapsed:.2f} s of CPU"
    assert sample.x_train.shape == (1000, 32, 32, 3) and sample.x_test.shape == (200, 32, 32, 3)
    assert np.bincount(sample.y_train).tolist() == [100] * 10
    assert np.bincount(sample.y_test).tolist() == [20] * 10
    assert sample.class_names == data.CIFAR10_CLASSES
    assert all(jpeg[:2] == b"\xff\xd8" for _, _, jpeg in _sample.sample_jpegs("test"))
    sample.x_train[:] = 0                      # callers get copies of the cache
    assert load_cifar10_sample().x_train.any()


# --------------------------------------------------------------------------- splits

def _toy(n_per_class=(30, 20, 10), image=4) -> Dataset:
    y = np.concatenate([np.full(n, k) for k, n in enumerate(n_per_class)])
    x = np.arange(len(y) * image * image, dtype=np.int64).reshape(len(y), image, image, 1)
    return Dataset(x_train=(x % 251).astype(np.uint8), y_train=y,
                   x_test=np.zeros((6, image, image, 1), np.uint8), y_test=[0, 1, 2, 0, 1, 2],
                   class_names=["a", "b", "c"], name="toy", source="made up")


def test_subset_is_stratified_and_deterministic():
    toy = _toy()
    small = toy.subset(n_train=12, n_test=3, seed=1)
    assert np.bincount(small.y_train).tolist() == [6, 4, 2]
    assert np.bincount(small.y_test).tolist() == [1, 1, 1]
    again = toy.subset(n_train=12, n_test=3, seed=1)
    np.testing.assert_array_equal(small.x_train, again.x_train)
    other = toy.subset(n_train=12, n_test=3, seed=2)
    assert not np.array_equal(small.x_train, other.x_train)
    assert toy.subset(n_train=10_000).x_train.shape == toy.x_train.shape   # clipped
    assert len(toy.y_train) == 60                                          # original untouched


def test_train_val_split_and_with_validation():
    toy = _toy()
    x_tr, y_tr, x_val, y_val = train_val_split(toy.x_train, toy.y_train, fraction=0.1, seed=0)
    assert len(y_val) == 6 and np.bincount(y_val).tolist() == [3, 2, 1]
    assert len(y_tr) == 54 and y_tr.dtype == np.int64
    x_tr2, _, x_val2, _ = train_val_split(toy.x_train, toy.y_train, fraction=0.1, seed=0)
    np.testing.assert_array_equal(x_val, x_val2)
    # no image is lost or duplicated
    flat = lambda a: {img.tobytes() for img in a}  # noqa: E731
    assert flat(x_tr) | flat(x_val) == flat(toy.x_train) and not flat(x_tr) & flat(x_val)
    split = toy.with_validation(0.1, seed=0)
    np.testing.assert_array_equal(split.x_val, x_val)
    assert split.x_test is toy.x_test
    with pytest.raises(ValueError, match="already has a validation split"):
        split.with_validation()
    with pytest.raises(ValueError, match="both parts need >= 3 images"):
        train_val_split(toy.x_train, toy.y_train, fraction=0.01)


def test_dataset_validates_its_arrays():
    with pytest.raises(ValueError, match="uint8"):
        Dataset(np.zeros((2, 4, 4, 1), np.float32), [0, 1], np.zeros((0, 4, 4, 1), np.uint8),
                [], ["a", "b"], "x", "y")
    with pytest.raises(ValueError, match="outside"):
        Dataset(np.zeros((2, 4, 4, 1), np.uint8), [0, 2], np.zeros((0, 4, 4, 1), np.uint8),
                [], ["a", "b"], "x", "y")
    labels_as_keras = Dataset(np.zeros((2, 4, 4, 1), np.uint8), np.array([[0], [1]], np.uint8),
                              np.zeros((0, 4, 4, 1), np.uint8), [], ["a", "b"], "x", "y")
    assert labels_as_keras.y_train.shape == (2,) and labels_as_keras.y_train.dtype == np.int64


# --------------------------------------------------------------------------- describe

def test_describe_numbers_are_exact(english):
    toy = _toy().with_validation(0.1, seed=0)
    description = describe(toy)
    assert description.num_images == 66 and description.num_classes == 3
    assert description.split_sizes == {"train": 54, "val": 6, "test": 6}
    assert description.per_class == {"train": [27, 18, 9], "val": [3, 2, 1], "test": [2, 2, 2]}
    assert description.total_per_class == [32, 22, 12]
    assert description.mean_per_class == 22.0
    as_dict = description.to_dict()
    assert as_dict["per_class"]["val"] == {"a": 3, "b": 2, "c": 1}
    assert as_dict["min_images_per_class"] == 12 and as_dict["max_images_per_class"] == 32
    assert as_dict["image_shape"] == [4, 4, 1]
    table = str(description).splitlines()
    assert table[0] == "toy: 66 images, 3 classes, 4×4×1 uint8"
    assert table[1] == "train 54 · val 6 · test 6 · mean 22.0 images per class"
    assert table[2].split() == ["class", "train", "val", "test", "total"]
    assert table[3].split() == ["a", "27", "3", "2", "32"]
    assert table[-1].split() == ["total", "54", "6", "6", "66"]
    # One language per call: the argument wins over $CNNKIT_LANG.
    spanish = description.to_text("es").splitlines()
    assert spanish[0] == "toy: 66 imágenes, 3 clases, 4×4×1 uint8"
    assert spanish[1] == "entrenamiento 54 · validación 6 · test 6 · media de 22.0 imágenes por clase"
    assert spanish[2].split() == ["clase", "entrenamiento", "validación", "test", "total"]
    assert spanish[3].split() == ["a", "27", "3", "2", "32"] and spanish[-1].split() == ["total", "54", "6", "6", "66"]
    # every column is as wide as its heading, so the numbers stay under it
    assert all(len(line) == len(spanish[2]) for line in spanish[2:])


def test_describe_prints_in_the_notebooks_language(spanish):
    stand_in = dataclasses.replace(_toy(), is_stand_in=True)
    assert str(describe(stand_in)).splitlines()[0] == "toy (sustituto): 66 imágenes, 3 clases, 4×4×1 uint8"
    assert describe(stand_in).to_text("en").splitlines()[0] == "toy (stand-in): 66 images, 3 classes, 4×4×1 uint8"
    assert describe(stand_in).to_dict()["split_sizes"] == {"train": 60, "val": 0, "test": 6}  # keys never change


# --------------------------------------------------------------------------- synthetic

def test_synthetic_shapes_deterministic_and_labelled(english):
    rgb = synthetic.shapes(25, (32, 32), 3, n_train_per_class=4, n_test_per_class=2, seed=5)
    assert rgb.x_train.shape == (100, 32, 32, 3) and rgb.x_test.shape == (50, 32, 32, 3)
    assert np.bincount(rgb.y_train).tolist() == [4] * 25
    assert rgb.is_stand_in and len(set(rgb.class_names)) == 25
    assert rgb.class_names[:2] == ["red circle", "green square"]
    np.testing.assert_array_equal(
        rgb.x_train, synthetic.shapes(25, (32, 32), 3, 4, 2, seed=5).x_train)
    assert not np.array_equal(rgb.x_train, synthetic.shapes(25, (32, 32), 3, 4, 2, seed=6).x_train)
    grey = synthetic.shapes(10, 28, 1, n_train_per_class=2, n_test_per_class=1)
    assert grey.x_train.shape == (20, 28, 28, 1)
    assert set(name.split()[0] for name in grey.class_names) == {"filled", "outline"}
    assert grey.source.endswith("28×28×1; not real images")
    with pytest.raises(ValueError, match="1..12 classes"):
        synthetic.shapes(13, 28, 1)


SPANISH_SHAPES = {"círculo", "cuadrado", "triángulo", "rombo", "cruz", "aspa"}
FEMININE_SHAPES = {"cruz", "aspa"}


def test_synthetic_class_names_are_spanish_with_agreement_and_unique(spanish):
    rgb = synthetic.shapes(synthetic.max_classes(3), 8, 3, n_train_per_class=1, n_test_per_class=1)
    grey = synthetic.shapes(synthetic.max_classes(1), 8, 1, n_train_per_class=1, n_test_per_class=1)
    assert rgb.class_names[:6] == ["círculo rojo", "cuadrado verde", "triángulo azul", "rombo amarillo",
                                   "cruz magenta", "aspa cian"]
    assert "cruz roja" in rgb.class_names and "aspa amarilla" in rgb.class_names
    assert grey.class_names[:6] == ["círculo relleno", "cuadrado hueco", "triángulo relleno", "rombo hueco",
                                    "cruz rellena", "aspa hueca"]
    for names in (rgb.class_names, grey.class_names):
        assert len(set(names)) == len(names)                          # still one name per class
        assert {name.split()[0] for name in names} == SPANISH_SHAPES  # noun first, Spanish order
        for name in names:
            noun, adjective = name.split()
            # feminine nouns never take a masculine -o adjective, masculine ones never -a
            assert not adjective.endswith("o" if noun in FEMININE_SHAPES else "a") or adjective == "magenta", name
    assert rgb.source.startswith("formas sintéticas") and "no son imágenes reales" in rgb.source
    # deterministic, and the language changes the words only, never the images or labels
    english_rgb = synthetic.shapes(synthetic.max_classes(3), 8, 3, 1, 1, lang="en")
    assert synthetic.shapes(synthetic.max_classes(3), 8, 3, 1, 1).class_names == rgb.class_names
    assert english_rgb.class_names[:2] == ["red circle", "green square"]
    assert len(set(english_rgb.class_names)) == len(english_rgb.class_names)
    np.testing.assert_array_equal(english_rgb.x_train, rgb.x_train)
    np.testing.assert_array_equal(english_rgb.y_train, rgb.y_train)
    # the identifiers other code imports are unchanged
    assert synthetic.SHAPES[0] == "circle" and "red" in synthetic.COLOURS and synthetic.GREY_STYLES == ("filled", "outline")
    assert synthetic.class_name("plus", "red", "es") == "cruz roja"
    assert synthetic.class_name("plus", "red", "en") == "red plus"


def test_synthetic_class_names_follow_the_language_at_call_time(monkeypatch):
    monkeypatch.setenv("CNNKIT_LANG", "en")
    assert course_dataset("fashion_mnist", "smoke").class_names[0] == "filled circle"
    monkeypatch.setenv("CNNKIT_LANG", "es")
    assert course_dataset("fashion_mnist", "smoke").class_names[0] == "círculo relleno"
    assert course_dataset("fashion_mnist", "smoke", lang="en").class_names[0] == "filled circle"


@pytest.mark.slow
def test_synthetic_shapes_are_learnable_by_a_small_cnn(seeded):
    import keras

    for dataset, chance in ((course_dataset("cifar100_25", "smoke"), 1 / 25),
                            (course_dataset("fashion_mnist", "smoke"), 1 / 10)):
        # the seed-004 network, narrower: two conv/pool stages, Flatten, softmax
        model = keras.Sequential([
            keras.Input(dataset.image_shape), keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(16, 5, activation="relu"), keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 5, activation="relu"), keras.layers.MaxPooling2D(),
            keras.layers.Flatten(), keras.layers.Dense(dataset.num_classes, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(dataset.x_train, dataset.y_train, epochs=2, batch_size=32, verbose=0)
        # an eager call, not evaluate(): saves tracing a second graph
        predicted = np.argmax(model(dataset.x_test, training=False), axis=1)
        accuracy = float((predicted == dataset.y_test).mean())
        # observed 0.32-0.48 (25 classes) and 0.41-0.86 (10 classes) over seeds
        assert accuracy >= 3 * chance, (dataset.name, accuracy)


# --------------------------------------------------------------------------- course_dataset

def test_course_dataset_smoke_stand_ins(tmp_path, english):
    cifar = course_dataset("cifar10", "smoke")
    assert cifar.x_train.shape == (1000, 32, 32, 3) and not cifar.is_stand_in

    c100 = course_dataset("cifar100_25", "smoke")
    assert c100.is_stand_in and c100.num_classes == 25 and c100.x_train.shape[1:] == (32, 32, 3)
    assert c100.source.startswith("stand-in for CIFAR-100 (25 classes) in the smoke profile")
    assert 250 <= len(c100.y_train) <= 1000 and len(c100.with_validation(0.1).y_val) >= 25

    fashion = course_dataset("fashion_mnist", "smoke")
    assert fashion.is_stand_in and fashion.x_train.shape[1:] == (28, 28, 1)
    assert fashion.num_classes == 10 and "Fashion-MNIST" in fashion.source

    folders = course_dataset("image_folder", "smoke")
    assert folders.is_stand_in and folders.class_names == data.CIFAR10_CLASSES
    assert (len(folders.y_train), len(folders.y_val), len(folders.y_test)) == (800, 200, 200)
    assert "load_image_folder" in folders.source
    tree = tmp_path / "cnnkit_cache"
    assert [p.name for p in tree.iterdir() if p.name.startswith(".")] == []   # no temp left

    # the tree holds the sample's JPEG bytes unchanged, so pixels match the sample
    sample = load_cifar10_sample()
    assert {img.tobytes() for img in folders.x_test} == {img.tobytes() for img in sample.x_test}

    cub = course_dataset("cub200", "smoke")
    assert cub.is_stand_in and cub.x_train.shape[1:] == (64, 64, 3)
    assert cub.class_names == ["airplane", "bird", "cat", "dog", "ship"]
    assert np.bincount(cub.y_train).tolist() == [16] * 5 and np.bincount(cub.y_test).tolist() == [8] * 5
    assert "CUB-200-2011" in cub.source
    # second call reuses the generated tree
    assert course_dataset("cub200", "smoke", image_size=32).x_train.shape[1:] == (32, 32, 3)


# English a Spanish notebook must not show: prose words, not the identifiers
# (cifar10_sample, load_image_folder, seed=) or paths it names.
ENGLISH_WORDS = ("images", "image", "classes", "class", "stand-in", "shipped", "sample", "grader", "mean",
                 "not real", "training", "train", "validation", "per", "of", "from", "with", "the", "and",
                 "synthetic", "shapes", "backgrounds", "read back", "written", "profile", "total images")


def english_words(text: str) -> list[str]:
    # Paths name cache folders ("cifar10-sample-folders-…") and the sample file: not prose.
    prose = " ".join(word for word in text.split() if "/" not in word)
    # Identifiers keep underscores (cifar10_sample, load_cub200): \b does not split them.
    return [word for word in ENGLISH_WORDS if re.search(rf"(?<![\w.-]){re.escape(word)}(?![\w-])", prose)]


@pytest.mark.parametrize("name", data.COURSE_DATASETS)
def test_course_datasets_describe_themselves_in_spanish(name, spanish):
    dataset = course_dataset(name, "smoke")
    table = str(describe(dataset))
    # The table header's split columns are Spanish; the test split keeps the course's word, "test".
    assert table.splitlines()[2].split()[:3] == ["clase", "entrenamiento", "validación"]
    assert english_words(table) == [], table
    assert english_words(dataset.source) == [], dataset.source
    if dataset.is_stand_in:
        assert "(sustituto)" in table.splitlines()[0] and dataset.source.startswith("sustituto de ")
    assert english_words(repr(dataset).replace(repr(dataset.source), "")) == []
    # CIFAR-10's own labels stay as they are: the dataset's names, not prose.
    if name in ("cifar10", "image_folder"):
        assert dataset.class_names == data.CIFAR10_CLASSES


@pytest.mark.parametrize("name", data.COURSE_DATASETS)
def test_course_datasets_describe_themselves_in_english_when_asked(name, english):
    dataset = course_dataset(name, "smoke")
    table = str(describe(dataset))
    assert table.splitlines()[2].split()[:3] == ["class", "train", "val"]
    assert " images, " in table.splitlines()[0]
    assert ("stand-in for" in dataset.source) == dataset.is_stand_in


@pytest.mark.parametrize("name, needle", [
    ("cifar10", "cifar-10-python.tar.gz"), ("cifar100_25", "cifar-100-python.tar.gz"),
    ("fashion_mnist", "train-images-idx3-ubyte.gz"),
    ("image_folder", "CNNKIT_IMAGE_FOLDER"), ("cub200", "CNNKIT_CUB_DIR")])
def test_course_dataset_full_profile_without_data_raises_clearly(name, needle):
    with pytest.raises(DatasetNotFoundError, match=needle):
        course_dataset(name, "full")


def test_course_dataset_full_profile_uses_real_data(tmp_path, monkeypatch):
    write_cifar10(tmp_path / "data", as_archive=True)
    write_cub(tmp_path / "data" / "CUB_200_2011")
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tmp_path / "data"))
    assert course_dataset("cifar10", "full").x_train.shape == (15, 32, 32, 3)
    assert course_dataset("cub200", "full", image_size=16).x_train.shape == (9, 16, 16, 3)
    write_class_tree(tmp_path / "places", {"cat": 2, "dog": 2})
    monkeypatch.setenv("CNNKIT_IMAGE_FOLDER", str(tmp_path / "places"))
    places = course_dataset("image_folder", "full")
    assert places.x_train.shape == (4, 84, 84, 3) and not places.is_stand_in
    with pytest.raises(ValueError, match="unknown course dataset"):
        course_dataset("mnist")


# --------------------------------------------------------------------------- the grader's holdout

def test_full_profile_students_get_half_the_test_split_and_the_grader_the_other_half(tmp_path, monkeypatch,
                                                                                       english):
    from cnnkit.data import course_holdout

    write_cifar10(tmp_path / "data", as_archive=True, n_test=4)
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tmp_path / "data"))
    public = course_dataset("cifar10", "full")
    x_hold, y_hold = course_holdout("cifar10", "full", None)
    everything = load_cifar10()
    assert len(public.y_test) + len(y_hold) == len(everything.y_test) and len(y_hold) == 2
    shown = {img.tobytes() for img in public.x_test}
    assert not shown & {img.tobytes() for img in x_hold}                      # disjoint
    assert shown | {img.tobytes() for img in x_hold} == {img.tobytes() for img in everything.x_test}
    assert len(public.y_train) == len(everything.y_train)                     # training untouched
    assert "the grader keeps the others" in public.source
    assert "el corrector se queda las demás" in course_dataset("cifar10", "full", lang="es").source
    again = course_holdout("cifar10", "full", None)
    assert np.array_equal(again[0], x_hold)                                   # the same split every time


def test_smoke_holdout_is_private_and_disjoint_from_what_students_get():
    from cnnkit.data import course_holdout

    private = Path(__file__).resolve().parents[1] / "solutions" / "_data"
    sample = load_cifar10_sample()
    x, y = course_holdout("cifar10", "smoke", private)
    assert x.shape == (1000, 32, 32, 3) and np.bincount(y).tolist() == [100] * 10
    shown = {img.tobytes() for img in np.concatenate([sample.x_train, sample.x_test])}
    assert not shown & {img.tobytes() for img in x}
    stand_in = course_dataset("cifar100_25", "smoke")
    xs, ys = course_holdout("cifar100_25", "smoke", private)
    assert xs.shape[1:] == stand_in.image_shape and set(ys.tolist()) == set(range(25))
    assert not {img.tobytes() for img in stand_in.x_test} & {img.tobytes() for img in xs}
    with pytest.raises(FileNotFoundError):
        course_holdout("cifar10", "smoke", None)


def test_a_saved_view_is_what_a_graded_kernel_reads(tmp_path, monkeypatch):
    from cnnkit.data import save_view, view_path

    write_cifar10(tmp_path / "data", as_archive=True)
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tmp_path / "data"))
    public = course_dataset("cifar10", "full")
    save_view(public, view_path(tmp_path / "views", "cifar10", "full"))
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tmp_path / "nowhere"))          # the kernel has no files
    monkeypatch.setenv("CNNKIT_COURSE_DATA_DIR", str(tmp_path / "views"))
    seen = course_dataset("cifar10", "full")
    assert np.array_equal(seen.x_test, public.x_test) and seen.class_names == public.class_names

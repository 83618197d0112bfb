"""Image files on disk: class-per-folder trees and CUB-200-2011."""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import messages
from ._dataset import Dataset, train_val_split
from ._locate import DatasetNotFoundError

__all__ = ["load_image_folder", "load_cub200", "read_images", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm",
                              ".tif", ".tiff", ".webp"})
# color_mode names and meanings follow keras.utils.load_img.
_COLOR_MODES = {"rgb": ("RGB", 3), "grayscale": ("L", 1), "rgba": ("RGBA", 4)}
_SPLIT_NAMES = {"train": "train", "val": "val", "validation": "val", "valid": "val",
                "test": "test"}

messages.register({
    "data.no_image_folder": {
        "es": "No hay ninguna carpeta de imágenes en {root}. load_image_folder() necesita una carpeta con una "
              "subcarpeta de imágenes por clase (opcionalmente dentro de train/, val/, test/): "
              'pásala como load_image_folder(root="/ruta/al/conjunto", image_size=...).',
        "en": "No image folder at {root}. load_image_folder() needs a folder with one "
              "sub-folder of images per class (optionally inside train/, val/, test/): "
              'pass it as load_image_folder(root="/path/to/dataset", image_size=...).',
    },
    "data.no_cub": {
        "es": "No se encontró CUB-200-2011 en {root}. load_cub200() necesita la carpeta CUB_200_2011/ "
              "extraída de CUB_200_2011.tgz (https://www.vision.caltech.edu/datasets/cub_200_2011/, 1.1 GiB), "
              'con {files} e images/: pásala como load_cub200("/ruta/a/CUB_200_2011").',
        "en": "CUB-200-2011 was not found at {root}. load_cub200() needs the CUB_200_2011/ "
              "folder extracted from CUB_200_2011.tgz (https://www.vision.caltech.edu/datasets/cub_200_2011/, "
              '1.1 GiB), holding {files} and images/: pass it as load_cub200("/path/to/CUB_200_2011").',
    },
})


def _size(image_size) -> tuple[int, int]:
    if isinstance(image_size, int):
        return image_size, image_size
    height, width = (int(v) for v in image_size)
    if height < 1 or width < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    return height, width


def read_images(paths: Sequence[Path], image_size, color_mode: str = "rgb") -> np.ndarray:
    """Decode and resize image files with PIL.

    Parameters
    ----------
    paths : sequence of paths
        Any format PIL reads.
    image_size : int or (height, width)
        Every image is resized to this size with bilinear interpolation
        (aspect ratio not kept, as ``keras.utils.image_dataset_from_directory``).
    color_mode : {"rgb", "grayscale", "rgba"}

    Returns
    -------
    ndarray of shape (len(paths), height, width, channels), dtype uint8
        channels is 3, 1 or 4.
    """
    from PIL import Image

    if color_mode not in _COLOR_MODES:
        raise ValueError(f"color_mode must be one of {sorted(_COLOR_MODES)}, got {color_mode!r}")
    pil_mode, channels = _COLOR_MODES[color_mode]
    height, width = _size(image_size)
    out = np.empty((len(paths), height, width, channels), dtype=np.uint8)

    def read_one(i: int) -> None:
        with Image.open(paths[i]) as image:
            # For JPEGs, let libjpeg decode at 1/2, 1/4 or 1/8 scale when the
            # file is that much larger than the target (never smaller than
            # it): photos of CUB/Places size load several times faster.
            image.draft(pil_mode, (width, height))
            image = image.convert(pil_mode)
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
            out[i] = np.asarray(image, dtype=np.uint8).reshape(height, width, channels)

    workers = min(8, os.cpu_count() or 1)
    if len(paths) < 256 or workers == 1:
        for i in range(len(paths)):
            read_one(i)
    else:
        # PIL releases the GIL while decoding and resizing, so threads scale on
        # the many-core machines that load full datasets. Each image writes its
        # own row, so the result does not depend on scheduling.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(read_one, range(len(paths))):   # re-raises errors
                pass
    return out


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def _image_files(class_dir: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(class_dir, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        files += [Path(dirpath) / f for f in filenames
                  if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(files, key=lambda p: p.relative_to(class_dir).as_posix())


def _scan(folder: Path, max_per_class: int | None) -> dict[str, list[Path]]:
    """{class name: its image files (sorted, at most max_per_class)} for one folder."""
    classes = {}
    for class_dir in _visible_dirs(folder):
        files = _image_files(class_dir)
        if files:
            classes[class_dir.name] = files[:max_per_class] if max_per_class else files
    return classes


def _split_folders(root: Path) -> dict[str, Path] | None:
    """{"train"/"val"/"test": folder} when root is a train/val/test tree, else None."""
    subdirs = _visible_dirs(root)
    if not subdirs or any(d.name.lower() not in _SPLIT_NAMES for d in subdirs):
        return None
    splits: dict[str, Path] = {}
    for d in subdirs:
        split = _SPLIT_NAMES[d.name.lower()]
        if split in splits:
            raise ValueError(f"{root} has two {split} folders: {splits[split].name}/ and {d.name}/")
        splits[split] = d
    if "train" not in splits:
        raise ValueError(f"{root} has {', '.join(d.name + '/' for d in subdirs)} but no train/ "
                         "folder")
    return splits


def _shuffled(rng: np.random.Generator, files: list[Path], labels: list[int]):
    order = rng.permutation(len(files))
    return [files[i] for i in order], np.asarray(labels, dtype=np.int64)[order]


def load_image_folder(root, image_size, *, color_mode: str = "rgb",
                      val_fraction: float | None = None, test_fraction: float | None = None,
                      seed: int = 0, max_per_class: int | None = None) -> Dataset:
    """Images stored one folder per class (mini-ImageNet, Places-25, your own data).

    Two layouts are understood::

        root/<class>/<image>                      (one pool of images)
        root/train/<class>/<image>                (ready-made splits; val/ or
        root/val/<class>/<image>                   validation/ and test/ optional)
        root/test/<class>/<image>

    Parameters
    ----------
    root : str or Path
        The tree's top folder.
    image_size : int or (height, width)
        Size every image is resized to (bilinear; aspect ratio not kept).
    color_mode : {"rgb", "grayscale", "rgba"}
        3, 1 or 4 channels, as ``keras.utils.load_img``.
    val_fraction, test_fraction : float, optional
        Stratified shares of the images moved to validation/test, for splits
        the tree does not have. In a flat tree both are shares of all images;
        in a split tree they are shares of ``train/``. Asking for a split the
        tree already has is an error.
    seed : int
        Seeds the splits and the order of images (shuffled within each split,
        so that Keras' ``validation_split``, which takes the *last* images,
        does not get only the last classes).
    max_per_class : int, optional
        Read at most this many images per class from each folder (the first
        ones in file-name order), to try things quickly on big trees.

    Returns
    -------
    Dataset
        ``x_*`` of shape (n, height, width, channels) uint8, ``y_*`` of shape
        (n,) int64. ``class_names`` are the class folder names, sorted;
        label ``k`` is ``class_names[k]``. ``x_val``/``y_val`` are None when
        there is no validation split; a tree without test images gives
        ``x_test`` of shape (0, height, width, channels).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(messages.render("data.no_image_folder", root=root))
    for fraction_name, fraction in (("val_fraction", val_fraction),
                                    ("test_fraction", test_fraction)):
        if fraction is not None and not 0.0 < fraction < 1.0:
            raise ValueError(f"{fraction_name} must be between 0 and 1, got {fraction}")

    splits = _split_folders(root)
    scanned = ({name: _scan(folder, max_per_class) for name, folder in splits.items()}
               if splits else {"train": _scan(root, max_per_class)})
    class_names = sorted(scanned["train"])
    if not class_names:
        where = splits["train"] if splits else root
        raise ValueError(f"{where} has no class folders with images "
                         f"({', '.join(sorted(IMAGE_EXTENSIONS))})")
    for split, classes in scanned.items():
        unknown = sorted(set(classes) - set(class_names))
        if unknown:
            # e.g. mini-ImageNet's few-shot release: disjoint classes per split.
            raise ValueError(
                f"{splits[split]} has classes that train/ lacks: {unknown[:5]}"
                f"{' ...' if len(unknown) > 5 else ''}. A classifier cannot learn them; "
                "merge the splits into one class-per-folder tree and use "
                "val_fraction/test_fraction.")
    if val_fraction is not None and "val" in scanned:
        raise ValueError(f"{root} already has a validation folder; drop val_fraction")
    if test_fraction is not None and "test" in scanned:
        raise ValueError(f"{root} already has a test folder; drop test_fraction")

    label_of = {name: k for k, name in enumerate(class_names)}
    files: dict[str, list[Path]] = {}
    labels: dict[str, list[int]] = {}
    for split, classes in scanned.items():
        files[split] = [f for name in class_names for f in classes.get(name, [])]
        labels[split] = [label_of[name] for name in class_names for _ in classes.get(name, [])]

    # Split indices, not images, so only the chosen files are ever decoded.
    pool = np.arange(len(files["train"]))
    pool_labels = np.asarray(labels["train"], dtype=np.int64)
    moved = {}
    if test_fraction is not None:
        pool, pool_labels, moved["test"], _ = train_val_split(
            pool, pool_labels, fraction=test_fraction, seed=seed)
    if val_fraction is not None:
        # A share of all images, so the remaining pool needs a larger fraction.
        share = val_fraction / (1.0 - (test_fraction or 0.0))
        if share >= 1.0:
            raise ValueError("val_fraction + test_fraction must be below 1")
        pool, pool_labels, moved["val"], _ = train_val_split(
            pool, pool_labels, fraction=share, seed=seed)
    train_files, train_labels = files["train"], labels["train"]
    for split, picked in moved.items():
        files[split] = [train_files[i] for i in picked]
        labels[split] = [train_labels[i] for i in picked]
    files["train"] = [train_files[i] for i in pool]
    labels["train"] = [train_labels[i] for i in pool]

    rng = np.random.default_rng(seed)
    arrays = {}
    for split in ("train", "val", "test"):
        if split not in files:
            continue
        split_files, split_labels = _shuffled(rng, files[split], labels[split])
        arrays[f"x_{split}"] = read_images(split_files, image_size, color_mode)
        arrays[f"y_{split}"] = split_labels
    if "x_test" not in arrays:
        height, width = _size(image_size)
        arrays["x_test"] = np.zeros((0, height, width, _COLOR_MODES[color_mode][1]), np.uint8)
        arrays["y_test"] = np.zeros(0, np.int64)
    return Dataset(**arrays, class_names=class_names, name=root.name, source=str(root))


_CUB_FILES = ("images.txt", "image_class_labels.txt", "train_test_split.txt", "classes.txt")


def _cub_root(root: Path) -> Path | None:
    for candidate in (root, root / "CUB_200_2011"):
        if all((candidate / name).is_file() for name in _CUB_FILES):
            return candidate
    return None


def _read_table(path: Path) -> dict[int, str]:
    """``<id> <value>`` lines (CUB's text files) as {id: value}."""
    table = {}
    for line in path.read_text().splitlines():
        if line.strip():
            key, value = line.split(maxsplit=1)
            table[int(key)] = value.strip()
    return table


def load_cub200(root, image_size=(224, 224), *, max_per_class: int | None = None,
                seed: int = 0) -> Dataset:
    """Caltech-UCSD Birds-200-2011 (Wah et al., 2011): 11,788 photos of 200 species.

    Parameters
    ----------
    root : str or Path
        The ``CUB_200_2011/`` folder from ``CUB_200_2011.tgz`` (holding
        ``images.txt``, ``image_class_labels.txt``, ``train_test_split.txt``,
        ``classes.txt`` and ``images/``), or the folder that contains it.
    image_size : int or (height, width)
        Size every photo is resized to (bilinear; aspect ratio not kept).
    max_per_class : int, optional
        Keep at most this many images per class in each split (the first by
        image id).
    seed : int
        Seeds the order of images within each split (the files list them
        class by class).

    Returns
    -------
    Dataset
        The official split: ``x_train`` (5994, height, width, 3) uint8,
        ``y_train`` (5994,) int64, ``x_test`` (5794, height, width, 3),
        ``y_test`` (5794,). The 1-based class ids of the files become labels
        0-199; ``class_names`` are ``classes.txt`` names without the number
        prefix ("Black_footed_Albatross", ...).
    """
    given = Path(root).expanduser()
    folder = _cub_root(given)
    if folder is None:
        raise DatasetNotFoundError(messages.render("data.no_cub", root=given, files=", ".join(_CUB_FILES)))
    images = _read_table(folder / "images.txt")
    class_ids = {k: int(v) for k, v in _read_table(folder / "image_class_labels.txt").items()}
    is_train = {k: v == "1" for k, v in _read_table(folder / "train_test_split.txt").items()}
    classes = _read_table(folder / "classes.txt")
    class_names = [re.sub(r"^\d+\.", "", classes[k]) for k in sorted(classes)]
    label_of_class_id = {class_id: k for k, class_id in enumerate(sorted(classes))}

    files = {"train": [], "test": []}
    labels = {"train": [], "test": []}
    taken: dict[tuple[str, int], int] = {}
    for image_id in sorted(images):
        split = "train" if is_train[image_id] else "test"
        label = label_of_class_id[class_ids[image_id]]
        if max_per_class is not None and taken.get((split, label), 0) >= max_per_class:
            continue
        taken[(split, label)] = taken.get((split, label), 0) + 1
        files[split].append(folder / "images" / images[image_id])
        labels[split].append(label)

    rng = np.random.default_rng(seed)
    arrays = {}
    for split in ("train", "test"):
        split_files, split_labels = _shuffled(rng, files[split], labels[split])
        arrays[f"x_{split}"] = read_images(split_files, image_size, "rgb")
        arrays[f"y_{split}"] = split_labels
    return Dataset(**arrays, class_names=class_names, name="cub200", source=str(folder))

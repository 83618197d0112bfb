#!/usr/bin/env python3
"""Synthetic datasets of the real shapes, sizes and on-disk formats, for full-profile dry runs.

    .venv/bin/python benchmarks/synthetic_full_data.py DATA            # everything, real sizes
    .venv/bin/python benchmarks/synthetic_full_data.py DATA --only cub200 --scale 0.01

Writes into DATA what cnnkit.data's full-profile loaders read, in the files the real datasets
ship as, with their real image counts (times ``--scale``), sizes and class counts:

================ ================================================ ===========================
name             DATA/...                                         real counts (scale 1)
================ ================================================ ===========================
cifar100         cifar-100-python.tar.gz (train, test, meta        50,000 / 10,000 32x32x3,
                 pickles; 100 fine + 20 coarse labels)             100 fine / 20 coarse
fashion_mnist    fashion-mnist/{train,t10k}-{images-idx3,          60,000 / 10,000 28x28x1,
                 labels-idx1}-ubyte.gz                             10 classes
cub200           CUB_200_2011/ (images/NNN.Name/*.jpg, images.txt, 11,788 JPEGs in 200 class
                 image_class_labels.txt, train_test_split.txt,     folders, 5,994 train /
                 classes.txt)                                      5,794 test, ~500x375
image_folder     mini-imagenet/{train,val,test}/nXXXXXXXX/*.jpg    100 classes of 84x84 JPEGs:
                                                                   540 / 60 / 100 per class
================ ================================================ ===========================

The images are cnnkit.data.synthetic's learnable shapes (a shape in a colour, or a fill style in
greyscale, on a noisy background). Where a dataset has more classes than shapes x colours (36)
or fill styles (12), class k is drawn as class k % 36 (k % 12) with a texture variant k // 36
(plain, inverted, horizontal / vertical / diagonal stripes, checkerboard), so every class is
still distinguishable. Class *names* are placeholders ("synthetic_017"), except CIFAR-100's and
Fashion-MNIST's, which keep the real names (the loaders return them from the files).

The image_folder tree is sized to the full profile's manifest (train_real_dataset: "40 epochs
of VGG-19 BN on 54,000 images", val_fraction 0.1): 600 development images per class in train/ +
val/ (60,000, mini-ImageNet's size) plus a test/ split of 100 per class (10,000).

CUB's photos are drawn at half size and upscaled (bilinear) to their final size, which keeps
writing 11,788 of them to a few minutes; sizes are 500 wide x 333-500 high or the transpose,
like the real ones (the real photos' longest side is at most 500).

Seeded (``--seed``), deterministic, and streaming: one class (or one CIFAR batch) is in memory
at a time, apart from the CIFAR-100 train pickle (150 MB), which must be written in one piece.
Every dataset is written under a temporary name and renamed into place when complete, so a
present name means a complete dataset. Existing datasets are left as they are (``--force``
rewrites them).
"""
from __future__ import annotations

import argparse
import gzip
import io
import os
import pickle
import shutil
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cnnkit.data import synthetic  # noqa: E402

CIFAR100_FINE = (
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly "
    "camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile "
    "cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp "
    "lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree "
    "orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum "
    "rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider "
    "squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor train "
    "trout tulip turtle wardrobe whale willow_tree wolf woman worm").split()
CIFAR100_COARSE = (
    "aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices "
    "household_furniture insects large_carnivores large_man-made_outdoor_things "
    "large_natural_outdoor_scenes large_omnivores_and_herbivores medium_mammals "
    "non-insect_invertebrates people reptiles small_mammals trees vehicles_1 vehicles_2").split()
FASHION_CLASSES = 10

# Real counts. CUB-200-2011: 11,788 images, 5,994 train / 5,794 test, 41-60 per class; here
# 188 classes of 59 and 12 of 58 (11,788), 194 of 30 train and 6 of 29 (5,994).
CIFAR100_COUNTS = (500, 100)             # per fine class: train, test
FASHION_COUNTS = (6000, 1000)            # per class
CUB_CLASSES, CUB_TOTAL, CUB_TRAIN = 200, 11_788, 5_994
FOLDER_CLASSES, FOLDER_COUNTS = 100, {"train": 540, "val": 60, "test": 100}
FOLDER_SIZE = 84

NAMES = ("cifar100", "fashion_mnist", "cub200", "image_folder")
TARGETS = {"cifar100": "cifar-100-python.tar.gz", "fashion_mnist": "fashion-mnist",
           "cub200": "CUB_200_2011", "image_folder": "mini-imagenet"}
VARIANTS = ("plain", "inverted", "hstripes", "vstripes", "diagonal", "checker")


# --------------------------------------------------------------------------- drawing

def _texture(variant: str, height: int, width: int) -> np.ndarray | None:
    period = max(4, min(height, width) // 8)
    yy, xx = np.mgrid[0:height, 0:width]
    phase = {"hstripes": yy, "vstripes": xx, "diagonal": xx + yy,
             "checker": (yy // period + xx // period) * period}.get(variant)
    if phase is None:
        return None
    return np.where((phase // period) % 2 == 0, 1.0, 0.55)[..., np.newaxis]


def draw(rng: np.random.Generator, label: int, height: int, width: int, channels: int) -> np.ndarray:
    """One learnable image of class ``label``: uint8 (height, width, channels)."""
    base_classes = synthetic._classes(synthetic.max_classes(channels), channels)
    if not 0 <= label < len(base_classes) * len(VARIANTS):
        raise ValueError(f"draw() has {len(base_classes) * len(VARIANTS)} classes for {channels} channel(s)")
    shape, look = base_classes[label % len(base_classes)]
    variant = VARIANTS[label // len(base_classes)]
    image = synthetic._draw(rng, shape, look, height, width, channels)
    if variant == "inverted":
        return 255 - image
    texture = _texture(variant, height, width)
    if texture is not None:
        image = np.clip(image * texture, 0, 255).astype(np.uint8)
    return image


def _count(n: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, int(round(n * scale)))


def _jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image.squeeze() if image.shape[-1] == 1 else image).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _atomic_dir(final: Path, write) -> None:
    tmp = final.with_name(f".{final.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write(tmp)
    os.replace(tmp, final)


# --------------------------------------------------------------------------- CIFAR-100

def write_cifar100(target: Path, scale: float, seed: int) -> dict:
    assert len(CIFAR100_FINE) == 100 and len(CIFAR100_COARSE) == 20
    rng = np.random.default_rng([seed, 100])
    # A fixed fine -> coarse map, 5 fine classes per superclass (the real grouping is not used).
    coarse_of = rng.permutation(np.repeat(np.arange(20), 5))
    parts = {}
    for split, per_class in (("train", _count(CIFAR100_COUNTS[0], scale)),
                             ("test", _count(CIFAR100_COUNTS[1], scale, 2))):
        fine = np.repeat(np.arange(100), per_class)
        fine = fine[rng.permutation(len(fine))]
        rows = np.empty((len(fine), 3072), dtype=np.uint8)
        for i, label in enumerate(fine):
            # Rows in plane order (1024 red, 1024 green, 1024 blue), as the real batches.
            rows[i] = draw(rng, int(label), 32, 32, 3).transpose(2, 0, 1).reshape(-1)
        parts[split] = {
            b"filenames": [f"synthetic_{CIFAR100_FINE[k]}_{i:05d}.png".encode() for i, k in enumerate(fine)],
            b"batch_label": f"{split}ing batch 1 of 1".encode() if split == "train" else b"testing batch 1 of 1",
            b"fine_labels": [int(k) for k in fine],
            b"coarse_labels": [int(coarse_of[k]) for k in fine],
            b"data": rows,
        }
    parts["meta"] = {b"fine_label_names": [n.encode() for n in CIFAR100_FINE],
                     b"coarse_label_names": [n.encode() for n in CIFAR100_COARSE]}
    final = target / TARGETS["cifar100"]
    tmp = final.with_name(f".{final.name}.partial")
    with tarfile.open(tmp, "w:gz") as archive:
        for name in ("meta", "test", "train"):
            raw = pickle.dumps(parts[name], protocol=2)
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size, info.mtime, info.mode = len(raw), 1_230_768_000, 0o644
            archive.addfile(info, io.BytesIO(raw))
    os.replace(tmp, final)
    return {"train": len(parts["train"][b"fine_labels"]), "test": len(parts["test"][b"fine_labels"])}


# --------------------------------------------------------------------------- Fashion-MNIST

def write_fashion_mnist(target: Path, scale: float, seed: int) -> dict:
    rng = np.random.default_rng([seed, 10])
    counts = {}

    def write(folder: Path) -> None:
        for prefix, per_class in (("train", _count(FASHION_COUNTS[0], scale)),
                                  ("t10k", _count(FASHION_COUNTS[1], scale, 2))):
            labels = np.repeat(np.arange(FASHION_CLASSES, dtype=np.uint8), per_class)
            labels = labels[rng.permutation(len(labels))]
            counts[prefix] = len(labels)
            header = (2051).to_bytes(4, "big") + b"".join(v.to_bytes(4, "big") for v in (len(labels), 28, 28))
            with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as fh:
                fh.write(header)
                for start in range(0, len(labels), 1000):       # 1,000 images at a time
                    chunk = np.stack([draw(rng, int(k), 28, 28, 1)[..., 0] for k in labels[start:start + 1000]])
                    fh.write(chunk.tobytes())
            with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as fh:
                fh.write((2049).to_bytes(4, "big") + len(labels).to_bytes(4, "big") + labels.tobytes())

    _atomic_dir(target / TARGETS["fashion_mnist"], write)
    return {"train": counts["train"], "test": counts["t10k"]}


# --------------------------------------------------------------------------- CUB-200-2011

def _cub_counts(scale: float) -> list[tuple[int, int]]:
    """(train, test) per class; at scale 1 exactly 5,994 / 5,794."""
    out = []
    for k in range(CUB_CLASSES):
        total = 59 if k < CUB_TOTAL - 58 * CUB_CLASSES else 58
        train = 30 if k < CUB_TRAIN - 29 * CUB_CLASSES else 29
        out.append((_count(train, scale), _count(total - train, scale, 2)))
    return out


def _cub_size(rng: np.random.Generator, long_side: int) -> tuple[int, int]:
    """(height, width): ``long_side`` (500) on the long side, 2/3 to 1 of it on the other,
    landscape 3 times in 4."""
    short = int(rng.integers(round(long_side * 2 / 3), long_side + 1))
    return (short, long_side) if rng.random() < 0.75 else (long_side, short)


def write_cub200(target: Path, scale: float, seed: int, long_side: int = 500) -> dict:
    from PIL import Image

    rng = np.random.default_rng([seed, 200])
    counts = {"train": 0, "test": 0}

    def write(root: Path) -> None:
        images, labels, splits, classes = [], [], [], []
        for k, (n_train, n_test) in enumerate(_cub_counts(scale)):
            class_id = k + 1
            folder = f"{class_id:03d}.Synthetic_bird_{class_id:03d}"
            classes.append(f"{class_id} {folder}")
            (root / "images" / folder).mkdir(parents=True)
            # The real files list each class's images in file-name order, train and test mixed.
            is_train = rng.permutation(np.r_[np.ones(n_train, bool), np.zeros(n_test, bool)])
            for j, train in enumerate(is_train):
                height, width = _cub_size(rng, long_side)
                small = draw(rng, k, height // 2, width // 2, 3)
                image = np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR))
                relative = f"{folder}/Synthetic_Bird_{class_id:03d}_{j:04d}.jpg"
                (root / "images" / relative).write_bytes(_jpeg(image))
                image_id = len(images) + 1
                images.append(f"{image_id} {relative}")
                labels.append(f"{image_id} {class_id}")
                splits.append(f"{image_id} {int(train)}")
                counts["train" if train else "test"] += 1
        for name, lines in (("images.txt", images), ("image_class_labels.txt", labels),
                            ("train_test_split.txt", splits), ("classes.txt", classes)):
            (root / name).write_text("\n".join(lines) + "\n")

    _atomic_dir(target / TARGETS["cub200"], write)
    return counts


# --------------------------------------------------------------------------- class folders

def write_image_folder(target: Path, scale: float, seed: int) -> dict:
    rng = np.random.default_rng([seed, 84])
    wnids = [f"n{int(v):08d}" for v in sorted(rng.choice(10**8, FOLDER_CLASSES, replace=False))]
    counts = {split: 0 for split in FOLDER_COUNTS}

    def write(root: Path) -> None:
        for k, wnid in enumerate(wnids):
            number = 0
            for split, n in FOLDER_COUNTS.items():
                folder = root / split / wnid
                folder.mkdir(parents=True)
                for _ in range(_count(n, scale, 2 if split == "test" else 1)):
                    number += 1
                    image = draw(rng, k, FOLDER_SIZE, FOLDER_SIZE, 3)
                    (folder / f"{wnid}{number:08d}.jpg").write_bytes(_jpeg(image))
                    counts[split] += 1

    _atomic_dir(target / TARGETS["image_folder"], write)
    return counts


WRITERS = {"cifar100": write_cifar100, "fashion_mnist": write_fashion_mnist, "cub200": write_cub200,
           "image_folder": write_image_folder}


def loader_env(target: Path) -> dict[str, str]:
    """The environment under which course_dataset() (full profile) reads what this script wrote."""
    target = Path(target).resolve()
    return {"CNNKIT_DATA_DIR": str(target), "CNNKIT_CUB_DIR": str(target / TARGETS["cub200"]),
            "CNNKIT_IMAGE_FOLDER": str(target / TARGETS["image_folder"])}


def ensure(target: Path, names=NAMES, *, scale: float = 1.0, seed: int = 0, force: bool = False,
           cub_long_side: int = 500, log=print) -> dict:
    """Write the named datasets into ``target`` unless present; {name: {split: count, seconds, bytes}}."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    report = {}
    for name in names:
        final = target / TARGETS[name]
        if final.exists() and not force:
            log(f"{name}: {final} exists, kept")
            continue
        if final.exists():
            shutil.rmtree(final) if final.is_dir() else final.unlink()
        log(f"{name}: writing {final} (scale {scale:g}) ...")
        started = time.monotonic()
        extra = {"long_side": cub_long_side} if name == "cub200" else {}
        counts = WRITERS[name](target, scale, seed, **extra)
        seconds = time.monotonic() - started
        size = (sum(p.stat().st_size for p in final.rglob("*") if p.is_file()) if final.is_dir()
                else final.stat().st_size)
        report[name] = {**counts, "seconds": round(seconds, 1), "bytes": size}
        log(f"{name}: {counts} in {seconds:.0f} s, {size / 2**20:.0f} MiB")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", type=Path, help="folder to write into (CNNKIT_DATA_DIR for the dry run)")
    parser.add_argument("--only", action="append", choices=NAMES, help="one dataset (repeatable); default all")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the real image counts (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="rewrite datasets that exist")
    parser.add_argument("--cub-long-side", type=int, default=500,
                        help="CUB photos' longer side in pixels (default 500, the real maximum)")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    report = ensure(args.target, args.only or NAMES, scale=args.scale, seed=args.seed, force=args.force,
                    cub_long_side=args.cub_long_side)
    for key, value in loader_env(args.target).items():
        print(f"export {key}={value}")
    if report:
        import json

        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Cut cnnkit's shipped CIFAR-10 sample (``cifar10_sample.npz``) from the JPEG export.

Usage (from the repository root)::

    python cnnkit/data/sample/make_sample.py [SRC] [OUT]

SRC defaults to ``../shared/data/cifar10-jpeg.tar.gz`` beside the checkout
(CIFAR-10 as ``train/<class>/NNNN.jpg`` and ``test/<class>/NNNN.jpg``), OUT to
``cifar10_sample.npz`` next to this script.

What it does, deterministically (fixed seed, sorted inputs, fixed zip
timestamps -- running it twice gives the same bytes):

* for every class, in the canonical label order (airplane ... truck), draws
  ``TRAIN_PER_CLASS`` files from ``train/<class>/`` and ``TEST_PER_CLASS`` from
  ``test/<class>/`` uniformly at random without replacement
  (``numpy.random.default_rng(SEED)``), never looking at file sizes or pixels;
* shuffles each split so that classes are interleaved;
* stores the original JPEG bytes untouched (no re-encoding) in one ``.npz``:
  per split a uint8 byte buffer, int64 offsets, uint8 labels and the int16
  file number (``NNNN``), plus ``class_names``. No object arrays: it loads
  with ``allow_pickle=False``. The zip is deflated, which shrinks the JPEG
  headers that every file repeats (quantisation and Huffman tables).
"""
from __future__ import annotations

import io
import os
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]
SEED = 2009                      # the year of Krizhevsky's CIFAR report
TRAIN_PER_CLASS = 100
TEST_PER_CLASS = 20
MAX_BYTES = 1_048_576            # the package file must stay within 1 MiB

HERE = Path(__file__).resolve().parent
DEFAULT_SRC = HERE.parents[3] / "shared" / "data" / "cifar10-jpeg.tar.gz"
DEFAULT_OUT = HERE / "cifar10_sample.npz"


def read_export(src: Path) -> dict[tuple[str, str], dict[int, bytes]]:
    """{(split, class): {file number: JPEG bytes}} for the whole export."""
    files: dict[tuple[str, str], dict[int, bytes]] = {}
    with tarfile.open(src) as archive:
        for member in archive:
            if not (member.isfile() and member.name.endswith(".jpg")):
                continue
            split, class_name, file_name = member.name.split("/")[-3:]
            number = int(file_name[: -len(".jpg")])
            files.setdefault((split, class_name), {})[number] = \
                archive.extractfile(member).read()
    return files


def cut(files, rng: np.random.Generator, split: str, per_class: int) -> dict[str, np.ndarray]:
    picks = []   # (label, file number, bytes)
    for label, class_name in enumerate(CLASSES):
        by_number = files[(split, class_name)]
        numbers = sorted(by_number)
        chosen = np.sort(rng.choice(len(numbers), size=per_class, replace=False))
        picks += [(label, numbers[i], by_number[numbers[i]]) for i in chosen]
    picks = [picks[i] for i in rng.permutation(len(picks))]
    lengths = np.array([len(blob) for _, _, blob in picks], dtype=np.int64)
    return {
        f"{split}_jpeg": np.frombuffer(b"".join(blob for _, _, blob in picks), dtype=np.uint8),
        f"{split}_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        f"{split}_labels": np.array([label for label, _, _ in picks], dtype=np.uint8),
        f"{split}_numbers": np.array([number for _, number, _ in picks], dtype=np.int16),
    }


def write_npz(out: Path, arrays: dict[str, np.ndarray]) -> None:
    # np.savez_compressed stamps the current time into the zip; write the
    # members ourselves with a fixed timestamp so the file is reproducible.
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)
    os.replace(tmp, out)


def check(out: Path) -> None:
    from PIL import Image

    size = out.stat().st_size
    assert size <= MAX_BYTES, f"{out} is {size:,} bytes, over the {MAX_BYTES:,} limit"
    with np.load(out, allow_pickle=False) as npz:
        for split, per_class in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
            labels, offsets = npz[f"{split}_labels"], npz[f"{split}_offsets"]
            assert np.bincount(labels, minlength=10).tolist() == [per_class] * 10
            blob = npz[f"{split}_jpeg"].tobytes()
            for start, end in zip(offsets[:-1], offsets[1:]):
                image = Image.open(io.BytesIO(blob[start:end]))
                assert image.format == "JPEG" and image.size == (32, 32)


def main(src: Path = DEFAULT_SRC, out: Path = DEFAULT_OUT) -> None:
    files = read_export(Path(src))
    rng = np.random.default_rng(SEED)
    arrays = {"class_names": np.array(CLASSES)}
    arrays.update(cut(files, rng, "train", TRAIN_PER_CLASS))
    arrays.update(cut(files, rng, "test", TEST_PER_CLASS))
    write_npz(Path(out), arrays)
    check(Path(out))
    print(f"wrote {out}: {Path(out).stat().st_size:,} bytes, "
          f"{TRAIN_PER_CLASS} train + {TEST_PER_CLASS} test images per class")


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:3]))

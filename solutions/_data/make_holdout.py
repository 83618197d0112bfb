#!/usr/bin/env python3
"""Cut the grader's private CIFAR-10 holdout (``cifar10_holdout.npz``) from the JPEG export.

Usage (from the repository root)::

    python solutions/_data/make_holdout.py [SRC] [OUT]

The smoke profile's public data is the sample shipped in the student package
(``cnnkit/data/sample/cifar10_sample.npz``: 100 train + 20 test images per
class). The grader measures accuracy on images no student ever receives: this
file, ``HOLDOUT_PER_CLASS`` images per class drawn from CIFAR-10's *test* split
of the same export, excluding every test image the sample already holds. It
lives under ``solutions/`` (the instructor side), is never packaged, and the
grading sandbox never mounts it.

Deterministic like the sample (fixed seed, sorted inputs, fixed zip
timestamps), and in the sample's format: per split ``<split>_jpeg`` (bytes),
``<split>_offsets``, ``<split>_labels``, ``<split>_numbers``, here with the
single split ``holdout``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "cnnkit" / "data" / "sample"))

from make_sample import CLASSES, read_export, write_npz  # noqa: E402

SEED = 1009                       # not the sample's seed: an independent draw
HOLDOUT_PER_CLASS = 100
DEFAULT_SRC = REPO.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
DEFAULT_OUT = HERE / "cifar10_holdout.npz"
SAMPLE = REPO / "cnnkit" / "data" / "sample" / "cifar10_sample.npz"


def main(src: Path = DEFAULT_SRC, out: Path = DEFAULT_OUT) -> None:
    files = read_export(Path(src))
    with np.load(SAMPLE, allow_pickle=False) as sample:
        in_sample = {(int(label), int(number)) for label, number
                     in zip(sample["test_labels"], sample["test_numbers"])}
    rng = np.random.default_rng(SEED)
    picks = []
    for label, class_name in enumerate(CLASSES):
        by_number = files[("test", class_name)]
        numbers = [n for n in sorted(by_number) if (label, n) not in in_sample]
        chosen = np.sort(rng.choice(len(numbers), size=HOLDOUT_PER_CLASS, replace=False))
        picks += [(label, numbers[i], by_number[numbers[i]]) for i in chosen]
    picks = [picks[i] for i in rng.permutation(len(picks))]
    lengths = np.array([len(blob) for _, _, blob in picks], dtype=np.int64)
    arrays = {
        "class_names": np.array(CLASSES),
        "holdout_jpeg": np.frombuffer(b"".join(blob for _, _, blob in picks), dtype=np.uint8),
        "holdout_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "holdout_labels": np.array([label for label, _, _ in picks], dtype=np.uint8),
        "holdout_numbers": np.array([number for _, number, _ in picks], dtype=np.int16),
    }
    write_npz(Path(out), arrays)
    with np.load(out, allow_pickle=False) as npz:
        assert np.bincount(npz["holdout_labels"], minlength=10).tolist() == [HOLDOUT_PER_CLASS] * 10
        assert not {(int(l), int(n)) for l, n in zip(npz["holdout_labels"], npz["holdout_numbers"])} & in_sample
    print(f"wrote {out}: {Path(out).stat().st_size:,} bytes, {HOLDOUT_PER_CLASS} test images per class, "
          "disjoint from the shipped sample")


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:3]))

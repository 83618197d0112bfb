"""benchmarks/synthetic_full_data.py: every dataset, written at a tiny scale in its real on-disk
format, read back by the real full-profile loader (course_dataset), holdout split included."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnkit.data import course_dataset, course_holdout
from cnnkit.data._course import HOLDOUT_FRACTION

REPO = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("synthetic_full_data", REPO / "benchmarks" / "synthetic_full_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SCALE = 0.002          # cifar100 1 train / 2 test per class, CUB 1 / 2, folders 1 / 1 / 2


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    sfd = _module()
    target = tmp_path_factory.mktemp("synthetic-full")
    report = sfd.ensure(target, scale=SCALE, cub_long_side=48, log=lambda *_: None)
    return sfd, target, report


@pytest.fixture
def full_env(written, tmp_path, monkeypatch):
    sfd, target, _ = written
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("CNNKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CNNKIT_OFFLINE", "1")
    monkeypatch.delenv("CNNKIT_COURSE_DATA_DIR", raising=False)
    for key, value in sfd.loader_env(target).items():
        monkeypatch.setenv(key, value)
    return written


# name, class count, image shape, (train, test) counts at SCALE (val folded into train for folders)
CASES = [
    ("cifar100_25", 25, (32, 32, 3), (25, 50)),
    ("fashion_mnist", 10, (28, 28, 1), (120, 20)),
    ("cub200", 200, (224, 224, 3), (200, 400)),
    ("image_folder", 100, (84, 84, 3), (200, 200)),
]


@pytest.mark.parametrize("name, classes, shape, counts", CASES, ids=[c[0] for c in CASES])
def test_real_loader_reads_synthetic_full_data(full_env, name, classes, shape, counts):
    raw = course_dataset(name, "full", _with_holdout=True)
    assert not raw.is_stand_in
    assert raw.num_classes == classes and raw.image_shape == shape
    n_train = len(raw.y_train) + (0 if raw.y_val is None else len(raw.y_val))
    assert (n_train, len(raw.y_test)) == counts
    for y in (raw.y_train, raw.y_test):
        assert y.dtype == np.int64 and set(np.unique(y)) == set(range(classes))   # every class, in range
    if name == "image_folder":
        assert raw.x_val is not None and len(raw.y_val) == classes

    # The student's test split and the grader's holdout: disjoint halves of the real test split.
    public = course_dataset(name, "full")
    x_hold, y_hold = course_holdout(name, "full", None)
    assert len(y_hold) == round(HOLDOUT_FRACTION * counts[1])
    assert len(public.y_test) + len(y_hold) == counts[1]
    assert public.x_train.shape == raw.x_train.shape
    assert {img.tobytes() for img in public.x_test}.isdisjoint({img.tobytes() for img in x_hold})
    # Stratified: two test images per class at this scale, one of each goes to the holdout.
    assert np.array_equal(np.bincount(y_hold, minlength=classes), np.bincount(raw.y_test, minlength=classes) // 2)


def test_formats_and_real_counts(written):
    sfd, target, report = written
    assert sorted(p.name for p in target.iterdir()) == sorted(sfd.TARGETS.values())  # no partial leftovers
    # The real counts the script writes at scale 1 (checked on the tables, not written here).
    cub = sfd._cub_counts(1.0)
    assert sum(t for t, _ in cub) == 5_994 and sum(e for _, e in cub) == 5_794 and len(cub) == 200
    assert max(t + e for t, e in cub) <= 60
    assert sum(sfd.FOLDER_COUNTS.values()) * sfd.FOLDER_CLASSES == 70_000
    from cnnkit.data import load_cifar100

    coarse = load_cifar100(target, label_mode="coarse")
    assert coarse.num_classes == 20 and set(np.unique(coarse.y_train)) <= set(range(20))
    fine = load_cifar100(target)
    assert fine.class_names[:3] == ["apple", "aquarium_fish", "baby"] and len(fine.y_train) == 100
    cub_root = target / "CUB_200_2011"
    lines = (cub_root / "images.txt").read_text().splitlines()
    assert len(lines) == report["cub200"]["train"] + report["cub200"]["test"] == 600
    assert all((cub_root / "images" / line.split(maxsplit=1)[1]).is_file() for line in lines[:5])


def test_classes_are_distinct_beyond_shapes_times_colours(written):
    sfd = written[0]
    rng = np.random.default_rng(0)
    # Class k and k + 36 share shape and colour; the texture variant must tell them apart.
    a, b = sfd.draw(rng, 3, 32, 32, 3), sfd.draw(rng, 39, 32, 32, 3)
    assert a.shape == b.shape == (32, 32, 3) and abs(a.astype(int).mean() - b.astype(int).mean()) > 20
    with pytest.raises(ValueError):
        sfd.draw(rng, 216, 32, 32, 3)

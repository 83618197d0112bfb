#!/usr/bin/env python3
"""Grade an assignment's solution in the full profile, for real, on this machine.

    .venv/bin/python benchmarks/full_profile.py cifar10_cnn --data /work/data

Builds the canonical CIFAR-10 archive from ``../shared/data/cifar10-jpeg.tar.gz`` when
``DATA/cifar-10-python.tar.gz`` is missing (``build_cifar10.py``, about a minute), then
grades the instructors' solution with the sandboxed grader in the ``full`` profile
(``CNNKIT_DATA_DIR=DATA``; the kernel sees only the public part of the data, the grader
measures accuracy on its half of the test split) and prints every test, the grader's
accuracies and the seconds per submission. Figures go to
``benchmarks/_work/full-ID-BACKEND.json``; record them in ``benchmarks/RESULTS.md``.
For more seeds of the thresholds' calibration use ``benchmarks/calibrate.py ID --profile full``.

Dry run on synthetic data (datasets that are not on this machine)::

    .venv/bin/python benchmarks/full_profile.py fashion_mnist --synthetic [--cap-epochs 1]

``--synthetic`` writes the assignment's datasets with ``synthetic_full_data.py`` into ``--data``
(default ``benchmarks/_work/synthetic-data``) when missing, at their real shapes, sizes and
formats, and points the loaders at them (``CNNKIT_DATA_DIR``, ``CNNKIT_CUB_DIR``,
``CNNKIT_IMAGE_FOLDER``); CIFAR-10 stays the real one. ImageNet weights cannot be downloaded
here, so ``weights="imagenet"`` loads seeded *random* weights of the same architecture: they are
written in Keras' cache format into a private ``KERAS_HOME`` (benchmarks/_work/dry-keras), which
the grader binds read-only into the kernel like a real cache, and a ``sitecustomize`` beside them
(on the kernel's PYTHONPATH, this run only) lets Keras accept them despite their md5. The
notebooks are untouched. ``--cap-epochs N`` grades with a copy of the manifest whose full
workloads train at most N epochs (everything else, data sizes and limits included, unchanged),
to measure a per-epoch cost where the whole workload does not fit the machine. Accuracies of a
dry run mean nothing for the thresholds. Per-cell seconds (from the executed notebook) and
whether any cell came near ``[limits.full]`` are added to the JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def ensure_cifar10(data: Path) -> None:
    target = data / "cifar-10-python.tar.gz"
    if target.exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    builder = REPO.parent / "shared" / "data" / "build_cifar10.py"
    print(f"building {target} with {builder} ...", flush=True)
    subprocess.run([sys.executable, str(builder), str(target)], check=True)


# The Keras cache files keras.applications reads for weights="imagenet" (keras/src/applications).
IMAGENET_FILES = {"vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5": "VGG16",
                  "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5": "ResNet50"}
COURSE_TO_SYNTHETIC = {"cifar100_25": "cifar100", "fashion_mnist": "fashion_mnist", "cub200": "cub200",
                       "image_folder": "image_folder"}
# Loaded in the grading kernel only (PYTHONPATH=.keras/models, relative to its working folder):
# keras.utils.get_file's md5 check accepts the random-weight files above, nothing else.
SITECUSTOMIZE = '''"""Dry run only (benchmarks/full_profile.py --synthetic): random ImageNet-format weights."""
import importlib.abc, importlib.util, os, sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_FILES = %r


class _PatchFileUtils(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "keras.src.utils.file_utils":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            original = module.validate_file

            def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
                if os.path.basename(fpath) in _FILES and os.path.dirname(os.path.abspath(fpath)) == _HERE:
                    print(f"[dry run] {os.path.basename(fpath)}: random weights, not ImageNet's", file=sys.stderr)
                    return True
                return original(fpath, file_hash, algorithm, chunk_size)

            module.validate_file = validate_file

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PatchFileUtils())
'''


def ensure_random_imagenet_weights(keras_home: Path) -> Path:
    """Seeded random weights in the files (and h5 layout) keras.applications loads for "imagenet"."""
    models = keras_home / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "sitecustomize.py").write_text(SITECUSTOMIZE % (sorted(IMAGENET_FILES),))
    missing = [name for name in IMAGENET_FILES if not (models / name).exists()]
    if missing:
        import h5py
        import keras
        from keras.src.legacy.saving import legacy_h5_format

        keras.utils.set_random_seed(0)
        for name in missing:
            model = getattr(keras.applications, IMAGENET_FILES[name])(include_top=False, weights=None)
            tmp = models / f".{name}.partial"
            with h5py.File(tmp, "w") as f:
                legacy_h5_format.save_weights_to_hdf5_group(f, model)
            os.replace(tmp, models / name)
            print(f"random weights for {IMAGENET_FILES[name]} (no top) -> {models / name}", flush=True)
    return models


def ensure_synthetic(assignment: str, data: Path) -> dict:
    """Write the assignment's datasets (real sizes, synthetic images) into data; set the loaders' env."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import synthetic_full_data as sfd
    from autograder.manifest import load_assignment

    datasets = list(load_assignment(assignment).manifest.datasets or [])
    names = [COURSE_TO_SYNTHETIC[d] for d in datasets if d in COURSE_TO_SYNTHETIC]
    started = time.monotonic()
    written = sfd.ensure(data, names)
    os.environ.update(sfd.loader_env(data))
    return {"datasets": datasets, "synthetic": names, "written": written,
            "seconds_writing": round(time.monotonic() - started, 1)}


def capped_solutions(assignment: str, epochs: int, tmp: Path) -> Path:
    """A copy of solutions/ID whose [workload.*.full] tables train at most ``epochs`` epochs."""
    target = tmp / "solutions"
    shutil.copytree(REPO / "solutions" / assignment, target / assignment)
    if (REPO / "solutions" / "_data").is_dir():
        shutil.copytree(REPO / "solutions" / "_data", target / "_data")
    toml = target / assignment / "assignment.toml"
    out, in_full = [], False
    for line in toml.read_text().splitlines(keepends=True):
        if line.startswith("["):
            in_full = bool(re.match(r"\[workload\.[^.\]]+\.full\]", line))
        match = re.match(r"(\s*epochs\s*=\s*)(\d+)(.*)", line, re.S) if in_full else None
        if match and int(match.group(2)) > epochs:
            line = f"{match.group(1)}{epochs}{match.group(3)}"
        out.append(line)
    toml.write_text("".join(out))
    return target


def cell_seconds(notebook: Path) -> list[dict]:
    """Seconds per executed code cell, from the timestamps nbclient records in its metadata."""
    from datetime import datetime

    def stamp(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    cells = []
    for index, cell in enumerate(json.loads(notebook.read_text())["cells"]):
        timing = cell.get("metadata", {}).get("execution", {})
        if cell["cell_type"] != "code" or "iopub.status.busy" not in timing or "iopub.status.idle" not in timing:
            continue
        seconds = (stamp(timing["iopub.status.idle"]) - stamp(timing["iopub.status.busy"])).total_seconds()
        cells.append({"cell": index, "grade_id": cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"),
                      "seconds": round(seconds, 2), "first_line": "".join(cell["source"]).strip().split("\n")[0][:70]})
    return cells


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("--data", type=Path, default=None,
                        help="data folder (default benchmarks/_work/data, or .../synthetic-data with --synthetic)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--synthetic", action="store_true",
                        help="dry run: synthetic datasets of the real sizes, random weights for 'imagenet'")
    parser.add_argument("--cap-epochs", type=int, default=None,
                        help="train at most this many epochs in every full workload (a copy of the manifest)")
    args = parser.parse_args(argv)
    if args.data is None:
        args.data = REPO / "benchmarks" / "_work" / ("synthetic-data" if args.synthetic else "data")

    dry_run = {}
    if args.synthetic:
        dry_run = ensure_synthetic(args.assignment, args.data)
        models = ensure_random_imagenet_weights(REPO / "benchmarks" / "_work" / "dry-keras")
        os.environ["KERAS_HOME"] = str(models.parent)
        dry_run["imagenet_weights"] = "random (seed 0), same architecture; not ImageNet's"
    if args.assignment in ("cifar10_cnn", "vgg16_transfer"):
        ensure_cifar10(args.data)
    os.environ["CNNKIT_DATA_DIR"] = str(args.data.resolve())
    os.environ["CNNKIT_PROFILE"] = "full"

    from autograder.batch import BatchOptions, grade_batch
    from autograder.submissions import solution_submission

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    with tempfile.TemporaryDirectory(prefix=f"full-{args.assignment}-") as tmp:
        subs = Path(tmp) / "subs"
        solution_submission(REPO / "solutions" / args.assignment / f"{args.assignment}.ipynb",
                            REPO / "assignments" / args.assignment / f"{args.assignment}.ipynb",
                            subs / "solution.ipynb")
        tag = "dry-" if args.synthetic else ""
        out = REPO / "benchmarks" / "_work" / f"full-{tag}{args.assignment}-out"
        solutions_dir = None
        if args.cap_epochs:
            solutions_dir = capped_solutions(args.assignment, args.cap_epochs, Path(tmp))
            dry_run["cap_epochs"] = args.cap_epochs
        kernel_env = {"PYTHONPATH": ".keras/models"} if args.synthetic else {}
        started = time.monotonic()
        batch = grade_batch([subs], BatchOptions(assignment=args.assignment, out_dir=out, profile="full",
                                                 jobs=args.jobs, lang="en", force=True, solutions_dir=solutions_dir,
                                                 kernel_env=kernel_env))
        elapsed = time.monotonic() - started
    result = json.loads((out / "solution" / "grading.json").read_text())
    from autograder.manifest import load_assignment

    limits = load_assignment(args.assignment).limits("full")
    rows = []
    for test in result["tests"]:
        if test["kind"] != "test":
            continue
        figures = {c["key"]: c["details"].get("accuracy") for c in test["checks"] if "accuracy" in c["details"]}
        failures = [m["code"] for c in test["checks"] for m in c["failures"]]
        rows.append({"test": test["grade_id"], "status": test["status"], "accuracy": figures, "failures": failures})
        print(f"{test['grade_id']:<24} {test['status']:<8} {figures or ''} {failures or ''}")
    summary = {"assignment": args.assignment, "backend": backend, "cpus": os.cpu_count(),
               "score": result["score"], "max_score": result["max_score"], "status": result["status"],
               "seconds_batch": round(elapsed, 1), "timings": result["timings"],
               "memory_peak_mb": result.get("memory_peak_mb"), "measurements": result["measurements"],
               "tests": rows}
    notebook = out / "solution" / "solution.autograded.ipynb"
    cells = cell_seconds(notebook) if notebook.exists() else []
    summary["limits_full"] = {"cell_timeout": limits.cell_timeout, "notebook_timeout": limits.notebook_timeout,
                              "memory_mb": limits.memory_mb}
    summary["cells"] = cells
    summary["slowest_cell_s"] = max((c["seconds"] for c in cells), default=None)
    summary["hit_limits"] = {
        "cell_timeout": any(c["seconds"] >= limits.cell_timeout for c in cells),
        "notebook_timeout": result["timings"].get("execute", 0) >= limits.notebook_timeout,
        "memory": (result.get("memory_peak_mb") or 0) >= limits.memory_mb,
        "status": result["status"]}
    if dry_run:
        summary["dry_run"] = dry_run
    path = REPO / "benchmarks" / "_work" / f"full-{tag}{args.assignment}-{backend}.json"
    path.write_text(json.dumps(summary, indent=1))
    print(f"\n{args.assignment} · full · {backend}: {result['score']:g}/{result['max_score']:g} "
          f"({result['status']}) in {elapsed:.0f} s per submission ({batch.records[0].seconds:.0f} s graded) — {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

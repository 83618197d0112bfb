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
"""
from __future__ import annotations

import argparse
import json
import os
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("--data", type=Path, default=REPO / "benchmarks" / "_work" / "data")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)

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
        out = REPO / "benchmarks" / "_work" / f"full-{args.assignment}-out"
        started = time.monotonic()
        batch = grade_batch([subs], BatchOptions(assignment=args.assignment, out_dir=out, profile="full",
                                                 jobs=args.jobs, lang="en", force=True))
        elapsed = time.monotonic() - started
    result = json.loads((out / "solution" / "grading.json").read_text())
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
    path = REPO / "benchmarks" / "_work" / f"full-{args.assignment}-{backend}.json"
    path.write_text(json.dumps(summary, indent=1))
    print(f"\n{args.assignment} · full · {backend}: {result['score']:g}/{result['max_score']:g} "
          f"({result['status']}) in {elapsed:.0f} s per submission ({batch.records[0].seconds:.0f} s graded) — {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

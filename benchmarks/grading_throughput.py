"""Grading throughput in the smoke profile, against plain ``nbgrader autograde``.

    python benchmarks/grading_throughput.py [--copies 4] [--assignments cifar10_cnn,fashion_mnist]

For each assignment, ``--copies`` copies of the solution submission are graded
three ways, in this order, on the same notebooks:

1. plain ``nbgrader autograde`` (one process for the whole class, kernels
   started by nbgrader, tests checked only inside the kernel) — the baseline;
2. ``cnnkit grade --jobs 1``;
3. ``cnnkit grade --jobs 2``.

It prints seconds per notebook and notebooks per hour for each, and the ratio
of ``cnnkit grade --jobs 1`` to nbgrader (overhead: sandboxing, artifact
export and verification outside the kernel, feedback). Targets on one 2-core
machine: ≤ 30 s per notebook, ≥ 120 notebooks/hour, overhead ≤ 1.3×.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_copies(assignment: str, copies: int, dest: Path) -> list[Path]:
    from autograder.submissions import solution_submission

    dest.mkdir(parents=True, exist_ok=True)
    first = solution_submission(REPO / "solutions" / assignment / f"{assignment}.ipynb",
                                REPO / "assignments" / assignment / f"{assignment}.ipynb", dest / "student01.ipynb")
    paths = [first]
    for i in range(2, copies + 1):
        paths.append(dest / f"student{i:02d}.ipynb")
        shutil.copy2(first, paths[-1])
    return paths


def kernel_environment(threads: int) -> dict:
    from autograder.sandbox import worker_environment

    env = dict(os.environ)
    env.update(worker_environment(threads))
    env.update({"CNNKIT_PROFILE": "smoke", "CNNKIT_OFFLINE": "1", "MPLBACKEND": "Agg"})
    return env


def plain_nbgrader(assignment: str, submissions: list[Path], work: Path, cell_timeout: int) -> float:
    """Seconds for ``nbgrader autograde`` on the same notebooks (its own course directory)."""
    from autograder.course import build_course

    course = build_course(assignment, REPO / "solutions" / assignment / f"{assignment}.ipynb", work / "course")
    for path in submissions:
        target = course.submitted_notebook(path.stem)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    nbgrader = Path(sys.executable).with_name("nbgrader")
    cmd = [str(nbgrader), "autograde", assignment, f"--CourseDirectory.root={course.root}",
           f"--CourseDirectory.db_url={course.db_url}", "--CourseDirectory.course_id=cnnkit",
           f"--Execute.timeout={cell_timeout}", "--force"]
    started = time.monotonic()
    run = subprocess.run(cmd, cwd=course.root, env=kernel_environment(threads=os.cpu_count() or 1),
                         capture_output=True, text=True)
    elapsed = time.monotonic() - started
    graded = len(list((course.root / "autograded").glob(f"*/{assignment}/*.ipynb")))
    if run.returncode != 0 or graded != len(submissions):
        print(run.stdout[-2000:], run.stderr[-2000:], sep="\n")
        raise SystemExit(f"nbgrader autograde failed for {assignment} ({graded}/{len(submissions)} graded)")
    return elapsed


def cnnkit_grade(assignment: str, submissions_dir: Path, out: Path, jobs: int) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "autograder.cli", "grade", "--assignment", assignment, "--out", str(out),
           "--jobs", str(jobs), "--force", "--solutions", str(REPO / "solutions"), str(submissions_dir)]
    started = time.monotonic()
    run = subprocess.run(cmd, env=dict(os.environ, CNNKIT_PROFILE="smoke"), capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        print(run.stdout[-2000:], run.stderr[-2000:], sep="\n")
        raise SystemExit(f"cnnkit grade failed for {assignment}")
    import csv

    rows = list(csv.DictReader((out / "grades.csv").open()))
    full = sum(float(r["score"]) == float(r["max_score"]) for r in rows)
    return elapsed, full


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=4,
                        help="copies of each solution; keep it even, or the last --jobs 2 round runs one "
                             "notebook on half the machine and understates throughput")
    parser.add_argument("--assignments", default=None, help="comma-separated ids (default: all)")
    parser.add_argument("--cell-timeout", type=int, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    from autograder.manifest import assignment_ids

    if args.copies % 2:
        print(f"warning: --copies {args.copies} is odd: --jobs 2 ends with a round of one notebook",
              file=sys.stderr)
    ids = args.assignments.split(",") if args.assignments else assignment_ids(REPO / "solutions")
    work = Path(tempfile.mkdtemp(prefix="cnnkit-throughput-"))
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} · {platform.node()} · {os.cpu_count()} CPUs · "
          f"load {os.getloadavg()[0]:.2f} · {args.copies} copies of each solution · smoke profile")
    print(f"{'assignment':<20}{'nbgrader s/nb':>14}{'jobs1 s/nb':>12}{'jobs2 s/nb':>12}{'jobs2 nb/h':>12}"
          f"{'overhead':>10}{'full marks':>12}")
    totals = {"nbgrader": 0.0, "jobs1": 0.0, "jobs2": 0.0}
    count = 0
    try:
        for assignment in ids:
            subs = make_copies(assignment, args.copies, work / assignment / "submissions")
            base = plain_nbgrader(assignment, subs, work / assignment / "nbgrader", args.cell_timeout)
            one, full1 = cnnkit_grade(assignment, work / assignment / "submissions", work / assignment / "jobs1", 1)
            two, full2 = cnnkit_grade(assignment, work / assignment / "submissions", work / assignment / "jobs2", 2)
            n = len(subs)
            totals["nbgrader"] += base
            totals["jobs1"] += one
            totals["jobs2"] += two
            count += n
            print(f"{assignment:<20}{base / n:>14.1f}{one / n:>12.1f}{two / n:>12.1f}{3600 * n / two:>12.0f}"
                  f"{one / base:>9.2f}×{f'{min(full1, full2)}/{n}':>12}")
        print(f"{'all':<20}{totals['nbgrader'] / count:>14.1f}{totals['jobs1'] / count:>12.1f}"
              f"{totals['jobs2'] / count:>12.1f}{3600 * count / totals['jobs2']:>12.0f}"
              f"{totals['jobs1'] / totals['nbgrader']:>9.2f}×")
        print(f"notebooks/hour: jobs1 {3600 * count / totals['jobs1']:.0f}, jobs2 {3600 * count / totals['jobs2']:.0f}; "
              f"seconds/notebook (jobs2) {totals['jobs2'] / count:.1f}; "
              f"ratio {totals['jobs1'] / totals['nbgrader']:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

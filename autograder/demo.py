"""``cnnkit demo``: the kit's main job, end to end, offline, in a few minutes.

1. Regenerates the student releases from the solutions with nbgrader and
   says whether they match the committed ``assignments/``.
2. Writes submissions: the instructors' solutions of every assignment, and
   the example students of ``solutions/<ID>/examples/*.py`` (answer files,
   ``# %% answer: <cell id>`` blocks over the solution, so they always fit
   the current release). ``--quick`` (what CI runs): one assignment, two students.
3. Grades them in the smoke profile with the sandboxed grader, printing a
   progress bar and the class table of each assignment.
4. Writes ``index.html`` (every student's score with a link to their
   feedback) and ``scores.png`` next to the per-student ``feedback.html``.
"""
from __future__ import annotations

import html
import json
import os
import time
from pathlib import Path

QUICK_ASSIGNMENTS = ("cifar10_cnn",)
# The quick (CI) variant grades the two example students whose feedback says the most: bruno
# (seed 003's bugs) and carla (correct, in Keras 2 idioms). The instructors' solution and alice
# (correct, Keras 3) get full marks in tests/test_assignments.py and the full demo.
QUICK_STUDENTS = ("bruno", "carla")


def example_answers(assignment_id: str, solutions_dir: Path) -> dict[str, dict[str, str]]:
    """``student → answers`` from ``solutions/<ID>/examples/<student>.py``."""
    from .submissions import parse_answers

    folder = Path(solutions_dir) / assignment_id / "examples"
    return {path.stem: parse_answers(path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob("*.py"))} if folder.is_dir() else {}


def write_submissions(assignment_id: str, solutions_dir: Path, assignments_dir: Path, dest: Path,
                      *, students: tuple[str, ...] | None = None) -> Path:
    """The instructors' solution (as ``solution.ipynb``) and the example students of one
    assignment, as notebooks in ``dest``; ``students`` selects some of them (``"solution"``
    included) instead of all."""
    import nbformat

    from .submissions import solution_answers, write_submission

    source = solutions_dir / assignment_id / f"{assignment_id}.ipynb"
    release = assignments_dir / assignment_id / f"{assignment_id}.ipynb"
    solution = solution_answers(nbformat.read(str(source), as_version=4))
    dest.mkdir(parents=True, exist_ok=True)
    if students is None or "solution" in students:
        write_submission(release, solution, dest / "solution.ipynb")
    for student, answers in example_answers(assignment_id, solutions_dir).items():
        if students is None or student in students:
            write_submission(release, {**solution, **answers}, dest / f"{student}.ipynb")
    return dest


def _scores_figure(batches: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")   # files only; the demo may run without a display
    import matplotlib.pyplot as plt

    names, percents, colors = [], [], []
    for assignment_id, batch in batches.items():
        for record in batch.records:
            names.append(f"{assignment_id}\n{record.student}")
            percents.append(100 * record.score / record.max_score if record.max_score else 0.0)
            colors.append("#2e7d32" if record.status == "ok" else "#c62828")
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(names)), 4))
    ax.bar(range(len(names)), percents, color=colors)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("autograded score (%)")
    ax.set_ylim(0, 105)
    ax.set_title("cnnkit demo — smoke profile")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _index_html(batches: dict, out_dir: Path, release_note: str) -> str:
    rows = []
    for assignment_id, batch in batches.items():
        for r in batch.records:
            link = f"{assignment_id}/{r.student}/feedback.html"
            rows.append(f"<tr><td>{html.escape(assignment_id)}</td><td><a href='{link}'>{html.escape(r.student)}</a></td>"
                        f"<td>{r.score:g} / {r.max_score:g}</td><td>{r.pending_manual:g}</td>"
                        f"<td>{html.escape(r.status)}</td><td>{r.seconds:.0f}</td></tr>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>cnnkit demo</title>"
            "<style>body{font-family:system-ui,sans-serif;margin:2em}td,th{padding:4px 10px;border-bottom:1px solid #ddd}"
            "</style></head><body><h1>cnnkit demo</h1>"
            f"<p>{html.escape(release_note)}</p><img src='scores.png' alt='scores'>"
            "<table><tr><th>assignment</th><th>student</th><th>autograded</th><th>written (pending)</th>"
            "<th>status</th><th>seconds</th></tr>" + "".join(rows) + "</table></body></html>")


def run_demo(out_dir: Path = Path("demo-output"), *, quick: bool = False, jobs: int = 2, lang: str = "es",
             solutions_dir: Path | None = None) -> int:
    from rich.console import Console

    from cnnkit.checks.artifacts import atomic_write

    from .batch import BatchOptions
    from .console import run_grade
    from .manifest import assignment_ids
    from .release import default_dirs, release
    from .sandbox import WorkerPool, allowed_cpus

    console = Console(highlight=False)
    os.environ["CNNKIT_PROFILE"] = "smoke"    # the demo is the offline, laptop-sized run
    started = time.monotonic()
    out_dir = Path(out_dir).resolve()
    solutions_dir, assignments_dir = default_dirs(solutions_dir)   # before any output: a clear error
    ids = list(QUICK_ASSIGNMENTS) if quick else assignment_ids(solutions_dir)
    students = QUICK_STUDENTS if quick else None

    console.rule("[bold]1 · release: solutions/ → assignments/ (nbgrader generate_assignment)")
    results = release(ids, solutions_dir=solutions_dir, assignments_dir=assignments_dir)
    changed = [r.assignment for r in results if r.changed]
    for r in results:
        console.print(("[yellow]↻ regenerated[/yellow] " if r.changed else "[green]✓ up to date[/green] ") + str(r.path))
    release_note = (f"releases regenerated: {', '.join(changed)}" if changed
                    else "releases regenerated: identical to the committed assignments/")

    console.rule("[bold]2 · submissions: " + ("solutions and example students" if students is None
                                              else ", ".join(students)))
    subs = {}
    for assignment_id in ids:
        subs[assignment_id] = write_submissions(assignment_id, solutions_dir, assignments_dir,
                                                out_dir / "submissions" / assignment_id,
                                                students=students)
        names = sorted(p.stem for p in subs[assignment_id].glob("*.ipynb"))
        console.print(f"{assignment_id}: {', '.join(names)}")

    console.rule("[bold]3 · grading (smoke profile, sandboxed workers)")
    batches = {}
    threads = max(1, allowed_cpus() // max(1, jobs))
    with WorkerPool(jobs, threads, out_dir / ".workers") as pool:   # warm workers for every assignment
        for assignment_id in ids:
            options = BatchOptions(assignment=assignment_id, out_dir=out_dir / assignment_id, profile="smoke",
                                   jobs=jobs, lang=lang, force=True, solutions_dir=solutions_dir)
            batches[assignment_id] = run_grade([subs[assignment_id]], options, console=console, pool=pool)

    console.rule("[bold]4 · report")
    _scores_figure(batches, out_dir / "scores.png")
    atomic_write(out_dir / "index.html", _index_html(batches, out_dir, release_note))
    atomic_write(out_dir / "summary.json", json.dumps({a: b.to_json() for a, b in batches.items()}, indent=1))
    console.print(f"open [bold]{out_dir / 'index.html'}[/bold] — per-student feedback.html, grades.csv and "
                  f"scores.png are beside it. ({time.monotonic() - started:.0f} s)")
    return 0

"""What ``cnnkit grade`` and ``cnnkit demo`` print: what a run uses, a progress bar, the class table."""
from __future__ import annotations

from pathlib import Path


def _console():
    from rich.console import Console

    return Console(highlight=False)


def print_class_table(records, console, title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column in ("student", "score", "%", "pending", "status", "seconds"):
        table.add_column(column, justify="right" if column in ("score", "%", "pending", "seconds") else "left")
    for r in records:
        percent = f"{100 * r.score / r.max_score:.0f}" if r.max_score else "-"
        style = "green" if r.status == "ok" else "red"
        table.add_row(r.student, f"{r.score:g}/{r.max_score:g}", percent, f"{r.pending_manual:g}" if r.pending_manual else "",
                      f"[{style}]{r.status}[/{style}]" + (" (skipped)" if r.skipped else ""), f"{r.seconds:.0f}")
    console.print(table)


def run_grade(inputs, options, console=None, title: str | None = None, pool=None):
    """Grade, showing progress, and print the class table; returns the BatchResult.

    On a terminal, a progress bar; otherwise (CI, a Slurm log, a pipe) one line per finished
    submission as it finishes — student, score, status, seconds — flushed at once, so a log
    is never empty for hours.
    """
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .batch import grade_batch
    from .submissions import discover

    console = console or _console()
    total = len(discover(inputs, options.assignment))
    if not console.is_terminal:
        print(f"grading {options.assignment}: {total} submission(s)", flush=True)

        def on_line(record, done, _total):
            skipped = " (already graded)" if record.skipped else ""
            print(f"[{done}/{_total}] {record.student}  {record.score:g}/{record.max_score:g}  {record.status}{skipped}"
                  f"  {record.seconds:.0f} s", file=sys.stdout, flush=True)

        result = grade_batch(inputs, options, on_progress=on_line, pool=pool)
    else:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=False) as progress:
            task = progress.add_task(f"grading {options.assignment}", total=total)

            def on_progress(record, done, _total):
                progress.update(task, completed=done, total=_total,
                                description=f"{options.assignment}: {record.student} → "
                                            f"{record.score:g}/{record.max_score:g}")

            result = grade_batch(inputs, options, on_progress=on_progress, pool=pool)
    print_class_table(result.records, console, title or f"{options.assignment} ({result.profile})")
    console.print(f"grades: {result.grades_csv}   ·   feedback: {Path(options.out_dir) / '<student>' / 'feedback.html'}"
                  f"   ·   formgrader: {Path(options.out_dir) / 'nbgrader'}")
    return result


def describe_run(options, console) -> None:
    """Say what a grading run will use: the profile, the isolation and the thresholds in force."""
    from cnnkit import messages

    from .batch import resolve_profile
    from .kernel import isolation
    from .manifest import load_assignment

    import os

    from cnnkit.profile import PROFILE_ENV, gpu_available

    profile = resolve_profile(options)
    assignment = load_assignment(options.assignment, options.solutions_dir)
    iso = isolation()
    why = ("--profile" if options.profile else f"${PROFILE_ENV}" if os.environ.get(PROFILE_ENV)
           else "a GPU is visible" if gpu_available() else "no GPU")
    console.print(f"[bold]{options.assignment}[/bold] · profile [bold]{profile}[/bold] ({why}) · "
                  + messages.render(iso.code, options.lang, **iso.params), markup=True)
    thresholds = [f"{key} ≥ {spec.option('threshold', profile):g}" for key, spec in
                  assignment.manifest.checks.items() if "threshold" in spec.options]
    if thresholds:
        console.print("thresholds: " + ", ".join(thresholds))



"""The ``cnnkit`` command.

    cnnkit demo                      release, grade the solutions and example submissions, write feedback
    cnnkit release [ID...] [--check] regenerate assignments/ from solutions/ through nbgrader
    cnnkit grade --assignment ID --out DIR [--profile smoke|full] [--jobs N] SUBMISSION...
    cnnkit check NOTEBOOK            a student's self-check: static hints + visible tests
    cnnkit merge --out DIR SHARD_DIR...
    cnnkit lms-export --format canvas|moodle --out FILE GRADING_DIR   final grades for the LMS
    cnnkit gradescope --assignment ID --out autograder.zip [--profile smoke|full] [--lang es|en]
    cnnkit nbgrader-config           print an nbgrader_config.py for courses that use stock nbgrader

The instructor commands (release, grade, demo) read the instructor side from --solutions DIR,
by default ./solutions (an installed wheel holds none).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _cmd_release(args) -> int:
    from .release import release

    console = _console()
    results = release(args.ids or None, solutions_dir=args.solutions, assignments_dir=args.assignments,
                      check=args.check)
    stale = [r for r in results if r.changed]
    for r in results:
        if args.check:
            mark = "[red]✗ differs[/red]" if r.changed else "[green]✓ up to date[/green]"
        else:
            mark = "[yellow]↻ regenerated[/yellow]" if r.changed else "[green]✓ unchanged[/green]"
        console.print(f"{mark}  {r.path}")
        if args.check and r.changed and r.diff:
            console.print(r.diff, markup=False)
    if args.check and stale:
        console.print(f"[red]{len(stale)} release(s) differ from a fresh generation: run `cnnkit release`.[/red]")
        return 1
    return 0


def _limits_from(args):
    from .manifest import Limits

    if args.cell_timeout is None and args.notebook_timeout is None and args.memory_mb is None:
        return None
    return Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                  memory_mb=args.memory_mb, output_bytes=None)


def _cmd_grade(args) -> int:
    from .batch import BatchOptions, parse_shard

    options = BatchOptions(assignment=args.assignment, out_dir=Path(args.out), profile=args.profile, jobs=args.jobs,
                           lang=args.lang, force=args.force, shard=parse_shard(args.shard),
                           solutions_dir=Path(args.solutions) if args.solutions else None,
                           limits=_limits_from(args), keep_workdirs=args.keep_workdirs)
    from .console import describe_run, run_grade

    console = _console()
    describe_run(options, console)
    run_grade([Path(p) for p in args.submissions], options, console=console)
    return 0


def _cmd_check(args) -> int:
    from .selfcheck import render_text, self_check

    report = self_check(Path(args.notebook), run=not args.no_run, lang=args.lang, cell_timeout=args.cell_timeout)
    print(render_text(report, args.lang))
    return 0 if report.ok else 1


def _cmd_merge(args) -> int:
    from .batch import merge

    path = merge(Path(args.out), [Path(p) for p in args.shards])
    print(f"merged into {path}")
    return 0


def _cmd_gradescope(args) -> int:
    from .gradescope import build_bundle

    path = build_bundle(args.assignment, Path(args.out), profile=args.profile, lang=args.lang,
                        solutions_dir=Path(args.solutions) if args.solutions else None)
    print(f"wrote {path}: upload it as the autograder of a Gradescope programming assignment")
    return 0


def _cmd_lms_export(args) -> int:
    from .lms import write_export

    path, grades = write_export(Path(args.grading), args.format, Path(args.out), args.assignment)
    pending = sum(1 for g in grades if g.pending)
    print(f"wrote {path}: {len(grades)} student(s) for {args.format}"
          + (f"; {pending} with written answers not graded yet (cd {Path(args.grading) / 'nbgrader'} "
             "and grade them in formgrader)" if pending else ""))
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(out_dir=Path(args.out), quick=args.quick, jobs=args.jobs, lang=args.lang,
                    solutions_dir=args.solutions)


def _cmd_nbgrader_config(args) -> int:
    from .course import STOCK_CONFIG_TEMPLATE

    sys.stdout.write(STOCK_CONFIG_TEMPLATE.read_text(encoding="utf-8"))
    return 0


def _positive(kind):
    """An argparse type: a number of ``kind`` greater than zero, or a clear error."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
        return value
    return parse


SOLUTIONS_HELP = ("the instructor side: ID/ID.ipynb + ID/assignment.toml folders (default: ./solutions; "
                  "an installed wheel holds none)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnnkit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="release, grade solutions and example submissions, write feedback")
    demo.add_argument("--out", default="demo-output", help="output directory (default: demo-output)")
    demo.add_argument("--quick", action="store_true", help="one assignment, two example students (what CI runs)")
    demo.add_argument("--jobs", type=int, default=2)
    demo.add_argument("--lang", choices=("es", "en"), default="es")
    demo.add_argument("--solutions", type=Path, default=None, help=SOLUTIONS_HELP)
    demo.set_defaults(func=_cmd_demo)

    rel = sub.add_parser("release", help="regenerate assignments/ from solutions/ through nbgrader")
    rel.add_argument("ids", nargs="*", help="assignment ids (default: all)")
    rel.add_argument("--check", action="store_true", help="exit 1 if a committed release differs")
    rel.add_argument("--solutions", type=Path, default=None, help=SOLUTIONS_HELP)
    rel.add_argument("--assignments", type=Path, default=None,
                     help="where the releases go (default: assignments/ beside the solutions folder)")
    rel.set_defaults(func=_cmd_release)

    grade = sub.add_parser("grade", help="grade submissions in sandboxed workers")
    grade.add_argument("submissions", nargs="+",
                       help=".ipynb files or folders: flat, nbgrader's submitted/ tree, one folder per student, "
                            "Moodle's, Canvas' or Gradescope's export")
    grade.add_argument("--assignment", required=True)
    grade.add_argument("--out", required=True, help="output directory")
    grade.add_argument("--profile", choices=("smoke", "full"), default=None,
                       help="default: $CNNKIT_PROFILE, else full on a GPU machine and smoke elsewhere")
    grade.add_argument("--jobs", type=_positive(int), default=1, help="submissions graded at once (≥ 1)")
    grade.add_argument("--lang", choices=("es", "en"), default="es",
                       help="feedback language (a rerun in another language rewrites the feedback, no regrading)")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.add_argument("--shard", default=None, help="i/n: grade only a stable slice of the submissions")
    grade.add_argument("--solutions", default=None, help=SOLUTIONS_HELP)
    grade.add_argument("--cell-timeout", type=_positive(float), default=None, help="seconds per cell")
    grade.add_argument("--notebook-timeout", type=_positive(float), default=None, help="seconds per notebook")
    grade.add_argument("--memory-mb", type=_positive(int), default=None, help="kernel memory limit")
    grade.add_argument("--keep-workdirs", action="store_true", help="keep each worker's temp dir (debugging)")
    grade.set_defaults(func=_cmd_grade)

    check = sub.add_parser("check", help="self-check a notebook before submitting")
    check.add_argument("notebook")
    check.add_argument("--no-run", action="store_true", help="static hints only, do not execute")
    check.add_argument("--lang", choices=("es", "en"), default=None)
    check.add_argument("--cell-timeout", type=int, default=300)
    check.set_defaults(func=_cmd_check)

    lms = sub.add_parser("lms-export", help="final grades (auto + manual) as the CSV Canvas or Moodle imports")
    lms.add_argument("grading", help="the output folder of cnnkit grade (or merge)")
    lms.add_argument("--format", choices=("canvas", "moodle"), required=True)
    lms.add_argument("--out", required=True, help="CSV file to write")
    lms.add_argument("--assignment", default=None, help="only this assignment's results (default: all)")
    lms.set_defaults(func=_cmd_lms_export)

    merge = sub.add_parser("merge", help="join the results of several --shard runs")
    merge.add_argument("shards", nargs="+")
    merge.add_argument("--out", required=True)
    merge.set_defaults(func=_cmd_merge)

    stock = sub.add_parser("nbgrader-config", help="print an nbgrader_config.py for stock nbgrader "
                                                   "(cnnkit nbgrader-config > nbgrader_config.py)")
    stock.set_defaults(func=_cmd_nbgrader_config)

    gradescope = sub.add_parser("gradescope", help="one assignment as a Gradescope autograder (a zip to upload)")
    gradescope.add_argument("--assignment", required=True)
    gradescope.add_argument("--out", required=True, help="the zip to write, e.g. autograder.zip")
    gradescope.add_argument("--profile", choices=("smoke", "full"), default="smoke",
                            help="what the autograder grades with (default: smoke; Gradescope has no GPU)")
    gradescope.add_argument("--lang", choices=("es", "en"), default="es", help="language of the feedback")
    gradescope.add_argument("--solutions", default=None,
                            help="the instructor side: ID/ID.ipynb + ID/assignment.toml folders (default: ./solutions)")
    gradescope.set_defaults(func=_cmd_gradescope)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, KeyError) as exc:   # ManifestError is a ValueError
        print(f"cnnkit {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

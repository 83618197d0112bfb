"""``cnnkit release``: the student side of each assignment, generated from the instructor side.

``solutions/ID/`` → ``assignments/ID/``:

* ``ID.ipynb``: nbgrader's ``generate_assignment`` of the source notebook
  (solutions replaced by stubs, hidden tests and mark schemes removed);
* ``assignment.toml``: the public manifest (:mod:`cnnkit.assignment`): the
  workloads, the specs of the keys that *visible* test code uses, and the
  names of the tests that also have hidden parts. A hidden test's keys, their
  expected values, probes and thresholds stay in ``solutions/``.

The student files are committed and never edited by hand; ``cnnkit release
--check`` fails when a committed file differs from a fresh generation (CI).
"""
from __future__ import annotations

import difflib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cnnkit.assignment import MANIFEST_NAME

from .manifest import assignment_ids, default_solutions_dir, load_assignment, public_manifest_text



def default_dirs(solutions_dir: Path | None = None) -> tuple[Path, Path]:
    """``(solutions, assignments)``: ``solutions_dir`` (default: ``./solutions`` when present,
    else beside the package in an editable install; an installed wheel has none and
    :func:`~autograder.manifest.default_solutions_dir` says to pass ``--solutions``) and the
    ``assignments/`` folder beside it."""
    solutions = Path(solutions_dir) if solutions_dir else default_solutions_dir()
    if not solutions.is_dir():
        raise FileNotFoundError(f"--solutions {solutions}: no such folder")
    return solutions, solutions.parent / "assignments"


def generate(assignment_id: str, solutions_dir: Path) -> dict[str, str]:
    """The student files of ``assignment_id``: ``{file name: text}``."""
    import nbformat

    from .course import build_course

    assignment = load_assignment(assignment_id, solutions_dir)
    with tempfile.TemporaryDirectory(prefix="cnnkit-release-") as tmp:
        course = build_course(assignment_id, assignment.source_notebook, Path(tmp) / "course")
        nb = nbformat.read(str(course.release_notebook), as_version=4)
    return {f"{assignment_id}.ipynb": nbformat.writes(nb) + "\n", MANIFEST_NAME: public_manifest_text(assignment)}


@dataclass
class ReleaseResult:
    assignment: str
    path: Path
    changed: bool
    diff: str = ""


def release(ids: list[str] | None = None, *, solutions_dir: Path | None = None,
            assignments_dir: Path | None = None, check: bool = False) -> list[ReleaseResult]:
    """Regenerate (or, with ``check``, compare) the student files of ``ids`` (default: all)."""
    solutions_dir, default_assignments = default_dirs(solutions_dir)
    assignments_dir = Path(assignments_dir or default_assignments)
    ids = ids or assignment_ids(solutions_dir)
    if not ids:
        raise FileNotFoundError(f"no assignment in {solutions_dir} (expected ID/ID.ipynb folders)")
    results = []
    for assignment_id in ids:
        for name, fresh in generate(assignment_id, solutions_dir).items():
            target = assignments_dir / assignment_id / name
            current = target.read_text(encoding="utf-8") if target.exists() else ""
            changed = current != fresh
            diff = ""
            if changed:
                diff = "".join(difflib.unified_diff(current.splitlines(True), fresh.splitlines(True),
                                                    f"committed/{assignment_id}/{name}",
                                                    f"generated/{assignment_id}/{name}", n=1))[:4000]
            if changed and not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(fresh, encoding="utf-8")
            results.append(ReleaseResult(assignment_id, target, changed, diff))
    return results

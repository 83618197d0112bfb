"""``cnnkit release``: student notebooks generated from the solutions by nbgrader.

``solutions/ID/ID.ipynb`` (nbgrader source format) → nbgrader
``generate_assignment`` → ``assignments/ID/ID.ipynb``. The student versions
are committed and never edited by hand; ``cnnkit release --check`` fails when
a committed release differs from a fresh generation (CI runs it).
"""
from __future__ import annotations

import difflib
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_dirs() -> tuple[Path, Path]:
    """``(solutions, assignments)``: under the current directory when it has
    ``solutions/``, else beside the package (an editable install)."""
    base = Path.cwd() if (Path.cwd() / "solutions").is_dir() else REPO_ROOT
    return base / "solutions", base / "assignments"


def assignment_ids(solutions_dir: Path) -> list[str]:
    """Every ``ID`` with a ``solutions/ID/ID.ipynb``."""
    return sorted(p.parent.name for p in Path(solutions_dir).glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def generate(assignment_id: str, solutions_dir: Path) -> str:
    """The student release of ``assignment_id`` as notebook JSON text."""
    import nbformat

    from autograder.course import build_course

    source = Path(solutions_dir) / assignment_id / f"{assignment_id}.ipynb"
    if not source.exists():
        raise FileNotFoundError(f"no solution notebook {source}")
    with tempfile.TemporaryDirectory(prefix="cnnkit-release-") as tmp:
        course = build_course(assignment_id, source, Path(tmp) / "course")
        nb = nbformat.read(str(course.release_notebook), as_version=4)
    return nbformat.writes(nb) + "\n"


@dataclass
class ReleaseResult:
    assignment: str
    path: Path
    changed: bool
    diff: str = ""


def release(ids: list[str] | None = None, *, solutions_dir: Path | None = None,
            assignments_dir: Path | None = None, check: bool = False) -> list[ReleaseResult]:
    """Regenerate (or, with ``check``, compare) the releases of ``ids`` (default: all)."""
    default_solutions, default_assignments = default_dirs()
    solutions_dir = Path(solutions_dir or default_solutions)
    assignments_dir = Path(assignments_dir or default_assignments)
    ids = ids or assignment_ids(solutions_dir)
    results = []
    for assignment_id in ids:
        fresh = generate(assignment_id, solutions_dir)
        target = assignments_dir / assignment_id / f"{assignment_id}.ipynb"
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        changed = current != fresh
        diff = ""
        if changed:
            diff = "".join(difflib.unified_diff(current.splitlines(True), fresh.splitlines(True),
                                                f"committed/{assignment_id}.ipynb", f"generated/{assignment_id}.ipynb",
                                                n=1))[:4000]
        if changed and not check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(fresh, encoding="utf-8")
        results.append(ReleaseResult(assignment_id, target, changed, diff))
    return results

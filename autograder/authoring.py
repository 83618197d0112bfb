"""Build nbgrader source notebooks from Python (tests, fixtures, scripted edits).

Instructors normally edit ``solutions/ID/ID.ipynb`` in Jupyter with
nbgrader's "Create Assignment" toolbar; this builder writes the same cell
metadata from code::

    nb = SourceNotebook()
    nb.markdown("# Práctica")
    nb.setup("import cnnkit\\nfrom cnnkit import checks\\nchecks.use_assignment('tiny')")
    nb.solution("model", "### BEGIN SOLUTION\\nmodel = ...\\n### END SOLUTION")
    nb.test("test_model", "checks.verify('model_shape', model)", points=1)
    nb.answer("answer_why", "=== BEGIN MARK SCHEME ===\\n...", points=1)
    nb.write(path)
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SCHEMA_VERSION = 3


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None,
          task: bool = False) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
            "solution": solution, "task": task}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


class SourceNotebook:
    """An nbgrader source notebook under construction."""

    def __init__(self, kernel_name: str = "python3") -> None:
        self.nb = new_notebook()
        self.nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": kernel_name}
        self.nb.metadata["language_info"] = {"name": "python"}

    def markdown(self, text: str, *, grade_id: str | None = None) -> "SourceNotebook":
        """Plain text; with ``grade_id`` it becomes a locked read-only cell."""
        cell = new_markdown_cell(text)
        if grade_id:
            cell.metadata.update(_meta(grade_id, grade=False, solution=False, locked=True))
        self.nb.cells.append(cell)
        return self

    def code(self, source: str) -> "SourceNotebook":
        """An ordinary code cell students may edit."""
        self.nb.cells.append(new_code_cell(source))
        return self

    def setup(self, source: str, grade_id: str = "setup") -> "SourceNotebook":
        """A locked, ungraded code cell (restored by the grader if edited)."""
        cell = new_code_cell(source)
        cell.metadata.update(_meta(grade_id, grade=False, solution=False, locked=True))
        self.nb.cells.append(cell)
        return self

    def solution(self, grade_id: str, source: str) -> "SourceNotebook":
        """A code cell the student completes (``### BEGIN/END SOLUTION`` inside)."""
        cell = new_code_cell(source)
        cell.metadata.update(_meta(grade_id, grade=False, solution=True, locked=False))
        self.nb.cells.append(cell)
        return self

    def test(self, grade_id: str, source: str, *, points: float) -> "SourceNotebook":
        """An autograded test cell (may contain ``### BEGIN/END HIDDEN TESTS``)."""
        cell = new_code_cell(source)
        cell.metadata.update(_meta(grade_id, grade=True, solution=False, locked=True, points=points))
        self.nb.cells.append(cell)
        return self

    def answer(self, grade_id: str, source: str, *, points: float) -> "SourceNotebook":
        """A manually graded written answer (markdown)."""
        cell = new_markdown_cell(source)
        cell.metadata.update(_meta(grade_id, grade=True, solution=True, locked=False, points=points))
        self.nb.cells.append(cell)
        return self

    def write(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.validate(self.nb)
        nbformat.write(self.nb, str(path))
        return path


AUTHORING_DOC = Path(__file__).resolve().parents[1] / "docs" / "AUTHORING.md"
_KINDS_BEGIN = "<!-- BEGIN KINDS (generated from the declarations: python -m autograder.authoring --kinds) -->"
_KINDS_END = "<!-- END KINDS -->"


def authoring_doc_with_kinds(text: str) -> str:
    """``docs/AUTHORING.md``'s text with its table of kinds regenerated from the declarations."""
    from cnnkit.checks.spec import authoring_table

    head, rest = text.split(_KINDS_BEGIN, 1)
    _, tail = rest.split(_KINDS_END, 1)
    return f"{head}{_KINDS_BEGIN}\n{authoring_table()}\n{_KINDS_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if argv != ["--kinds"]:
        print("usage: python -m autograder.authoring --kinds   (rewrites docs/AUTHORING.md's table of kinds)")
        return 2
    AUTHORING_DOC.write_text(authoring_doc_with_kinds(AUTHORING_DOC.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {AUTHORING_DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A throw-away nbgrader course directory for one assignment.

nbgrader keeps the master copy of every locked cell (and its checksum) in a
gradebook database written by ``generate_assignment``; ``autograde`` restores
locked cells from it. The grader builds that course once per batch from
``solutions/ID/ID.ipynb`` and gives every worker its own copy, so workers
never share a SQLite file.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

COURSE_ID = "cnnkit"
_STAMP = "cnnkit-course.json"
# The course notebooks are in Spanish; so are the stubs students replace (nbgrader's ClearSolutions).
# The stub says what to do with itself: a left-over `raise` is the commonest "unanswered".
# The nbgrader config shipped for stock nbgrader (templates/nbgrader_config.py) reads these too.
CODE_STUB = "# ESCRIBE AQUÍ TU CÓDIGO (y borra la línea de abajo)\nraise NotImplementedError()"
TEXT_STUB = "ESCRIBE AQUÍ TU RESPUESTA"
# Stock nbgrader's per-cell limit is 30 s; a course notebook's setup cell (importing TensorFlow)
# can take longer than that on a loaded machine, and a smoke training cell a few minutes.
STOCK_CELL_TIMEOUT = 900
STOCK_CONFIG_TEMPLATE = Path(__file__).resolve().parent / "templates" / "nbgrader_config.py"


def patch_alembic_lookup() -> None:
    """Let nbgrader create gradebooks without the ``alembic`` command on PATH.

    ``nbgrader.api.get_alembic_version`` shells out to ``alembic heads`` when
    it creates a database; run from a virtual environment that is not
    activated (``.venv/bin/python -m pytest``), that command is not found.
    The head revision is a fact of the installed nbgrader, so read it once
    with alembic's Python API instead.
    """
    import nbgrader
    import nbgrader.api as nbgrader_api

    if getattr(nbgrader_api, "_cnnkit_alembic_head", None):
        return
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(nbgrader.__file__).parent / "alembic"))
    head = ScriptDirectory.from_config(config).get_current_head()
    nbgrader_api._cnnkit_alembic_head = head
    nbgrader_api.get_alembic_version = lambda: head


_patch_alembic_lookup = patch_alembic_lookup   # its former name


def nbgrader_config(root: Path) -> Config:
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.db_url = f"sqlite:///{Path(root) / 'gradebook.db'}"
    config.NbGraderAPI.log_level = logging.WARNING
    config.GenerateAssignment.create_assignment = True
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    config.ClearSolutions.text_stub = TEXT_STUB
    return config


@dataclass(frozen=True)
class Course:
    root: Path
    assignment_id: str

    @property
    def notebook_id(self) -> str:
        return self.assignment_id

    @property
    def db_path(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    @property
    def source_notebook(self) -> Path:
        return self.root / "source" / self.assignment_id / f"{self.notebook_id}.ipynb"

    @property
    def release_notebook(self) -> Path:
        return self.root / "release" / self.assignment_id / f"{self.notebook_id}.ipynb"

    def submitted_notebook(self, student_id: str) -> Path:
        return self.root / "submitted" / student_id / self.assignment_id / f"{self.notebook_id}.ipynb"

    def autograded_notebook(self, student_id: str) -> Path:
        return self.root / "autograded" / student_id / self.assignment_id / f"{self.notebook_id}.ipynb"

    def clone(self, dest: Path) -> "Course":
        """A private copy (gradebook + source) for one worker."""
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.db_path, dest / "gradebook.db")
        shutil.copytree(self.root / "source", dest / "source", dirs_exist_ok=True)
        return Course(dest, self.assignment_id)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_GENERATE_LOCK = threading.Lock()


def build_course(assignment_id: str, source_notebook: Path, root: Path) -> Course:
    """Create (or reuse, when the source is unchanged) the course at ``root``.

    Runs nbgrader's ``generate_assignment``, which fills the gradebook with
    the master cells and writes the student release under ``root/release``.
    Raises ``RuntimeError`` with nbgrader's log when generation fails.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    patch_alembic_lookup()
    root = Path(root).resolve()
    course = Course(root, assignment_id)
    stamp = root / _STAMP
    digest = _digest(Path(source_notebook))
    if stamp.exists() and course.db_path.exists() and course.release_notebook.exists():
        if json.loads(stamp.read_text()).get("source_sha256") == digest:
            return course
    if root.exists():
        shutil.rmtree(root)
    course.source_notebook.parent.mkdir(parents=True)
    shutil.copy2(source_notebook, course.source_notebook)
    config = nbgrader_config(root)
    # nbgrader's converters chdir into the course root and back: the working directory is the
    # process's, so two batches building courses in threads would each restore the other's
    # (soon deleted) course root. One generation at a time, and the caller's directory restored.
    with _GENERATE_LOCK:
        cwd = os.getcwd()
        try:
            coursedir = CourseDirectory(config=config)
            api = NbGraderAPI(coursedir=coursedir, config=config)
            result = api.generate_assignment(assignment_id, force=True, create=True)
        finally:
            os.chdir(cwd)
    if not result.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment failed for {assignment_id}:\n"
                           f"{result.get('log', '')}\n{result.get('error', '')}")
    stamp.write_text(json.dumps({"source_sha256": digest, "assignment": assignment_id}))
    return course


def _first_comment(source: str) -> str | None:
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("#") and not line.startswith(("###", "#!")):
            text = line.lstrip("#").strip()
            if text:
                return text
    return None


def _first_line(markdown: str, limit: int = 90) -> str | None:
    for line in markdown.splitlines():
        text = line.strip().lstrip("#").strip().replace("**", "").replace("__", "").strip()
        if text:
            return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return None


def cell_titles(nb) -> dict[str, str]:
    """grade_id → a human title: a test's first comment line, or for a written
    answer the first line of the question (the markdown cell before it)."""
    titles, previous_markdown = {}, ""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if grade_id and meta.get("grade"):
            if cell.cell_type == "code":
                title = _first_comment(cell.source)
            else:
                title = _first_line(previous_markdown)
            if title:
                titles[grade_id] = title
        if cell.cell_type == "markdown" and not meta.get("solution"):
            previous_markdown = cell.source
    return titles


@dataclass(frozen=True)
class GradedCell:
    """A cell that earns points, as the instructor's source notebook has it."""

    grade_id: str
    kind: str            # "test" (autograded code) or "manual" (written answer)
    points: float
    source: str          # the full source, hidden tests included (trusted: never from a submission)
    title: str
    hidden: bool         # has a hidden part


def graded_cells(source_nb) -> list[GradedCell]:
    """The graded cells of an nbgrader source notebook, in notebook order."""
    titles = cell_titles(source_nb)
    cells = []
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        grade_id = meta["grade_id"]
        manual = bool(meta.get("solution"))
        cells.append(GradedCell(grade_id=grade_id, kind="manual" if manual else "test",
                                points=float(meta.get("points", 0)), source=cell.source,
                                title=titles.get(grade_id, grade_id), hidden="BEGIN HIDDEN TESTS" in cell.source))
    return cells


def locked_changes(nb, release_nb=None) -> list[tuple[str, str]]:
    """``(code, grade_id)`` for each locked cell of ``nb`` that was edited or deleted.

    Compared with the release the student received when given (the grader),
    else with each cell's own nbgrader checksum (a student's self-check).
    nbgrader restores locked cells either way; this only says so.
    """
    # nbgrader's checksum without importing nbgrader (~1 s): the self-check's path
    from .notebook_light import compute_checksum

    changes, present = [], set()
    reference = {}
    if release_nb is not None:
        for cell in release_nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("locked") and not meta.get("solution") and meta.get("grade_id"):
                reference[meta["grade_id"]] = cell.source
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if not grade_id:
            continue
        present.add(grade_id)
        if release_nb is not None:
            if grade_id in reference and cell.source.strip() != reference[grade_id].strip():
                changes.append(("locked_edited", grade_id))
        elif meta.get("locked") and not meta.get("solution") and meta.get("checksum") \
                and compute_checksum(cell) != meta["checksum"]:
            changes.append(("locked_edited", grade_id))
    changes += [("locked_deleted", grade_id) for grade_id in reference if grade_id not in present]
    return changes

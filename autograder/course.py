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
import shutil
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

COURSE_ID = "cnnkit"
_STAMP = "cnnkit-course.json"


def _patch_alembic_lookup() -> None:
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


def nbgrader_config(root: Path) -> Config:
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.db_url = f"sqlite:///{Path(root) / 'gradebook.db'}"
    config.NbGraderAPI.log_level = logging.WARNING
    config.GenerateAssignment.create_assignment = True
    # The course notebooks are in Spanish; so are the stubs students replace.
    config.ClearSolutions.code_stub = {"python": "# ESCRIBE AQUÍ TU CÓDIGO\nraise NotImplementedError()"}
    config.ClearSolutions.text_stub = "ESCRIBE AQUÍ TU RESPUESTA"
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


def build_course(assignment_id: str, source_notebook: Path, root: Path) -> Course:
    """Create (or reuse, when the source is unchanged) the course at ``root``.

    Runs nbgrader's ``generate_assignment``, which fills the gradebook with
    the master cells and writes the student release under ``root/release``.
    Raises ``RuntimeError`` with nbgrader's log when generation fails.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    _patch_alembic_lookup()
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
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    result = api.generate_assignment(assignment_id, force=True, create=True)
    if not result.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment failed for {assignment_id}:\n"
                           f"{result.get('log', '')}\n{result.get('error', '')}")
    stamp.write_text(json.dumps({"source_sha256": digest, "assignment": assignment_id}))
    return course


def master_cells(course: Course) -> dict[str, dict]:
    """grade_id → master cell facts from the gradebook (source, checksum, points, kind)."""
    from nbgrader.api import Gradebook

    cells: dict[str, dict] = {}
    with Gradebook(course.db_url, COURSE_ID) as gb:
        notebook = gb.find_notebook(course.notebook_id, course.assignment_id)
        for cell in notebook.source_cells:
            cells[cell.name] = {"source": cell.source, "checksum": cell.checksum, "locked": cell.locked,
                                "cell_type": cell.cell_type}
        for cell in notebook.grade_cells:
            cells.setdefault(cell.name, {}).update(points=cell.max_score, grade=True, cell_type=cell.cell_type)
        for cell in notebook.solution_cells:
            cells.setdefault(cell.name, {}).update(solution=True)
    return cells

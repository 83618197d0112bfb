"""Stock nbgrader with the shipped config (``cnnkit nbgrader-config``), without ``cnnkit grade``.

A course root as nbgrader documents it, with ``autograder/templates/nbgrader_config.py`` and
``source/vgg19_blocks/`` (the instructor notebook and the *public* manifest), driven by
nbgrader's own command line: ``generate_assignment`` writes the same release as ``cnnkit
release`` (Spanish stubs), ``autograde`` gives one student's submission (the instructors'
solution) its full autograded score in the gradebook, and ``validate`` reports on a release and
on a filled notebook without crashing.

What stock nbgrader measures here is only that each test cell ran without an error in the
student's kernel (see docs/NBGRADER.md): the points are real only under ``cnnkit grade``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import course as cnnkit_course
from autograder.course import graded_cells
from autograder.submissions import solution_submission

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "vgg19_blocks"           # the cheapest assignment: no training, no dataset
SOURCE = REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = REPO / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
PUBLIC_MANIFEST = REPO / "assignments" / ASSIGNMENT / "assignment.toml"
STUDENT = "alumna"

pytestmark = pytest.mark.slow


def nbgrader(root: Path, env: dict, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=timeout)


def no_crash(run: subprocess.CompletedProcess) -> str:
    """nbgrader's output, asserting that nbgrader itself did not crash (a cell's own error, which
    nbgrader reports indented, is not a crash)."""
    text = run.stdout + run.stderr
    assert not [line for line in text.splitlines() if line.startswith("Traceback")], text[-4000:]
    assert "| ERROR]" not in text and "| CRITICAL]" not in text, text[-4000:]
    return text


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """``(root, env)``: a course root after ``generate_assignment`` and ``autograde`` of one student."""
    root = tmp_path_factory.mktemp("stock-course")
    home = tmp_path_factory.mktemp("home")
    # No virtual environment's bin/ on PATH (no `alembic` command), as when nbgrader is run as
    # `.venv/bin/python -m nbgrader` without activating it: the shipped config copes.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "CNNKIT_PROFILE": "smoke", "CNNKIT_OFFLINE": "1",
           "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "MPLBACKEND": "Agg",
           **({"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {})}
    config = subprocess.run([sys.executable, "-m", "autograder.cli", "nbgrader-config"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=120)
    assert config.returncode == 0, config.stderr[-3000:]
    assert config.stdout == cnnkit_course.STOCK_CONFIG_TEMPLATE.read_text(encoding="utf-8")
    (root / "nbgrader_config.py").write_text(config.stdout, encoding="utf-8")
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy2(SOURCE, source / SOURCE.name)
    shutil.copy2(PUBLIC_MANIFEST, source / "assignment.toml")

    run = nbgrader(root, env, "generate_assignment", ASSIGNMENT, "--force")
    assert run.returncode == 0, no_crash(run)[-4000:]
    released = root / "release" / ASSIGNMENT
    submitted = root / "submitted" / STUDENT / ASSIGNMENT
    submitted.mkdir(parents=True)
    shutil.copy2(released / "assignment.toml", submitted / "assignment.toml")
    solution_submission(SOURCE, released / f"{ASSIGNMENT}.ipynb", submitted / f"{ASSIGNMENT}.ipynb")
    run = nbgrader(root, env, "autograde", ASSIGNMENT, "--student", STUDENT, "--force")
    assert run.returncode == 0, no_crash(run)[-4000:]
    no_crash(run)
    return root, env


def test_the_shipped_config_reads_the_course_settings():
    """The stubs and the course id are autograder.course's (they cannot drift from what
    ``cnnkit release`` writes); the cell timeout suits TensorFlow; ClearSolutions is configured."""
    from traitlets.config.loader import PyFileConfigLoader

    path = cnnkit_course.STOCK_CONFIG_TEMPLATE
    config = PyFileConfigLoader(path.name, str(path.parent)).load_config()
    assert config.ClearSolutions.code_stub == {"python": cnnkit_course.CODE_STUB}
    assert config.ClearSolutions.text_stub == cnnkit_course.TEXT_STUB
    assert config.CourseDirectory.course_id == cnnkit_course.COURSE_ID
    assert config.Execute.timeout == config.ExecutePreprocessor.timeout >= 300
    ours = cnnkit_course.nbgrader_config(Path("/tmp/unused"))
    assert ours.ClearSolutions.code_stub == config.ClearSolutions.code_stub
    assert ours.ClearSolutions.text_stub == config.ClearSolutions.text_stub


def test_generate_assignment_writes_the_release_with_spanish_stubs(course):
    root, _ = course
    released = root / "release" / ASSIGNMENT
    assert sorted(p.name for p in released.iterdir()) == ["assignment.toml", f"{ASSIGNMENT}.ipynb"]
    assert (released / "assignment.toml").read_text() == PUBLIC_MANIFEST.read_text()
    nb = nbformat.read(str(released / f"{ASSIGNMENT}.ipynb"), as_version=4)
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    code = [c.source for c in solutions if c.cell_type == "code"]
    text = [c.source for c in solutions if c.cell_type == "markdown"]
    assert code and all(all(line in s for line in cnnkit_course.CODE_STUB.splitlines()) for s in code)
    assert all("# ESCRIBE AQUÍ TU CÓDIGO (y borra la línea de abajo)" in s for s in code)
    assert text and all(s.strip() == cnnkit_course.TEXT_STUB == "ESCRIBE AQUÍ TU RESPUESTA" for s in text)
    joined = "\n".join(c.source for c in nb.cells)
    assert "BEGIN SOLUTION" not in joined and "BEGIN HIDDEN TESTS" not in joined
    committed = nbformat.read(str(RELEASE), as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in committed.cells]


def test_autograde_gives_the_solution_its_full_autograded_score(course):
    """What stock nbgrader measures: every test cell ran without an error (the hidden parts
    restored from the gradebook included), so the instructors' solution gets every autograded
    point; the written answers wait for formgrader."""
    from nbgrader.api import Gradebook

    root, _ = course
    tests = [c for c in graded_cells(nbformat.read(str(SOURCE), as_version=4)) if c.kind == "test"]
    expected = sum(c.points for c in tests)
    assert expected > 0
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", cnnkit_course.COURSE_ID) as gb:
        submission = gb.find_submission(ASSIGNMENT, STUDENT)
        assert submission.code_score == submission.max_code_score == expected
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT)
        scores = {g.name: (g.auto_score, g.max_score) for g in notebook.grades}
    assert {c.grade_id for c in tests} <= set(scores)
    assert all(scores[c.grade_id] == (c.points, c.points) for c in tests)
    graded = nbformat.read(str(root / "autograded" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    code_cells = [c for c in graded.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code_cells)
    assert not [o for c in code_cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    hidden = [c for c in graded.cells if "BEGIN HIDDEN TESTS" in c.source]
    assert hidden, "autograde restores the hidden tests"


def test_validate_reports_on_a_release_and_passes_a_filled_notebook(course):
    root, env = course
    run = nbgrader(root, env, "validate", str(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    text = no_crash(run)
    assert run.returncode == 0 and "VALIDATION FAILED" in text and "NameError" in text, text[-4000:]
    run = nbgrader(root, env, "validate", str(root / "submitted" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    text = no_crash(run)
    assert run.returncode == 0 and "Success! Your notebook passes all the tests." in text, text[-4000:]

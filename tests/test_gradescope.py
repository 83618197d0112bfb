"""The Gradescope autograder: the zip `cnnkit gradescope` writes, unzipped and run as Gradescope runs it.

The bundle of the tiny fixture assignment is unzipped into a temporary ``ROOT/source`` (what
Gradescope does with it), a submission is put in ``ROOT/submission/`` and ``run_autograder`` runs
with ``AUTOGRADER_ROOT=ROOT`` and this environment's Python on ``PATH`` (``setup.sh`` installs
system packages, so only its content is checked). Every ``results.json`` is checked strictly
against Gradescope's specification (https://gradescope-autograders.readthedocs.io/en/latest/specs/).
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))

import tiny  # noqa: E402

from autograder import gradescope  # noqa: E402
from autograder.cli import main as cnnkit  # noqa: E402
from autograder.submissions import solution_answers, solution_submission, write_submission  # noqa: E402

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
FULL = 8.0

# The fields Gradescope's specification defines, and nothing else.
TOP_LEVEL = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
             "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_FIELDS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
               "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def assert_gradescope_spec(doc: dict) -> None:
    """``doc`` is a results.json Gradescope accepts, in Markdown, with the total visible to students."""
    assert isinstance(doc, dict) and set(doc) <= TOP_LEVEL, set(doc) - TOP_LEVEL
    assert _number(doc["score"]) and doc["score"] >= 0
    assert _number(doc.get("execution_time", 0))
    assert isinstance(doc["output"], str) and doc["output"].strip()
    assert doc["output_format"] == "md" and doc["test_output_format"] == "md"
    assert doc.get("test_name_format", "text") in FORMATS
    assert doc["visibility"] == "visible" and doc.get("stdout_visibility", "hidden") in VISIBILITY
    assert isinstance(doc.get("extra_data", {}), dict)
    tests = doc["tests"]
    assert isinstance(tests, list)
    for test in tests:
        assert isinstance(test, dict) and set(test) <= TEST_FIELDS, set(test) - TEST_FIELDS
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["number"], str) and test["number"]
        assert _number(test["score"]) and _number(test["max_score"]) and 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
        assert (test["status"] == "passed") == (test["score"] == test["max_score"]), test
        assert isinstance(test["output"], str) and test["output"].strip(), test
        assert test["output_format"] == "md"
        assert isinstance(test["tags"], list) and all(isinstance(t, str) and t for t in test["tags"])
        # A test hidden until the grades are published would hide the student's total.
        assert test["visibility"] == "visible"
        assert isinstance(test.get("extra_data", {}), dict)
    numbers = [t["number"] for t in tests]
    assert len(set(numbers)) == len(numbers), numbers
    assert doc["score"] == pytest.approx(sum(t["score"] for t in tests))
    for row in doc.get("leaderboard", []):
        assert set(row) <= {"name", "value", "order"} and isinstance(row["name"], str) and row["name"]
        assert _number(row["value"]) or isinstance(row["value"], str)
        assert row.get("order", "desc") in ("asc", "desc")
    json.dumps(doc, allow_nan=False)


def plain(markdown: str) -> str:
    """Markdown text as it reads once rendered: backslash escapes resolved."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _no_constants(name):
    raise ValueError(f"results.json holds {name}, which is not JSON")


def unpack(bundle: Path, root: Path) -> Path:
    """The bundle unzipped as Gradescope does, into ``root/source`` (file modes kept)."""
    source = root / "source"
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            path = source / info.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(info))
            os.chmod(path, (info.external_attr >> 16) & 0o777)
    return source


def run_autograder(root: Path, source: Path, **env) -> tuple[dict, subprocess.CompletedProcess]:
    environ = {**os.environ, "AUTOGRADER_ROOT": str(root),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **env}
    proc = subprocess.run([str(source / "run_autograder")], env=environ, cwd=root, capture_output=True, text=True,
                          timeout=900)
    results = root / "results" / "results.json"
    assert results.is_file(), proc.stdout + proc.stderr
    return json.loads(results.read_text(encoding="utf-8"), parse_constant=_no_constants), proc


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("gradescope")
    tiny.write_source(root / "solutions")
    path = root / "autograder.zip"
    assert cnnkit(["gradescope", "--assignment", "tiny", "--out", str(path), "--lang", "en",
                   "--solutions", str(root / "solutions")]) == 0
    return path


def submission_root(bundle: Path, base: Path, notebooks: dict) -> tuple[Path, Path]:
    """A Gradescope root: the bundle in ``source/``, ``notebooks`` (name → answers or None for the
    solution) filled into the bundled release, in ``submission/``."""
    base.mkdir(parents=True)
    source = unpack(bundle, base)
    release = source / "assignments" / "tiny" / "tiny.ipynb"
    instructor = source / "solutions" / "tiny" / "tiny.ipynb"
    (base / "submission").mkdir()
    for name, answers in notebooks.items():
        dest = base / "submission" / name
        if answers is None:
            solution_submission(instructor, release, dest)
        else:
            import nbformat

            write_submission(release, {**solution_answers(nbformat.read(str(instructor), as_version=4)), **answers},
                             dest)
    return base, source


@pytest.fixture(scope="module")
def graded(bundle, tmp_path_factory):
    """The solution and a wrong architecture, each graded by run_autograder as on Gradescope."""
    base = tmp_path_factory.mktemp("roots")
    out = {}
    for student, answers in (("solution", None), ("wrong_arch", {"model": tiny.WRONG_MODEL})):
        root, source = submission_root(bundle, base / student, {"tiny.ipynb": answers})
        out[student] = run_autograder(root, source)
    return out


def test_the_bundle_holds_the_scripts_the_kit_and_the_instructor_side(bundle):
    with zipfile.ZipFile(bundle) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        config = json.loads(archive.read(gradescope.CONFIG_NAME))
        release = archive.read("assignments/tiny/tiny.ipynb").decode()
    names = set(infos)
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & 0o111, script      # executable, at the zip's top level
    assert {"kit/pyproject.toml", "kit/README.md", "kit/cnnkit/__init__.py", "kit/cnnkit/data/sample/cifar10_sample.npz",
            "kit/autograder/gradescope.py", "kit/autograder/templates/feedback.html.j2",
            "solutions/tiny/tiny.ipynb", "solutions/tiny/assignment.toml", "solutions/tiny/probes.py",
            "assignments/tiny/tiny.ipynb", "assignments/tiny/assignment.toml"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or ".egg-info" in n]
    assert not [n for n in names if n.split("/")[0] not in ("kit", "solutions", "assignments")
                and n not in ("setup.sh", "run_autograder", gradescope.CONFIG_NAME)]
    assert config == {"assignment": "tiny", "profile": "smoke", "lang": "en"}
    assert "BEGIN HIDDEN TESTS" not in release and "BEGIN SOLUTION" not in release   # the student side


def test_setup_sh_installs_bubblewrap_and_the_bundled_kit(bundle, tmp_path):
    source = unpack(bundle, tmp_path)
    for script in ("setup.sh", "run_autograder"):
        check = subprocess.run(["bash", "-n", str(source / script)], capture_output=True, text=True)
        assert check.returncode == 0, (script, check.stderr)
    setup = (source / "setup.sh").read_text()
    assert setup.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in setup
    install = [line for line in setup.splitlines() if line.startswith("apt-get install")]
    assert install and "bubblewrap" in install[0]
    assert 'pip install "$SOURCE/kit"' in setup                      # the kit shipped in the zip
    assert not any(word in setup for word in ("curl", "wget", "git clone", "pip install cnnkit"))
    assert "prepare" not in setup                                     # smoke needs no dataset
    full = gradescope.scripts("tiny", "full", "en")["setup.sh"]
    assert "CNNKIT_PROFILE=full" in full and "autograder.gradescope prepare" in full
    run = (source / "run_autograder").read_text()
    assert run.startswith("#!/usr/bin/env bash\n")
    assert "-m autograder.gradescope run" in run and "AUTOGRADER_ROOT" in run


def test_the_real_bundle_ships_the_private_data_and_the_release_cnnkit_release_generates(tmp_path):
    from autograder.release import generate

    path = gradescope.build_bundle("vgg19_blocks", tmp_path / "autograder.zip", solutions_dir=REPO / "solutions")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        shipped = {name: archive.read(f"assignments/vgg19_blocks/{name}").decode()
                   for name in ("vgg19_blocks.ipynb", "assignment.toml")}
    assert {"solutions/_data/cifar10_holdout.npz", "solutions/_data/holdout.toml",
            "solutions/vgg19_blocks/vgg19_blocks.ipynb", "solutions/vgg19_blocks/assignment.toml"} <= names
    assert shipped == generate("vgg19_blocks", REPO / "solutions")
    assert not [n for n in names if n.startswith("solutions/") and not n.startswith(("solutions/vgg19_blocks/",
                                                                                        "solutions/_data/"))]


def test_the_solution_gets_full_marks_in_a_results_json_that_follows_the_spec(graded, tmp_path):
    doc, proc = graded["solution"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_gradescope_spec(doc)
    assert doc["score"] == FULL and sum(t["max_score"] for t in doc["tests"]) == FULL, doc["tests"]
    assert all(t["status"] == "passed" for t in doc["tests"])
    # tiny's test titles name no exercise: numbered in order
    assert [(t["number"], t["extra_data"]["grade_id"]) for t in doc["tests"]] == [
        ("1", "test_model_shape"), ("2", "test_model_hidden"), ("3", "test_accuracy"), ("4", "test_training"),
        ("5", "test_formula"), ("6", "test_plot")]
    [board] = doc["leaderboard"]
    assert board["name"] == "Accuracy (accuracy)" and board["order"] == "desc" and board["value"] >= 0.8
    assert "**Autograded score: 8 / 8**" in doc["output"]
    assert "#### Written answers" in doc["output"] and "1 pt · awaiting manual grading" in doc["output"]
    assert doc["extra_data"]["student"] == "tiny" and doc["extra_data"]["pending_manual_points"] == 1.0
    assert "score 8" in proc.stdout                                    # the instructor's log (stdout)


def test_a_failing_submission_gets_its_feedback_in_markdown_and_hidden_expectations_stay_hidden(graded):
    doc, proc = graded["wrong_arch"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_gradescope_spec(doc)
    tests = {t["extra_data"]["grade_id"]: t for t in doc["tests"]}
    assert doc["score"] < FULL
    shape = tests["test_model_shape"]
    assert shape["status"] == "failed" and shape["score"] == 0
    lines = shape["output"].splitlines()                               # a Markdown list, the cause first
    assert all(line.startswith("- ") for line in lines), lines
    assert lines[0] == "- Check the cell «Tiny assignment (1/4)», which defines `model`:"
    assert "the model's output has shape [None, 4]; expected [None, 3]" in plain(shape["output"])
    hidden = tests["test_model_hidden"]
    assert hidden["status"] == "failed" and hidden["extra_data"]["hidden"]
    assert "hidden check(s) did not pass" in hidden["output"]
    assert "51" not in hidden["output"]                                # the expected parameter count
    assert any("51" in text for text in hidden["extra_data"]["withheld"])   # kept for the instructors
    assert tests["test_formula"]["status"] == "passed"
    hints = doc["output"].split("#### Hints about your code\n\n")[1]
    assert re.match(r"- ⛔ \*[^*\n]+, line 2\* · The last Dense layer has 4 units; the dataset has 3 classes\.",
                    plain(hints)), hints                              # where, then what
    assert "leaderboard" not in doc                                   # its accuracy was never measured
    solution_text = json.dumps(graded["solution"][0])
    assert "BEGIN HIDDEN TESTS" not in solution_text and "Mentions overfitting" not in json.dumps(doc)


@pytest.mark.parametrize("files", [
    {".ipynb_checkpoints/tiny-checkpoint.ipynb": "{}", "README.txt": "my notebook is on Drive"},
    {"tiny.ipynb": "{}", "copia/tiny (1).ipynb": "{}"},
], ids=["no_notebook", "two_notebooks"])
def test_no_notebook_or_two_give_an_error_result_not_a_crash(bundle, tmp_path, files):
    source = unpack(bundle, tmp_path)
    for name, text in files.items():
        (tmp_path / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "submission" / name).write_text(text)
    doc, proc = run_autograder(tmp_path, source)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_gradescope_spec(doc)
    assert doc["score"] == 0 and doc["extra_data"]["status"] == "invalid_notebook"
    assert sum(t["max_score"] for t in doc["tests"]) == FULL and all(t["score"] == 0 for t in doc["tests"])
    if "README.txt" in files:
        assert "No `.ipynb` notebook was found in your submission" in doc["output"]
    else:
        assert "Your submission has 2 notebooks" in doc["output"]
        assert "`tiny (1).ipynb`" in doc["output"] and "`tiny.ipynb`" in doc["output"]
    assert "`tiny.ipynb`" in doc["output"]                             # what to upload


def test_a_grader_that_fails_or_cannot_start_still_leaves_a_result(bundle, tmp_path):
    source = unpack(bundle, tmp_path / "broken")
    (source / "solutions" / "tiny" / "assignment.toml").unlink()      # a broken bundle
    (tmp_path / "broken" / "submission").mkdir()
    (tmp_path / "broken" / "submission" / "tiny.ipynb").write_text("{}")
    doc, proc = run_autograder(tmp_path / "broken", source)
    assert_gradescope_spec(doc)
    assert doc["score"] == 0 and doc["extra_data"]["status"] == "grader_error"
    assert "The grader failed before scoring your submission" in doc["output"]
    assert "Traceback" in proc.stderr                                  # for the instructors, in stdout/stderr
    source = unpack(bundle, tmp_path / "no_python")
    doc, proc = run_autograder(tmp_path / "no_python", source, CNNKIT_PYTHON="/bin/false")
    assert proc.returncode != 0
    assert set(doc) <= TOP_LEVEL and doc["score"] == 0 and doc["tests"] == []
    assert doc["output"] == "The grader did not start; tell the teaching staff."


def test_results_json_numbers_tests_by_exercise_and_writes_markdown():
    """The document itself, on a result made by hand: exercises, Markdown, hidden checks, leaderboard."""
    from autograder.report import gradescope_results
    from autograder.results import CheckResult, SubmissionResult, TestOutcome
    from cnnkit.messages import Message

    def test(grade_id, name, score, status="failed", **kw):
        return TestOutcome(grade_id, name, "test", 1.0, score, status, **kw)

    wrong = CheckResult("conv_params", False, failures=[Message("value.wrong_reveal", {"key": "conv_params", "got": 1,
                                                                                       "expected": 896})])
    result = SubmissionResult(student="ana", assignment="x", profile="smoke", lang="en", submission="x.ipynb", tests=[
        test("a1", "Ej. 1a · shape", 0.0, kernel_errors=["TypeError: unsupported <class 'str'> * `x`"]),
        test("a2", "Ej. 1a · hidden parts", 0.0, hidden=True, checks=[wrong]),
        test("b1", "Ej. 2 · formula", 1.0, "passed"),
        TestOutcome("w", "Why?", "manual", 2.0, None, "pending"),
        test("c1", "Plot", 0.0, checks=[CheckResult("curve", False, failures=[Message("value.wrong_reveal", {
            "key": "curve", "got": "<b>*bold*</b>", "expected": 2})])]),
    ])
    doc = gradescope_results(result, "en", ["checks.verify('conv_params', conv_params)"])
    assert_gradescope_spec(doc)
    assert [(t["number"], t["tags"]) for t in doc["tests"]] == [
        ("1.1", ["Ej. 1a"]), ("1.2", ["Ej. 1a"]), ("2.1", ["Ej. 2"]), ("3", [])]
    first, hidden, passed, plot = doc["tests"]
    assert first["output"] == "- in your kernel: `` TypeError: unsupported <class 'str'> * `x` ``"
    assert "896" not in hidden["output"] and "896" in hidden["extra_data"]["withheld"][0]
    assert passed["output"] == "- ✓ passed"
    assert r"\<b\>\*bold\*\</b\>" in plot["output"]                   # a student's value is never markup
    assert "Why? · 2 pt · awaiting manual grading" in doc["output"] and "leaderboard" not in doc

"""A batch of hostile submissions, graded for real in sandboxed workers.

One module-scoped batch (two jobs) grades a tiny assignment's submissions:
correct, blank, wrong architecture, Keras-2 API, infinite loop, memory hog,
kernel crash, output flood, corrupted file, tampered and deleted locked cells,
a hard-coded accuracy and a monkeypatched checker. Each test then asserts the
score and message of one of them. The tiny assignment keeps this to about a
minute of CPU per job.
"""
from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))

import tiny  # noqa: E402

from autograder.batch import BatchOptions, grade_batch, in_shard, merge  # noqa: E402
from autograder.course import build_course  # noqa: E402
from autograder.specs import Limits  # noqa: E402
from autograder.submissions import fill_release, solution_answers, write_submission  # noqa: E402

pytestmark = pytest.mark.slow
FULL = 7.0


@pytest.fixture(scope="module")
def tiny_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    source = tiny.write_source(root / "solutions")
    tiny.write_spec(root / "specs")
    saved = {k: os.environ.get(k) for k in ("CNNKIT_SPECS_PATH", "PYTHONPATH")}
    os.environ["CNNKIT_SPECS_PATH"] = str(root / "specs")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FIXTURES), saved["PYTHONPATH"]]))
    yield root, source
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def make_submissions(root: Path, source: Path) -> Path:
    course = build_course("tiny", source, root / "course-for-submissions")
    release = nbformat.read(str(course.release_notebook), as_version=4)
    solutions = solution_answers(nbformat.read(str(source), as_version=4))
    subs = root / "submissions"
    subs.mkdir()

    def answers(name, **changes):
        write_submission(course.release_notebook, {**solutions, **changes}, subs / f"{name}.ipynb")

    answers("correct")
    nbformat.write(release, str(subs / "blank.ipynb"))
    answers("wrong_arch", model=tiny.WRONG_MODEL)
    answers("keras2", train=tiny.KERAS2_TRAIN)
    answers("hardcoded", train=tiny.HARDCODED_TRAIN)
    answers("monkeypatch", train=tiny.MONKEYPATCH_TRAIN)
    answers("infinite_loop", formula=tiny.INFINITE_LOOP)
    answers("memory_hog", train=tiny.MEMORY_HOG)
    answers("kernel_crash", formula=tiny.KERNEL_CRASH)
    answers("flood", formula=tiny.FLOOD)
    (subs / "corrupted.ipynb").write_text('{"cells": [ {"cell_type": "code", "sour')
    tampered = fill_release(release, {**solutions, "model": tiny.WRONG_MODEL})
    for cell in tampered.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_model_shape":
            cell.source = "pass  # this test always passes now"
    nbformat.write(tampered, str(subs / "tampered.ipynb"))
    deleted = fill_release(release, solutions)
    deleted.cells = [c for c in deleted.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_formula"]
    nbformat.write(deleted, str(subs / "deleted_test.ipynb"))
    return subs


@pytest.fixture(scope="module")
def graded(tiny_env):
    root, source = tiny_env
    subs = make_submissions(root, source)
    out = root / "out"
    options = BatchOptions(assignment="tiny", out_dir=out, profile="smoke", jobs=2, lang="en",
                           solutions_dir=root / "solutions")
    batch = grade_batch([subs], options)
    results = {r.student: json.loads((out / r.student / "grading.json").read_text()) for r in batch.records}
    return out, subs, batch, results, options


def by_grade_id(result):
    return {t["grade_id"]: t for t in result["tests"]}



def test_every_submission_has_a_result_and_the_batch_finished(graded):
    out, subs, batch, results, _ = graded
    assert sorted(results) == sorted(p.stem for p in subs.glob("*.ipynb"))
    for student in results:
        assert (out / student / "results.json").exists()
        assert (out / student / "feedback.html").exists()


def test_solution_gets_full_marks_and_written_answer_is_pending(graded):
    result = graded[3]["correct"]
    assert result["status"] == "ok"
    assert result["score"] == FULL and result["max_score"] == FULL
    assert result["pending_manual"] == 1.0
    assert by_grade_id(result)["why"]["status"] == "pending"


def test_blank_release_scores_zero(graded):
    result = graded[3]["blank"]
    assert result["score"] == 0.0
    assert all(t["status"] != "passed" for t in result["tests"] if t["kind"] == "test")


def test_wrong_architecture_gets_actionable_messages(graded):
    result = graded[3]["wrong_arch"]
    tests = by_grade_id(result)
    assert result["score"] == 2.0   # formula and plot only
    assert "(None, 4); expected (None, 3)" in tests["test_model_shape"]["messages"][0]
    assert "the last layer (Dense) has 4 units; the dataset has 3 classes" in tests["test_accuracy"]["messages"][0]
    assert any(f["code"] == "static.output_units" for f in result["findings"])


def test_keras2_code_is_graded_and_explained(graded):
    result = graded[3]["keras2"]
    assert result["score"] == FULL
    kinds = {u["kind"] for u in result["keras2"]}
    assert {"optimizer_lr", "fit_generator"} <= kinds
    feedback = (graded[0] / "keras2" / "feedback.html").read_text()
    assert "learning_rate" in feedback and "model.fit" in feedback


def test_infinite_loop_hits_the_cell_timeout_and_later_tests_still_run(graded):
    result = graded[3]["infinite_loop"]
    tests = by_grade_id(result)
    assert result["score"] == FULL - 1   # only the formula test fails
    assert tests["test_formula"]["status"] == "failed"
    assert tests["test_plot"]["status"] == "passed"


def test_memory_hog_is_stopped_with_a_partial_score(graded):
    result = graded[3]["memory_hog"]
    tests = by_grade_id(result)
    diagnosis = (result["status"], result["messages"], result.get("memory_peak_mb"), result.get("timings"),
                 {t["grade_id"]: (t["status"], t["messages"][:1]) for t in result["tests"]})
    assert result["status"] == "memory_limit", diagnosis
    assert result["score"] == 3.0, result["tests"]    # the model tests ran before the hog
    assert tests["test_accuracy"]["status"] == "not_run"
    assert "memory limit" in tests["test_accuracy"]["messages"][0]


def test_kernel_crash_keeps_the_tests_that_ran(graded):
    result = graded[3]["kernel_crash"]
    tests = by_grade_id(result)
    assert result["score"] == 5.0
    assert tests["test_formula"]["status"] == "not_run"
    assert tests["test_model_hidden"]["status"] == "passed"


def test_output_flood_is_truncated_and_grading_goes_on(graded):
    result = graded[3]["flood"]
    assert result["score"] == FULL
    nb = nbformat.read(str(graded[0] / "flood" / "flood.autograded.ipynb"), as_version=4)
    size = sum(len(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert size < 3_000_000
    assert "output truncated" in json.dumps(nb.cells, ensure_ascii=False)


def test_corrupted_file_fails_alone_with_a_clear_message(graded):
    result = graded[3]["corrupted"]
    assert result["status"] == "invalid_notebook"
    assert result["score"] == 0.0 and result["max_score"] == FULL
    assert "not a valid Jupyter notebook" in (graded[0] / "corrupted" / "feedback.html").read_text()


def test_tampered_locked_cell_is_restored_and_reported(graded):
    result = graded[3]["tampered"]
    assert [m["code"] for m in result["messages"]] == ["worker.locked_edited"]
    assert by_grade_id(result)["test_model_shape"]["status"] == "failed"
    assert result["score"] == 2.0


def test_deleted_test_cell_is_added_back_and_run(graded):
    result = graded[3]["deleted_test"]
    assert "worker.locked_deleted" in [m["code"] for m in result["messages"]]
    assert by_grade_id(result)["test_formula"]["status"] == "passed"


def test_hard_coded_accuracy_is_not_believed(graded):
    tests = by_grade_id(graded[3]["hardcoded"])
    assert tests["test_accuracy"]["status"] == "failed"
    assert "you report an accuracy of 99.0%" in " ".join(tests["test_accuracy"]["messages"])


def test_monkeypatched_checks_do_not_earn_points(graded):
    result = graded[3]["monkeypatch"]
    tests = by_grade_id(result)
    assert result["score"] == 3.0   # only the tests that ran before the patch
    for grade_id in ("test_accuracy", "test_formula", "test_plot"):
        assert tests[grade_id]["verified_failure"] is True


def test_results_json_is_gradescope_format_without_hidden_source(graded):
    out = graded[0]
    for student_dir in out.iterdir():
        if not (student_dir / "results.json").exists():
            continue
        results = json.loads((student_dir / "results.json").read_text())
        assert set(results) >= {"score", "tests", "output", "visibility"}
        for test in results["tests"]:
            assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
            assert test["visibility"] in ("visible", "after_published")
        assert "why" not in [t["name"].split("[")[-1].rstrip("]") for t in results["tests"]]  # written answer not listed
        for name in ("results.json", "feedback.html"):
            text = (student_dir / name).read_text()
            assert "checks.verify('model_params'" not in text   # hidden test code never leaks (nbgrader #917)
            assert "BEGIN HIDDEN TESTS" not in text


def test_grades_csv_lists_everyone_with_pending_manual_points(graded):
    out, _, batch, results, _ = graded
    rows = list(csv.DictReader(batch.grades_csv.open()))
    assert {r["student"] for r in rows} == set(results)
    correct = next(r for r in rows if r["student"] == "correct")
    assert float(correct["score"]) == FULL and float(correct["pending_manual_points"]) == 1.0


def test_scores_are_in_the_nbgrader_gradebook(graded):
    from nbgrader.api import Gradebook

    out = graded[0]
    with Gradebook(f"sqlite:///{out / '.course' / 'tiny' / 'gradebook.db'}", "cnnkit") as gb:
        assert gb.find_submission("tiny", "correct").score == FULL
        assert gb.find_submission("tiny", "blank").score == 0.0


def test_a_second_run_resumes_without_regrading(graded):
    out, subs, _, results, options = graded
    again = grade_batch([subs], options)
    assert all(r.skipped for r in again.records)
    assert {r.student: r.score for r in again.records} == {s: r["score"] for s, r in results.items()}


def test_shards_partition_the_class_and_merge_back(graded, tmp_path):
    out, subs, batch, results, options = graded
    students = sorted(results)
    shards = [[s for s in students if in_shard(s, (i, 3))] for i in (1, 2, 3)]
    assert sorted(sum(shards, [])) == students
    merged = merge(tmp_path / "merged", [out])
    assert {r["student"] for r in csv.DictReader(merged.open())} == set(students)


@pytest.fixture(scope="module")
def few_submissions(graded):
    return graded[1]


def test_grading_runs_under_the_jax_backend(tiny_env, few_submissions, tmp_path):
    pytest.importorskip("jax")
    root, _ = tiny_env
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "correct.ipynb").write_bytes((few_submissions / "correct.ipynb").read_bytes())
    saved = os.environ.get("KERAS_BACKEND")
    os.environ["KERAS_BACKEND"] = "jax"   # workers and kernels inherit it
    try:
        # JAX compiles each new shape on first use: give cells more time than the TF runs need.
        batch = grade_batch([subs], BatchOptions(assignment="tiny", out_dir=tmp_path / "out", jobs=1, lang="en",
                                                 solutions_dir=root / "solutions",
                                                 limits=Limits(cell_timeout=120, notebook_timeout=600)))
    finally:
        if saved is None:
            os.environ.pop("KERAS_BACKEND")
        else:
            os.environ["KERAS_BACKEND"] = saved
    assert {r.student: r.score for r in batch.records} == {"correct": FULL}
    result = json.loads((tmp_path / "out" / "correct" / "grading.json").read_text())
    # every test passed, the accuracy one after the grader reloaded the model (under JAX too)
    assert all(t["status"] == "passed" for t in result["tests"] if t["kind"] == "test")
    assert by_grade_id(result)["test_accuracy"]["details"]["accuracy"]["accuracy"] >= 0.8
    nb = nbformat.read(str(tmp_path / "out" / "correct" / "correct.autograded.ipynb"), as_version=4)
    assert "backend=jax" in json.dumps(nb.cells)   # printed by cnnkit.setup() in the kernel


def test_student_self_check_runs_visible_tests_and_gives_hints(tiny_env, few_submissions):
    from autograder.selfcheck import render_text, self_check

    report = self_check(few_submissions / "correct.ipynb", lang="en")
    assert report.ok and report.tests and all(t.passed for t in report.tests)
    report = self_check(few_submissions / "wrong_arch.ipynb", lang="en")
    assert not report.ok
    text = render_text(report, "en")
    assert "✗" in text and "(None, 4); expected (None, 3)" in text
    static_only = self_check(few_submissions / "keras2.ipynb", run=False, lang="en")
    assert not static_only.tests
    assert "learning_rate" in render_text(static_only, "en")

"""A batch of hostile submissions, graded for real in sandboxed workers.

One module-scoped batch (two jobs) grades a tiny assignment's submissions: correct, blank, wrong
architecture, Keras-2 API, infinite loop, memory hog, kernel crash, output flood, corrupted
file, tampered and deleted locked cells, a hard-coded accuracy, a monkeypatched checker — and
the attacks of an adversarial student (tests/fixtures/tiny.py: FORGER, WRONG_HIDDEN,
RESULT_FILE, KILL_ALL, ESCAPE). Each test then asserts the score, the messages and the side
effects of one of them. The tiny assignment keeps this to a few minutes of CPU.
"""
from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import socket
import tempfile
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))

import tiny  # noqa: E402

from autograder.batch import BatchOptions, grade_batch, in_shard, merge  # noqa: E402
from autograder.course import build_course  # noqa: E402
from autograder.manifest import Limits  # noqa: E402
from autograder.submissions import fill_release, solution_answers, write_submission  # noqa: E402

pytestmark = pytest.mark.slow
FULL = 8.0
SECRET = "cnnkit-test-secret-7c1f"
REPO = Path(__file__).resolve().parents[1]


def package_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((REPO / "cnnkit").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def tiny_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    source = tiny.write_source(root / "solutions")
    yield root, source


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
    answers("keras1", train=tiny.KERAS1_TRAIN)
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
    # an adversarial student
    blank = {grade_id: "pass" for grade_id in solutions if grade_id != "why"}
    answers("forger", **{**blank, "model": tiny.FORGER})
    answers("wrong_hidden", model=tiny.WRONG_HIDDEN, train=tiny.WRONG_HIDDEN_TRAIN, formula=tiny.WRONG_HIDDEN_FORMULA)
    answers("result_file", model=tiny.RESULT_FILE)
    answers("kill_all", model=tiny.KILL_ALL)
    answers("escape", model=tiny.ESCAPE, plot=tiny.ESCAPE_PLOT)
    return subs


class Listener(threading.Thread):
    """A server on the grader's loopback that no kernel may reach."""

    def __init__(self, port: int = 48213) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", port))
        self.server.settimeout(0.5)
        self.connections = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                conn, _ = self.server.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def stop(self) -> None:
        self.running = False
        self.server.close()


@pytest.fixture(scope="module")
def graded(tiny_env):
    root, source = tiny_env
    subs = make_submissions(root, source)
    out = root / "out"
    options = BatchOptions(assignment="tiny", out_dir=out, profile="smoke", jobs=2, lang="en",
                           solutions_dir=root / "solutions")
    before = package_digest()
    listener = Listener()
    listener.start()
    os.environ["CNNKIT_TEST_SECRET"] = SECRET       # in the grader's environment, never a kernel's
    try:
        batch = grade_batch([subs], options)
    finally:
        os.environ.pop("CNNKIT_TEST_SECRET", None)
        listener.stop()
    results = {r.student: json.loads((out / r.student / "grading.json").read_text()) for r in batch.records}
    side_effects = {"package_unchanged": package_digest() == before, "connections": listener.connections}
    return out, subs, batch, results, options, side_effects


def by_grade_id(result):
    return {t["grade_id"]: t for t in result["tests"]}



def outputs_of(path: Path) -> str:
    """Everything a graded notebook's cells printed (not their source)."""
    nb = nbformat.read(str(path), as_version=4)
    return "\n".join(o.get("text", "") + o.get("evalue", "") + json.dumps(o.get("data", {}))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def messages_of(test):
    """Every failure code of a stored test outcome."""
    return [m["code"] for c in test["checks"] for m in c["failures"]] + [m["code"] for m in test["messages"]]


def test_every_submission_has_a_result_and_the_batch_finished(graded):
    out, subs, batch, results, *_ = graded
    assert sorted(results) == sorted(p.stem for p in subs.glob("*.ipynb"))
    for student, result in results.items():
        assert result["student"] == student
        for name in ("results.json", "feedback.html", "grading.json"):
            assert (out / student / name).exists(), (student, name)


def test_solution_gets_full_marks_and_written_answer_is_pending(graded):
    result = graded[3]["correct"]
    assert result["status"] == "ok"
    assert result["score"] == FULL and result["max_score"] == FULL, result["tests"]
    assert result["pending_manual"] == 1.0
    assert by_grade_id(result)["why"]["status"] == "pending"
    assert result["sandbox"]["sandboxed"] and result["sandbox"]["code"] == "sandbox.bwrap"


def test_blank_release_scores_zero_hidden_tests_included(graded):
    result = graded[3]["blank"]
    assert result["score"] == 0.0
    assert all(t["status"] != "passed" for t in result["tests"] if t["kind"] == "test")


def test_wrong_architecture_gets_actionable_messages(graded):
    result = graded[3]["wrong_arch"]
    tests = by_grade_id(result)
    for grade_id in ("test_model_shape", "test_model_hidden", "test_accuracy"):
        assert tests[grade_id]["status"] == "failed", grade_id
    assert tests["test_formula"]["status"] == "passed"
    shape = json.dumps(tests["test_model_shape"]["checks"])
    assert "[null, 4]" in shape and "[null, 3]" in shape
    assert "classifier.units" in messages_of(tests["test_accuracy"])
    feedback = (graded[0] / "wrong_arch" / "feedback.html").read_text()
    assert "the last layer (Dense) has 4 units; the dataset has 3 classes" in feedback
    assert any(f["code"] == "static.output_units" for f in result["findings"])


def test_keras2_code_is_graded_and_explained(graded):
    result = graded[3]["keras2"]
    assert result["score"] == FULL, [(t["grade_id"], messages_of(t)) for t in result["tests"]]
    assert {"optimizer_lr", "fit_generator"} <= {u["kind"] for u in result["keras2"]}
    feedback = (graded[0] / "keras2" / "feedback.html").read_text()
    assert "learning_rate" in feedback and "model.fit" in feedback
    assert "Keras 2 name" in feedback            # metrics=["acc"]: accepted, and the modern name given


def test_failed_tests_name_the_student_cell_that_broke_and_its_keras3_fix(graded):
    result = graded[3]["keras1"]
    tests = by_grade_id(result)
    assert tests["test_model_shape"]["status"] == "passed"
    for grade_id in ("test_accuracy", "test_training", "test_plot"):
        first = tests[grade_id]["messages"][0]
        assert first["code"] == "cause.cell_failed", grade_id
        assert first["params"]["fix"]["code"] == "static.optimizer_lowercase"
    feedback = html.unescape((graded[0] / "keras1" / "feedback.html").read_text())
    assert ("The cell «Tiny assignment (2/4)» failed: `AttributeError: module 'keras.optimizers' has no "
            "attribute 'rmsprop'` → `keras.optimizers.rmsprop` is Keras 1") in feedback
    assert "write `keras.optimizers.RMSprop(learning_rate=0.05)`" in feedback
    assert "NameError" in feedback            # the raw error of the test cell stays below it
    blank = by_grade_id(graded[3]["blank"])
    assert blank["test_model_shape"]["messages"][0]["code"] == "cause.unanswered"


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
                 {t["grade_id"]: (t["status"], messages_of(t)[:1]) for t in result["tests"]})
    assert result["status"] == "memory_limit", diagnosis
    assert result["score"] == 3.0, diagnosis    # the model tests ran before the hog
    assert tests["test_accuracy"]["status"] == "not_run"
    assert "memory limit" in (graded[0] / "memory_hog" / "feedback.html").read_text()


def test_kernel_crash_keeps_the_tests_that_ran(graded):
    result = graded[3]["kernel_crash"]
    tests = by_grade_id(result)
    assert result["score"] == FULL - 2, result["tests"]
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
    tests = by_grade_id(result)
    assert tests["test_model_shape"]["status"] == "failed"     # the restored test judged the wrong model
    assert tests["test_model_hidden"]["status"] == "failed" and tests["test_formula"]["status"] == "passed"


def test_deleted_test_cell_is_added_back_and_run(graded):
    result = graded[3]["deleted_test"]
    assert "worker.locked_deleted" in [m["code"] for m in result["messages"]]
    assert by_grade_id(result)["test_formula"]["status"] == "passed"


def test_hard_coded_accuracy_and_matrix_are_not_believed(graded):
    tests = by_grade_id(graded[3]["hardcoded"])
    assert "accuracy.reported_mismatch" in messages_of(tests["test_accuracy"])
    assert tests["test_training"]["status"] == "failed"
    assert {"cm.not_model_predictions", "time.mismatch"} <= set(messages_of(tests["test_training"]))


def test_monkeypatched_checks_do_not_earn_points(graded):
    result = graded[3]["monkeypatch"]
    tests = by_grade_id(result)
    assert result["score"] == 3.0   # only the tests that ran before the patch
    for grade_id in ("test_accuracy", "test_formula", "test_plot", "test_training"):
        assert tests[grade_id]["status"] == "failed"
        assert "artifact.missing" in messages_of(tests[grade_id])


# --------------------------------------------------------------------------- the adversarial student

def test_a_forger_with_no_answers_earns_nothing(graded):
    result = graded[3]["forger"]
    tests = by_grade_id(result)
    assert result["score"] == 0.0, {g: (t["status"], messages_of(t)) for g, t in tests.items()}
    found = messages_of(tests["test_model_shape"]) + messages_of(tests["test_formula"]) + \
        messages_of(tests["test_accuracy"]) + messages_of(tests["test_plot"])
    assert "artifact.not_regular" in found            # the symlink was refused
    assert "artifact.too_large" in found              # the 20-MB value was refused
    assert "artifact.unreadable" in found             # the hand-written model was refused
    assert "figure.history_invalid" in found or "figure.lines_not_history" in found
    graded_nb = (graded[0] / "forger" / "forger.autograded.ipynb").read_text()
    assert "FORGER found" in graded_nb
    seen = graded_nb.split("FORGER found", 1)[1].split("\\n", 1)[0]     # the paths it could read
    for secret in ("/solutions/", "gradebook.db", "probes.py", "tiny.ipynb", "job.json", "/course/", "/out/"):
        assert secret not in seen, (secret, seen)


def test_wrong_answers_with_errors_hidden_are_judged_outside(graded):
    tests = by_grade_id(graded[3]["wrong_hidden"])
    assert tests["test_model_shape"]["status"] == "passed"      # its model is right
    assert tests["test_formula"]["status"] == "failed"
    training = messages_of(tests["test_training"])
    assert {"history.validated_on_test", "cm.not_model_predictions", "time.mismatch"} <= set(training)
    assert tests["test_plot"]["status"] == "failed"             # curves of a history validated on test


def test_a_forged_result_file_and_a_killed_parent_change_nothing(graded):
    """Inside its PID namespace the kernel cannot reach its worker (nor kill the namespace's init):
    both attacks fail, and only the answers it did write (the formula) count."""
    out = graded[0]
    for student in ("result_file", "kill_all"):
        result = graded[3][student]
        tests = by_grade_id(result)
        assert result["score"] == 1.0, (student, result["tests"])
        assert tests["test_formula"]["status"] == "passed"
        assert tests["test_model_shape"]["status"] == "failed"
        assert json.loads((out / student / "results.json").read_text())["extra_data"]["student"] == student
    assert graded[3]["correct"]["score"] == FULL


def test_escape_attempts_have_no_effect_and_its_own_answers_still_count(graded):
    out, _, _, results, _, side_effects = graded
    result = results["escape"]
    assert result["score"] == FULL, result["tests"]
    graded_nb = outputs_of(out / "escape" / "escape.autograded.ipynb")
    assert "ESCAPE network: blocked" in graded_nb and side_effects["connections"] == 0
    assert "ESCAPE overwrote" not in graded_nb and "ESCAPE tampered" not in graded_nb
    assert side_effects["package_unchanged"]
    assert SECRET not in graded_nb
    import psutil

    time.sleep(1.0)
    left = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
            if p.info["cmdline"] and "cnnkit-hostile-daemon" in " ".join(p.info["cmdline"])]
    assert not left, left
    for student, other in results.items():        # nobody's record was touched
        assert other["student"] == student and other["assignment"] == "tiny"


def test_no_feedback_holds_hidden_test_code_or_instructor_material(graded, tiny_env):
    from autograder.verify import split_hidden

    _, source = tiny_env
    nb = nbformat.read(str(source), as_version=4)
    hidden = {line.strip() for c in nb.cells for line in split_hidden(c.source)[1].splitlines() if line.strip()}
    assert hidden
    out = graded[0]
    for student_dir in out.iterdir():
        if not (student_dir / "results.json").exists():
            continue
        for name in ("results.json", "feedback.html"):
            text = (student_dir / name).read_text()
            for line in hidden:
                assert line not in text, (student_dir.name, name, line)
            assert "BEGIN HIDDEN TESTS" not in text and "Mentions overfitting" not in text
            assert SECRET not in text
    escape = (out / "escape" / "feedback.html").read_text()
    assert "ESCAPE saw cells" in escape               # its output is shown, its hidden content is not


def test_the_gradebook_holds_the_instructors_cells(graded, tiny_env):
    from nbgrader.api import Gradebook

    out = graded[0]
    _, source = tiny_env
    nb = nbformat.read(str(source), as_version=4)
    locked = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("locked") and not c.metadata["nbgrader"].get("solution")}
    with Gradebook(f"sqlite:///{out / 'nbgrader' / 'gradebook.db'}", "cnnkit") as gb:
        notebook = gb.find_notebook("tiny", "tiny")
        for cell in notebook.source_cells:
            if cell.name in locked:
                assert cell.source.strip() == locked[cell.name].strip(), cell.name
        assert gb.find_submission("tiny", "correct").score == FULL
        assert gb.find_submission("tiny", "blank").score == 0.0
        assert gb.find_submission("tiny", "forger").score == 0.0


def test_results_json_is_gradescope_format(graded):
    out = graded[0]
    for student_dir in out.iterdir():
        if not (student_dir / "results.json").exists():
            continue
        results = json.loads((student_dir / "results.json").read_text())
        assert set(results) >= {"score", "tests", "output", "visibility"}
        for test in results["tests"]:
            assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
            assert test["visibility"] in ("visible", "after_published")


def test_grades_csv_lists_everyone_with_pending_manual_points(graded):
    out, _, batch, results, *_ = graded
    rows = list(csv.DictReader(batch.grades_csv.open()))
    assert {r["student"] for r in rows} == set(results)
    correct = next(r for r in rows if r["student"] == "correct")
    assert float(correct["score"]) == FULL and float(correct["pending_manual_points"]) == 1.0


def test_a_second_run_resumes_without_regrading(graded):
    out, subs, _, results, options, _ = graded
    again = grade_batch([subs], options)
    assert all(r.skipped for r in again.records)
    assert {r.student: r.score for r in again.records} == {s: r["score"] for s, r in results.items()}


def test_shards_partition_the_class_and_merge_back(graded, tmp_path):
    out, _, _, results, *_ = graded
    students = sorted(results)
    shards = [[s for s in students if in_shard(s, (i, 3))] for i in (1, 2, 3)]
    assert sorted(sum(shards, [])) == students
    merged = merge(tmp_path / "merged", [out])
    assert {r["student"] for r in csv.DictReader(merged.open())} == set(students)


@pytest.fixture(scope="module")
def few_submissions(graded):
    return graded[1]


def test_a_worker_killed_mid_job_still_gives_the_student_a_scored_result(tiny_env, few_submissions, tmp_path):
    """The batch loses nobody: a fresh worker scores the artifacts of the tests that ran."""
    import psutil

    from autograder.sandbox import WorkerPool

    root, _ = tiny_env
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "slow.ipynb").write_bytes((few_submissions / "infinite_loop.ipynb").read_bytes())
    with WorkerPool(1, 1, tmp_path / "workers") as pool:
        def kernel_runs(worker) -> bool:
            try:
                children = psutil.Process(worker.pid).children(recursive=True)
            except psutil.Error:
                return False
            for child in children:
                try:
                    if "ipykernel" in " ".join(child.cmdline()):
                        return True
                except psutil.Error:       # a zombie, or gone meanwhile
                    continue
            return False

        def kill_when_the_loop_runs():
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                worker = pool._all[0].proc
                artifacts = list(Path(tempfile.gettempdir()).glob("cnnkit-batch-tiny-*/job-slow-*/kernel/artifacts/model_shape*"))
                if worker is not None and kernel_runs(worker) and artifacts:
                    time.sleep(3)            # the model tests have exported; the loop is running
                    worker.kill()
                    return
                time.sleep(0.2)

        killer = threading.Thread(target=kill_when_the_loop_runs, daemon=True)
        killer.start()
        batch = grade_batch([subs], BatchOptions(assignment="tiny", out_dir=tmp_path / "out", jobs=1, lang="en",
                                                 solutions_dir=root / "solutions"), pool=pool)
        killer.join()
    result = json.loads((tmp_path / "out" / "slow" / "grading.json").read_text())
    assert [r.student for r in batch.records] == ["slow"]
    assert result["status"] == "grader_error" and result["messages"][0]["code"] == "report.worker_crashed"
    tests = by_grade_id(result)
    assert tests["test_model_shape"]["status"] == "passed", result["tests"]
    assert result["score"] >= 1.0


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
    accuracy = next(c for c in by_grade_id(result)["test_accuracy"]["checks"] if c["key"] == "accuracy")
    assert accuracy["details"]["accuracy"] >= 0.8          # measured by the grader on its own points
    nb = nbformat.read(str(tmp_path / "out" / "correct" / "correct.autograded.ipynb"), as_version=4)
    assert "backend=jax" in json.dumps(nb.cells)   # printed by cnnkit.setup() in the kernel


def test_student_self_check_runs_visible_tests_and_gives_hints(tiny_env, few_submissions, monkeypatch, tmp_path):
    from autograder.manifest import load_assignment, public_manifest_text
    from autograder.selfcheck import render_text, self_check

    root, _ = tiny_env
    folder = tmp_path / "release"                     # a release folder as handed out: notebook + manifest
    folder.mkdir()
    (folder / "assignment.toml").write_text(public_manifest_text(load_assignment("tiny", root / "solutions")))
    for name in ("correct", "wrong_arch", "keras2", "keras1"):
        (folder / f"{name}.ipynb").write_bytes((few_submissions / f"{name}.ipynb").read_bytes())
    report = self_check(folder / "correct.ipynb", lang="en")
    assert report.ok and report.tests, render_text(report, "en")
    text = render_text(report, "en")
    assert "graded when you submit" in text             # test_formula is all hidden: never shown as passed
    formula = next(t for t in report.tests if t.grade_id == "test_formula")
    assert formula.passed is None
    report = self_check(folder / "wrong_arch.ipynb", lang="en")
    assert not report.ok
    text = render_text(report, "en")
    assert "✗" in text and "(None, 4); expected (None, 3)" in text
    text = render_text(self_check(folder / "keras1.ipynb", lang="en"), "en")
    assert "The cell «Tiny assignment (2/4)» failed: `AttributeError: module 'keras.optimizers'" in text
    assert "`keras.optimizers.RMSprop(learning_rate=0.05)`" in text
    static_only = self_check(folder / "keras2.ipynb", run=False, lang="en")
    assert not static_only.tests
    assert "learning_rate" in render_text(static_only, "en")

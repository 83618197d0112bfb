"""The six course assignments: releases, solutions and blank releases, graded for real.

One module-scoped batch per run grades every solution (the release filled with
the instructors' solutions) and every blank release in the smoke profile with
the sandboxed grader: solutions must pass every autograded test, blanks must
pass none.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from autograder.specs import load_assignment
from autograder.verify import keys_in_source
from cnnkit.release import assignment_ids, release

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS, ASSIGNMENTS = REPO / "solutions", REPO / "assignments"
EXPECTED = {"cifar10_cnn", "vgg16_transfer", "vgg19_blocks", "train_real_dataset", "basenet_cifar100", "fashion_mnist"}
IDS = assignment_ids(SOLUTIONS)


def nbgrader_cells(nb):
    return [(c, c.metadata.get("nbgrader", {})) for c in nb.cells]


def test_the_six_assignments_exist():
    assert set(IDS) == EXPECTED


def test_committed_releases_match_a_fresh_nbgrader_generation():
    stale = [r.assignment for r in release(IDS, solutions_dir=SOLUTIONS, assignments_dir=ASSIGNMENTS, check=True)
             if r.changed]
    assert not stale, f"run `cnnkit release {' '.join(stale)}` and commit assignments/"


@pytest.mark.parametrize("assignment", IDS)
def test_release_has_no_solution_code_and_no_hidden_tests(assignment):
    source = nbformat.read(str(SOLUTIONS / assignment / f"{assignment}.ipynb"), as_version=4)
    released = nbformat.read(str(ASSIGNMENTS / assignment / f"{assignment}.ipynb"), as_version=4)
    text = json.dumps([c.source for c in released.cells], ensure_ascii=False)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME"):
        assert marker not in text, marker
    # no line of any solution region survives in the release
    solution_lines = set()
    for cell, meta in nbgrader_cells(source):
        for region in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, flags=re.S):
            solution_lines |= {line.strip() for line in region.splitlines() if len(line.strip()) > 25}
    released_lines = {line.strip() for c in released.cells for line in c.source.splitlines()}
    assert not solution_lines & released_lines
    assert any(o.get("output_type") for c in released.cells for o in c.get("outputs", [])) is False


@pytest.mark.parametrize("assignment", IDS)
def test_every_graded_test_is_verified_outside_the_kernel(assignment):
    """Each autograded test cell names at least one spec'd verify key (trust model)."""
    spec = load_assignment(assignment)
    source = nbformat.read(str(SOLUTIONS / assignment / f"{assignment}.ipynb"), as_version=4)
    tests = [(meta["grade_id"], cell.source) for cell, meta in nbgrader_cells(source)
             if meta.get("grade") and not meta.get("solution")]
    assert tests
    used = set()
    for grade_id, text in tests:
        keys = keys_in_source(text)
        assert keys, f"{assignment}/{grade_id} calls no checks.verify"
        assert set(keys) <= set(spec.specs), f"{assignment}/{grade_id}: unknown keys {set(keys) - set(spec.specs)}"
        used |= set(keys)
    assert used == set(spec.specs), f"{assignment}: specs never used: {set(spec.specs) - used}"
    setup = [c for c, meta in nbgrader_cells(source) if meta.get("grade_id") == "setup"]
    assert setup and setup[0].metadata["nbgrader"]["locked"], "a locked setup cell"
    assert f'checks.use_assignment("{assignment}")' in setup[0].source


@pytest.mark.parametrize("assignment", IDS)
def test_solutions_use_keras3_and_not_the_reference_builders(assignment):
    from autograder.static import analyze_notebook
    from autograder.submissions import solution_answers

    source = nbformat.read(str(SOLUTIONS / assignment / f"{assignment}.ipynb"), as_version=4)
    findings = analyze_notebook(source)
    bad = [f.to_json() for f in findings if f.severity in ("error", "warning")]
    assert not bad
    code = "\n".join(solution_answers(source).values())
    assert "cnnkit.models" not in code and "fit_generator" not in code and "tf." not in code


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every solution and blank release, graded by two warm workers shared by all
    assignments; batches run side by side so that neither worker idles while a
    long solution runs."""
    from concurrent.futures import ThreadPoolExecutor

    from autograder.batch import BatchOptions, grade_batch
    from autograder.sandbox import WorkerPool
    from autograder.submissions import solution_submission

    root = tmp_path_factory.mktemp("assignments")

    def grade(assignment, pool):
        subs = root / "subs" / assignment
        subs.mkdir(parents=True)
        solution_submission(SOLUTIONS / assignment / f"{assignment}.ipynb",
                            ASSIGNMENTS / assignment / f"{assignment}.ipynb", subs / "solution.ipynb")
        (subs / "blank.ipynb").write_bytes((ASSIGNMENTS / assignment / f"{assignment}.ipynb").read_bytes())
        out = root / "out" / assignment
        grade_batch([subs], BatchOptions(assignment=assignment, out_dir=out, profile="smoke", jobs=2, lang="en",
                                         solutions_dir=SOLUTIONS), pool=pool)
        return {s: json.loads((out / s / "grading.json").read_text()) for s in ("solution", "blank")}

    with WorkerPool(2, 1, root / "workers") as pool, ThreadPoolExecutor(len(IDS)) as executor:
        futures = {assignment: executor.submit(grade, assignment, pool) for assignment in IDS}
        return {assignment: future.result() for assignment, future in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", IDS)
def test_solution_passes_every_test_in_the_smoke_profile(graded, assignment):
    result = graded[assignment]["solution"]
    failing = {t["grade_id"]: t["messages"] for t in result["tests"] if t["kind"] == "test" and t["status"] != "passed"}
    assert not failing
    assert result["status"] == "ok"
    assert result["score"] == result["max_score"] > 0
    assert result["pending_manual"] > 0   # written answers are left to the instructors


@pytest.mark.slow
@pytest.mark.parametrize("assignment", IDS)
def test_blank_release_scores_zero_on_every_test(graded, assignment):
    result = graded[assignment]["blank"]
    passing = [t["grade_id"] for t in result["tests"] if t["kind"] == "test" and t["status"] == "passed"]
    assert not passing
    assert result["score"] == 0.0

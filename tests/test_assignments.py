"""The course's assignments: folders, releases, trust rules of their test cells, solutions and blanks graded.

Assignment ids come from the folders (``solutions/ID/ID.ipynb``): adding one is adding its
folder. One module-scoped batch grades every solution (the release filled with the
instructors' solutions) and every blank release in the smoke profile with the sandboxed
grader: solutions must pass every autograded test, blanks none, hidden tests included.
"""
from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.course import graded_cells
from autograder.manifest import assignment_ids, load_assignment, visible_keys
from autograder.release import release
from autograder.verify import keys_in_source, split_hidden
from cnnkit.assignment import parse_manifest

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS, ASSIGNMENTS = REPO / "solutions", REPO / "assignments"
COURSE = {"cifar10_cnn", "vgg16_transfer", "vgg19_blocks", "train_real_dataset", "basenet_cifar100", "fashion_mnist"}
IDS = assignment_ids(SOLUTIONS)


def source_of(assignment):
    return nbformat.read(str(SOLUTIONS / assignment / f"{assignment}.ipynb"), as_version=4)


def test_the_course_assignments_are_folders():
    assert COURSE <= set(IDS)
    for assignment in IDS:
        assert (SOLUTIONS / assignment / "assignment.toml").exists()
        assert (ASSIGNMENTS / assignment / f"{assignment}.ipynb").exists()


def test_committed_releases_match_a_fresh_generation():
    stale = sorted({r.assignment for r in release(IDS, solutions_dir=SOLUTIONS, assignments_dir=ASSIGNMENTS,
                                                  check=True) if r.changed})
    assert not stale, f"run `cnnkit release {' '.join(stale)}` and commit assignments/"


@pytest.mark.parametrize("assignment", IDS)
def test_release_has_no_solution_code_hidden_test_or_hidden_check(assignment):
    source = source_of(assignment)
    released = nbformat.read(str(ASSIGNMENTS / assignment / f"{assignment}.ipynb"), as_version=4)
    text = json.dumps([c.source for c in released.cells], ensure_ascii=False)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME"):
        assert marker not in text, marker
    solution_lines = set()
    for cell in source.cells:
        for region in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, flags=re.S):
            solution_lines |= {line.strip() for line in region.splitlines() if len(line.strip()) > 25}
    released_lines = {line.strip() for c in released.cells for line in c.source.splitlines()}
    assert not solution_lines & released_lines
    assert not any(o.get("output_type") for c in released.cells for o in c.get("outputs", []))
    # the public manifest: only the checks of visible test code
    public = parse_manifest(ASSIGNMENTS / assignment / "assignment.toml")
    visible, hidden_tests = visible_keys(load_assignment(assignment, SOLUTIONS))
    assert set(public.checks) == set(visible)
    hidden_only = {k for c in graded_cells(source) for k in keys_in_source(split_hidden(c.source)[1])} - set(visible)
    assert not hidden_only & set(public.checks)
    assert set(public.hidden_tests) == set(hidden_tests)


@pytest.mark.parametrize("assignment", IDS)
def test_every_point_is_decided_outside_the_kernel(assignment):
    """A test cell only hands objects to the grader: no assert, no in-kernel check, no grader import."""
    manifest = load_assignment(assignment, SOLUTIONS).manifest
    tests = [c for c in graded_cells(source_of(assignment)) if c.kind == "test"]
    assert tests
    used = set()
    for cell in tests:
        keys = keys_in_source(cell.source)
        assert keys, f"{assignment}/{cell.grade_id} calls no checks.verify"
        assert set(keys) <= set(manifest.checks), f"{assignment}/{cell.grade_id}: no spec for {set(keys) - set(manifest.checks)}"
        used |= set(keys)
        tree = ast.parse("\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%")))
        for node in ast.walk(tree):
            assert not isinstance(node, ast.Assert), f"{assignment}/{cell.grade_id}: an assert decides in the kernel"
            if isinstance(node, ast.Attribute) and node.attr.startswith("assert_"):
                raise AssertionError(f"{assignment}/{cell.grade_id}: checks.{node.attr} judges in the kernel")
        assert "autograder" not in cell.source
    assert used == set(manifest.checks), f"{assignment}: specs never used: {set(manifest.checks) - used}"
    setup = [c for c in source_of(assignment).cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup"]
    assert setup and setup[0].metadata["nbgrader"]["locked"], "a locked setup cell"
    assert f'checks.use_assignment("{assignment}")' in setup[0].source
    assert "from cnnkit import checks" in setup[0].source


@pytest.mark.parametrize("assignment", IDS)
def test_solutions_use_keras3_and_not_the_reference_builders(assignment):
    from autograder.static import analyze_notebook
    from autograder.submissions import solution_answers

    source = source_of(assignment)
    bad = [f.to_json() for f in analyze_notebook(source) if f.severity in ("error", "warning")]
    assert not bad
    code = "\n".join(solution_answers(source).values())
    assert "cnnkit.models" not in code and "fit_generator" not in code and "tf." not in code


def test_a_seventh_assignment_is_its_folder(tmp_path):
    """Copy an assignment under a new id: it releases and its solution grades to full marks, no code change."""
    from autograder.batch import BatchOptions, grade_batch
    from autograder.submissions import solution_submission

    old, new = "vgg19_blocks", "bloques_vgg19"
    solutions, assignments = tmp_path / "solutions", tmp_path / "assignments"
    shutil.copytree(SOLUTIONS / old, solutions / new)
    shutil.copytree(SOLUTIONS / "_data", solutions / "_data")
    (solutions / new / f"{old}.ipynb").rename(solutions / new / f"{new}.ipynb")
    for path in (solutions / new).rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".toml", ".py"):
            path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    assert new in assignment_ids(solutions)
    results = release([new], solutions_dir=solutions, assignments_dir=assignments)
    assert {r.path.name for r in results} == {f"{new}.ipynb", "assignment.toml"}
    subs = tmp_path / "subs"
    solution_submission(solutions / new / f"{new}.ipynb", assignments / new / f"{new}.ipynb", subs / "ana.ipynb")
    batch = grade_batch([subs], BatchOptions(assignment=new, out_dir=tmp_path / "out", profile="smoke", jobs=1,
                                             lang="en", solutions_dir=solutions))
    [record] = batch.records
    result = json.loads((tmp_path / "out" / "ana" / "grading.json").read_text())
    assert record.score == record.max_score > 0, [(t["grade_id"], t["checks"]) for t in result["tests"]
                                                  if t["status"] != "passed"]
    assert result["assignment"] == new


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
    failing = {t["grade_id"]: [m for c in t["checks"] for m in c["failures"]] + t["kernel_errors"]
               for t in result["tests"] if t["kind"] == "test" and t["status"] != "passed"}
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

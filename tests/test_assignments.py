"""The course's assignments: folders, releases, trust rules of their test cells, solutions and blanks graded.

Assignment ids come from the folders (``solutions/ID/ID.ipynb``): adding one is adding its
folder. One module-scoped batch grades every solution (the release filled with the
instructors' solutions) and every blank release in the smoke profile with the sandboxed
grader: solutions must pass every autograded test, blanks none, hidden tests included.
"""
from __future__ import annotations

import ast
import html
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


CORPUS = REPO / "tests" / "corpus"


def _printed(notebook: Path) -> str:
    """Everything the kernel printed as text in a graded notebook (streams and text results)."""
    if not notebook.exists():
        return ""
    texts = []
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", "") if output.get("output_type") == "stream"
                         else (output.get("data") or {}).get("text/plain", ""))
    return "\n".join(texts)


def corpus_students(assignment) -> dict[str, dict[str, str]]:
    """``student → answers`` of the corpus (``tests/corpus/ID/<student>.py``): submissions written the
    way students write, each graded with the solutions and checked against ``expected.toml``."""
    from autograder.submissions import parse_answers

    folder = CORPUS / assignment
    return {path.stem: parse_answers(path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob("*.py"))} if folder.is_dir() else {}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every solution, blank release and corpus submission, graded by two warm workers
    shared by all assignments; batches run side by side so that neither worker idles
    while a long solution runs."""
    from concurrent.futures import ThreadPoolExecutor

    from autograder.batch import BatchOptions, grade_batch
    from autograder.sandbox import WorkerPool
    from autograder.submissions import solution_answers, solution_submission, write_submission

    root = tmp_path_factory.mktemp("assignments")

    def grade(assignment, pool):
        subs = root / "subs" / assignment
        subs.mkdir(parents=True)
        release_path = ASSIGNMENTS / assignment / f"{assignment}.ipynb"
        solution_submission(SOLUTIONS / assignment / f"{assignment}.ipynb", release_path, subs / "solution.ipynb")
        (subs / "blank.ipynb").write_bytes(release_path.read_bytes())
        solution = solution_answers(source_of(assignment))
        students = corpus_students(assignment)
        for student, answers in students.items():
            write_submission(release_path, {**solution, **answers}, subs / f"{student}.ipynb")
        out = root / "out" / assignment
        grade_batch([subs], BatchOptions(assignment=assignment, out_dir=out, profile="smoke", jobs=2, lang="es",
                                         solutions_dir=SOLUTIONS), pool=pool)
        return {s: {**json.loads((out / s / "grading.json").read_text()),
                    "feedback_html": (out / s / "feedback.html").read_text(encoding="utf-8"),
                    "outputs": _printed(out / s / f"{s}.autograded.ipynb")}
                for s in ("solution", "blank", *students)}

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


def _tree(source: str) -> ast.Module:
    """A cell's syntax tree, IPython magics and shell lines blanked."""
    return ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()))


def _free_names(source: str) -> set[str]:
    """Names a cell reads that it does not bind itself (arguments and imports count as bound)."""
    tree = _tree(source)
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
    return loaded - bound


@pytest.mark.parametrize("assignment", IDS)
def test_locked_cells_read_no_name_a_student_can_rebind(assignment):
    """A student's `def evaluate(...)`, `layers = model.layers`, `data = ...` or one-hot `y_train`
    must not break a locked cell: after the setup cell, locked cells read only private names
    (``_checks``, ``_np``, ``_cifar10``…) and, in test cells, the student's own objects —
    never a module, helper or dataset that the notebook imported or loaded for them."""
    import builtins

    cells = source_of(assignment).cells
    locked = [c for c in cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("locked")]
    provided = set()       # every public name a locked cell binds: modules, helpers, data
    for cell in locked:
        for node in ast.walk(_tree(cell.source)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                provided |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                provided.add(node.id)
    for cell in locked:
        meta = cell.metadata["nbgrader"]
        if meta["grade_id"] == "setup":
            continue
        public = {n for n in _free_names(cell.source) - set(dir(builtins)) if not n.startswith("_")}
        if meta.get("grade"):
            # A test cell hands over what the student made; what the notebook gave them is not
            # theirs. y_test is the exception: the labels the student's confusion matrix counts
            # (one-hot accepted), which the check demands be the test labels in order.
            public &= provided - _answer_names(cells) - {"y_test"}
        assert not public, f"{assignment}/{meta['grade_id']} reads {sorted(public)}: use a private alias"


def _answer_names(cells) -> set[str]:
    """Names the students' solution cells bind (their answers, and data they may rework, like y_test)."""
    names = set()
    for cell in cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            names |= {n.id for n in ast.walk(_tree(cell.source)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


@pytest.mark.parametrize("assignment", IDS)
def test_release_says_what_to_do_with_the_stubs(assignment):
    """A left-over ``raise NotImplementedError()`` is the commonest unanswered cell: the
    instructions and every stub itself say to delete it."""
    released = nbformat.read(str(ASSIGNMENTS / assignment / f"{assignment}.ipynb"), as_version=4)
    intro = next(c.source for c in released.cells if c.cell_type == "markdown")
    assert "raise NotImplementedError()" in intro and "borra" in intro
    stubs = [c.source for c in released.cells if "raise NotImplementedError()" in c.source and c.cell_type == "code"]
    assert stubs and all("borra la línea de abajo" in s for s in stubs)


def _corpus_expectations() -> dict:
    import tomllib

    with (CORPUS / "expected.toml").open("rb") as fh:
        return tomllib.load(fh)


CORPUS_CASES = [(assignment, student) for assignment in IDS for student in corpus_students(assignment)]


def test_the_corpus_covers_four_assignments_and_every_file_has_expectations():
    expected = _corpus_expectations()
    assert len({a for a, _ in CORPUS_CASES}) >= 4
    assert {(a, s) for a in expected for s in expected[a]} == set(CORPUS_CASES)


def _message_codes(message: dict) -> list[str]:
    """A message's code and those of the messages nested in its parameters."""
    nested = [v for v in (message.get("params") or {}).values() if isinstance(v, dict) and "code" in v]
    return [message["code"]] + [c for n in nested for c in _message_codes(n)]


@pytest.mark.slow
@pytest.mark.parametrize("assignment, student", CORPUS_CASES)
def test_corpus_submission_gets_its_score_causes_and_hints(graded, assignment, student):
    """Each corpus submission scores exactly what `expected.toml` says; every failed test says why —
    the student cell whose error caused it, with its fix (or that it is unanswered), or what the
    grader found wrong in the object — and the feedback gives the expected hints."""
    from autograder.rootcause import cell_errors  # noqa: F401  (the attribution under test)
    from cnnkit import messages

    # expected.toml: score, then failed = {test = "cause:CELL" | "unanswered:CELL" | "check:CODE@CELL"},
    # fixes = {test = hint code of the fix its cause gives}, hints / no_hints = static or Keras-2 codes.
    expect = _corpus_expectations()[assignment][student]
    result = graded[assignment][student]
    tests = {t["grade_id"]: t for t in result["tests"] if t["kind"] == "test"}
    failed = {gid for gid, t in tests.items() if t["status"] != "passed"}
    assert failed == set(expect.get("failed", {})), sorted(failed)
    assert result["score"] == expect["score"], result["score"]
    for grade_id, why in expect.get("failed", {}).items():
        test = tests[grade_id]
        first = test["messages"][0] if test["messages"] else None
        check_failures = [m for c in test["checks"] for m in c["failures"]]
        kind, _, detail = why.partition(":")
        if kind == "cause":          # a student cell raised: the first message names it and its error
            assert first and first["code"] in ("cause.cell_failed", "cause.cell_failed_plain"), (grade_id, first)
            assert first["params"]["cell"] == detail, (grade_id, first["params"]["cell"])
            assert first["params"]["error"], grade_id
        elif kind == "unanswered":
            assert first and first["code"] == "cause.unanswered" and first["params"]["cell"] == detail, (grade_id, first)
        elif kind == "check":        # every cell ran: where to look, then what the grader's check found wrong
            code, _, cell = detail.partition("@")
            assert code in [c for m in check_failures for c in _message_codes(m)], (grade_id, check_failures)
            assert first and first["code"] == "cause.defined_in" and first["params"]["cell"] == cell, (grade_id, first)
        else:
            raise AssertionError(f"expected.toml: unknown reason {why!r}")
        rendered = messages.render(first["code"], "es", **first["params"]) if first else \
            messages.render(check_failures[0]["code"], "es", **check_failures[0]["params"])
        page = html.unescape(result["feedback_html"])
        assert rendered in page or rendered.split("`")[0] in page, rendered
    for grade_id, fix in expect.get("fixes", {}).items():   # the fix the cause gives, by its hint code
        assert fix in _message_codes(tests[grade_id]["messages"][0]), (grade_id, tests[grade_id]["messages"][0])
    # hints name the cell as the student sees it (its exercise and title), never by a number
    located = [f for f in result["findings"] if f.get("cell_index") is not None]
    assert all(f.get("place") for f in located), located
    assert not re.search(r"celda \d", result["feedback_html"])
    if located:
        assert f"celda «{located[0]['place']}»" in html.unescape(result["feedback_html"])
    hints = {f["code"] for f in result["findings"]} | {k.get("code") for k in result["keras2"]}
    assert set(expect.get("hints", [])) <= hints, sorted(hints)
    assert not set(expect.get("no_hints", [])) & hints, sorted(hints)


# cnnkit's own English, as it printed it before the catalogue took over (Keras' and scikit-learn's
# output — "Epoch 1/2", "Total params", the classification report — is the libraries', not ours).
CNNKIT_ENGLISH = ("stand-in", "shipped with cnnkit", "images per class", "the grader", "not real images",
                  "profile=", "· seed=", "red circle", "green square", "filled ", "outline ", " classes,")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", IDS)
def test_a_spanish_notebook_prints_in_spanish(graded, assignment):
    printed = graded[assignment]["solution"]["outputs"]
    assert "perfil=" in printed                      # the setup line, at least, was printed
    assert not [phrase for phrase in CNNKIT_ENGLISH if phrase in printed]

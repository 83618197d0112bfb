"""``cnnkit check NOTEBOOK``: what a student runs before submitting.

Fast and local: static hints first (instant), edited locked cells, then --
unless ``run=False`` -- the notebook is executed in a fresh kernel under the
smoke profile and every test cell is reported: the visible checks pass or
fail with the message the check gave; a test that also has hidden parts (the
public manifest names them) says so: its hidden checks are graded at
submission, never shown as passed here. Nothing is sent anywhere and the
student's file is not modified.
"""
from __future__ import annotations

import os
import time
import re
from dataclasses import dataclass, field
from pathlib import Path

from cnnkit import messages

messages.register({
    "selfcheck.locked_edited": {
        "es": "la celda protegida «{cell}» fue modificada: el corrector usará la original",
        "en": "the locked cell '{cell}' was modified: the grader will use the original",
    },
    "selfcheck.no_tests": {
        "es": "este cuaderno no tiene pruebas de nbgrader",
        "en": "this notebook has no nbgrader tests",
    },
    "selfcheck.hidden_part": {
        "es": "tiene además pruebas ocultas: se corrigen al entregar",
        "en": "it also has hidden tests: graded when you submit",
    },
    "selfcheck.graded_later": {
        "es": "se corrige al entregar",
        "en": "graded when you submit",
    },
})


@dataclass
class TestResult:
    grade_id: str
    name: str
    points: float
    passed: bool | None          # None: not run, or nothing visible to check here
    message: str = ""
    hidden: bool = False         # also has hidden parts, graded at submission


@dataclass
class SelfCheckReport:
    notebook: Path
    findings: list = field(default_factory=list)      # static findings (autograder.static.Finding)
    places: dict = field(default_factory=dict)        # cell index -> "exercise · title" (how hints name cells)
    locked_edits: list[str] = field(default_factory=list)
    tests: list[TestResult] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    ran: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and all(t.passed is not False for t in self.tests) and \
            not any(f.severity == "error" for f in self.findings)


def _hidden_tests(nb) -> set[str]:
    """Tests the notebook's public manifest says have hidden parts."""
    from cnnkit.assignment import load_manifest

    setup = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    match = re.search(r"""use_assignment\(\s*["']([\w.-]+)["']""", setup)
    if not match:
        return set()
    try:
        return set(load_manifest(match.group(1)).hidden_tests)
    except Exception:
        return set()


def _read_with_nbformat(notebook: Path):
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    nbformat.validate(nb)
    return nb


def self_check(notebook: Path, *, run: bool = True, lang: str | None = None, cell_timeout: int = 300,
               notebook_timeout: float = 1800.0, profile: str = "smoke") -> SelfCheckReport:
    from . import notebook_light, static
    from .course import cell_titles, locked_changes

    lang = messages.current_lang(lang)
    started = time.monotonic()
    report = SelfCheckReport(Path(notebook))
    # Static hints only: read the JSON without nbformat's validator stack (~1.5 s of imports) when
    # the light reader can tell the result is nbformat's; anything else, and every run, goes
    # through nbformat (the kernel executes a NotebookNode).
    nb = None if run else notebook_light.read(notebook)
    if nb is None:
        try:
            nb = _read_with_nbformat(notebook)
        except Exception as exc:
            from . import worker  # noqa: F401 -- registers worker.invalid_notebook

            report.error = messages.render("worker.invalid_notebook", lang, error=f"{type(exc).__name__}: {exc}")
            return report
    report.findings = static.analyze_notebook(nb)
    from .rootcause import cell_places

    report.places = cell_places(nb, cell_titles(nb))
    report.locked_edits = [grade_id for code, grade_id in locked_changes(nb) if code == "locked_edited"]
    if not run:
        report.seconds = round(time.monotonic() - started, 2)
        return report
    from .preprocessors import SandboxedExecute
    from .worker import _error_text

    folder = str(Path(notebook).resolve().parent)
    saved = os.getcwd()
    os.environ.setdefault("CNNKIT_PROFILE", profile)
    os.environ.setdefault("CNNKIT_LANG", lang)
    try:
        os.chdir(folder)          # the public manifest is next to the notebook
        hidden = _hidden_tests(nb)
        executor = SandboxedExecute(timeout=cell_timeout, notebook_timeout=notebook_timeout, lang=lang)
        executor.preprocess(nb, {"metadata": {"path": folder}})
    finally:
        os.chdir(saved)
    report.ran = True
    titles = cell_titles(nb)
    from .rootcause import cause_messages

    failing = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
               and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    causes = cause_messages(nb, failing, titles, [f.to_json() for f in report.findings])
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        visible = [line for line in cell.source.splitlines() if "verify(" in line]
        ran = bool(cell.get("execution_count")) or bool(cell.get("outputs"))
        passed = (not errors) if (ran or errors) else None
        if passed and not visible:
            passed = None         # nothing visible checked here: the grader decides
        report.tests.append(TestResult(
            grade_id=meta["grade_id"], name=titles.get(meta["grade_id"], meta["grade_id"]),
            points=float(meta.get("points", 0)), passed=passed, hidden=meta["grade_id"] in hidden,
            message="\n".join(([causes[meta["grade_id"]].render(lang)] if meta["grade_id"] in causes else [])
                               + [_error_text(e) for e in errors])))
    report.seconds = round(time.monotonic() - started, 2)
    return report


def render_text(report: SelfCheckReport, lang: str | None = None) -> str:
    lang = messages.current_lang(lang)
    lines = [f"{report.notebook}"]
    if report.error:
        return "\n".join(lines + [f"  ✗ {report.error}"])
    for cell in report.locked_edits:
        lines.append("  ! " + messages.render("selfcheck.locked_edited", lang, cell=cell))
    for finding in report.findings:
        place = report.places.get(finding.cell_index)
        if place:                        # Jupyter shows no cell numbers: the exercise and title
            location = messages.render("ui.cell_place", lang, place=place) + (f", {finding.line}: " if finding.line else ": ")
        elif finding.cell_index is not None:
            location = f"#{finding.cell_index + 1}:{finding.line} "
        else:
            location = ""
        where = f"[{finding.severity}] {location}"
        lines.append(f"  {where}{finding.message(lang)}")
    for test in report.tests:
        mark = "✓" if test.passed else ("·" if test.passed is None else "✗")
        extra = ""
        if test.passed is None and not test.message:
            extra = " — " + messages.render("selfcheck.graded_later", lang)
        elif test.hidden:
            extra = " — " + messages.render("selfcheck.hidden_part", lang)
        lines.append(f"  {mark} {test.name} ({test.points:g}){extra}")
        if test.message:
            lines.extend("      " + line for line in test.message.splitlines())
    if report.ran and not report.tests:
        lines.append("  " + messages.render("selfcheck.no_tests", lang))
    return "\n".join(lines)

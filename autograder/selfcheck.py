"""``cnnkit check NOTEBOOK``: what a student runs before submitting.

Fast and local: static hints first (instant), edited locked cells, then — unless
``run=False`` — the notebook is executed in a fresh kernel under the smoke
profile and every visible test cell is reported as passed or failed, with the
message the check gave. Nothing is sent anywhere and the student's file is
not modified.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import messages

messages.register({
    "selfcheck.locked_edited": {
        "es": "la celda protegida «{cell}» fue modificada: el corrector usará la original",
        "en": "the locked cell '{cell}' was modified: the grader will use the original",
    },
    "selfcheck.no_tests": {
        "es": "este cuaderno no tiene pruebas visibles de nbgrader",
        "en": "this notebook has no visible nbgrader tests",
    },
})


@dataclass
class TestResult:
    grade_id: str
    name: str
    points: float
    passed: bool | None          # None: not run
    message: str = ""


@dataclass
class SelfCheckReport:
    notebook: Path
    findings: list = field(default_factory=list)      # static findings (autograder.static.Finding)
    locked_edits: list[str] = field(default_factory=list)
    tests: list[TestResult] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    ran: bool = False                    # whether the notebook was executed

    @property
    def ok(self) -> bool:
        return self.error is None and all(t.passed for t in self.tests) and \
            not any(f.severity == "error" for f in self.findings)


def _locked_edits(nb) -> list[str]:
    from nbgrader.utils import compute_checksum

    edited = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") and not meta.get("solution") and meta.get("checksum"):
            if compute_checksum(cell) != meta["checksum"]:
                edited.append(meta.get("grade_id", "?"))
    return edited


def self_check(notebook: Path, *, run: bool = True, lang: str | None = None, cell_timeout: int = 300,
               notebook_timeout: float = 1800.0, profile: str = "smoke") -> SelfCheckReport:
    import nbformat

    from . import static
    from .course import cell_titles
    from .worker import _error_text

    lang = messages.current_lang(lang)
    started = time.monotonic()
    report = SelfCheckReport(Path(notebook))
    try:
        nb = nbformat.read(str(notebook), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        report.error = messages.render("worker.invalid_notebook", lang, error=f"{type(exc).__name__}: {exc}")
        return report
    report.findings = static.analyze_notebook(nb)
    report.locked_edits = _locked_edits(nb)
    test_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    titles = cell_titles(nb)
    if not run:
        report.seconds = round(time.monotonic() - started, 2)
        return report
    from .preprocessors import SandboxedExecute

    os.environ.setdefault("CNNKIT_PROFILE", profile)
    os.environ.setdefault("CNNKIT_LANG", lang)
    executor = SandboxedExecute(timeout=cell_timeout, notebook_timeout=notebook_timeout, lang=lang)
    executor.preprocess(nb, {"metadata": {"path": str(Path(notebook).resolve().parent)}})
    report.ran = True
    for cell in test_cells:
        meta = cell.metadata["nbgrader"]
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        ran = bool(cell.get("execution_count")) or bool(cell.get("outputs"))
        report.tests.append(TestResult(
            grade_id=meta["grade_id"], name=titles.get(meta["grade_id"], meta["grade_id"]),
            points=float(meta.get("points", 0)), passed=(not errors) if ran or errors else None,
            message="\n".join(_error_text(e) for e in errors)))
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
        where = f"[{finding.severity}] " + (f"#{finding.cell_index + 1}:{finding.line} " if finding.cell_index is not None else "")
        lines.append(f"  {where}{finding.message(lang)}")
    if report.tests:
        for test in report.tests:
            mark = "✓" if test.passed else ("·" if test.passed is None else "✗")
            lines.append(f"  {mark} {test.name} ({test.points:g})")
            if test.message:
                lines.extend("      " + line for line in test.message.splitlines())
    elif report.ran and not report.findings:
        lines.append("  " + messages.render("selfcheck.no_tests", lang))
    return "\n".join(lines)

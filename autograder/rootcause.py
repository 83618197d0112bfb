"""Why a test failed: the student's cell whose error made it fail, with the fix.

A locked test cell that fails with ``NameError: name 'history_3x3' is not defined`` is
rarely where the mistake is: the student's training cell raised first (say
``keras.optimizers.rmsprop`` does not exist in Keras 3) and never assigned
``history_3x3``. :func:`root_causes` reads the executed notebook in order and, for
each failed test, names the earlier cell that caused it — by its exercise title, its
error in one line and, when the static analysis (:mod:`autograder.static`) or the
table below knows it, the exact Keras-3 spelling to write instead. A cell still
raising nbgrader's ``NotImplementedError`` stub is reported as unanswered.

This is feedback only: the executed notebook comes from the student's kernel and
never decides a point (scores come from :mod:`autograder.verify`). Titles come from
the instructors' source notebook, not from the submission.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from cnnkit import messages
from cnnkit.messages import Message

__all__ = ["CellError", "cell_places", "cell_errors", "root_causes", "defining_cells", "cause_message", "cause_messages"]

messages.register({
    "cause.cell_failed": {
        "es": "La celda «{cell}» falló: `{error}` → {fix}",
        "en": "The cell «{cell}» failed: `{error}` → {fix}",
    },
    "cause.cell_failed_plain": {
        "es": "La celda «{cell}» falló antes de esta prueba: `{error}`. Corrígela y vuelve a ejecutar el "
              "cuaderno desde el principio.",
        "en": "The cell «{cell}» failed before this test: `{error}`. Fix it and run the notebook again from "
              "the top.",
    },
    "cause.unanswered": {
        "es": "La celda «{cell}» está sin responder: sustituye `raise NotImplementedError()` por tu código.",
        "en": "The cell «{cell}» is unanswered: replace `raise NotImplementedError()` with your code.",
    },
    "ui.cell_place": {"es": "celda «{place}»", "en": "cell «{place}»"},
    "cause.defined_in": {
        "es": "Revisa la celda «{cell}», que define {names}:",
        "en": "Check the cell «{cell}», which defines {names}:",
    },
    "cause.weights_h5": {
        "es": "en Keras 3 `save_weights` pide un nombre acabado en `.weights.h5`: "
              "`{receiver}.save_weights(\"modelo.weights.h5\")` (o el modelo entero: `{receiver}.save(\"modelo.keras\")`).",
        "en": "in Keras 3 `save_weights` needs a name ending in `.weights.h5`: "
              "`{receiver}.save_weights(\"model.weights.h5\")` (or the whole model: `{receiver}.save(\"model.keras\")`).",
    },
    "cause.shared_optimizer": {
        "es": "un optimizador solo sirve para el modelo con el que entrenó primero: crea uno nuevo en cada "
              "`compile` (`{receiver}.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), ...)`).",
        "en": "an optimizer only works for the model it first trained: create a new one in each `compile` "
              "(`{receiver}.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), ...)`).",
    },
    "cause.shrunk_to_nothing": {
        "es": "la imagen se queda sin píxeles antes de esta capa: alguna capa anterior reduce demasiado "
              "(un `strides` o un pooling de más). `{receiver}.summary()` muestra la forma de cada salida.",
        "en": "the image runs out of pixels before this layer: an earlier layer shrinks it too much "
              "(a `strides` or one pooling too many). `{receiver}.summary()` shows each output's shape.",
    },
    "cause.input": {
        "es": "`input()` no puede leer nada al corregir: escribe el valor en el código.",
        "en": "`input()` cannot read anything when grading: write the value in the code.",
    },
})

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LINE = re.compile(r"(?:Cell In\s*\[\d*\]|<ipython-input-[^>]*>|line)\W+line (\d+)|, line (\d+)")
_POINTS = re.compile(r"\s*\((?:[\d,.]+ )?(?:puntos?|points?)[^)]*\)\s*$", re.IGNORECASE)
_UNANSWERED = ("NotImplementedError",)
_NAME_ERROR = re.compile(r"name '(\w+)' is not defined")
# Errors that only say an earlier step did not happen: the model was never compiled or built
# because the cell that should have done it failed. They are followed back to that cell.
_CONSEQUENCE = re.compile(r"You must call `compile\(\)`|has no defined inputs yet|has not yet been built|"
                          r"needs to be built|isn't built|not been built")
# Names a test or a failing line reads that say nothing about where it went wrong.
_COMMON_NAMES = {"checks", "keras", "layers", "np", "plt", "tf", "print", "len", "range"}

# Errors the static analysis cannot see (they depend on values), with their fix.
_ERROR_FIXES = [
    (re.compile(r"filename must end in `?\.weights\.h5"), "cause.weights_h5"),
    (re.compile(r"StdinNotImplementedError|raw_input was called"), "cause.input"),
    (re.compile(r"optimizer can only be called for the variables it was originally built with"),
     "cause.shared_optimizer"),
    (re.compile(r"output size would be zero or negative|Negative dimension size|negative output size"),
     "cause.shrunk_to_nothing"),
]


@dataclass(frozen=True)
class CellError:
    """A code cell of the executed notebook that raised, outside the graded test cells.

    ``index`` is the position in the notebook; ``line`` the 1-based line of the cell
    the traceback points at (None when it does not say).
    """

    index: int
    grade_id: str | None
    title: str
    ename: str
    evalue: str
    line: int | None
    source_line: str = ""     # the cell's line at ``line``, as the student wrote it

    @property
    def unanswered(self) -> bool:
        return self.ename in _UNANSWERED

    @property
    def one_line(self) -> str:
        text = f"{self.ename}: {self.evalue}" if self.evalue else self.ename
        text = " ".join(_ANSI.sub("", text).split())
        return text if len(text) <= 240 else text[:239] + "…"


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _heading(markdown: str) -> str | None:
    for line in markdown.splitlines():
        if line.lstrip().startswith("#"):
            text = line.strip().lstrip("#").strip().replace("**", "")
            return _POINTS.sub("", text).strip() or None
    return None


def _traceback_line(output) -> int | None:
    text = _ANSI.sub("", "\n".join(output.get("traceback") or []))
    numbers = [int(a or b) for a, b in _LINE.findall(text)]
    return numbers[0] if numbers else None


def _parse(source: str) -> ast.Module | None:
    from .static import _parse as parse_cell     # IPython magics neutralised, as the hints read cells

    try:
        return parse_cell(source)
    except (SyntaxError, ValueError):
        return None


def _stored_names(tree: ast.Module | None) -> set[str]:
    names = set()
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _loaded_names(tree: ast.Module | None) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} if tree else set()


def _cell_titles(cells, titles: Mapping[str, str]) -> dict[int, str]:
    """``{index: title}`` of every code cell that is not a graded test.

    ``titles`` (grade_id → title, from the instructors' source) wins over the section heading
    the cell sits under; a section with several answer cells numbers them ("2b) Entrenamiento (2/3)").
    """
    answers, heading, place = {}, None, {}
    for index, cell in enumerate(cells):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if cell.get("cell_type") == "markdown":
            heading = _heading(_source(cell)) or heading
        elif cell.get("cell_type") == "code" and not meta.get("grade"):
            place[index] = heading
            if not meta.get("locked"):
                answers.setdefault(heading, []).append(index)
    out = {}
    for index, heading in place.items():
        grade_id = ((cells[index].get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
        title = (titles.get(grade_id) if grade_id else None) or heading or f"#{index + 1}"
        siblings = answers.get(heading, [])
        if grade_id not in titles and len(siblings) > 1 and index in siblings:
            title = f"{title} ({siblings.index(index) + 1}/{len(siblings)})"
        out[index] = title
    return out


def cell_places(nb, titles: Mapping[str, str] | None = None) -> dict[int, str]:
    """``{cell index: "exercise · title"}`` for every code cell that is not a graded test: how
    feedback names a cell (Jupyter shows no cell numbers)."""
    return _cell_titles(nb.get("cells", []), titles or {})


def cell_errors(executed_nb, titles: Mapping[str, str] | None = None) -> list[CellError]:
    """Errors raised by the notebook's cells that are not graded tests, in notebook order
    (titles as :func:`_cell_titles` gives them)."""
    cells = executed_nb.get("cells", [])
    named = _cell_titles(cells, titles or {})
    errors = []
    for index, title in named.items():
        cell = cells[index]
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            line = _traceback_line(output)
            lines = _source(cell).splitlines()
            errors.append(CellError(index=index, grade_id=((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id"),
                                    title=title, ename=str(output.get("ename", "Error"))[:80],
                                    evalue=str(output.get("evalue", "")), line=line,
                                    source_line=lines[line - 1] if line and 0 < line <= len(lines) else ""))
            break
    return errors


def root_causes(executed_nb, failed: Iterable[str], titles: Mapping[str, str] | None = None) -> dict[str, CellError]:
    """``{test grade_id: the cell error that made it fail}`` for the ``failed`` tests.

    The cause of a test is, among the cells before it that raised: the last one that
    assigns a name the test reads (so ``model_3x3`` points at the cell defining it), else
    the last one of the same section, else the last one before the test. A test with no
    earlier error has no entry: its own checks explain it.
    """
    failed = set(failed)
    errors = cell_errors(executed_nb, titles)
    cells = executed_nb.get("cells", [])
    # Each failed cell parsed once: what it binds, and what it binds or reads.
    trees = {e.index: _parse(_source(cells[e.index])) for e in errors}
    stored = {i: _stored_names(tree) for i, tree in trees.items()}
    mentioned = {i: _loaded_names(tree) | stored[i] for i, tree in trees.items()}
    causes, section_start = {}, 0
    for index, cell in enumerate(cells):
        if cell.get("cell_type") == "markdown" and _heading(_source(cell)):
            section_start = index
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        grade_id = meta.get("grade_id")
        if cell.get("cell_type") != "code" or not meta.get("grade") or grade_id not in failed:
            continue
        before = [e for e in errors if e.index < index]
        if not before:
            continue
        # Private names (``_checks``, ``_np``…) are the notebook's own, never a student's answer.
        reads = {n for n in _loaded_names(_parse(_source(cell))) if not n.startswith("_")} - _COMMON_NAMES
        defining = [e for e in before if stored[e.index] & reads]
        same_section = [e for e in before if e.index > section_start]
        cause = (defining or same_section or before)[-1]
        causes[grade_id] = _upstream(cause, errors, trees, stored, mentioned)
    return causes


def _upstream(cause: CellError, errors: list[CellError], trees: Mapping[int, ast.Module | None],
              stored: Mapping[int, set[str]], mentioned: Mapping[int, set[str]]) -> CellError:
    """Follow an error that is itself a consequence back to the cell that caused it.

    A NameError goes to the earlier failed cell that should have defined the name (else the
    last unanswered cell before it); "You must call `compile()`" and "no defined inputs yet"
    go to the earlier failed cell that used a name the failing line reads.
    """
    seen = {cause.index}
    while True:
        before = [e for e in errors if e.index < cause.index]
        upstream = None
        if cause.ename == "NameError" and (missing := _NAME_ERROR.search(cause.evalue)):
            definers = [e for e in before if missing.group(1) in stored[e.index]]
            unanswered = [e for e in before if e.unanswered]
            upstream = (definers or unanswered or [None])[-1]
        elif _CONSEQUENCE.search(cause.evalue):
            line = _parse(cause.source_line.strip()) if cause.source_line.strip() else None
            reads = (_loaded_names(line) if line else _loaded_names(trees[cause.index])) - _COMMON_NAMES
            reads = {n for n in reads if not n.startswith("_")}
            upstream = ([e for e in before if mentioned[e.index] & reads] or [None])[-1]
        if upstream is None or upstream.index in seen:
            return cause
        seen.add(upstream.index)
        cause = upstream


def _fix(error: CellError, findings: Iterable[Mapping]) -> dict | None:
    """The fix for ``error`` as a nested message: the static finding on the failing line of that
    cell (or its first error/warning), else the table of value-dependent errors."""
    def same_cell(finding) -> bool:
        if error.grade_id and finding.get("cell_id"):
            return finding.get("cell_id") == error.grade_id
        return finding.get("cell_index") == error.index

    mine = [f for f in findings if same_cell(f) and f.get("severity") in ("error", "warning")]
    on_line = [f for f in mine if error.line is not None and f.get("line") == error.line]
    # The finding on the failing line, else what the error itself says (the error surfaces in
    # `fit` while the static finding sits on `compile`), else the cell's first finding.
    if on_line:
        return {"code": on_line[0]["code"], "params": dict(on_line[0].get("params") or {})}
    for pattern, code in _ERROR_FIXES:
        if pattern.search(f"{error.ename}: {error.evalue}"):
            if code == "cause.shrunk_to_nothing":
                # The shrinking layer is usually in an earlier cell: a Keras-1 kernel size read as a stride.
                earlier = [f for f in findings if f.get("code") == "static.keras1_kernel_size"
                           and (f.get("cell_index") is None or f.get("cell_index") <= error.index)]
                if earlier:
                    return {"code": earlier[0]["code"], "params": dict(earlier[0].get("params") or {})}
            same = next((f for f in mine if f["code"] == code.replace("cause.", "static.")), None)
            if same is not None:
                return {"code": same["code"], "params": dict(same.get("params") or {})}
            return {"code": code, "params": {"receiver": _receiver(error) or "model"}}
    if mine:
        return {"code": mine[0]["code"], "params": dict(mine[0].get("params") or {})}
    return None


def _receiver(error: CellError) -> str | None:
    """The object the failing line calls a method on (``model_b`` in ``model_b.fit(...)``)."""
    match = re.match(r"\s*(?:\w+\s*=\s*)?([A-Za-z_]\w*)\.\w+\(", error.source_line or "")
    return match.group(1) if match else None


def cause_message(error: CellError, findings: Iterable[Mapping] = ()) -> Message:
    """The one-line feedback for a test that ``error`` made fail."""
    if error.unanswered:
        return Message("cause.unanswered", {"cell": error.title})
    fix = _fix(error, list(findings))
    if fix is None:
        return Message("cause.cell_failed_plain", {"cell": error.title, "error": error.one_line})
    return Message("cause.cell_failed", {"cell": error.title, "error": error.one_line, "fix": fix})


def defining_cells(executed_nb, tests: Iterable[str], titles: Mapping[str, str] | None = None
                   ) -> dict[str, tuple[str, list[str]]]:
    """``{test grade_id: (title, names)}``: the last student cell before each test that binds
    names the test reads — where to look when the test failed although every cell ran (the
    grader's check then says what is wrong with the object)."""
    tests = set(tests)
    cells = executed_nb.get("cells", [])
    named = _cell_titles(cells, titles or {})
    student = {i: _stored_names(_parse(_source(cells[i]))) for i in named
               if not ((cells[i].get("metadata") or {}).get("nbgrader") or {}).get("locked")}
    found = {}
    for index, cell in enumerate(cells):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("grade_id") not in tests:
            continue
        reads = {n for n in _loaded_names(_parse(_source(cell))) if not n.startswith("_")}
        for earlier in sorted((i for i in student if i < index), reverse=True):
            if student[earlier] & reads:
                found[meta["grade_id"]] = (named[earlier], sorted(student[earlier] & reads))
                break
    return found


def cause_messages(executed_nb, failed: Iterable[str], titles: Mapping[str, str] | None = None,
                   findings: Iterable[Mapping] = ()) -> dict[str, Message]:
    """``{test grade_id: its cause's message}`` for the ``failed`` tests: the cell whose error made
    it fail, else the cell that defines what it checks; empty when the notebook cannot be read
    (a malformed or hostile notebook costs the hint, never the result)."""
    findings, failed = list(findings), list(failed)
    try:
        causes = root_causes(executed_nb, failed, titles)
        defined = defining_cells(executed_nb, [t for t in failed if t not in causes], titles)
    except Exception:
        return {}
    out = {grade_id: cause_message(cause, findings) for grade_id, cause in causes.items()}
    for grade_id, (title, names) in defined.items():
        out[grade_id] = Message("cause.defined_in", {"cell": title, "names": ", ".join(f"`{n}`" for n in names)})
    return out

"""Read a notebook for ``cnnkit check --no-run`` without importing nbformat or nbgrader.

Importing ``nbformat`` costs about 1.5 s (its validator imports jsonschema, whose format
checks build a lark grammar) and ``nbgrader`` about 1 s; the static self-check needs
neither. :func:`read` gives the notebook ``nbformat.read(path, as_version=4)`` +
``nbformat.validate`` would give, or None whenever it cannot be sure of that; the caller
then reads it with nbformat itself, so a notebook nbformat rejects (or repairs, or
converts) still gets nbformat's own message and warnings.

It does what nbformat 5.x does for a v4 notebook, in the same order:

* the file is read as UTF-8 text and parsed with :func:`json.loads`, every object becoming
  a :class:`Node` (a dict with attribute access, as ``NotebookNode``);
* ``rejoin_lines`` and ``strip_transient`` (copied from ``nbformat.v4.rwbase``);
* validation with the schema file nbformat picks for ``(4, minor)``, compiled by
  ``fastjsonschema`` exactly as nbformat's default validator compiles it. nbformat
  validates with fastjsonschema first and only calls jsonschema for the message of an
  invalid notebook, so a notebook fastjsonschema accepts is valid for nbformat too.

It leaves to nbformat (returns None): another major version or a minor version outside
0-5 (conversion, or a schema "from the future"), a v4.5 notebook with a cell lacking an id
or with duplicate ids (nbformat repairs those with random ids and warns), anything the
schema rejects, a file that is not UTF-8 JSON, and ``$NBFORMAT_VALIDATOR`` set to anything
but fastjsonschema. ``tests/test_selfcheck_light.py`` checks the result equals nbformat's on
every notebook of ``assignments/`` and ``solutions/`` and on edited copies.

:func:`compute_checksum` is nbgrader 0.9's ``nbgrader.utils.compute_checksum`` (the same test
compares them on every graded or locked cell); :func:`autograder.course.locked_changes` uses it
for a notebook without a release to compare with (a student's self-check).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["Node", "read", "compute_checksum", "SCHEMA_MINORS"]

SCHEMA_MINORS = range(0, 6)          # nbformat 5.x's nbformat.v4.nbformat_schema: (4, 0) ... (4, 5)

_validators: dict[int, Any] = {}


class Node(dict):
    """A dict with attribute access, like ``nbformat.NotebookNode`` (what the static code reads)."""

    __slots__ = ()

    def __getattr__(self, key: str):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value) -> None:
        self[key] = value


def _schema_path(minor: int) -> Path | None:
    spec = importlib.util.find_spec("nbformat")      # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "v4" / f"nbformat.v4.{minor}.schema.json"
    return path if path.is_file() else None


def _validator(minor: int):
    if minor not in _validators:
        path = _schema_path(minor)
        if path is None:
            return None
        import fastjsonschema

        with path.open(encoding="utf8") as f:
            _validators[minor] = fastjsonschema.compile(json.load(f))   # as nbformat's FastJsonSchemaValidator
    return _validators[minor]


# -- nbformat.v4.rwbase, as nbformat 5.x has it -------------------------------------------

def _is_json_mime(mime):
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _rejoin_mimebundle(data):
    for key, value in list(data.items()):
        if not _is_json_mime(key) and isinstance(value, list) and all(isinstance(line, str) for line in value):
            data[key] = "".join(value)
    return data


def _rejoin_lines(nb):
    for cell in nb.cells:
        if "source" in cell and isinstance(cell.source, list):
            cell.source = "".join(cell.source)

        attachments = cell.get("attachments", {})
        for attachment in attachments.values():
            _rejoin_mimebundle(attachment)

        if cell.get("cell_type", None) == "code":
            for output in cell.get("outputs", []):
                output_type = output.get("output_type", "")
                if output_type in {"execute_result", "display_data"}:
                    _rejoin_mimebundle(output.get("data", {}))
                elif output_type and isinstance(output.get("text", ""), list):
                    output.text = "".join(output.text)
    return nb


def _strip_transient(nb):
    nb.metadata.pop("orig_nbformat", None)
    nb.metadata.pop("orig_nbformat_minor", None)
    nb.metadata.pop("signature", None)
    for cell in nb.cells:
        cell.metadata.pop("trusted", None)
    return nb


def read(path: str | os.PathLike) -> Node | None:
    """The notebook as ``nbformat.read(path, as_version=4)`` reads it, known valid; None: ask nbformat."""
    if os.environ.get("NBFORMAT_VALIDATOR", "fastjsonschema") != "fastjsonschema":
        return None
    try:
        with open(path, encoding="utf8") as f:        # noqa: PTH123 -- what nbformat.read does
            nb = json.loads(f.read(), object_hook=Node)
    except (OSError, ValueError):                     # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if not isinstance(nb, Node):
        return None
    major, minor = nb.get("nbformat", 1), nb.get("nbformat_minor", 0)
    if type(major) is not int or major != 4 or type(minor) is not int or minor not in SCHEMA_MINORS:
        return None
    try:
        _rejoin_lines(nb)
        _strip_transient(nb)
        if minor >= 5:                                # nbformat would add missing ids / renumber duplicates
            ids = [cell["id"] for cell in nb["cells"]]
            if len(set(ids)) != len(ids):
                return None
        validator = _validator(minor)
        if validator is None:
            return None
        validator(nb)
    except Exception:                                 # noqa: BLE001 -- whatever it is, nbformat says it
        return None
    return nb


# -- nbgrader.utils (0.9), for the locked cells ------------------------------------------

def _to_bytes(string: str) -> bytes:
    return bytes(string.encode("utf-8"))


def _is_grade(cell) -> bool:
    if "nbgrader" not in cell.metadata:
        return False
    return cell.metadata["nbgrader"].get("grade", False)


def _is_solution(cell) -> bool:
    if "nbgrader" not in cell.metadata:
        return False
    return cell.metadata["nbgrader"].get("solution", False)


def _is_locked(cell) -> bool:
    if "nbgrader" not in cell.metadata:
        return False
    elif _is_solution(cell):
        return False
    elif _is_grade(cell):
        return True
    else:
        return cell.metadata["nbgrader"].get("locked", False)


def compute_checksum(cell) -> str:
    """``nbgrader.utils.compute_checksum``: the checksum nbgrader stores in a locked cell's metadata."""
    m = hashlib.md5()
    m.update(_to_bytes(cell.source))
    m.update(_to_bytes(cell.cell_type))
    m.update(_to_bytes(str(_is_grade(cell))))
    m.update(_to_bytes(str(_is_solution(cell))))
    m.update(_to_bytes(str(_is_locked(cell))))
    m.update(_to_bytes(cell.metadata.nbgrader["grade_id"]))
    if _is_grade(cell):
        m.update(_to_bytes(str(float(cell.metadata.nbgrader["points"]))))
    return m.hexdigest()

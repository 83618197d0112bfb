"""`cnnkit check --no-run` without the heavy stack (issue 15, item 3).

The static self-check reads notebooks with :mod:`autograder.notebook_light` instead of
nbformat and computes nbgrader's checksums itself: these tests check it imports none of the
heavy packages, and that what it reads and computes is what nbformat and nbgrader give.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import notebook_light

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("assignments/*/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb"))
HEAVY = ("tensorflow", "keras", "jax", "nbformat", "jsonschema", "nbgrader")


def _names(path):
    return f"{path.parent.parent.name}/{path.parent.name}"


def _nbformat_read(path: Path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    return nb


def _imported(stderr: str) -> set[str]:
    """Top-level packages named in ``python -X importtime`` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name.split(".")[0])
    return names


def test_the_release_notebooks_are_there():
    assert len(list(ROOT.glob("assignments/*/*.ipynb"))) >= 6
    assert len(list(ROOT.glob("solutions/*/*.ipynb"))) >= 6


@pytest.mark.parametrize("notebook", sorted(ROOT.glob("assignments/*/*.ipynb"))[:2], ids=_names)
def test_check_no_run_imports_none_of_the_heavy_stack(notebook, tmp_path):
    edited = json.loads(notebook.read_text(encoding="utf-8"))   # a student's copy: one hint, one locked edit
    answer = next(c for c in edited["cells"] if (c.get("metadata", {}).get("nbgrader") or {}).get("solution")
                  and c["cell_type"] == "code")
    answer["source"] = "opt = keras.optimizers.RMSprop(lr=0.001)\n"
    locked = next(c for c in edited["cells"] if (c.get("metadata", {}).get("nbgrader") or {}).get("locked")
                  and (c.get("metadata", {}).get("nbgrader") or {}).get("checksum"))
    locked["source"] = "x = 1\n"
    student = tmp_path / notebook.name
    student.write_text(json.dumps(edited), encoding="utf-8")
    for path in (notebook, student):
        # `cnnkit` is the console script of autograder.cli:main
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "autograder.cli", "check", "--no-run",
                               "--lang", "en", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert done.stdout.startswith(str(path)), done.stdout + done.stderr
        imported = _imported(done.stderr)
        assert "autograder" in imported and "fastjsonschema" in imported    # the parse did happen
        assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
    assert done.returncode == 0
    assert "learning_rate" in done.stdout and "was modified" in done.stdout


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_names)
def test_light_read_is_what_nbformat_reads(notebook):
    light = notebook_light.read(notebook)
    assert light is not None, "a course notebook should not need nbformat to be read"
    assert light == _nbformat_read(notebook)
    assert light.cells[0].metadata == light["cells"][0]["metadata"]        # attribute access, as NotebookNode


def _variants(path: Path):
    """Edited copies of a notebook: the irregular ones nbformat repairs, converts or rejects,
    and ordinary student edits."""
    base = json.loads(path.read_text(encoding="utf-8"))

    def edit(change):
        nb = copy.deepcopy(base)
        change(nb)
        return nb

    def set_(keys, value):
        def change(nb):
            target = nb
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = value
        return change

    code = next(i for i, c in enumerate(base["cells"]) if c["cell_type"] == "code")
    yield "as released", base
    yield "sources as lists", edit(lambda nb: [c.update(source=c["source"].splitlines(True)) for c in nb["cells"]
                                               if isinstance(c["source"], str)])
    yield "outputs", edit(set_(["cells", code, "outputs"], [
        {"output_type": "stream", "name": "stdout", "text": ["a\n", "b"]},
        {"output_type": "execute_result", "execution_count": 1, "metadata": {},
         "data": {"text/plain": ["1\n", "2"], "application/json": {"a": [1]}}}]))
    yield "transient metadata", edit(lambda nb: (nb["metadata"].update(signature="sha256:0", orig_nbformat=3),
                                                 nb["cells"][0]["metadata"].update(trusted=True)))
    yield "minor 4 without ids", edit(lambda nb: (nb.update(nbformat_minor=4), [c.pop("id", None) for c in nb["cells"]]))
    yield "missing id", edit(lambda nb: (nb.update(nbformat_minor=5), nb["cells"][0].pop("id", None)))
    yield "duplicate ids", edit(lambda nb: (nb.update(nbformat_minor=5),
                                            nb["cells"][1].update(id=nb["cells"][0].get("id", "x"))))
    yield "bad id", edit(set_(["cells", 0, "id"], "an id with spaces"))
    yield "future minor", edit(set_(["nbformat_minor"], 6))
    yield "float major", edit(set_(["nbformat"], 4.0))
    yield "major 5", edit(set_(["nbformat"], 5))
    yield "extra key", edit(set_(["extra"], 1))
    yield "bad cell type", edit(set_(["cells", 0, "cell_type"], "weird"))
    yield "no cell metadata", edit(lambda nb: nb["cells"][0].pop("metadata"))
    yield "no cells", edit(lambda nb: nb.pop("cells"))
    yield "bad output", edit(set_(["cells", code, "outputs"], [{"output_type": "stream", "name": "stdout"}]))
    yield "kernelspec without name", edit(set_(["metadata", "kernelspec"], {"display_name": "Python 3"}))


@pytest.mark.parametrize("notebook", sorted(ROOT.glob("assignments/*/*.ipynb"))[:1] + sorted(ROOT.glob("solutions/*/*.ipynb"))[:1],
                         ids=_names)
def test_light_read_is_nbformat_or_defers_to_it(notebook, tmp_path):
    """Whatever the light reader accepts, nbformat reads the same and finds valid; the rest is nbformat's."""
    accepted = []
    for name, content in _variants(notebook):
        path = tmp_path / "nb.ipynb"
        path.write_text(json.dumps(content), encoding="utf-8")
        light = notebook_light.read(path)
        if light is not None:
            accepted.append(name)
            with _no_warnings():
                assert light == _nbformat_read(path), name
    assert {"as released", "sources as lists", "outputs", "transient metadata", "minor 4 without ids"} <= set(accepted)
    assert not {"missing id", "duplicate ids", "bad id", "future minor", "float major", "major 5", "extra key",
                "bad cell type", "no cell metadata", "no cells", "bad output",
                "kernelspec without name"} & set(accepted)
    for raw in ("", "{not json", "[1, 2]"):
        (tmp_path / "raw.ipynb").write_text(raw, encoding="utf-8")
        assert notebook_light.read(tmp_path / "raw.ipynb") is None
    assert notebook_light.read(tmp_path / "missing.ipynb") is None


class _no_warnings:
    """nbformat warns when it repairs a notebook: an accepted one must need no repair."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings(record=True)
        self._seen = self._catch.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        assert not [str(w.message) for w in self._seen]


def test_another_validator_is_left_to_nbformat(monkeypatch):
    monkeypatch.setenv("NBFORMAT_VALIDATOR", "jsonschema")
    assert notebook_light.read(NOTEBOOKS[0]) is None


def test_the_schemas_are_the_ones_nbformat_picks():
    from nbformat import v4

    assert v4.nbformat == 4 and v4.nbformat_minor == max(notebook_light.SCHEMA_MINORS)
    assert {key: value for key, value in v4.nbformat_schema.items() if key != (None, None)} == \
        {(4, minor): f"nbformat.v4.{minor}.schema.json" for minor in notebook_light.SCHEMA_MINORS}
    for minor in notebook_light.SCHEMA_MINORS:
        assert notebook_light._schema_path(minor) == Path(v4.__file__).parent / f"nbformat.v4.{minor}.schema.json"


def _graded_or_locked(nb):
    return [c for c in nb.cells if (c.metadata.get("nbgrader") or {}).get("grade_id")]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_names)
def test_checksum_is_nbgraders(notebook):
    from nbgrader.utils import compute_checksum

    nb, light = _nbformat_read(notebook), notebook_light.read(notebook)
    cells = _graded_or_locked(nb)
    assert cells
    for cell, light_cell in zip(cells, _graded_or_locked(light)):
        assert notebook_light.compute_checksum(light_cell) == compute_checksum(cell)
        assert notebook_light.compute_checksum(cell) == compute_checksum(cell)
        if cell.metadata.nbgrader.get("checksum"):                 # what nbgrader stored at release
            assert compute_checksum(cell) == cell.metadata.nbgrader.checksum
    for cell in cells:                                             # edits a student (or a tool) may make
        for change in ({"source": cell.source + "\n# edited"}, {"source": ""}):
            edited = nbformat.from_dict({**cell, **change})
            assert notebook_light.compute_checksum(edited) == compute_checksum(edited)
        meta = dict(cell.metadata.nbgrader)
        for extra in ({"grade": True, "points": 2}, {"grade": True, "points": "1.5"}, {"grade": 1, "points": 3},
                      {"solution": True}, {"locked": 1}, {"locked": False, "grade": False}):
            edited = nbformat.from_dict({**cell, "metadata": {**cell.metadata, "nbgrader": {**meta, **extra}}})
            assert notebook_light.compute_checksum(edited) == compute_checksum(edited)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_names)
def test_locked_edits_of_a_light_read_are_those_of_an_nbformat_read(notebook):
    from autograder.course import locked_changes

    def reported(nb):
        return [grade_id for code, grade_id in locked_changes(nb) if code == "locked_edited"]

    nb, light = _nbformat_read(notebook), notebook_light.read(notebook)
    assert reported(light) == reported(nb) == []
    locked = [i for i, c in enumerate(nb.cells) if (c.metadata.get("nbgrader") or {}).get("locked")]
    assert locked
    for index in (locked[0], locked[-1]):
        nb.cells[index].source += "\nx = 1"
        light.cells[index].source += "\nx = 1"
    nb.cells[locked[len(locked) // 2]].metadata.nbgrader.checksum = "0" * 32
    light.cells[locked[len(locked) // 2]].metadata.nbgrader.checksum = "0" * 32
    assert reported(light) == reported(nb) != []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_names)
def test_self_check_says_the_same_read_either_way(notebook, monkeypatch):
    from autograder.selfcheck import render_text, self_check

    light = self_check(notebook, run=False, lang="en")
    monkeypatch.setattr(notebook_light, "read", lambda path: None)      # the nbformat path
    full = self_check(notebook, run=False, lang="en")
    assert render_text(light, "en") == render_text(full, "en")
    assert (light.findings, light.places, light.locked_edits, light.ok) == \
        (full.findings, full.places, full.locked_edits, full.ok)

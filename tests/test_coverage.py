"""docs/COVERAGE.md stays true: every cell it names is a graded cell of its notebook, and every
numbered item of an audited seed has a row with a cell or a stated gap."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from autograder.course import graded_cells

REPO = Path(__file__).resolve().parents[1]
COVERAGE = REPO / "docs" / "COVERAGE.md"
SEEDS = REPO.parent / "shared" / "seeds"
# Seeds audited item by item; the others are listed as pending in the document.
AUDITED = {"000", "001", "002", "003", "004"}


def rows() -> list[dict]:
    out = []
    for line in COVERAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"\d{3}", cells[0]):
            out.append(dict(zip(("seed", "item", "notebook", "cells", "how"), cells)))
    return out


def test_every_listed_cell_is_a_graded_cell_of_its_notebook():
    graded = {}
    for row in rows():
        notebook = row["notebook"]
        if notebook not in graded:
            source = REPO / "solutions" / notebook / f"{notebook}.ipynb"
            assert source.exists(), f"{row}: no notebook {notebook}"
            graded[notebook] = {c.grade_id for c in graded_cells(nbformat.read(str(source), as_version=4))}
        named = [c.strip() for c in row["cells"].split(",") if c.strip() and c.strip() != "—"]
        assert named or "Gap" in row["how"], f"{row}: neither a graded cell nor a stated gap"
        missing = set(named) - graded[notebook]
        assert not missing, f"seed {row['seed']} item {row['item']}: {sorted(missing)} not graded cells of {notebook}"


def seed_items(seed: str) -> set[str]:
    """The numbered items of a seed, as the coverage table names them: ``1a`` for a lettered item
    under "Ejercicio 1" / "Actividad 1"; ``1.2`` and ``3.1A`` for "2.-" and "A.-" under "Apartado N"
    (seed 002's style); ``B1`` for "Bonus.1"; an exercise without items is one item, ``N``."""
    [path] = SEEDS.glob(f"{seed}_*.txt")
    items, exercises, exercise, number = set(), set(), None, None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        heading = re.match(r"^(?:#+\s*)?(?:\*\*)?(?:[\d.]+\s+)?(?:Ejercicio|Actividad|Apartado)\s+(\d+)\b", line)
        if heading:
            exercise, number = heading.group(1), None
            exercises.add(exercise)
            continue
        bonus = re.match(r"^Bonus\.(\d+)", line)
        if bonus:
            items.add(f"B{bonus.group(1)}")
            continue
        if not exercise:
            continue
        lettered = re.match(r"^-\s*([a-z])\)", line)
        numbered = re.match(r"^-?\s*(\d)\.-", line)
        capital = re.match(r"^([A-Z])\.-", line)
        if lettered:
            items.add(f"{exercise}{lettered.group(1)}")
        elif numbered:
            number = numbered.group(1)
            items.add(f"{exercise}.{number}")
        elif capital and number:
            items.discard(f"{exercise}.{number}")       # 3.1 is split into 3.1A and 3.1B
            items.add(f"{exercise}.{number}{capital.group(1)}")

    def has_items(e: str) -> bool:
        return any(re.match(rf"^{e}(?:[a-z]|\.)", i) for i in items)

    return items | {e for e in exercises if not has_items(e)}


def test_every_item_of_an_audited_seed_has_a_row():
    listed = {(r["seed"], r["item"]) for r in rows()}
    for seed in AUDITED:
        items = seed_items(seed)
        assert items, f"seed {seed}: no items parsed"
        assert {(seed, i) for i in items} <= listed, sorted(i for i in items if (seed, i) not in listed)


# "(2 puntos)" — everything under the heading, autograded and written; "(3 puntos + 1 punto de
# respuesta escrita)" — each part; "(1 punto, respuesta escrita)" — written only; a note may follow
# after " · " ("(2 puntos · el ejercicio del enunciado)").
_NUMBER = r"(\d+(?:[,.]\d+)?)"
_STATED = re.compile(r"\(" + _NUMBER + r" puntos?(?: \+ " + _NUMBER
                     + r" puntos? de respuestas? escritas?|(, respuesta escrita))?(?: · [^)]*)?\)")
_TOTAL = re.compile(r"El total es de " + _NUMBER + r" puntos: " + _NUMBER + r" automáticos y "
                    + _NUMBER + r" de respuestas escritas")


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _points(cells, graded) -> tuple[float, float]:
    """(autograded, written) points of ``cells``, as the grader counts them (``graded``: grade_id →
    :class:`autograder.course.GradedCell` of the notebook)."""
    auto = written = 0.0
    for cell in cells:
        found = graded.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if found is not None and found.kind == "test":
            auto += found.points
        elif found is not None:
            written += found.points
    return auto, written


def test_the_points_a_notebook_states_are_the_points_it_gives():
    """Every heading that states its points, and a stated total, matches the grade cells below it
    (up to the next heading of the same or a higher level), so a reweighting cannot leave the
    student reading old figures."""
    for source in sorted((REPO / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(str(source), as_version=4)
        graded = {cell.grade_id: cell for cell in graded_cells(nb)}
        headings = [(len(m.group(1)), m.group(2), i) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                    for m in [re.match(r"^(#{1,4}) (.*)", c.source)] if m]
        for k, (level, title, start) in enumerate(headings):
            stated = _STATED.search(title)
            if not stated:
                continue
            end = next((i for lvl, _, i in headings[k + 1:] if lvl <= level), len(nb.cells))
            auto, written = _points(nb.cells[start:end], graded)
            if stated.group(2):
                expected = (_number(stated.group(1)), _number(stated.group(2)))
                assert (auto, written) == expected, f"{source.name} «{title}»: gives {auto} + {written} written"
            elif stated.group(3):
                assert (auto, written) == (0, _number(stated.group(1))), f"{source.name} «{title}»"
            else:
                assert auto + written == _number(stated.group(1)), \
                    f"{source.name} «{title}»: gives {auto} autograded + {written} written"
        for cell in nb.cells:
            total = _TOTAL.search(" ".join(cell.source.split())) if cell.cell_type == "markdown" else None
            if total:
                auto, written = _points(nb.cells, graded)
                assert (auto + written, auto, written) == tuple(_number(total.group(i)) for i in (1, 2, 3)), \
                    f"{source.name}: states {total.group(0)!r}, gives {auto} + {written}"

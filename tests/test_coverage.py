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

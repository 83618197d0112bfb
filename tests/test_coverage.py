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
AUDITED = {"000", "001", "003", "004"}


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
    """``1a``, ``2e``…: the lettered items under each "Ejercicio N" or "Actividad N" heading of the seed; an
    exercise without lettered items is one item, ``N``."""
    [path] = SEEDS.glob(f"{seed}_*.txt")
    items, exercises, exercise = set(), set(), None
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^(?:#+\s*)?(?:\*\*)?(?:[\d.]+\s+)?(?:Ejercicio|Actividad)\s+(\d+)\b", line.strip())
        if heading:
            exercise = heading.group(1)
            exercises.add(exercise)
            continue
        item = re.match(r"^-\s*([a-z])\)", line.strip())
        if exercise and item:
            items.add(f"{exercise}{item.group(1)}")
    return items | {e for e in exercises if not any(i[:-1] == e for i in items)}


def test_every_item_of_an_audited_seed_has_a_row():
    listed = {(r["seed"], r["item"]) for r in rows()}
    for seed in AUDITED:
        items = seed_items(seed)
        assert items, f"seed {seed}: no items parsed"
        assert {(seed, i) for i in items} <= listed, sorted(i for i in items if (seed, i) not in listed)

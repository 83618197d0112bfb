"""Finding submissions on disk, and making submissions from answers.

A submission is an ``.ipynb`` file. ``cnnkit grade`` accepts files,
directories of files, and nbgrader's ``submitted/<student>/<assignment>/``
tree. Student ids come from the tree or from the file name.

Example and test submissions are written as *answers* — the code that goes
into each solution cell of the release — so they always match the current
release::

    # %% answer: model_3x3
    model = keras.Sequential([...])

    # %% answer: why_5x5
    Porque ...

:func:`fill_release` puts answers into a copy of the release notebook;
:func:`solution_answers` extracts the instructors' own solutions from the
source notebook (the "perfect submission").
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import nbformat

_ANSWER_HEADER = re.compile(r"^# %% answer:\s*(?P<grade_id>[\w.-]+)\s*$", re.MULTILINE)
_SAFE_ID = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Submission:
    student_id: str
    path: Path


def student_id_from(path: Path) -> str:
    stem = path.stem
    return _SAFE_ID.sub("_", stem).strip("_") or "student"


def discover(inputs: Iterable[Path], assignment_id: str) -> list[Submission]:
    """Submissions from files, directories, or an nbgrader ``submitted/`` tree.

    Sorted by student id; a duplicate id gets a numeric suffix so that no
    submission overwrites another's results.
    """
    found: list[Submission] = []
    for item in inputs:
        item = Path(item)
        if item.is_file():
            found.append(Submission(student_id_from(item), item))
            continue
        if not item.is_dir():
            raise FileNotFoundError(f"no such submission file or directory: {item}")
        tree = sorted(item.glob(f"*/{assignment_id}/*.ipynb"))
        if tree:  # nbgrader layout: submitted/<student>/<assignment>/<nb>.ipynb
            for nb in tree:
                found.append(Submission(_SAFE_ID.sub("_", nb.parent.parent.name), nb))
            continue
        for nb in sorted(item.glob("*.ipynb")):
            found.append(Submission(student_id_from(nb), nb))
    found.sort(key=lambda s: (s.student_id, str(s.path)))
    unique: list[Submission] = []
    seen: dict[str, int] = {}
    for sub in found:
        count = seen.get(sub.student_id, 0)
        seen[sub.student_id] = count + 1
        unique.append(sub if count == 0 else Submission(f"{sub.student_id}-{count + 1}", sub.path))
    return unique


def parse_answers(text: str) -> dict[str, str]:
    """``grade_id → source`` from an answers file (``# %% answer: ID`` headers)."""
    matches = list(_ANSWER_HEADER.finditer(text))
    answers = {}
    for match, following in zip(matches, matches[1:] + [None]):
        end = following.start() if following else len(text)
        answers[match.group("grade_id")] = text[match.end():end].strip("\n") + "\n"
    return answers


def fill_release(release: nbformat.NotebookNode, answers: Mapping[str, str]) -> nbformat.NotebookNode:
    """A copy of ``release`` with each solution cell named in ``answers`` replaced."""
    nb = copy.deepcopy(release)
    unknown = set(answers)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if meta.get("solution") and grade_id in answers:
            cell.source = answers[grade_id].rstrip("\n")
            unknown.discard(grade_id)
    if unknown:
        raise KeyError(f"answers for cells that are not solution cells of the release: {sorted(unknown)}")
    return nb


_SOLUTION_MARKERS = re.compile(r"^\s*(### BEGIN SOLUTION|### END SOLUTION)\s*$\n?", re.MULTILINE)
_MARK_SCHEME = re.compile(r"=== BEGIN MARK SCHEME ===.*?=== END MARK SCHEME ===\n?", re.DOTALL)


def solution_answers(source: nbformat.NotebookNode) -> dict[str, str]:
    """The instructors' solutions: solution cells of the source notebook, markers removed."""
    answers = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            text = _MARK_SCHEME.sub("", cell.source)
            answers[meta["grade_id"]] = _SOLUTION_MARKERS.sub("", text)
    return answers


def write_submission(release_path: Path, answers: Mapping[str, str], dest: Path) -> Path:
    release = nbformat.read(str(release_path), as_version=4)
    nb = fill_release(release, answers)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(dest))
    return dest


def solution_submission(source_path: Path, release_path: Path, dest: Path) -> Path:
    """The "perfect submission": the release filled with the instructors' solutions."""
    source = nbformat.read(str(source_path), as_version=4)
    return write_submission(Path(release_path), solution_answers(source), Path(dest))

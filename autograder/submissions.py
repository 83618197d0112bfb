"""Finding submissions on disk, and making submissions from answers.

A submission is an ``.ipynb`` file. ``cnnkit grade`` accepts files and the
folders instructors download (:func:`discover`): a flat folder of notebooks,
nbgrader's ``submitted/<student>/<assignment>/`` tree, one folder per student
(``lms/ana_123/practica.ipynb``), Moodle's and Canvas' assignment exports and
Gradescope's submission export. Student ids keep their Unicode letters
("García López, Ana" → ``García_López_Ana``).

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
_SAFE_ID = re.compile(r"[^\w.-]+")      # \w is Unicode: accented names stay readable
# Moodle: "<full name>_<participant id>_assignsubmission_file_" (a folder, or a prefix of the file)
_MOODLE = re.compile(r"^(?P<student>.+?_\d+)_assignsubmission_(?:file|onlinetext)_(?P<rest>.*)$")
# Canvas: "<lastfirst>[_LATE]_<user id>_<submission id>_<original file name>"
_CANVAS = re.compile(r"^(?P<name>[^_]+?)(?:_LATE)?_(?P<user>\d+)_(?P<submission>\d+)_(?P<rest>.+)$", re.IGNORECASE)


class NoSubmissions(ValueError):
    """Nothing to grade where the instructor pointed: said plainly, never a silent empty batch."""


@dataclass(frozen=True)
class Submission:
    student_id: str
    path: Path


# Folders of the output directory that are not students' (OUT/nbgrader is the formgrader course).
RESERVED_IDS = {"nbgrader"}


def _safe(text: str) -> str:
    safe = _SAFE_ID.sub("_", text).strip("_.") or "student"
    return f"{safe}_" if safe.lower() in RESERVED_IDS else safe


def student_id_from(path: Path) -> str:
    """A student id from a notebook's file name (Moodle and Canvas prefixes understood)."""
    stem = Path(path).stem
    for pattern, group in ((_MOODLE, "student"), (_CANVAS, None)):
        match = pattern.match(stem)
        if match:
            return _safe(match.group("student") if group else f"{match.group('name')}_{match.group('user')}")
    return _safe(stem)


def _folder_student(name: str) -> str:
    match = _MOODLE.match(name + ("" if name.endswith("_") else "_"))
    return _safe(match.group("student") if match else name)


def _notebooks(folder: Path) -> list[Path]:
    """Notebooks under ``folder``, Jupyter's checkpoints and hidden folders left out."""
    return sorted(p for p in folder.rglob("*.ipynb")
                  if not any(part.startswith(".") or part == "__MACOSX" for part in p.relative_to(folder).parts))


def _pick(notebooks: list[Path], assignment_id: str) -> list[Path]:
    """One student's notebooks: the one named after the assignment when there are several."""
    named = [p for p in notebooks if assignment_id in p.stem]
    return named[:1] if len(notebooks) > 1 and len(named) >= 1 else notebooks


def _gradescope_students(folder: Path) -> dict[str, str]:
    """``{submission folder: student}`` from Gradescope's ``submission_metadata.yml``, read as text:
    the first submitter's ``:sid:`` (what an LMS matches), else ``:email:``, else ``:name:``."""
    fields: dict[str, dict[str, str]] = {}
    current = None
    for line in (folder / "submission_metadata.yml").read_text(encoding="utf-8", errors="replace").splitlines():
        key = re.match(r"^(submission_\d+):\s*$", line)
        if key:
            current = key.group(1)
            fields[current] = {}
            continue
        field = re.match(r"^\s+-?\s*:(sid|email|name):\s*(.*?)\s*$", line)
        if current and field:
            value = field.group(2).strip("'\"")
            if value:
                fields[current].setdefault(field.group(1), value)
    return {folder_name: next(f[k] for k in ("sid", "email", "name") if k in f)
            for folder_name, f in fields.items() if f}


def _in_folder(item: Path, assignment_id: str) -> list[Submission]:
    tree = sorted(item.glob(f"*/{assignment_id}/*.ipynb"))
    if tree:  # nbgrader layout: submitted/<student>/<assignment>/<nb>.ipynb
        return [Submission(_safe(nb.parent.parent.name), nb) for nb in tree]
    notebooks = _notebooks(item)
    deep = [p for p in notebooks if len(p.relative_to(item).parts) == 3]
    others = {p.parent.name for p in deep}
    if deep and len(deep) == len(notebooks) and len(others) == 1:
        raise NoSubmissions(f"{item} looks like nbgrader's submitted/ tree of assignment "
                            f"{others.pop()!r}, not {assignment_id!r}: check --assignment")
    found = []
    names = _gradescope_students(item) if (item / "submission_metadata.yml").exists() else {}
    by_student: dict[Path, list[Path]] = {}
    for nb in notebooks:
        parts = nb.relative_to(item).parts
        if len(parts) == 1:
            found.append(Submission(student_id_from(nb), nb))
        else:
            by_student.setdefault(item / parts[0], []).append(nb)
    for folder, mine in sorted(by_student.items()):
        student = _safe(names[folder.name]) if folder.name in names else _folder_student(folder.name)
        found += [Submission(student, nb) for nb in _pick(mine, assignment_id)]
    return found


def discover(inputs: Iterable[Path], assignment_id: str) -> list[Submission]:
    """Submissions from files and folders (see the module docstring for the layouts).

    Sorted by student id; a duplicate id gets a numeric suffix so that no submission
    overwrites another's results. Raises :class:`FileNotFoundError` for a path that does
    not exist and :class:`NoSubmissions` when nothing is found.
    """
    found: list[Submission] = []
    for item in inputs:
        item = Path(item)
        if item.is_file():
            if item.suffix != ".ipynb":
                raise NoSubmissions(f"{item} is not a notebook (.ipynb)")
            found.append(Submission(student_id_from(item), item))
        elif item.is_dir():
            found += _in_folder(item, assignment_id)
        else:
            raise FileNotFoundError(f"no such submission file or folder: {item}")
    if not found:
        shown = ", ".join(str(p) for p in inputs)
        raise NoSubmissions(f"no notebook (.ipynb) of {assignment_id!r} found in {shown}")
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

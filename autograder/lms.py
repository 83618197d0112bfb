"""Final grades in the CSV formats Canvas and Moodle import.

    cnnkit lms-export --format canvas|moodle --out FILE GRADING_DIR

The grades are the class's totals: autograded points plus the written answers' manual points
from the nbgrader course the batch left at ``GRADING_DIR/nbgrader/`` (what TAs graded in
formgrader), else the autograded points alone (a column says how many points are still
pending). Student ids carry the LMS's own number when the submissions came from its export
(:mod:`autograder.submissions`: Moodle's ``<name>_<participant id>``, Canvas'
``<name>_<user id>``):

* **Canvas** (Grades → Import): ``Student, ID, SIS User ID, SIS Login ID, Section`` and one
  column named ``<assignment> (<points possible>)``; Canvas matches rows by ``ID`` (the user id).
* **Moodle** (Assignment → *Upload grading worksheet*): ``Identifier`` (``Participant N``),
  ``Full name``, ``Grade``, ``Maximum grade``; Moodle matches rows by ``Identifier``.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from cnnkit.checks.artifacts import atomic_write

from . import report
from .course import COURSE_ID

FORMATS = ("canvas", "moodle")
_LMS_NUMBER = re.compile(r"^(?P<name>.+?)_(?P<number>\d+)$")


@dataclass(frozen=True)
class FinalGrade:
    student: str
    name: str            # the name part of the id, readable ("García López Ana")
    lms_number: str      # the LMS's user/participant number, "" when the id has none
    score: float
    max_score: float
    pending: float       # manual points nobody graded yet


def final_grades(grading_dir: Path, assignment: str | None = None, results=None) -> list[FinalGrade]:
    """Every student of ``grading_dir`` (or of ``results``, its collected ``grading.json`` files):
    autograded + manual points (manual from its nbgrader course)."""
    grading_dir = Path(grading_dir)
    results = report.collect([grading_dir], assignment) if results is None else results
    manual = _manual_points(grading_dir / "nbgrader")
    grades = []
    for result in sorted(results, key=lambda r: r.student):
        written = [t for t in result.tests if t.kind == "manual"]
        graded = manual.get(result.student, {})
        points = sum(graded[t.grade_id] for t in written if graded.get(t.grade_id) is not None)
        pending = sum(t.max_score for t in written if graded.get(t.grade_id) is None)
        match = _LMS_NUMBER.match(result.student)
        name = (match.group("name") if match else result.student).replace("_", " ")
        grades.append(FinalGrade(result.student, name, match.group("number") if match else "",
                                 round(result.score + points, 4),
                                 round(result.max_score + sum(t.max_score for t in written), 4), round(pending, 4)))
    return grades


def _manual_points(course: Path) -> dict[str, dict[str, float | None]]:
    """``{student: {grade_id: manual score or None}}`` from the course's gradebook, if any."""
    if not (course / "gradebook.db").exists():
        return {}
    import warnings

    from nbgrader.api import Gradebook

    out: dict[str, dict[str, float | None]] = {}
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        warnings.simplefilter("ignore")
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                mine = out.setdefault(submission.student.id, {})
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        mine[grade.name] = grade.manual_score
    return out


def export_csv(grades: list[FinalGrade], fmt: str, assignment: str) -> str:
    """The CSV text ``fmt`` (``canvas`` or ``moodle``) imports."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {FORMATS}, not {fmt!r}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    possible = max((g.max_score for g in grades), default=0)
    if fmt == "canvas":
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{assignment} ({possible:g})"])
        writer.writerow(["    Points Possible", "", "", "", "", f"{possible:g}"])
        for g in grades:
            writer.writerow([g.name, g.lms_number, "", "", "", f"{g.score:g}"])
    else:
        writer.writerow(["Identifier", "Full name", "Grade", "Maximum grade"])
        for g in grades:
            identifier = f"Participant {g.lms_number}" if g.lms_number else g.student
            writer.writerow([identifier, g.name, f"{g.score:g}", f"{g.max_score:g}"])
    return buffer.getvalue()


def write_export(grading_dir: Path, fmt: str, out: Path, assignment: str | None = None) -> tuple[Path, list[FinalGrade]]:
    results = report.collect([Path(grading_dir)], assignment)
    if not results:
        raise ValueError(f"no graded submission (grading.json) in {grading_dir}")
    grades = final_grades(grading_dir, assignment, results)
    name = assignment or results[0].assignment
    atomic_write(Path(out), export_csv(grades, fmt, name))
    return Path(out), grades

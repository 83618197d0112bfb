"""Written answers are graded in nbgrader's own formgrader, on the course `cnnkit grade` leaves.

Two batches (think: two Slurm shards) grade one student each; `cnnkit merge` joins their
results and their nbgrader courses. A real Jupyter server with the formgrader extension is
started on localhost in the merged course: the student is listed, a TA's manual score for the
written answer is set through formgrader's API, and stock `nbgrader export` there writes the
student's total (autograded + manual). A rerun of a batch keeps a manual grade entered in its
course.
"""
from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(FIXTURES))

import tiny  # noqa: E402

from autograder.batch import BatchOptions, grade_batch, merge  # noqa: E402
from autograder.course import build_course  # noqa: E402
from autograder.submissions import solution_answers, write_submission  # noqa: E402

pytestmark = pytest.mark.slow
AUTO_POINTS = 8.0           # the tiny assignment's autograded points; its written answer "why" is worth 1


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """``(merged_out, [shard_out, ...], solutions)``: ana graded in one batch, bea in another, merged."""
    root = tmp_path_factory.mktemp("formgrader")
    source = tiny.write_source(root / "solutions")
    course = build_course("tiny", source, root / "course-for-submissions")
    answers = solution_answers(nbformat.read(str(source), as_version=4))
    outs = []
    for student in ("ana", "bea"):
        write_submission(course.release_notebook, answers, root / f"subs-{student}" / f"{student}.ipynb")
        out = root / f"shard-{student}"
        grade_batch([root / f"subs-{student}"], BatchOptions(assignment="tiny", out_dir=out, profile="smoke",
                                                            jobs=1, lang="es", solutions_dir=root / "solutions"))
        outs.append(out)
    merged = root / "merged"
    merge(merged, outs)
    merge(merged, outs)          # a second merge into the same folder (read-only notebooks there) works too
    return merged, outs, root / "solutions"


def test_each_batch_leaves_a_complete_nbgrader_course(shards):
    _, outs, _ = shards
    course = outs[0] / "nbgrader"
    assert (course / "nbgrader_config.py").exists() and (course / "gradebook.db").exists()
    for part in ("source/tiny/tiny.ipynb", "release/tiny/tiny.ipynb", "submitted/ana/tiny/tiny.ipynb",
                 "autograded/ana/tiny/tiny.ipynb"):
        assert (course / part).exists(), part
    assert oct((outs[0] / "grades.csv").stat().st_mode & 0o777) == oct(0o666 & ~_umask())   # a TA's group reads it


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Formgrader:
    """A Jupyter server (formgrader enabled, as nbgrader installs it) on localhost in ``course``."""

    def __init__(self, course: Path) -> None:
        self.port, self.token = _free_port(), "cnnkit-test-token"
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(course / ".jupyter-config"),
               "JUPYTER_RUNTIME_DIR": str(course / ".jupyter-runtime")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={course}",
             f"--IdentityProvider.token={self.token}", "--ServerApp.open_browser=False",
             "--allow-root"],           # CI runs as root
            cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                self.get("/formgrader/api/status")
                return
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"the Jupyter server did not start:\n{self.output}")
                time.sleep(0.5)

    def request(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def get(self, path: str):
        return self.request("GET", path)

    def stop(self) -> None:
        self.process.terminate()
        try:
            out, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        self.output = out


def test_a_manual_grade_set_in_formgrader_reaches_nbgrader_export(shards):
    merged, _, _ = shards
    course = merged / "nbgrader"
    server = Formgrader(course)
    try:
        submissions = server.get("/formgrader/api/submissions/tiny")
        assert sorted(s["student"] for s in submissions) == ["ana", "bea"]
        assert all(s["needs_manual_grade"] for s in submissions)      # the written answer waits for a TA
        assert all(s["score"] == AUTO_POINTS for s in submissions)    # autograded points already there
        notebooks = server.get("/formgrader/api/submitted_notebooks/tiny/tiny")
        ana = next(n for n in notebooks if n["student"] == "ana")
        grades = server.get(f"/formgrader/api/grades?submission_id={ana['id']}")
        why = next(g for g in grades if g["name"] == "why")
        assert why["auto_score"] is None and why["needs_manual_grade"]
        updated = server.request("PUT", f"/formgrader/api/grade/{why['id']}", {"manual_score": 0.5})
        assert updated["manual_score"] == 0.5 and not updated["needs_manual_grade"]
    finally:
        server.stop()
    done = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "grades-export.csv"],
                          cwd=course, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades-export.csv").open())}
    assert float(rows["ana"]["score"]) == AUTO_POINTS + 0.5
    assert float(rows["bea"]["score"]) == AUTO_POINTS
    assert float(rows["ana"]["max_score"]) == AUTO_POINTS + 1


def test_a_rerun_keeps_the_manual_grades_entered_in_the_course(shards):
    import warnings

    from nbgrader.api import Gradebook

    merged, outs, solutions = shards
    db = f"sqlite:///{outs[1] / 'nbgrader' / 'gradebook.db'}"
    with warnings.catch_warnings(), Gradebook(db, "cnnkit") as gb:
        warnings.simplefilter("ignore")
        gb.find_grade("why", "tiny", "tiny", "bea").manual_score = 1.0
        gb.db.commit()
    subs = merged.parent / "subs-bea"
    grade_batch([subs], BatchOptions(assignment="tiny", out_dir=outs[1], profile="smoke", jobs=1, lang="es",
                                     solutions_dir=solutions, force=True))
    with warnings.catch_warnings(), Gradebook(db, "cnnkit") as gb:
        warnings.simplefilter("ignore")
        assert gb.find_grade("why", "tiny", "tiny", "bea").manual_score == 1.0
        assert gb.find_submission("tiny", "bea").score == AUTO_POINTS + 1.0


def test_the_cli_prints_a_line_per_submission_and_a_rerun_in_english_rewrites_the_feedback(shards):
    """Off a terminal (CI, Slurm logs) one line per finished submission; `--lang en` on a graded
    folder gives English feedback without regrading."""
    merged, outs, solutions = shards
    feedback = outs[0] / "ana" / "feedback.html"
    assert 'lang="es"' in feedback.read_text(encoding="utf-8")
    before = (outs[0] / "ana" / "grading.json").read_bytes()
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", "--assignment", "tiny", "--out",
                           str(outs[0]), "--solutions", str(solutions), "--profile", "smoke", "--lang", "en",
                           str(merged.parent / "subs-ana")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "grading tiny: 1 submission(s)" in done.stdout
    assert "[1/1] ana  8/8  ok (already graded)" in done.stdout
    assert 'lang="en"' in feedback.read_text(encoding="utf-8")
    assert (outs[0] / "ana" / "grading.json").read_bytes() == before      # not regraded


def test_the_cli_refuses_bad_arguments_and_empty_folders_with_a_message(tmp_path):
    def cnnkit(*args):
        return subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True, text=True,
                              timeout=300)

    (tmp_path / "empty").mkdir()
    for args, says in ((["--jobs", "0", str(tmp_path)], "must be greater than 0"),
                       (["--memory-mb", "lots", str(tmp_path)], "expected a number"),
                       ([str(tmp_path / "empty")], "no notebook (.ipynb) of 'vgg19_blocks' found"),
                       ([str(tmp_path / "missing.ipynb")], "no such submission file or folder")):
        done = cnnkit("grade", "--assignment", "vgg19_blocks", "--out", str(tmp_path / "out"), *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert says in done.stderr, (args, done.stderr)


def test_final_grades_export_in_the_formats_canvas_and_moodle_import(shards, tmp_path):
    """After formgrader (ana's written answer got 0.5 above), the LMS files hold auto + manual totals."""
    merged, _, _ = shards
    import warnings

    from nbgrader.api import Gradebook

    with warnings.catch_warnings(), Gradebook(f"sqlite:///{merged / 'nbgrader' / 'gradebook.db'}", "cnnkit") as gb:
        warnings.simplefilter("ignore")
        gb.find_grade("why", "tiny", "tiny", "ana").manual_score = 0.5      # as formgrader would store it
        gb.db.commit()
    for fmt in ("canvas", "moodle"):
        out = tmp_path / f"{fmt}.csv"
        done = subprocess.run([sys.executable, "-m", "autograder.cli", "lms-export", "--format", fmt, "--out", str(out),
                               str(merged)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "1 with written answers not graded yet" in done.stdout          # bea's
        rows = list(csv.reader(out.open(encoding="utf-8")))
        if fmt == "canvas":
            assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "tiny (9)"]
            assert rows[1][0].strip() == "Points Possible" and rows[1][-1] == "9"
            assert {r[0]: r[-1] for r in rows[2:]} == {"ana": "8.5", "bea": "8"}
        else:
            assert rows[0] == ["Identifier", "Full name", "Grade", "Maximum grade"]
            assert {r[1]: (r[2], r[3]) for r in rows[1:]} == {"ana": ("8.5", "9"), "bea": ("8", "9")}


def test_lms_ids_come_from_the_lms_export_names():
    from autograder.lms import FinalGrade, export_csv

    grades = [FinalGrade("García_López_Ana_1234", "García López Ana", "1234", 7.0, 9.0, 0.0)]
    moodle = export_csv(grades, "moodle", "vgg19_blocks")
    assert "Participant 1234,García López Ana,7,9" in moodle
    assert "García López Ana,1234,,,,7" in export_csv(grades, "canvas", "vgg19_blocks")

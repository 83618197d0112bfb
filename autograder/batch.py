"""``cnnkit grade``: a class of submissions, each graded by a worker of the pool.

Resumable (a submission whose ``grading.json`` records the same file, profile
and result schema is skipped unless ``force``), atomic (every output is written
to a temporary file and renamed), shardable (``shard=(i, n)`` keeps a stable
slice by a hash of the student id), and parallel (``jobs`` workers, each with
``cpus // jobs`` threads, counting the CPUs this process may use).

Trust: the nbgrader course the workers grade against is built for each run in
a private temporary directory from ``solutions/ID/ID.ipynb``, never read back
from the output folder; each job's working directory is private too, and only
its ``kernel/`` part is visible to the sandboxed kernel. Kernels never see the
output folder. A worker that crashes, times out or blows its memory costs that
student the tests that did not run (the artifacts of those that did are
scored by a fresh worker); the batch goes on.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from cnnkit import messages
from cnnkit.checks.artifacts import atomic_write
from cnnkit.messages import Message

from . import report
from .course import COURSE_ID, Course, build_course, graded_cells
from .manifest import Limits, default_solutions_dir, load_assignment
from .results import SCHEMA_VERSION, SubmissionResult
from .sandbox import WorkerOutcome, WorkerPool, allowed_cpus
from .submissions import Submission, discover
from .worker import FAILURE_STATUS, Job, zero_tests

messages.register({
    "batch.skipped": {"es": "ya corregida (usa --force para repetir)", "en": "already graded (use --force to redo)"},
})


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def in_shard(student_id: str, shard: tuple[int, int] | None) -> bool:
    """Whether ``student_id`` belongs to shard ``i`` of ``n`` (1-based), by a stable hash."""
    if shard is None:
        return True
    index, count = shard
    return zlib.crc32(student_id.encode()) % count == index - 1


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard expects i/n (e.g. 2/4), got {text!r}") from None
    if not 1 <= index <= count:
        raise ValueError(f"--shard {text}: i must be between 1 and n")
    return index, count


@dataclass
class BatchOptions:
    assignment: str
    out_dir: Path
    profile: str | None = None             # None: like the notebooks ($CNNKIT_PROFILE, else full on a GPU)
    jobs: int = 1
    lang: str = "es"
    force: bool = False
    shard: tuple[int, int] | None = None
    solutions_dir: Path | None = None
    limits: Limits | None = None           # overrides of the manifest's limits
    keep_workdirs: bool = False
    kernel_env: dict = field(default_factory=dict)


@dataclass
class SubmissionRecord:
    student: str
    path: str
    status: str
    score: float
    max_score: float
    pending_manual: float
    seconds: float
    skipped: bool = False


@dataclass
class BatchResult:
    records: list[SubmissionRecord]
    grades_csv: Path
    elapsed: float
    profile: str = "smoke"

    def to_json(self) -> dict:
        return {"records": [asdict(r) for r in self.records], "grades_csv": str(self.grades_csv),
                "elapsed": self.elapsed, "profile": self.profile}


def resolve_profile(options: BatchOptions) -> str:
    from cnnkit.profile import profile

    return profile(options.profile).name


def _already_graded(student_dir: Path, digest: str, profile: str) -> SubmissionResult | None:
    path = student_dir / "grading.json"
    if not path.exists() or not (student_dir / "results.json").exists():
        return None
    try:
        result = SubmissionResult.load(path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if result.submission_sha256 == digest and result.profile == profile:
        return result
    return None


def _record(result: SubmissionResult, path: Path, skipped: bool = False) -> SubmissionRecord:
    return SubmissionRecord(result.student, str(path), result.status, result.score, result.max_score,
                            result.pending_manual, float(result.timings.get("total", 0.0)), skipped=skipped)


def failure_result(job: Job, cells, outcome: WorkerOutcome | None, error: str | None = None) -> SubmissionResult:
    """A result for a worker that left none behind and whose artifacts could not be scored either."""
    from .kernel import isolation
    from .results import SandboxInfo

    killed = outcome.killed if outcome else None
    limits = job.limits
    if killed == "timeout":
        message = Message("report.killed_timeout", {"seconds": float(limits.get("notebook_timeout", 0))})
    elif killed == "memory":
        message = Message("report.killed_memory", {"limit_mb": int(limits.get("memory_mb", 0))})
    else:
        message = Message("report.worker_crashed", {"exit": outcome.returncode if outcome else error or "?"})
    iso = isolation()
    return SubmissionResult(student=job.student, assignment=job.assignment, profile=job.profile, lang=job.lang,
                            submission=job.submission, submission_sha256=job.submission_sha256,
                            status=FAILURE_STATUS.get(killed or "crashed", "grader_error"), messages=[message],
                            tests=zero_tests(cells, message),
                            timings={"total": outcome.elapsed if outcome else 0.0},
                            sandbox=SandboxInfo(iso.sandboxed, iso.code, dict(iso.params), killed,
                                                outcome.returncode if outcome else None))


@dataclass
class _Run:
    """What every submission of one batch run shares."""

    options: BatchOptions
    profile: str
    assignment: object
    course: Course
    cells: list
    limits: Limits
    root: Path                    # private to this run: jobs, course, data views
    views_dir: Path | None
    hidden_lines: list[str]


def grade_one(sub: Submission, run: _Run, pool: WorkerPool) -> SubmissionResult:
    """Grade one submission with a worker and write its outputs; returns the result."""
    options = run.options
    student_dir = options.out_dir / sub.student_id
    workdir = Path(tempfile.mkdtemp(prefix=f"job-{sub.student_id[:20]}-", dir=run.root))
    autograded = student_dir / f"{sub.student_id}.autograded.ipynb"
    job = Job(assignment=options.assignment, student=sub.student_id, submission=str(Path(sub.path).resolve()),
              solutions_dir=str(run.assignment.folder.parent), course_root=str(run.course.root),
              workdir=str(workdir), autograded_path=str(autograded), profile=run.profile, lang=options.lang,
              submission_sha256=sha256_of(sub.path), limits=asdict(run.limits), kernel_env=options.kernel_env,
              views_dir=str(run.views_dir) if run.views_dir else None)
    try:
        outcome = pool.run(job)
        if outcome.result is not None:
            result = SubmissionResult.from_json(outcome.result)
        else:
            # The worker was stopped or died: a fresh one scores what the kernel had exported.
            salvage = pool.run(replace(job, mode="rescore", failure=outcome.killed or "crashed"))
            result = SubmissionResult.from_json(salvage.result) if salvage.result is not None else \
                failure_result(job, run.cells, outcome)
            result.sandbox.killed, result.sandbox.returncode = outcome.killed, outcome.returncode
            result.timings["total"] = outcome.elapsed
        logs = student_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name in ("worker.log", "nbgrader.log", "traceback.txt"):
            if (workdir / name).exists():
                shutil.copy2(workdir / name, logs / name)
        report.write_submission_outputs(result, student_dir, options.lang,
                                        autograded if autograded.exists() else None, run.hidden_lines)
        return result
    finally:
        if not options.keep_workdirs:
            shutil.rmtree(workdir, ignore_errors=True)


NBGRADER_CONFIG = """\
# The nbgrader course `cnnkit grade` keeps at OUT/nbgrader/: open formgrader here
# (`jupyter lab` or `jupyter server`, then the "Formgrader" page) to grade the written answers,
# and `nbgrader export` here writes every student's total (autograded + manual) to grades.csv.
# cnnkit never reads this folder back: its grading.json files are the record; a rerun keeps
# the manual grades entered here.
import os

c = get_config()  # noqa: F821 (defined by nbgrader's config loader)
c.CourseDirectory.course_id = "{course_id}"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
"""


class GradebookExport:
    """The batch's nbgrader course at ``OUT/nbgrader/``: an export, never read back.

    A complete course formgrader and ``nbgrader export`` work in: ``nbgrader_config.py``,
    ``source/`` and ``release/``, each student's ``submitted/`` and ``autograded/`` notebook,
    and the gradebook with every autograded score. Manual grades entered there survive a
    rerun of the batch; when the instructors' source notebook changed, the old gradebook is
    kept aside (``gradebook.db.<time>.bak``) and a fresh one started.
    """

    def __init__(self, master: Course, out_dir: Path) -> None:
        self.course = Course(out_dir / "nbgrader", master.assignment_id)
        root = self.course.root
        root.mkdir(parents=True, exist_ok=True)
        stamp = root / "cnnkit-gradebook.json"
        digest = sha256_of(master.source_notebook)
        known = json.loads(stamp.read_text()) if stamp.exists() else {}
        if self.course.db_path.exists() and known.get(master.assignment_id) != digest:
            self.course.db_path.rename(root / f"gradebook.db.{time.strftime('%Y%m%d-%H%M%S')}.bak")
        if not self.course.db_path.exists():
            shutil.copy2(master.db_path, self.course.db_path)
        atomic_write(stamp, json.dumps({**known, master.assignment_id: digest}))
        for path, target in ((master.source_notebook, self.course.source_notebook),
                             (master.release_notebook, self.course.release_notebook)):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        atomic_write(root / "nbgrader_config.py", NBGRADER_CONFIG.format(course_id=COURSE_ID))
        self.lock = threading.Lock()

    def add(self, result: SubmissionResult, submission: Path | None = None, autograded: Path | None = None) -> None:
        import warnings

        from nbgrader.api import Gradebook, MissingEntry

        student = result.student
        for path, target in ((submission, self.course.submitted_notebook(student)),
                             (autograded, self.course.autograded_notebook(student))):
            if path is not None and Path(path).exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)      # not copy2: the autograded file is read-only
        # nbgrader's own session code trips SQLAlchemy's autoflush warnings; they are noise here.
        with self.lock, warnings.catch_warnings(), Gradebook(self.course.db_url, COURSE_ID) as gb:
            warnings.simplefilter("ignore")
            gb.update_or_create_student(student)
            gb.update_or_create_submission(self.course.assignment_id, student)
            for test in result.tests:
                try:
                    grade = gb.find_grade(test.grade_id, self.course.notebook_id, self.course.assignment_id, student)
                except MissingEntry:
                    continue
                if test.kind == "test":
                    grade.auto_score, grade.needs_manual_grade = test.score, False
                elif grade.manual_score is None:     # a written answer: a TA's grade is never overwritten
                    grade.auto_score, grade.needs_manual_grade = None, True
            gb.db.commit()


def _hidden_lines(cells) -> list[str]:
    """Lines of hidden test code (what feedback must never show)."""
    from .verify import HIDDEN_BEGIN, HIDDEN_END, split_hidden

    lines = {HIDDEN_BEGIN, HIDDEN_END}
    for cell in cells:
        _, hidden = split_hidden(cell.source)
        lines |= {line.strip() for line in hidden.splitlines() if len(line.strip()) >= 12}
    return sorted(lines, key=len, reverse=True)


def _data_views(assignment, profile: str, root: Path) -> Path | None:
    """Full profile: the public part of each dataset the assignment uses, saved for the kernel to read."""
    if profile == "smoke" or not assignment.manifest.datasets:
        return None
    from cnnkit.data import course_dataset, save_view, view_path

    views = root / "views"
    for name in assignment.manifest.datasets:
        save_view(course_dataset(name, profile), view_path(views, name, profile))
    return views


def grade_batch(inputs: Sequence[Path], options: BatchOptions,
                on_progress: Callable[[SubmissionRecord, int, int], None] | None = None,
                pool: WorkerPool | None = None) -> BatchResult:
    """Grade every submission found in ``inputs``; write per-student outputs and ``grades.csv``.

    ``pool`` lets several batches (e.g. one per assignment) share warm workers;
    by default the batch starts ``options.jobs`` workers of its own.
    """
    import nbformat

    started = time.monotonic()
    profile = resolve_profile(options)
    assignment = load_assignment(options.assignment, options.solutions_dir or default_solutions_dir())
    limits = assignment.limits(profile)
    if options.limits is not None:
        limits = limits.replace(**{k: v for k, v in asdict(options.limits).items() if v is not None})
    out_dir = options.out_dir = Path(options.out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"cnnkit-batch-{options.assignment}-"))
    try:
        course = build_course(options.assignment, assignment.source_notebook, root / "course")
        cells = graded_cells(nbformat.read(str(assignment.source_notebook), as_version=4))
        run = _Run(options, profile, assignment, course, cells, limits, root, _data_views(assignment, profile, root),
                   _hidden_lines(cells))
        subs = [s for s in discover(inputs, options.assignment) if in_shard(s.student_id, options.shard)]
        jobs = max(1, int(options.jobs))
        threads = max(1, allowed_cpus() // jobs)
        gradebook = GradebookExport(course, out_dir)
        records: list[SubmissionRecord] = []
        todo = []
        for sub in subs:
            done = None if options.force else _already_graded(out_dir / sub.student_id, sha256_of(sub.path), profile)
            if done is None:
                todo.append(sub)
                continue
            # Not regraded, but its exports are rewritten: a rerun with another --lang (or a newer
            # feedback template) changes the feedback without touching the score.
            autograded = out_dir / sub.student_id / f"{sub.student_id}.autograded.ipynb"
            report.write_submission_outputs(done, out_dir / sub.student_id, options.lang,
                                            autograded if autograded.exists() else None, run.hidden_lines)
            records.append(_record(done, sub.path, skipped=True))
            _add_quietly(gradebook, done, sub.path, out_dir)
            if on_progress:
                on_progress(records[-1], len(records), len(subs))
        own_pool = pool is None
        workers = WorkerPool(min(jobs, max(1, len(todo))), threads, root / "workers") if own_pool else pool
        try:
            with ThreadPoolExecutor(max_workers=jobs) as executor:
                futures = {executor.submit(grade_one, sub, run, workers): sub for sub in todo}
                for future in as_completed(futures):
                    sub = futures[future]
                    try:
                        result = future.result()
                    except Exception as exc:  # a grader bug for one submission must not stop the batch
                        result = _grader_bug(sub, run, exc)
                    _add_quietly(gradebook, result, sub.path, out_dir)
                    records.append(_record(result, sub.path))
                    if on_progress:
                        on_progress(records[-1], len(records), len(subs))
        finally:
            if own_pool:
                workers.close()
    finally:
        if not options.keep_workdirs:
            shutil.rmtree(root, ignore_errors=True)
    grades_csv = out_dir / "grades.csv"
    report.write_grades_csv(report.collect([out_dir], options.assignment), grades_csv)
    records.sort(key=lambda r: r.student)
    return BatchResult(records, grades_csv, round(time.monotonic() - started, 2), profile)


def _add_quietly(gradebook: GradebookExport, result: SubmissionResult, submission: Path, out_dir: Path) -> None:
    try:
        gradebook.add(result, submission, out_dir / result.student / f"{result.student}.autograded.ipynb")
    except Exception:  # the gradebook is an export; grading.json is the record
        pass


def _grader_bug(sub: Submission, run: _Run, exc: Exception) -> SubmissionResult:
    """A bug in the batch itself: the student still gets a result and a row."""
    job = Job(assignment=run.options.assignment, student=sub.student_id, submission=str(sub.path),
              solutions_dir="", course_root="", workdir="", autograded_path="", profile=run.profile,
              lang=run.options.lang, submission_sha256=sha256_of(sub.path), limits=asdict(run.limits))
    result = failure_result(job, run.cells, None, error=f"{type(exc).__name__}: {exc}"[:200])
    try:
        report.write_submission_outputs(result, run.options.out_dir / sub.student_id, run.options.lang, None,
                                        run.hidden_lines)
    except Exception:
        pass
    return result


def _replace_copy(src: str, dst: str) -> str:
    """Copy for copytree that also replaces a read-only file left by an earlier merge."""
    if Path(dst).exists():
        Path(dst).unlink()
    return shutil.copyfile(src, dst)


def merge(out_dir: Path, shard_dirs: Iterable[Path]) -> Path:
    """Join the per-student results of several shard directories into ``out_dir``, and their
    nbgrader courses into one (``out_dir/nbgrader``: every student's grades, manual ones included)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shard_dirs = [Path(d) for d in shard_dirs]
    for shard in shard_dirs:
        for student_dir in sorted(shard.iterdir()):
            if (student_dir / "grading.json").exists():
                target = out_dir / student_dir.name
                if target.resolve() != student_dir.resolve():
                    shutil.copytree(student_dir, target, dirs_exist_ok=True, copy_function=_replace_copy)
    courses = [d / "nbgrader" for d in shard_dirs if (d / "nbgrader" / "gradebook.db").exists()]
    if courses:
        merge_gradebooks(out_dir / "nbgrader", courses)
    grades_csv = out_dir / "grades.csv"
    report.write_grades_csv(report.collect([out_dir]), grades_csv)
    return grades_csv


def merge_gradebooks(target: Path, courses: Sequence[Path]) -> Path:
    """Add every submission of the nbgrader ``courses`` (same assignment) to the course at ``target``,
    created from the first when missing: notebooks copied, grades and comments carried over."""
    import warnings

    from nbgrader.api import Gradebook

    target = Path(target)
    if not (target / "gradebook.db").exists():
        shutil.copytree(courses[0], target, dirs_exist_ok=True, copy_function=_replace_copy,
                        ignore=shutil.ignore_patterns("submitted", "autograded"))
        with warnings.catch_warnings(), Gradebook(f"sqlite:///{target / 'gradebook.db'}", COURSE_ID) as gb:
            warnings.simplefilter("ignore")
            for assignment in gb.assignments:          # the copy's own students come back below
                for submission in list(assignment.submissions):
                    gb.remove_submission(assignment.name, submission.student.id)
    for course in courses:
        if Path(course).resolve() == target.resolve():
            continue
        for folder in ("submitted", "autograded"):
            if (course / folder).is_dir():
                shutil.copytree(course / folder, target / folder, dirs_exist_ok=True, copy_function=_replace_copy)
        with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as source, \
                Gradebook(f"sqlite:///{target / 'gradebook.db'}", COURSE_ID) as gb:
            warnings.simplefilter("ignore")
            for assignment in source.assignments:
                for submission in assignment.submissions:
                    student = submission.student.id
                    gb.update_or_create_student(student)
                    gb.update_or_create_submission(assignment.name, student)
                    for notebook in submission.notebooks:
                        for grade in notebook.grades:
                            mine = gb.find_grade(grade.name, notebook.name, assignment.name, student)
                            mine.auto_score, mine.manual_score = grade.auto_score, grade.manual_score
                            mine.extra_credit, mine.needs_manual_grade = grade.extra_credit, grade.needs_manual_grade
                        for comment in notebook.comments:
                            gb.find_comment(comment.name, notebook.name, assignment.name, student).manual_comment = \
                                comment.manual_comment
            gb.db.commit()
    return target


def read_grades_csv(path: Path) -> list[dict]:
    with Path(path).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))

"""``cnnkit grade``: a class of submissions, graded one sandboxed worker each.

Resumable (a submission whose ``results.json`` matches the same file and
profile is skipped unless ``force``), atomic (every output is written to a
temporary file and renamed), shardable (``shard=(i, n)`` keeps a stable slice
by a hash of the student id), and parallel (``jobs`` workers, each with
``cpus // jobs`` threads). A worker that crashes, times out or blows its
memory yields a failed result for that student only; the batch goes on.
After each submission its scores also go into the batch's nbgrader gradebook
(``OUT/.course/ID/gradebook.db``), where ``nbgrader formgrader`` can be used
for the written answers.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from . import messages, report
from .course import COURSE_ID, Course, build_course, master_cells
from .sandbox import SandboxOutcome, WorkerPool
from .specs import Limits, load_assignment
from .submissions import Submission, discover
from .worker import Job, zero_tests

messages.register({
    "batch.skipped": {"es": "ya corregida (usa --force para repetir)", "en": "already graded (use --force to redo)"},
})


def default_solutions_dir() -> Path:
    """``./solutions`` when present, else the repository the package runs from."""
    here = Path.cwd() / "solutions"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[1] / "solutions"


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
    profile: str = "smoke"
    jobs: int = 1
    lang: str = "es"
    force: bool = False
    shard: tuple[int, int] | None = None
    solutions_dir: Path | None = None
    limits: Limits | None = None           # overrides of the spec's limits
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

    def to_json(self) -> dict:
        return {"records": [asdict(r) for r in self.records], "grades_csv": str(self.grades_csv),
                "elapsed": self.elapsed}


def _already_graded(student_dir: Path, digest: str, profile: str) -> dict | None:
    results_path = student_dir / "results.json"
    if not results_path.exists():
        return None
    try:
        results = json.loads(results_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    extra = results.get("extra_data", {})
    if extra.get("submission_sha256") == digest and extra.get("profile") == profile:
        return results
    return None


def _failure_result(sub: Submission, options: BatchOptions, master: dict, outcome: SandboxOutcome,
                    limits: Limits) -> dict:
    """A result for a worker that left none behind (killed, or crashed hard)."""
    if outcome.killed == "timeout":
        message = {"code": "report.killed_timeout", "params": {"seconds": limits.notebook_timeout}}
        status = "timeout"
    elif outcome.killed == "memory":
        message = {"code": "report.killed_memory", "params": {"limit_mb": limits.memory_mb}}
        status = "memory_limit"
    else:
        message = {"code": "report.worker_crashed", "params": {"code": outcome.returncode}}
        status = "grader_error"
    text = messages.render(message["code"], options.lang, **message["params"])
    tests = zero_tests(master, text)
    return {"student": sub.student_id, "assignment": options.assignment, "profile": options.profile,
            "lang": options.lang, "submission": str(sub.path), "status": status, "messages": [message],
            "tests": tests, "findings": [], "keras2": [], "timings": {"total": outcome.elapsed},
            "score": 0.0, "max_score": sum(t["max_score"] for t in tests if t["kind"] == "test"),
            "pending_manual": sum(t["max_score"] for t in tests if t["kind"] == "manual"),
            "log_tail": outcome.log_tail[-2000:]}


def grade_one(sub: Submission, course: Course, options: BatchOptions, limits: Limits, master: dict,
              pool: WorkerPool) -> dict:
    """Grade one submission in a sandbox and write its outputs; returns the raw result."""
    student_dir = options.out_dir / sub.student_id
    workdir = Path(tempfile.mkdtemp(prefix=f"cnnkit-{sub.student_id[:20]}-"))
    digest = sha256_of(sub.path)
    autograded = student_dir / f"{sub.student_id}.autograded.ipynb"
    job = Job(assignment=options.assignment, student=sub.student_id, submission=str(Path(sub.path).resolve()),
              course_root=str(course.root), workdir=str(workdir), result_path=str(workdir / "result.json"),
              autograded_path=str(autograded), profile=options.profile, lang=options.lang,
              limits=asdict(limits), kernel_env=options.kernel_env)
    try:
        outcome = pool.run(job)
        result = None
        if Path(job.result_path).exists():
            try:
                result = json.loads(Path(job.result_path).read_text())
            except json.JSONDecodeError:
                result = None
        if result is None:
            result = _failure_result(sub, options, master, outcome, limits)
        result["submission_sha256"] = digest
        result["sandbox"] = {"network_isolated": outcome.network_isolated,
                             "isolation_note": outcome.isolation_note, "elapsed": outcome.elapsed,
                             "killed": outcome.killed, "returncode": outcome.returncode}
        logs = student_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name in ("worker.log", "nbgrader.log"):
            if (workdir / name).exists():
                shutil.copy2(workdir / name, logs / name)
        report.write_submission_outputs(result, student_dir, options.lang,
                                        autograded if autograded.exists() else None)
        return result
    finally:
        if not options.keep_workdirs:
            shutil.rmtree(workdir, ignore_errors=True)


class _GradebookSink:
    """Copies each result's scores into the batch's nbgrader gradebook (one writer)."""

    def __init__(self, course: Course) -> None:
        self.course = course
        self.lock = threading.Lock()

    def add(self, result: dict) -> None:
        import warnings

        from nbgrader.api import Gradebook, MissingEntry

        # nbgrader's own session code trips SQLAlchemy's autoflush warnings; they are noise here.
        with self.lock, warnings.catch_warnings(), Gradebook(self.course.db_url, COURSE_ID) as gb:
            warnings.simplefilter("ignore")
            student = result["student"]
            gb.update_or_create_student(student)
            submission = gb.update_or_create_submission(self.course.assignment_id, student)
            del submission  # created for its side effect: grade rows for every cell
            for test in result.get("tests", []):
                try:
                    grade = gb.find_grade(test["grade_id"], self.course.notebook_id, self.course.assignment_id, student)
                except MissingEntry:
                    continue
                grade.auto_score = test.get("score") if test["kind"] == "test" else None
                grade.needs_manual_grade = test["kind"] == "manual"
            gb.db.commit()


def grade_batch(inputs: Sequence[Path], options: BatchOptions,
                on_progress: Callable[[SubmissionRecord, int, int], None] | None = None,
                pool: WorkerPool | None = None) -> BatchResult:
    """Grade every submission found in ``inputs``; write per-student outputs and ``grades.csv``.

    ``pool`` lets several batches (e.g. one per assignment) share warm workers;
    by default the batch starts ``options.jobs`` workers of its own.
    """
    started = time.monotonic()
    spec = load_assignment(options.assignment)
    limits = spec.limits_for(options.profile)
    if options.limits is not None:
        limits = limits.replace(**{k: v for k, v in asdict(options.limits).items() if v is not None})
    solutions = options.solutions_dir or default_solutions_dir()
    source = Path(solutions) / options.assignment / f"{options.assignment}.ipynb"
    if not source.exists():
        raise FileNotFoundError(f"no solution notebook {source}: grading needs the nbgrader source "
                                f"(pass --solutions DIR)")
    # Absolute: workers run in their own directories.
    out_dir = options.out_dir = Path(options.out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    course = build_course(options.assignment, source, out_dir / ".course" / options.assignment)
    master = master_cells(course)
    subs = [s for s in discover(inputs, options.assignment) if in_shard(s.student_id, options.shard)]
    jobs = max(1, int(options.jobs))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    sink = _GradebookSink(course)
    records: list[SubmissionRecord] = []
    todo = []
    for sub in subs:
        done = None if options.force else _already_graded(out_dir / sub.student_id, sha256_of(sub.path), options.profile)
        if done is not None:
            extra = done["extra_data"]
            record = SubmissionRecord(sub.student_id, str(sub.path), extra.get("status", "ok"), float(done["score"]),
                                      float(extra.get("max_score", 0)), float(extra.get("pending_manual_points", 0)),
                                      float(done.get("execution_time", 0)), skipped=True)
            records.append(record)
            if on_progress:
                on_progress(record, len(records), len(subs))
        else:
            todo.append(sub)
    own_pool = pool is None
    workers = WorkerPool(min(jobs, max(1, len(todo))), threads, out_dir / ".workers") if own_pool else pool
    try:
        _run_all(todo, course, options, limits, master, workers, jobs, sink, records, len(subs), on_progress)
    finally:
        if own_pool:
            workers.close()
    grades_csv = out_dir / "grades.csv"
    report.write_grades_csv(report.collect([out_dir], options.assignment), grades_csv)
    records.sort(key=lambda r: r.student)
    return BatchResult(records, grades_csv, round(time.monotonic() - started, 2))


def _run_all(todo, course, options, limits, master, workers, jobs, sink, records, total, on_progress) -> None:
    with ThreadPoolExecutor(max_workers=jobs) as executor:
        futures = {executor.submit(grade_one, sub, course, options, limits, master, workers): sub for sub in todo}
        for future in as_completed(futures):
            sub = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a grader bug for one submission must not stop the batch
                result = {"student": sub.student_id, "status": "grader_error", "score": 0.0, "max_score": 0.0,
                          "pending_manual": 0.0, "timings": {}, "tests": [],
                          "messages": [{"code": "report.worker_crashed", "params": {"code": repr(exc)}}]}
            else:
                try:
                    sink.add(result)
                except Exception:  # the gradebook is a convenience copy; results.json is the record
                    pass
            record = SubmissionRecord(sub.student_id, str(sub.path), result.get("status", "?"),
                                      float(result.get("score", 0.0)), float(result.get("max_score", 0.0)),
                                      float(result.get("pending_manual", 0.0)),
                                      float(result.get("timings", {}).get("total", 0.0)))
            records.append(record)
            if on_progress:
                on_progress(record, len(records), total)


def merge(out_dir: Path, shard_dirs: Iterable[Path]) -> Path:
    """Join the per-student results of several shard directories into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for shard in shard_dirs:
        for student_dir in sorted(Path(shard).iterdir()):
            if (student_dir / "results.json").exists():
                target = out_dir / student_dir.name
                if target.resolve() != student_dir.resolve():
                    shutil.copytree(student_dir, target, dirs_exist_ok=True)
    grades_csv = out_dir / "grades.csv"
    report.write_grades_csv(report.collect([out_dir]), grades_csv)
    return grades_csv

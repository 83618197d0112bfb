"""Grade one submission at a time, in a long-lived process: ``python -m autograder.worker --serve``.

The worker never runs student code itself. For each job it

1. reads and validates the notebook (a corrupted file is a result, not a crash);
2. collects static hints (:mod:`autograder.static`) and notes edited or deleted locked cells;
3. runs nbgrader's ``Autograde`` converter on a private copy of the course —
   nbgrader restores locked cells from its gradebook and executes the notebook
   in a Jupyter kernel sandboxed by bubblewrap (:mod:`autograder.kernel`,
   :class:`~autograder.preprocessors.SandboxedExecute`), while a watchdog keeps
   the kernel's process tree under its memory limit;
4. once the kernel is gone, scores every graded cell from the exported
   artifacts alone (:mod:`autograder.verify`);
5. sends the :class:`~autograder.results.SubmissionResult` to the batch over
   its control pipe — never through a file the kernel could reach.

The kernel sees only ``WORKDIR/kernel`` (its scratch space) and the public
manifest in ``WORKDIR/public``; the job, the course copy and the logs in
``WORKDIR`` are the worker's.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cnnkit import messages
from cnnkit.messages import Message

from .results import CheckResult, SandboxInfo, SubmissionResult, TestOutcome

messages.register({
    "worker.invalid_notebook": {
        "es": "el archivo no es un cuaderno Jupyter válido ({error}); entrega el .ipynb original sin editarlo a mano",
        "en": "the file is not a valid Jupyter notebook ({error}); submit the original .ipynb without hand edits",
    },
    "worker.not_assignment": {
        "es": "el cuaderno no corresponde a la práctica «{assignment}»: no tiene ninguna de sus celdas de prueba",
        "en": "the notebook is not assignment '{assignment}': it has none of its test cells",
    },
    "worker.locked_edited": {
        "es": "se modificó la celda protegida «{cell}»; el corrector usó la versión original",
        "en": "the locked cell '{cell}' was edited; the grader used the original",
    },
    "worker.locked_deleted": {
        "es": "se borró la celda protegida «{cell}»; el corrector la volvió a añadir",
        "en": "the locked cell '{cell}' was deleted; the grader added it back",
    },
    "worker.nbgrader_failed": {
        "es": "el corrector no pudo procesar el cuaderno: {error}",
        "en": "the grader could not process the notebook: {error}",
    },
    "worker.not_run": {
        "es": "no se ejecutó: {reason}",
        "en": "not run: {reason}",
    },
    "test.passed": {"es": "superada", "en": "passed"},
    "test.pending": {"es": "pendiente de corrección manual", "en": "awaiting manual grading"},
})

STARTUP_FILE = """\
# Installed by cnnkit's grader in the kernel's IPython profile (the kernel may change it: it decides nothing).
def _cnnkit_grader_startup():
    import os
    from cnnkit.runtime import import_keras
    import_keras()  # warnings to stdout, and no TensorFlow start-up noise on stderr
    try:
        from cnnkit import compat
        compat.install()
    except Exception as exc:  # the notebook can still run without the shims
        print(f"[cnnkit] Keras 2: {exc}")
        return
    report = os.environ.get("CNNKIT_KERAS2_REPORT")
    if report:
        # After every cell, so the grader has the record even if the kernel dies later.
        def _write(result, _seen=[0]):
            if len(compat.used()) != _seen[0]:
                _seen[0] = len(compat.used())
                compat.write_report(report)
        get_ipython().events.register("post_run_cell", _write)
_cnnkit_grader_startup()
del _cnnkit_grader_startup
"""


@dataclass
class Job:
    assignment: str
    student: str
    submission: str               # the notebook file (read by the worker, never mounted for the kernel)
    solutions_dir: str            # the instructor side
    course_root: str              # the batch's master nbgrader course (cloned, never written)
    workdir: str                  # this job's private directory
    autograded_path: str          # where the graded notebook goes
    profile: str = "smoke"
    lang: str = "es"
    submission_sha256: str = ""
    limits: dict = field(default_factory=dict)
    kernel_env: dict = field(default_factory=dict)
    views_dir: str | None = None  # full profile: the public part of each dataset
    mode: str = "grade"           # "rescore": score the artifacts a killed worker left (no kernel)
    failure: str | None = None    # with mode="rescore": why the grading worker stopped


def tree_memory(procs, *, exact_above: int | None = None) -> int:
    """Bytes of memory used by ``procs`` together.

    The sum of resident set sizes, which is cheap. It counts a page shared by
    several processes once per process: forked children (a data loader using
    ``multiprocessing``) share the kernel's ~1 GB copy-on-write, so when that
    sum is above ``exact_above`` and there are several processes, the figure is
    recomputed from proportional set sizes (each shared page counted once) —
    exact, but ~20 ms per large process, so only when it can change a decision.
    """
    import psutil

    def total(measure) -> int:
        size = 0
        for proc in procs:
            try:
                size += measure(proc)
            except psutil.Error:
                pass
        return size

    def pss(proc) -> int:
        try:
            return proc.memory_full_info().pss
        except (psutil.AccessDenied, AttributeError):   # no PSS here: RSS overcounts, never under
            return proc.memory_info().rss

    rss = total(lambda proc: proc.memory_info().rss)
    if exact_above is None or rss <= exact_above or len(procs) < 2:
        return rss
    return total(pss)


class MemoryWatchdog(threading.Thread):
    """Kills this process's children (the kernel) when together they exceed the limit."""

    def __init__(self, limit_mb: int, watch, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.limit = int(limit_mb) * 1024 * 1024
        self.limit_mb = int(limit_mb)
        self.watch = watch
        self.interval = interval
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop_event.wait(self.interval):
            try:
                children = me.children(recursive=True)
                used = tree_memory(children, exact_above=self.limit)
                self.peak = max(self.peak, used)
                if used > self.limit:
                    self.watch.kill_reason = "memory"
                    self.watch.kill_params = {"limit_mb": self.limit_mb}
                    for child in children:
                        try:
                            child.kill()
                        except psutil.Error:
                            pass
            except Exception:  # the watchdog must never take the worker down
                continue

    def stop(self) -> None:
        self._stop_event.set()


def kill_descendants() -> None:
    """Kill every process below this one (a sandbox torn down already has none left)."""
    import psutil

    procs = psutil.Process().children(recursive=True)
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


def _become_subreaper() -> None:
    """Orphans of the kernel become this worker's children, so none outlives the job (Linux).

    Inside the sandbox the PID namespace already guarantees it; this covers a
    grader without bubblewrap, where a daemon started with ``setsid`` would
    otherwise be re-parented to init and escape.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass


def _error_text(error: dict) -> str:
    ename, evalue = error.get("ename", "Error"), str(error.get("evalue", ""))[:500]
    if ename == "AssertionError" and evalue:
        return evalue
    return f"{ename}: {evalue}" if evalue else ename


def _cell_errors(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def _prepare_kernel(job: Job, assignment, workdir: Path):
    """The kernel's scratch space, public manifest and sandbox; returns ``(sandbox, artifacts dir)``."""
    from .kernel import KernelSandbox
    from .manifest import public_manifest_text

    scratch = workdir / "kernel"
    artifacts_dir = scratch / "artifacts"
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    startup = scratch / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-cnnkit-grader.py").write_text(STARTUP_FILE)
    public = workdir / "public"
    (public / job.assignment).mkdir(parents=True, exist_ok=True)
    (public / job.assignment / "assignment.toml").write_text(public_manifest_text(assignment))
    # Which kind (hence which export format) each key has, hidden keys included: names, never values.
    export_kinds = public / "export_kinds.json"
    export_kinds.write_text(json.dumps({key: spec.kind for key, spec in assignment.manifest.checks.items()}))
    env = {
        "CNNKIT_ARTIFACTS_DIR": str(artifacts_dir), "CNNKIT_ASSIGNMENT": job.assignment,
        "CNNKIT_PROFILE": job.profile, "CNNKIT_LANG": assignment.manifest.language, "CNNKIT_OFFLINE": "1",
        "CNNKIT_KERAS2_REPORT": str(artifacts_dir / "_keras2.json"), "CNNKIT_EXPORT_KINDS": str(export_kinds),
        "CNNKIT_ASSIGNMENT_PATH": str(public),
        "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "PYTHONHASHSEED": "0",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    for key in ("KERAS_BACKEND", "OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "XLA_FLAGS", "JAX_PLATFORMS", "CUDA_VISIBLE_DEVICES",
                "XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    readonly = [public]
    if job.views_dir:
        env["CNNKIT_COURSE_DATA_DIR"] = job.views_dir
        readonly.append(Path(job.views_dir))
    env.update({k: str(v) for k, v in job.kernel_env.items()})
    sandbox = KernelSandbox(scratch=scratch, readonly=readonly, env=env)
    return sandbox, artifacts_dir


def _nbgrader_config(job: Job, course_root: Path, sandbox, spec_dir: Path):
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                        SaveAutoGrades)

    from .course import nbgrader_config
    from .kernel import isolation
    from .preprocessors import RelabelStderr, SandboxedExecute

    config = nbgrader_config(course_root)
    config.Autograde.autograde_preprocessors = [
        SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        RelabelStderr, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
    ]
    config.OverwriteCells.add_missing_cells = True
    limits = job.limits
    config.SandboxedExecute.timeout = int(limits.get("cell_timeout", 120))
    config.SandboxedExecute.notebook_timeout = float(limits.get("notebook_timeout", 900))
    config.SandboxedExecute.output_bytes = int(limits.get("output_bytes", 1_000_000))
    config.SandboxedExecute.lang = job.lang
    config.SandboxedExecute.startup_timeout = 120
    # The kernel is killed after the last cell: a graceful shutdown of a TensorFlow kernel costs
    # ~2.5 s per notebook (benchmarks/RESULTS.md), and the sandbox is torn down anyway.
    config.SandboxedExecute.shutdown_kernel = "immediate"
    config.SandboxedExecute.raise_on_iopub_timeout = False
    config.SandboxedExecute.kernel_spec_dir = str(spec_dir.parent)   # the folder of kernelspec folders
    config.SandboxedExecute.run_dir = str(sandbox.run_dir)
    # Unix sockets: the sandbox has no network, and a socket file is only reachable through its bind.
    config.SandboxedExecute.transport = "ipc"
    if not isolation().sandboxed:
        config.SandboxedExecute.kernel_env = sandbox.kernel_env()
    return config


def _static_findings(nb, num_classes) -> list[dict]:
    try:
        from . import static

        return [f.to_json() for f in static.analyze_notebook(nb, num_classes=num_classes)]
    except Exception as exc:  # hints are advice; never fail grading for them
        return [{"code": "worker.nbgrader_failed", "severity": "hint", "params": {"error": f"static: {exc}"}}]


def _name_places(findings: list[dict], nb, cells) -> None:
    """Each finding says where it is as the student sees it: the cell's exercise and title."""
    try:
        from .rootcause import cell_places

        places = cell_places(nb, {c.grade_id: c.title for c in cells})
    except Exception:
        return
    for finding in findings:
        if finding.get("cell_index") in places:
            finding["place"] = places[finding["cell_index"]]


def _new_result(job: Job) -> SubmissionResult:
    from .kernel import isolation

    iso = isolation()
    return SubmissionResult(student=job.student, assignment=job.assignment, profile=job.profile, lang=job.lang,
                            submission=job.submission, submission_sha256=job.submission_sha256,
                            sandbox=SandboxInfo(sandboxed=iso.sandboxed, code=iso.code, params=dict(iso.params)))


def grade(job: Job) -> SubmissionResult:
    """Grade ``job.submission``; always returns a result (never raises for anything the student did)."""
    import nbformat

    from .course import COURSE_ID, Course, graded_cells, locked_changes
    from .manifest import load_assignment
    from .preprocessors import KernelWatch, SandboxedExecute

    started = time.monotonic()
    workdir = Path(job.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    assignment = load_assignment(job.assignment, Path(job.solutions_dir))
    source_nb = nbformat.read(str(assignment.source_notebook), as_version=4)
    cells = graded_cells(source_nb)
    result = _new_result(job)

    # 1. the file itself
    try:
        nb = nbformat.reads(Path(job.submission).read_text(encoding="utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        result.status = "invalid_notebook"
        result.messages.append(Message("worker.invalid_notebook", {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}))
        return finish(result, cells, started)

    # 2. static hints and locked cells
    submitted_ids = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
    if not submitted_ids & {c.grade_id for c in cells}:
        result.status = "invalid_notebook"
        result.messages.append(Message("worker.not_assignment", {"assignment": job.assignment}))
        return finish(result, cells, started)
    result.findings = _static_findings(nb, assignment.manifest.classes(job.profile))
    _name_places(result.findings, nb, cells)
    master = Course(Path(job.course_root), job.assignment)
    release_nb = nbformat.read(str(master.release_notebook), as_version=4)
    result.messages += [Message(f"worker.{code}", {"cell": grade_id}) for code, grade_id in locked_changes(nb, release_nb)]

    # 3. nbgrader autograde on a private course copy, the kernel sandboxed and under watch
    course = master.clone(workdir / "course")
    submitted = course.submitted_notebook(job.student)
    submitted.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(submitted))
    sandbox, artifacts_dir = _prepare_kernel(job, assignment, workdir)
    spec_dir = sandbox.write_kernelspec(workdir / "kernelspecs")
    watch = KernelWatch()
    SandboxedExecute.watch = watch
    watchdog = MemoryWatchdog(int(job.limits.get("memory_mb", 6144)), watch)
    # Verification needs Keras; importing it now overlaps with the kernel's own start-up.
    keras_import = threading.Thread(target=_import_keras_quietly, daemon=True)
    keras_import.start()
    watchdog.start()
    t0 = time.monotonic()
    try:
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = _nbgrader_config(job, course.root, sandbox, spec_dir)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        outcome = api.autograde(job.assignment, job.student, force=True, create=True)
    finally:
        watchdog.stop()
        kill_descendants()          # nothing of the submission survives its kernel
    result.timings["execute"] = round(time.monotonic() - t0, 2)
    result.memory_peak_mb = round(watchdog.peak / 2**20, 1)
    result.measurements = dict(watch.measurements)
    if watch.kill_reason:
        result.status = "memory_limit"
    if watch.stop is not None:
        code, params = watch.stop
        result.messages.append(Message(code, params))
    (workdir / "nbgrader.log").write_text(outcome.get("log", "") + "\n" + (outcome.get("error") or ""))
    autograded = course.autograded_notebook(job.student)
    executed = None
    if outcome.get("success") and autograded.exists():
        executed = nbformat.read(str(autograded), as_version=4)
        Path(job.autograded_path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(autograded, job.autograded_path)
    else:
        result.status = "grader_error"
        error = (outcome.get("error") or outcome.get("log") or "").strip().splitlines()
        result.messages.append(Message("worker.nbgrader_failed", {"error": error[-1][:300] if error else "?"}))

    # 4. every point from the artifacts, outside the kernel
    keras_import.join()
    t1 = time.monotonic()
    result.tests = score_tests(cells, assignment, job.profile, artifacts_dir, result.measurements, executed,
                               stop=watch.stop)
    if executed is not None:
        attribute_causes(result.tests, executed, cells, result.findings)
    result.timings["verify"] = round(time.monotonic() - t1, 2)
    if result.status == "ok" and any(t.status == "not_run" for t in result.tests):
        result.status = "incomplete"
    result.keras2 = _keras2_record(artifacts_dir)
    return finish(result, cells, started)


def score_tests(cells, assignment, profile: str, artifacts_dir: Path, measurements: dict, executed_nb=None,
                *, stop=None, data=None) -> list[TestOutcome]:
    """Every graded cell's outcome, decided by :func:`autograder.verify.verify_key` alone.

    ``executed_nb`` (the notebook as the kernel left it) only adds the errors
    each test cell raised there, as feedback. Works without it: after a worker
    crash, the batch re-scores the artifacts of the tests that ran.
    """
    from .verify import GraderContext, keys_in_source, verify_key

    data = data or grader_data(assignment)
    ctx = GraderContext(profile, assignment.manifest, artifacts_dir=artifacts_dir, data=data,
                        measurements=measurements, scratch=Path(artifacts_dir).parent)
    executed = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in executed_nb.cells} if executed_nb else {}
    outcomes = []
    for cell in cells:
        test = TestOutcome(grade_id=cell.grade_id, name=cell.title, kind=cell.kind, max_score=cell.points,
                           score=None, status="pending", hidden=cell.hidden)
        if cell.kind == "manual":
            outcomes.append(test)
            continue
        keys = keys_in_source(cell.source)
        errors = _cell_errors(executed[cell.grade_id]) if cell.grade_id in executed else []
        test.kernel_errors = [_error_text(e) for e in errors if e.get("ename") != "NotExecuted"]
        not_executed = [e for e in errors if e.get("ename") == "NotExecuted"]
        if not keys:
            test.checks = [CheckResult("?", False, failures=[Message("verify.no_keys", {})])]
        else:
            test.checks = [verify_key(key, ctx) for key in keys]
        passed = bool(keys) and all(c.passed for c in test.checks)
        test.score = cell.points if passed else 0.0
        test.status = "passed" if passed else "failed"
        if not passed and (not_executed or (executed_nb is None and stop is not None)) and \
                all(any(m.code == "artifact.missing" for m in c.failures) for c in test.checks if not c.passed):
            test.status = "not_run"
            if not_executed:
                test.messages.append(Message("worker.not_run", {"reason": str(not_executed[0].get("evalue", ""))}))
        outcomes.append(test)
    return outcomes


def attribute_causes(tests: list[TestOutcome], executed_nb, cells, findings) -> None:
    """Put first in each failed test's messages the student cell whose error made it fail
    (:mod:`autograder.rootcause`; feedback only, the score is already decided)."""
    from .rootcause import cause_messages

    failed = [t.grade_id for t in tests if t.kind == "test" and t.status in ("failed", "not_run")]
    causes = cause_messages(executed_nb, failed, {c.grade_id: c.title for c in cells}, findings)
    for test in tests:
        if test.grade_id in causes:
            test.messages.insert(0, causes[test.grade_id])


_GRADER_DATA: dict[tuple, Any] = {}


def grader_data(assignment):
    """The grader's data for an assignment, shared by the jobs of this process."""
    from .verify import GraderData

    key = (str(assignment.private_data), str(assignment.folder), assignment.manifest.language)
    if key not in _GRADER_DATA:
        _GRADER_DATA[key] = GraderData(assignment.private_data, assignment.probes, assignment.manifest.language)
    return _GRADER_DATA[key]


def _keras2_record(artifacts_dir: Path) -> list[dict]:
    from cnnkit.checks.artifacts import ArtifactError, read_untrusted

    try:
        record = json.loads(read_untrusted(artifacts_dir / "_keras2.json", "_keras2"))
        usages = record.get("usages", []) if isinstance(record, dict) else []
        return [u for u in usages if isinstance(u, dict)][:50]
    except (ArtifactError, ValueError, UnicodeDecodeError):
        return []


def _import_keras_quietly() -> None:
    try:
        from cnnkit.runtime import import_keras

        import_keras()
    except Exception:  # verification will report the failure when it needs Keras
        pass


def zero_tests(cells, message: Message | None = None) -> list[TestOutcome]:
    """Every graded cell at 0 (written answers pending): for notebooks that never ran."""
    return [TestOutcome(grade_id=c.grade_id, name=c.title, kind=c.kind, max_score=c.points,
                        score=None if c.kind == "manual" else 0.0, status="pending" if c.kind == "manual" else "not_run",
                        hidden=c.hidden, messages=[] if c.kind == "manual" or message is None else [message])
            for c in cells]


def finish(result: SubmissionResult, cells, started: float) -> SubmissionResult:
    if not result.tests:
        result.tests = zero_tests(cells, result.messages[0] if result.messages else None)
    result.timings["total"] = round(time.monotonic() - started, 2)
    return result


FAILURE_STATUS = {"timeout": "timeout", "memory": "memory_limit", "crashed": "grader_error"}


def rescore(job: Job) -> SubmissionResult:
    """After a grading worker was stopped (``job.failure``): score what its kernel had exported.

    No kernel runs: the tests whose artifacts exist get the grader's verdict
    on them, the others are ``not_run``, and the message says why grading stopped.
    """
    import nbformat

    from .course import graded_cells
    from .manifest import load_assignment

    started = time.monotonic()
    assignment = load_assignment(job.assignment, Path(job.solutions_dir))
    cells = graded_cells(nbformat.read(str(assignment.source_notebook), as_version=4))
    result = _new_result(job)
    result.status = FAILURE_STATUS.get(job.failure or "crashed", "grader_error")
    limits = job.limits
    message = {"timeout": Message("report.killed_timeout", {"seconds": float(limits.get("notebook_timeout", 0))}),
               "memory": Message("report.killed_memory", {"limit_mb": int(limits.get("memory_mb", 0))})}.get(
        job.failure or "", Message("report.worker_crashed", {}))
    result.messages.append(message)
    artifacts_dir = Path(job.workdir) / "kernel" / "artifacts"
    if artifacts_dir.is_dir():
        result.tests = score_tests(cells, assignment, job.profile, artifacts_dir, {}, None, stop=("stopped", {}))
    return finish(result, cells, started)


def grade_safely(job: Job) -> SubmissionResult:
    """:func:`grade` (or :func:`rescore`), turning a grader bug into a result instead of an exception."""
    try:
        return rescore(job) if job.mode == "rescore" else grade(job)
    except Exception as exc:
        result = _new_result(job)
        result.status = "grader_error"
        result.messages.append(Message("worker.nbgrader_failed", {"error": f"{type(exc).__name__}: {exc}"[:300]}))
        result.timings["traceback"] = 0.0
        (Path(job.workdir) / "traceback.txt").write_text(traceback.format_exc())
        try:
            import nbformat

            from .course import graded_cells
            from .manifest import load_assignment

            assignment = load_assignment(job.assignment, Path(job.solutions_dir))
            result.tests = zero_tests(graded_cells(nbformat.read(str(assignment.source_notebook), as_version=4)),
                                      result.messages[0])
        except Exception:
            pass
        return result


class _JobLog:
    """Send this process's fd 1/2 (and so the kernel's, which inherits them) to the job's log."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = (os.dup(1), os.dup(2))
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(self.fd, 1)
        os.dup2(self.fd, 2)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        for fd in (*self.saved, self.fd):
            os.close(fd)


def _release_memory() -> None:
    """Between jobs: drop Keras graphs and models left from verification."""
    import gc

    if "keras" in sys.modules:
        try:
            sys.modules["keras"].backend.clear_session()
        except Exception:
            pass
    gc.collect()


def send(fd: int, payload: bytes) -> None:
    """One message on the control pipe: a length line, then the bytes."""
    data = f"{len(payload)}\n".encode() + payload
    while data:
        written = os.write(fd, data)
        data = data[written:]


def serve(control_fd: int) -> int:
    """Grade the jobs given on stdin (one JSON object per line); send each result on ``control_fd``."""
    _become_subreaper()
    home = os.getcwd()
    for line in sys.stdin:
        if not line.strip():
            continue
        job = Job(**json.loads(line))
        workdir = Path(job.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        os.chdir(workdir)
        with _JobLog(workdir / "worker.log"):
            result = grade_safely(job)
            _release_memory()
        os.chdir(home)
        send(control_fd, result.dumps().encode())
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--serve":
        return serve(int(argv[argv.index("--control-fd") + 1]))
    raise SystemExit("usage: python -m autograder.worker --serve --control-fd FD")


if __name__ == "__main__":
    sys.exit(main())

"""Grade one submission, in a process of its own: ``python -m autograder.worker JOB.json``.

The worker never runs student code itself. It

1. reads and validates the notebook (a corrupted file is a result, not a crash);
2. collects static hints (:mod:`autograder.static`) and notes edited or deleted locked cells;
3. runs nbgrader's ``Autograde`` converter on a private copy of the course —
   nbgrader restores locked cells from its gradebook, executes the notebook in
   a Jupyter kernel (our :class:`~autograder.preprocessors.SandboxedExecute`),
   and saves scores — while a watchdog thread keeps the kernel under its
   memory limit;
4. re-checks every ``verify`` key of every test cell on the exported artifacts
   (:mod:`autograder.verify`), after the kernel has exited;
5. writes one JSON result atomically. :mod:`autograder.report` turns it into
   ``results.json`` and ``feedback.html``.

The parent (:mod:`autograder.sandbox`) gives it a process group, a temporary
directory, wall-clock and memory backstops, and an empty network namespace
where the OS allows.
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

from . import messages

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
    "worker.verify_failed": {
        "es": "la comprobación independiente del corrector no confirmó el resultado del cuaderno",
        "en": "the grader's independent check did not confirm the notebook's result",
    },
    "test.passed": {"es": "superado", "en": "passed"},
    "test.pending": {"es": "pendiente de corrección manual", "en": "awaiting manual grading"},
})

HIDDEN_MARK = "BEGIN HIDDEN TESTS"
STARTUP_FILE = """\
# Installed by cnnkit's grader in the kernel's IPython profile.
def _cnnkit_grader_startup():
    import json, os
    from cnnkit._runtime import import_keras
    import_keras()  # warnings to stdout, and no TensorFlow start-up noise on stderr
    try:
        from cnnkit import compat
        compat.install()
    except Exception as exc:  # the notebook can still run without the shims
        print(f"[cnnkit] Keras 2 compatibility unavailable: {exc}")
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
    submission: str
    course_root: str
    workdir: str
    result_path: str
    autograded_path: str
    profile: str = "smoke"
    lang: str = "es"
    limits: dict = field(default_factory=dict)
    kernel_env: dict = field(default_factory=dict)


def _atomic_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str))
    os.replace(tmp, path)


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


def _test_name(facts: dict, grade_id: str) -> str:
    title = facts.get("title")
    return f"{title} [{grade_id}]" if title else grade_id


def _cell_errors(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def _error_text(error: dict) -> str:
    ename, evalue = error.get("ename", "Error"), error.get("evalue", "")
    if ename == "AssertionError" and evalue:
        return evalue
    return f"{ename}: {evalue}" if evalue else ename


def _configure_kernel_environment(job: Job, workdir: Path) -> Path:
    """Environment the kernel inherits; returns the artifacts directory."""
    artifacts_dir = workdir / "artifacts"
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    ipython_dir = workdir / "ipython"
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-cnnkit-grader.py").write_text(STARTUP_FILE)
    env = {
        "CNNKIT_ARTIFACTS_DIR": str(artifacts_dir),
        "CNNKIT_ASSIGNMENT": job.assignment,
        "CNNKIT_PROFILE": job.profile,
        "CNNKIT_LANG": job.lang,
        "CNNKIT_OFFLINE": "1",
        "CNNKIT_KERAS2_REPORT": str(artifacts_dir / "_keras2.json"),
        "IPYTHONDIR": str(ipython_dir),
        "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "PYTHONHASHSEED": "0",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    env.update({k: str(v) for k, v in job.kernel_env.items()})
    os.environ.update(env)
    return artifacts_dir


def _nbgrader_config(job: Job, course_root: Path):
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                        SaveAutoGrades)

    from .course import nbgrader_config
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
    # After the last cell the kernel has nothing left to do (artifacts and the Keras-2 record are
    # written by the cells themselves), and a graceful shutdown of a TensorFlow kernel costs
    # ~2.5 s per notebook (benchmarks/RESULTS.md); the worker kills the process tree anyway.
    config.SandboxedExecute.shutdown_kernel = "immediate"
    # A kernel still busy after an interrupt is handled per cell, not by failing the notebook.
    config.SandboxedExecute.raise_on_iopub_timeout = False
    # Jupyter kernels talk over ZeroMQ; unix sockets work inside an empty network namespace.
    config.SandboxedExecute.transport = os.environ.get("CNNKIT_KERNEL_TRANSPORT", "tcp")
    return config


def _tamper_notes(nb, master: dict[str, dict]) -> list[dict]:
    from nbgrader.utils import compute_checksum

    notes, present = [], set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if not grade_id:
            continue
        present.add(grade_id)
        facts = master.get(grade_id)
        if facts and facts.get("locked") and not facts.get("solution"):
            submitted_checksum = meta.get("checksum")
            current = compute_checksum(cell)
            if submitted_checksum is not None and current != submitted_checksum:
                notes.append({"code": "worker.locked_edited", "params": {"cell": grade_id}})
    for grade_id, facts in master.items():
        if facts.get("locked") and grade_id not in present:
            notes.append({"code": "worker.locked_deleted", "params": {"cell": grade_id}})
    return notes


def _static_findings(nb, num_classes: int | None) -> list[dict]:
    try:
        from . import static
    except ImportError:
        return []
    try:
        findings = static.analyze_notebook(nb, num_classes=num_classes)
    except Exception as exc:  # hints are advice; never fail grading for them
        return [{"code": "worker.nbgrader_failed", "severity": "hint", "params": {"error": f"static: {exc}"}}]
    return [f.to_json() for f in findings]


def grade(job: Job) -> dict:
    """Grade ``job.submission``; always returns a result dict (never raises for student faults)."""
    import nbformat

    from .course import COURSE_ID, Course, master_cells
    from .preprocessors import KernelWatch, SandboxedExecute
    from .specs import load_assignment

    started = time.monotonic()
    workdir = Path(job.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    assignment = load_assignment(job.assignment)
    master_course = Course(Path(job.course_root), job.assignment)
    master = master_cells(master_course)
    result: dict[str, Any] = {
        "student": job.student, "assignment": job.assignment, "profile": job.profile, "lang": job.lang,
        "submission": job.submission, "status": "ok", "messages": [], "tests": [], "findings": [],
        "keras2": [], "timings": {},
    }

    # 1. the file itself
    try:
        raw = Path(job.submission).read_text(encoding="utf-8")
        nb = nbformat.reads(raw, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        result["status"] = "invalid_notebook"
        result["messages"].append({"code": "worker.invalid_notebook",
                                   "params": {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}})
        return _finish(result, started, master)

    # 2. static hints and locked cells
    grade_ids = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
    if not grade_ids & {gid for gid, facts in master.items() if facts.get("grade")}:
        result["status"] = "invalid_notebook"
        result["messages"].append({"code": "worker.not_assignment", "params": {"assignment": job.assignment}})
        return _finish(result, started, master)
    result["findings"] = _static_findings(nb, assignment.num_classes)
    result["messages"].extend(_tamper_notes(nb, master))

    # 3. nbgrader autograde on a private course copy, kernel under watch
    course = master_course.clone(workdir / "course")
    submitted = course.submitted_notebook(job.student)
    submitted.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(submitted))
    artifacts_dir = _configure_kernel_environment(job, workdir)
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

        config = _nbgrader_config(job, course.root)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        outcome = api.autograde(job.assignment, job.student, force=True, create=True)
    finally:
        watchdog.stop()
    result["timings"]["execute"] = round(time.monotonic() - t0, 2)
    result["memory_peak_mb"] = round(watchdog.peak / 2**20, 1)
    if watch.kill_reason:
        result["status"] = "memory_limit"
    if watch.stop is not None:
        code, params = watch.stop
        result["messages"].append({"code": code, "params": params})
    (workdir / "nbgrader.log").write_text(outcome.get("log", "") + "\n" + (outcome.get("error") or ""))
    autograded = course.autograded_notebook(job.student)
    if not outcome.get("success") or not autograded.exists():
        result["status"] = "grader_error"
        error = (outcome.get("error") or outcome.get("log") or "").strip().splitlines()
        result["messages"].append({"code": "worker.nbgrader_failed",
                                   "params": {"error": error[-1][:300] if error else "?"}})
        return _finish(result, started, master)
    graded_nb = nbformat.read(str(autograded), as_version=4)
    Path(job.autograded_path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(autograded, job.autograded_path)

    # 4. scores from the gradebook, then independent verification of artifacts
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(course.db_url, COURSE_ID) as gb:
        submission = gb.find_submission_notebook(course.notebook_id, job.assignment, job.student)
        for g in submission.grades:
            scores[g.name] = {"auto_score": g.auto_score, "max_score": g.max_score,
                              "needs_manual_grade": g.needs_manual_grade, "cell_type": g.cell.cell_type}
    keras_import.join()
    t1 = time.monotonic()
    result["tests"] = _compose_tests(graded_nb, master, scores, assignment, artifacts_dir, job)
    result["timings"]["verify"] = round(time.monotonic() - t1, 2)
    if any(t["status"] == "not_run" for t in result["tests"]) and result["status"] == "ok":
        result["status"] = "incomplete"
    keras2 = artifacts_dir / "_keras2.json"
    if keras2.exists():
        try:
            result["keras2"] = json.loads(keras2.read_text()).get("usages", [])
        except (json.JSONDecodeError, AttributeError):
            pass
    return _finish(result, started, master)


def _import_keras_quietly() -> None:
    try:
        from cnnkit._runtime import import_keras

        import_keras()
    except Exception:  # verification will report the failure when it needs Keras
        pass


def _compose_tests(graded_nb, master, scores, assignment, artifacts_dir: Path, job: Job) -> list[dict]:
    from .verify import keys_in_source, verify_key

    tests = []
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in graded_nb.cells}
    for grade_id, facts in master.items():
        if not facts.get("grade") or grade_id not in scores:
            continue
        score = scores[grade_id]
        source = facts.get("source", "")
        test = {"grade_id": grade_id, "name": _test_name(facts, grade_id),
                "max_score": float(score["max_score"]), "hidden": HIDDEN_MARK in source,
                "kind": "manual" if facts.get("solution") else "test", "messages": [], "notes": []}
        if test["kind"] == "manual":
            test.update(score=None, status="pending")
            tests.append(test)
            continue
        cell = cells.get(grade_id)
        errors = _cell_errors(cell) if cell is not None else []
        kernel_score = float(score["auto_score"] or 0.0)
        if errors:
            not_run = any(e.get("ename") == "NotExecuted" for e in errors)
            test["status"] = "not_run" if not_run else "failed"
            test["messages"] = [_error_text(e) for e in errors]
            test["score"] = 0.0
            tests.append(test)
            continue
        test["score"], test["status"] = kernel_score, "passed" if kernel_score > 0 else "failed"
        for key in keys_in_source(source):
            check = verify_key(key, assignment, artifacts_dir, job.profile)
            test["messages" if not check.passed else "notes"] += [m.render(job.lang) for m in
                                                                   (check.failures or check.notes)]
            if not check.passed:
                test["score"], test["status"] = 0.0, "failed"
                test["verified_failure"] = True
            test.setdefault("details", {}).update({key: check.to_json()["details"]})
        tests.append(test)
    return tests


def zero_tests(master: dict[str, dict], message: str | None = None) -> list[dict]:
    """Every graded cell at 0 (or pending, for written answers): for notebooks that never ran."""
    tests = []
    for grade_id, facts in master.items():
        if not facts.get("grade"):
            continue
        source = facts.get("source", "")
        manual = bool(facts.get("solution"))
        tests.append({"grade_id": grade_id, "name": _test_name(facts, grade_id),
                      "max_score": float(facts.get("points", 0.0)), "hidden": HIDDEN_MARK in source,
                      "kind": "manual" if manual else "test", "score": None if manual else 0.0,
                      "status": "pending" if manual else "not_run",
                      "messages": [] if manual or not message else [message], "notes": []})
    return tests


def _finish(result: dict, started: float, master: dict[str, dict] | None = None) -> dict:
    if not result["tests"] and master is not None:
        first = result["messages"][0] if result["messages"] else None
        text = messages.render(first["code"], result.get("lang"), **first["params"]) if first else None
        result["tests"] = zero_tests(master, text)
    result["timings"]["total"] = round(time.monotonic() - started, 2)
    autograded = [t for t in result["tests"] if t["kind"] == "test"]
    result["score"] = round(sum(t["score"] or 0.0 for t in autograded), 4)
    result["max_score"] = round(sum(t["max_score"] for t in autograded), 4)
    result["pending_manual"] = round(sum(t["max_score"] for t in result["tests"] if t["kind"] == "manual"), 4)
    return result


def grade_safely(job: Job) -> dict:
    """:func:`grade`, turning a grader bug into a result instead of an exception."""
    try:
        result = grade(job)
    except Exception as exc:
        result = {"student": job.student, "assignment": job.assignment, "status": "grader_error",
                  "messages": [{"code": "worker.nbgrader_failed", "params": {"error": f"{type(exc).__name__}: {exc}"}}],
                  "tests": [], "findings": [], "keras2": [], "score": 0.0, "max_score": 0.0,
                  "pending_manual": 0.0, "traceback": traceback.format_exc(), "timings": {}}
    result["job"] = asdict(job)
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


def serve(control_fd: int) -> int:
    """Grade the jobs named on stdin, one per line; report each on ``control_fd``."""
    for line in sys.stdin:
        path = line.strip()
        if not path:
            continue
        job = Job(**json.loads(Path(path).read_text()))
        workdir = Path(job.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        os.chdir(workdir)
        with _JobLog(workdir / "worker.log"):
            result = grade_safely(job)
            _atomic_json(Path(job.result_path), result)
            _release_memory()
        os.write(control_fd, b"done\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--serve":
        return serve(int(argv[argv.index("--control-fd") + 1]))
    job = Job(**json.loads(Path(argv[0]).read_text()))
    _atomic_json(Path(job.result_path), grade_safely(job))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The batch's grading workers: long-lived processes, each grading one submission at a time.

A worker (:mod:`autograder.worker`) never runs student code; the sandboxed
kernel it starts does (:mod:`autograder.kernel`). Around each worker this
module adds what does not depend on the worker behaving:

* a wall-clock backstop (the notebook budget plus start-up and verification
  allowances) and a memory backstop over the worker's whole process tree;
  when one trips, or the worker dies, the worker and everything under it are
  killed and replaced, and the batch asks a fresh worker to score the
  artifacts of the tests that ran (a ``rescore`` job), so a student is never
  lost;
* no core dumps and a cap on the size of any file written;
* results travel back over a pipe the kernel does not inherit: a file in the
  job's directory could have been written by anyone.

Workers are long-lived: a :class:`WorkerPool` keeps ``size`` of them, so
nbgrader and Keras are imported once per worker rather than per submission.
"""
from __future__ import annotations

import json
import os
import queue
import resource
import select
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .worker import Job, tree_memory

STARTUP_ALLOWANCE_S = 90.0      # interpreter, nbgrader and kernel start-up
VERIFY_ALLOWANCE_S = 180.0      # reloading models and measuring accuracy
WORKER_MEMORY_MARGIN_MB = 3072  # the worker itself (Keras for verification)
MAX_FILE_BYTES = 4 * 2**30
MAX_RESULT_BYTES = 64 * 2**20


@dataclass
class WorkerOutcome:
    """What happened to one job: the worker's result JSON, or why there is none."""

    result: dict | None
    killed: str | None            # "timeout" | "memory" | "crashed" | None
    returncode: int | None
    elapsed: float


def _limit_resources() -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))


def _tree(pid: int) -> list:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root] + root.children(recursive=True)
    except psutil.Error:
        return []


def kill_tree(pid: int) -> None:
    """Kill ``pid`` and all its descendants (kernels run in sessions of their own)."""
    import psutil

    procs = _tree(pid)
    for proc in reversed(procs):
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


def allowed_cpus() -> int:
    """CPUs this process may use: its affinity (Slurm, taskset, cgroup cpusets), else the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_environment(threads: int) -> dict[str, str]:
    """A clean environment for a worker: no inherited secrets, fixed threads."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH", "KERAS_HOME",
            "KERAS_BACKEND", "CNNKIT_DATA_DIR", "CNNKIT_CACHE_DIR", "CNNKIT_IMAGE_FOLDER", "CNNKIT_CUB_DIR",
            "CNNKIT_SANDBOX", "CUDA_VISIBLE_DEVICES", "XLA_PYTHON_CLIENT_PREALLOCATE",
            "XLA_PYTHON_CLIENT_MEM_FRACTION", "JAX_PLATFORMS")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    # nbgrader shells out to tools installed beside the interpreter (e.g. alembic).
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    threads = max(1, int(threads))
    env.update({
        "OMP_NUM_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": "1" if threads == 1 else "2", "MKL_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg",
    })
    if threads == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return env


class WorkerProcess:
    """One long-lived worker (``python -m autograder.worker --serve``)."""

    def __init__(self, threads: int, log_path: Path, python: str = sys.executable) -> None:
        self.threads = threads
        self.log_path = Path(log_path)
        self.python = python
        self.proc: subprocess.Popen | None = None
        self._control_read: int | None = None
        self._buffer = b""

    def _start(self) -> None:
        read_fd, write_fd = os.pipe()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.python, "-m", "autograder.worker", "--serve", "--control-fd", str(write_fd)],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=worker_environment(self.threads),
                pass_fds=(write_fd,), start_new_session=True, preexec_fn=_limit_resources,
                cwd=self.log_path.parent)
        os.close(write_fd)
        self._control_read = read_fd
        self._buffer = b""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _read_message(self, deadline: float, check) -> tuple[bytes | None, str | None]:
        """The next length-prefixed message, or why none came (``timeout``/``memory``/``crashed``)."""
        while True:
            if b"\n" in self._buffer:
                header, rest = self._buffer.split(b"\n", 1)
                try:
                    length = int(header)
                except ValueError:
                    return None, "crashed"
                if length > MAX_RESULT_BYTES:
                    return None, "crashed"
                if len(rest) >= length:
                    self._buffer = rest[length:]
                    return rest[:length], None
            ready, _, _ = select.select([self._control_read], [], [], 0.2)
            if ready:
                chunk = os.read(self._control_read, 1 << 20)
                if not chunk:
                    return None, "crashed"   # control pipe closed: the worker died
                self._buffer += chunk
                continue
            if self.proc.poll() is not None:
                return None, "crashed"
            reason = check()
            if reason:
                return None, reason
            if time.monotonic() > deadline:
                return None, "timeout"

    def run(self, job: Job) -> WorkerOutcome:
        """Grade ``job``; on a backstop trip or a crash the worker is replaced next time."""
        if not self.alive():
            self.close()
            self._start()
        limits = job.limits
        wall_limit = float(limits.get("notebook_timeout", 900)) + STARTUP_ALLOWANCE_S + VERIFY_ALLOWANCE_S
        memory_limit = (int(limits.get("memory_mb", 6144)) + WORKER_MEMORY_MARGIN_MB) * 2**20
        started = time.monotonic()
        last = [0.0]

        def memory_check() -> str | None:
            now = time.monotonic()
            if now - last[0] < 0.5:
                return None
            last[0] = now
            return "memory" if tree_memory(_tree(self.proc.pid), exact_above=memory_limit) > memory_limit else None

        try:
            self.proc.stdin.write((json.dumps(asdict(job)) + "\n").encode())
            self.proc.stdin.flush()
            payload, killed = self._read_message(started + wall_limit, memory_check)
        except (BrokenPipeError, OSError):
            payload, killed = None, "crashed"
        result = None
        if payload is not None:
            try:
                result = json.loads(payload)
            except json.JSONDecodeError:
                killed = "crashed"
        returncode = None
        if killed is not None:
            returncode = self.proc.poll()
            self.close()
        return WorkerOutcome(result=result, killed=killed, returncode=returncode,
                             elapsed=round(time.monotonic() - started, 2))

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.stdin.close()   # a clean stop: the serve loop ends on EOF
                    self.proc.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            kill_tree(self.proc.pid)
            self.proc.wait()
            self.proc = None
        if self._control_read is not None:
            os.close(self._control_read)
            self._control_read = None


class WorkerPool:
    """``size`` long-lived workers; :meth:`run` borrows one for a job."""

    def __init__(self, size: int, threads: int, log_dir: Path) -> None:
        self._idle: queue.Queue[WorkerProcess] = queue.Queue()
        self._all = [WorkerProcess(threads, Path(log_dir) / f"worker-{i + 1}.log") for i in range(max(1, size))]
        for worker in self._all:
            self._idle.put(worker)

    def run(self, job: Job) -> WorkerOutcome:
        worker = self._idle.get()
        try:
            return worker.run(job)
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        for worker in self._all:
            worker.close()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

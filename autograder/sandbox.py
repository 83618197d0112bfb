"""Run grading workers in a sandbox, from the batch process.

A worker (:mod:`autograder.worker`) never runs student code; the Jupyter
kernel it starts does. Each kernel gets its own session and process group
(jupyter_client starts kernels with ``start_new_session``), its own
temporary working directory, a per-cell and per-notebook time budget and a
memory watchdog (both in the worker). Around the worker, this module adds:

* a wall-clock backstop (the notebook budget plus start-up and verification
  allowances) and a memory backstop over the worker's whole process tree;
  when one trips, the worker and everything under it are killed and the
  submission gets a failed result — the batch goes on with a fresh worker;
* no core dumps and a cap on the size of files written;
* an empty network namespace (``unshare --net``) when the OS allows it; the
  kernel then talks to the worker over unix sockets. When it is not allowed
  (no ``unshare``, no privileges) every result says so.

Workers are long-lived: a :class:`WorkerPool` keeps ``jobs`` of them, each
grading one submission at a time, so nbgrader and Keras are imported once
per worker rather than once per submission. Isolation is per kernel, which
is where student code runs; a worker that misbehaves is replaced.
"""
from __future__ import annotations

import functools
import json
import os
import queue
import resource
import select
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .worker import Job, tree_memory

STARTUP_ALLOWANCE_S = 90.0      # interpreter, nbgrader and kernel start-up
VERIFY_ALLOWANCE_S = 120.0      # reloading models and measuring accuracy
WORKER_MEMORY_MARGIN_MB = 3072  # the worker itself (Keras for verification)
MAX_FILE_BYTES = 4 * 2**30


@dataclass
class SandboxOutcome:
    returncode: int | None
    killed: str | None            # "timeout" | "memory" | "crashed" | None
    elapsed: float
    network_isolated: bool
    isolation_note: str
    log_tail: str

    def to_json(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=1)
def network_isolation() -> tuple[tuple[str, ...], str]:
    """The command prefix that puts a process in an empty network namespace,
    and a note saying what was used or why nothing could be."""
    if os.environ.get("CNNKIT_SANDBOX_NETWORK", "").lower() in ("0", "off", "allow"):
        return (), "network isolation turned off (CNNKIT_SANDBOX_NETWORK)"
    unshare = shutil.which("unshare")
    if unshare is None:
        return (), "network isolation unavailable: no `unshare` command on this system"
    last = "unshare refused"
    for prefix in ((unshare, "--net"), (unshare, "--net", "--map-root-user")):
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as exc:
            last = str(exc)
            continue
        if probe.returncode == 0:
            return prefix, "network isolated: " + " ".join(["unshare", *prefix[1:]])
        last = probe.stderr.decode(errors="replace").strip() or last
    return (), f"network isolation unavailable: {last}"


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
    """Kill ``pid`` and all its descendants — kernels run in sessions of their
    own, so killing the worker's process group would orphan them."""
    import psutil

    procs = _tree(pid)
    for proc in reversed(procs):
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


def worker_environment(threads: int) -> dict[str, str]:
    """A clean environment for a worker: no inherited secrets, fixed threads."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH", "KERAS_HOME",
            "KERAS_BACKEND", "CNNKIT_DATA_DIR", "CNNKIT_CACHE_DIR", "CNNKIT_IMAGE_FOLDER", "CNNKIT_CUB_DIR",
            "CNNKIT_SPECS_PATH", "CUDA_VISIBLE_DEVICES", "XLA_PYTHON_CLIENT_PREALLOCATE",
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

    def _start(self) -> None:
        prefix, _ = network_isolation()
        env = worker_environment(self.threads)
        if prefix:
            env["CNNKIT_KERNEL_TRANSPORT"] = "ipc"   # loopback is down in the new namespace
        read_fd, write_fd = os.pipe()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*prefix, self.python, "-m", "autograder.worker", "--serve", "--control-fd", str(write_fd)],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env, pass_fds=(write_fd,),
                start_new_session=True, preexec_fn=_limit_resources, cwd=self.log_path.parent)
        os.close(write_fd)
        self._control_read = read_fd

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def run(self, job: Job) -> SandboxOutcome:
        """Grade ``job``; on a backstop trip or a crash the worker is replaced next time."""
        if not self.alive():
            self.close()
            self._start()
        workdir = Path(job.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        job_file = workdir / "job.json"
        job_file.write_text(json.dumps(asdict(job)))
        limits = job.limits
        wall_limit = float(limits.get("notebook_timeout", 900)) + STARTUP_ALLOWANCE_S + VERIFY_ALLOWANCE_S
        memory_limit = (int(limits.get("memory_mb", 6144)) + WORKER_MEMORY_MARGIN_MB) * 2**20
        started = time.monotonic()
        killed = None
        try:
            self.proc.stdin.write(f"{job_file}\n".encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            killed = "crashed"
        last_memory_check = 0.0
        while killed is None:
            ready, _, _ = select.select([self._control_read], [], [], 0.2)
            if ready:
                line = os.read(self._control_read, 4096)
                if line:
                    break          # the worker finished this job
                killed = "crashed"  # control pipe closed: the worker died
                break
            if self.proc.poll() is not None:
                killed = "crashed"
                break
            now = time.monotonic()
            if now - started > wall_limit:
                killed = "timeout"
            elif now - last_memory_check > 0.5:
                last_memory_check = now
                if tree_memory(_tree(self.proc.pid), exact_above=memory_limit) > memory_limit:
                    killed = "memory"
        returncode = None
        if killed is not None:
            returncode = self.proc.poll()
            self.close()
        log = workdir / "worker.log"
        tail = log.read_bytes()[-4000:].decode(errors="replace") if log.exists() else ""
        prefix, note = network_isolation()
        return SandboxOutcome(returncode=returncode, killed=killed, elapsed=round(time.monotonic() - started, 2),
                              network_isolated=bool(prefix), isolation_note=note, log_tail=tail)

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

    def run(self, job: Job) -> SandboxOutcome:
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


def run_worker(job: Job, *, threads: int = 1) -> SandboxOutcome:
    """Grade one job with a worker of its own (no pool)."""
    worker = WorkerProcess(threads, Path(job.workdir) / "worker-process.log")
    try:
        return worker.run(job)
    finally:
        worker.close()


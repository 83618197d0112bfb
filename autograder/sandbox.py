"""Run one grading worker in a sandbox, from the batch process.

Each submission gets:

* its own process group (``start_new_session``), so the worker, its Jupyter
  kernel and anything the kernel spawned are killed together;
* its own temporary directory as working directory;
* a wall-clock limit (the notebook budget plus start-up and verification
  allowances) and a memory backstop over the whole process tree — the
  worker's own watchdog already holds the kernel to ``memory_mb``, so this
  catches only a runaway worker;
* no core dumps and a cap on the size of files it writes;
* an empty network namespace (``unshare --net``) when the OS allows it —
  the kernel then talks to the worker over unix sockets. When it is not
  allowed (no ``unshare``, no privileges) the grade says so.
"""
from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .worker import Job

STARTUP_ALLOWANCE_S = 90.0      # interpreter, nbgrader and kernel start-up
VERIFY_ALLOWANCE_S = 120.0      # reloading models and measuring accuracy
WORKER_MEMORY_MARGIN_MB = 3072  # the worker itself (Keras for verification)
MAX_FILE_BYTES = 4 * 2**30


@dataclass
class SandboxOutcome:
    returncode: int | None
    killed: str | None            # "timeout" | "memory" | None
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
    for prefix in ((unshare, "--net"), (unshare, "--net", "--map-root-user")):
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as exc:
            last = str(exc)
            continue
        if probe.returncode == 0:
            return prefix, "network isolated: " + " ".join(["unshare", *prefix[1:]])
        last = probe.stderr.decode(errors="replace").strip()
    return (), f"network isolation unavailable: {last or 'unshare refused'}"


def _limit_resources() -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def _kill_group(pid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.2)


def worker_environment(threads: int) -> dict[str, str]:
    """A clean environment for a worker: no inherited secrets, fixed threads."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH", "KERAS_HOME",
            "KERAS_BACKEND", "CNNKIT_DATA_DIR", "CNNKIT_CACHE_DIR", "CNNKIT_IMAGE_FOLDER", "CNNKIT_CUB_DIR",
            "CNNKIT_SPECS_PATH", "CUDA_VISIBLE_DEVICES", "XLA_PYTHON_CLIENT_PREALLOCATE", "JAX_PLATFORMS")
    env = {k: os.environ[k] for k in keep if k in os.environ}
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


def run_worker(job: Job, *, threads: int = 1, python: str = sys.executable) -> SandboxOutcome:
    """Grade ``job`` in a sandboxed worker process and wait for it."""
    workdir = Path(job.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    job_file = workdir / "job.json"
    job_file.write_text(json.dumps(asdict(job)))
    prefix, note = network_isolation()
    env = worker_environment(threads)
    if prefix:
        env["CNNKIT_KERNEL_TRANSPORT"] = "ipc"   # loopback is down in the new namespace
    limits = job.limits
    wall_limit = float(limits.get("notebook_timeout", 900)) + STARTUP_ALLOWANCE_S + VERIFY_ALLOWANCE_S
    memory_limit = (int(limits.get("memory_mb", 6144)) + WORKER_MEMORY_MARGIN_MB) * 2**20
    log_path = workdir / "worker.log"
    started = time.monotonic()
    killed = None
    with log_path.open("wb") as log:
        proc = subprocess.Popen([*prefix, python, "-m", "autograder.worker", str(job_file)],
                                cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_limit_resources)
        try:
            last_memory_check = 0.0
            while proc.poll() is None:
                time.sleep(0.1)
                now = time.monotonic()
                if now - started > wall_limit:
                    killed = "timeout"
                    break
                if now - last_memory_check > 0.5:
                    last_memory_check = now
                    if _tree_rss(proc.pid) > memory_limit:
                        killed = "memory"
                        break
        finally:
            # Always reap the whole group: a kernel orphaned by a dead worker must not linger.
            _kill_group(proc.pid)
            proc.wait()
    tail = log_path.read_bytes()[-4000:].decode(errors="replace")
    return SandboxOutcome(returncode=proc.returncode, killed=killed, elapsed=round(time.monotonic() - started, 2),
                          network_isolated=bool(prefix), isolation_note=note, log_tail=tail)

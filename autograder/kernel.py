"""Where student code runs: a Jupyter kernel inside a bubblewrap sandbox.

The kernel, and every process it starts, runs under ``bwrap`` (Debian package
``bubblewrap``, the sandbox Flatpak uses) with

* its own user namespace (an unprivileged uid, every capability dropped, no
  nested user namespaces), PID namespace (it sees only its own processes and
  cannot signal the worker or anything else; when the worker kills the sandbox,
  the kernel tears the whole namespace down, daemons included), network
  namespace (no network: Jupyter's messages travel over unix sockets in the
  scratch directory), IPC and UTS namespaces, and a session of its own;
* a filesystem of read-only binds: the system's libraries, the Python
  installation, the ``cnnkit`` package (without ``cnnkit.models``: the reference
  builders are the architecture exercises' answers), the assignment's *public* manifest and
  (full profile) the public part of each dataset; one writable directory, the
  submission's scratch space (its working directory, home, artifacts);
  a small ``/tmp``. Not visible: the solutions, the instructor manifest and
  private data, the course copy and gradebook, the job, other submissions, the
  output folder, the grader's environment.

Where bubblewrap is missing or cannot create namespaces (macOS, a locked-down
container), :func:`isolation` says why, the grader prints it, every feedback
says so, and the kernel runs as a plain child process with the time, memory
and output limits only.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import cnnkit
from cnnkit import messages

messages.register({
    "sandbox.bwrap": {
        "es": "tu código se ejecutó aislado ({tool}): sin red, sin acceso a otros ficheros ni procesos",
        "en": "your code ran isolated ({tool}): no network, no access to other files or processes",
    },
    "sandbox.off": {
        "es": "aviso: este corrector ejecutó el código sin aislamiento (${env}=off): solo límites de tiempo y memoria",
        "en": "note: this grader ran the code without isolation (${env}=off): time and memory limits only",
    },
    "sandbox.no_bwrap": {
        "es": "aviso: este corrector no tiene bubblewrap (paquete bubblewrap): el código se ejecutó sin aislamiento, "
              "solo con límites de tiempo y memoria",
        "en": "note: this grader has no bubblewrap (package bubblewrap): the code ran without isolation, with time "
              "and memory limits only",
    },
    "sandbox.failed": {
        "es": "aviso: el aislamiento (bubblewrap) no está disponible aquí ({error}): el código se ejecutó solo con "
              "límites de tiempo y memoria",
        "en": "note: isolation (bubblewrap) is not available here ({error}): the code ran with time and memory "
              "limits only",
    },
    "sandbox.unknown": {"es": "", "en": ""},
})

SANDBOX_ENV = "CNNKIT_SANDBOX"           # "off" grades without bubblewrap (and says so)
KERNEL_NAME = "cnnkit-sandbox"
SANDBOX_UID = 1000
TMP_BYTES = 512 * 2**20
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "alternatives", "nsswitch.conf",
        "hosts", "mime.types", "passwd", "group")


@dataclass(frozen=True)
class Isolation:
    """What the grader could set up: ``sandboxed`` and a message code (with params) saying how or why not."""

    sandboxed: bool
    code: str
    params: Mapping[str, str]
    bwrap: str | None = None


def _bwrap_flags(bwrap: str) -> list[str]:
    flags = ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--unshare-pid",
             "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "cnnkit",
             "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    if "--disable-userns" in _help(bwrap):
        flags.append("--disable-userns")
    return flags


@functools.lru_cache(maxsize=4)
def _help(bwrap: str) -> str:
    try:
        return subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _python_binds() -> list[str]:
    """The interpreter, the environment's packages and cnnkit itself (an editable install lives elsewhere)."""
    places = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
              Path(cnnkit.__file__).resolve().parent}
    args = []
    for place in sorted(places):
        if not any(place != other and other in place.parents for other in places):
            args += ["--ro-bind", str(place), str(place)]
            if Path(sys.prefix).resolve() == place and Path(sys.prefix) != place:
                args += ["--symlink", str(place), sys.prefix]
    return args


@functools.lru_cache(maxsize=1)
def isolation() -> Isolation:
    """Whether kernels can run under bubblewrap here (probed once per process)."""
    if os.environ.get(SANDBOX_ENV, "").lower() in ("0", "off", "none"):
        return Isolation(False, "sandbox.off", {"env": SANDBOX_ENV})
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Isolation(False, "sandbox.no_bwrap", {})
    probe = [bwrap, *_bwrap_flags(bwrap), *_system_binds(), *_python_binds(), "--proc", "/proc", "--dev", "/dev",
             "--tmpfs", "/tmp", "--", sys.executable, "-c", "import os; print(os.getuid())"]
    try:
        run = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Isolation(False, "sandbox.failed", {"error": str(exc)[:200]})
    if run.returncode != 0 or run.stdout.strip() != str(SANDBOX_UID):
        return Isolation(False, "sandbox.failed", {"error": (run.stderr.strip() or f"exit {run.returncode}")[:200]})
    version = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout.strip()
    return Isolation(True, "sandbox.bwrap", {"tool": version or "bubblewrap"}, bwrap=bwrap)


@dataclass
class KernelSandbox:
    """One submission's kernel: its scratch directory, what it may read, its environment."""

    scratch: Path                               # the only writable place
    readonly: Sequence[Path] = ()               # more read-only binds (public manifest, data views)
    env: Mapping[str, str] | None = None

    @property
    def run_dir(self) -> Path:
        """Connection file and ZeroMQ unix sockets (inside the sandbox's view)."""
        return self.scratch / ".run"

    def kernel_env(self) -> dict[str, str]:
        bin_dir = str(Path(sys.executable).parent)
        env = {"PATH": os.pathsep.join([bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]), "HOME": str(self.scratch),
               "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", "PYTHONNOUSERSITE": "1",
               "TMPDIR": "/tmp" if isolation().sandboxed else str(self.scratch / ".tmp"),
               "IPYTHONDIR": str(self.scratch / ".ipython"), "MPLCONFIGDIR": str(self.scratch / ".matplotlib"),
               "KERAS_HOME": str(self.scratch / ".keras"), "CNNKIT_CACHE_DIR": str(self.scratch / ".cache"),
               # IPython's inline backend, as in Jupyter: plt.show() and figures left open at the end
               # of a cell become image/png outputs of the graded notebook, for the feedback only (a
               # figure is judged from its exported summary). Never the worker's Agg.
               "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
        env.update(self.env or {})
        return env

    def argv(self) -> list[str]:
        """The kernel's command line, ``{connection_file}`` left for jupyter_client."""
        kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        iso = isolation()
        if not iso.sandboxed:
            return kernel
        # Order matters: a mount hides what was bound below its path before it (the scratch
        # space usually lives under /tmp), so the small /tmp comes first, the binds after it.
        args = [iso.bwrap, *_bwrap_flags(iso.bwrap), "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
                *_system_binds(), *_python_binds()]
        for path in self.readonly:
            args += ["--ro-bind", str(path), str(path)]
        args += ["--proc", "/proc", "--dev", "/dev"]
        for device in sorted(Path("/dev").glob("nvidia*")):   # a GPU runner's devices
            args += ["--dev-bind", str(device), str(device)]
        # The reference builders are the architecture exercises' answers: hidden from submissions
        # (an empty, read-only folder over the subpackage), so none can answer with them.
        models = Path(cnnkit.__file__).resolve().parent / "models"
        args += ["--tmpfs", str(models), "--remount-ro", str(models)]
        args += ["--bind", str(self.scratch), str(self.scratch), "--chdir", str(self.scratch)]
        weights = _keras_models_dir()
        if weights is not None:
            args += ["--ro-bind", str(weights), str(self.scratch / ".keras" / "models")]
        args.append("--clearenv")
        for key, value in sorted(self.kernel_env().items()):
            args += ["--setenv", key, value]
        return args + ["--", *kernel]

    def write_kernelspec(self, directory: Path) -> Path:
        """A kernelspec for jupyter_client (``directory/KERNEL_NAME/kernel.json``)."""
        for sub in ("", ".run", ".ipython", ".matplotlib", ".keras", ".cache", ".tmp"):
            (self.scratch / sub).mkdir(parents=True, exist_ok=True)
        _seed_matplotlib_cache(self.scratch / ".matplotlib")
        spec_dir = Path(directory) / KERNEL_NAME
        spec_dir.mkdir(parents=True, exist_ok=True)
        spec = {"argv": self.argv(), "display_name": "Python 3 (cnnkit sandbox)", "language": "python",
                # Inside its own session and PID namespace the kernel interrupts itself on request.
                "interrupt_mode": "message" if isolation().sandboxed else "signal",
                "env": {} if isolation().sandboxed else self.kernel_env()}
        (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
        return spec_dir


def _keras_models_dir() -> Path | None:
    """Where Keras keeps downloaded weights (``$KERAS_HOME/models`` or ``~/.keras/models``), if present."""
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    path = Path(home) / "models"
    return path if path.is_dir() else None


def _seed_matplotlib_cache(target: Path) -> None:
    """Copy the grader's font list so a fresh kernel does not rebuild it (seconds per notebook)."""
    try:
        import matplotlib

        for font_list in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
            shutil.copy2(font_list, target / font_list.name)
    except Exception:   # matplotlib then builds its cache itself
        pass

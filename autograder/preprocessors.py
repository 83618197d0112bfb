"""nbgrader preprocessors the autograder adds, one concern each.

They slot into nbgrader's own ``Autograde.autograde_preprocessors`` list
(see :mod:`autograder.worker`): :class:`SandboxedExecute` replaces nbgrader's
``Execute`` and :class:`RelabelStderr` runs before ``SaveAutoGrades``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Dict, Float, Integer, Unicode

from cnnkit import messages
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

messages.register({
    "sandbox.kernel_died": {
        "es": "el kernel de Python se detuvo durante esta celda ({reason})",
        "en": "the Python kernel stopped during this cell ({reason})",
    },
    "sandbox.not_run_dead": {
        "es": "no se ejecutó: el kernel se detuvo en la celda {cell} ({reason})",
        "en": "not run: the kernel stopped in cell {cell} ({reason})",
    },
    "sandbox.not_run_budget": {
        "es": "no se ejecutó: el cuaderno superó su tiempo máximo ({seconds:.0f} s)",
        "en": "not run: the notebook exceeded its time limit ({seconds:.0f} s)",
    },
    "sandbox.cell_timeout": {
        "es": "la celda superó el tiempo máximo por celda ({seconds:.0f} s) y se interrumpió",
        "en": "the cell exceeded the per-cell time limit ({seconds:.0f} s) and was interrupted",
    },
    "sandbox.output_truncated": {
        "es": "[salida truncada: la celda escribió más de {limit:,} bytes]",
        "en": "[output truncated: the cell wrote more than {limit:,} bytes]",
    },
    "reason.memory": {"es": "superó el límite de memoria de {limit_mb} MB",
                      "en": "it exceeded the memory limit of {limit_mb} MB"},
    "reason.crash": {"es": "el proceso terminó de forma inesperada", "en": "the process ended unexpectedly"},
})

NOT_RUN_ENAME = "NotExecuted"


class KernelWatch:
    """Shared state between the memory watchdog (a thread), the executor and the worker."""

    def __init__(self) -> None:
        self.kill_reason: str | None = None   # "memory" when the watchdog killed the kernel
        self.kill_params: dict[str, Any] = {}
        self.stop: tuple[str, dict] | None = None  # why execution stopped early, as a message
        # Measured from outside the kernel, per cell grade id: "cpu:ID" and "wall:ID" seconds.
        self.measurements: dict[str, float] = {}


def kernel_cpu_seconds() -> float:
    """CPU seconds used so far by this process's descendants (the kernel and what it started)."""
    import psutil

    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        try:
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            pass
    return total


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with a notebook time budget, kernel-death
    handling and an output cap.

    * The per-cell timeout is ``timeout`` but never more than what is left of
      ``notebook_timeout``; once the budget is spent, remaining cells are not
      run and get a ``NotExecuted`` error output.
    * When the kernel dies (memory watchdog, ``os._exit``, segfault), the cell
      gets an error output saying why, and every later code cell a
      ``NotExecuted`` error, so nbgrader scores those tests 0 instead of
      crediting cells that simply have no output.
    * A cell's output beyond ``output_bytes`` is dropped with one notice, so
      output flooding cannot exhaust the grader's memory.
    """

    notebook_timeout = Float(900.0, help="Seconds for the whole notebook.").tag(config=True)
    output_bytes = Integer(1_000_000, help="Bytes of output kept per cell.").tag(config=True)
    lang = Unicode("es", help="Language of the notices added to cells.").tag(config=True)
    transport = Unicode("tcp", help="ZeroMQ transport to the kernel: 'tcp' or 'ipc' (unix sockets, "
                                    "needed inside an empty network namespace).").tag(config=True)
    kernel_spec_dir = Unicode("", help="Directory with the sandboxed kernel's kernelspec "
                                       "(autograder.kernel); empty: the default python3 kernel.").tag(config=True)
    run_dir = Unicode("", help="Where the connection file and unix sockets go (visible to the kernel).").tag(
        config=True)
    kernel_env = Dict({}, help="The kernel's whole environment (used when it is not sandboxed).").tag(config=True)

    watch: KernelWatch | None = None  # set by the worker before the run

    def preprocess(self, nb, resources=None, km=None):
        # The budget is for the student's code: it starts with the first cell,
        # once the kernel is up (start-up has its own ``startup_timeout``).
        self._started: float | None = None
        self._stop: tuple[str, dict] | None = None
        self._bytes: dict[int, int] = {}
        self.timeout_func = self._cell_timeout
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError:
            # The kernel died between cells (e.g. while nbclient was shutting
            # it down): the cells already carry their notices.
            return self.nb, self.resources

    def create_kernel_manager(self):
        if self.kernel_spec_dir:
            from jupyter_client.kernelspec import KernelSpecManager

            from .kernel import KERNEL_NAME

            self.kernel_name = KERNEL_NAME
            km = super().create_kernel_manager()
            km.kernel_spec_manager = KernelSpecManager(kernel_dirs=[self.kernel_spec_dir], ensure_native_kernel=False)
            km.kernel_name = KERNEL_NAME
        else:
            km = super().create_kernel_manager()
        km.transport = self.transport
        run_dir = Path(self.run_dir) if self.run_dir else Path.cwd()
        if self.transport == "ipc":
            # ipc socket paths are files: they live where the sandboxed kernel can create them.
            km.ip = str(run_dir / "kernel")
        if self.run_dir:
            km.connection_file = str(run_dir / "connection.json")
        return km

    async def async_start_new_kernel(self, **kwargs):
        if self.kernel_env:
            # The whole environment, not the worker's plus some: nothing of the grader's leaks in.
            kwargs["env"] = dict(self.kernel_env)
        return await super().async_start_new_kernel(**kwargs)

    def _remaining(self) -> float:
        if self._started is None:
            self._started = time.monotonic()
        return self.notebook_timeout - (time.monotonic() - self._started)

    def _cell_timeout(self, cell) -> int:
        return int(max(1, min(self.timeout or self.notebook_timeout, self._remaining())))

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._stop is None and self._remaining() <= 0:
            self._stop = ("sandbox.not_run_budget", {"seconds": self.notebook_timeout})
            self._publish_stop()
        if self._stop is not None:
            cell.outputs = [self._error(NOT_RUN_ENAME, *self._stop)]
            return cell, resources
        self._current_timeout = self._cell_timeout(cell)
        cell_id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{index + 1}"
        cpu_before, wall_before = kernel_cpu_seconds(), time.monotonic()
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            reason = self._death_reason()
            cell.outputs = list(cell.get("outputs", [])) + [
                self._error("DeadKernelError", "sandbox.kernel_died", {"reason": reason})]
            self._stop = ("sandbox.not_run_dead", {"cell": index + 1, "reason": reason})
            self._publish_stop()
        except CellTimeoutError:
            # The kernel did not settle after the interrupt: the cell failed, the notebook goes on.
            cell.outputs = list(cell.get("outputs", [])) + [
                self._error("CellTimeoutError", "sandbox.cell_timeout", {"seconds": self._current_timeout})]
        else:
            self._mark_timeout(cell)
        finally:
            if self.watch is not None:
                self.watch.measurements[f"cpu:{cell_id}"] = round(kernel_cpu_seconds() - cpu_before, 3)
                self.watch.measurements[f"wall:{cell_id}"] = round(time.monotonic() - wall_before, 3)
        return cell, resources

    def _publish_stop(self) -> None:
        if self.watch is not None:
            self.watch.stop = self._stop

    def _death_reason(self) -> str:
        watch = self.watch
        if watch is not None and watch.kill_reason:
            return messages.render(f"reason.{watch.kill_reason}", self.lang, **watch.kill_params)
        return messages.render("reason.crash", self.lang)

    def _mark_timeout(self, cell) -> None:
        # nbclient reports a timeout as a generic CellTimeoutError; say which limit hit.
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError":
                text = messages.render("sandbox.cell_timeout", self.lang, seconds=self._current_timeout)
                output["evalue"] = text
                output["traceback"] = [f"CellTimeoutError: {text}"]

    def _error(self, ename: str, code: str, params: dict) -> NotebookNode:
        text = messages.render(code, self.lang, **params)
        return NotebookNode(output_type="error", ename=ename, evalue=text, traceback=[f"{ename}: {text}"])

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return None
        used = self._bytes.get(cell_index, 0)
        if used + _output_size(out) <= self.output_bytes:
            self._bytes[cell_index] = used + _output_size(out)
            return out
        if outs and outs[-1] is out:   # nbclient has just appended it: take it back
            outs.pop()
        if used <= self.output_bytes:  # first overflow of this cell: leave one notice
            notice = messages.render("sandbox.output_truncated", self.lang, limit=self.output_bytes)
            outs.append(NotebookNode(output_type="stream", name="stdout", text=notice + "\n"))
            self._bytes[cell_index] = self.output_bytes + 1
        return None


def _output_size(out) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", ""))
    data = out.get("data", {})
    return sum(len(v) if isinstance(v, str) else len(str(v)) for v in data.values()) + \
        sum(len(line) for line in out.get("traceback", []))


class RelabelStderr(NbGraderPreprocessor):
    """Turn ``stderr`` stream outputs of graded test cells into ``stdout``.

    nbgrader scores a test cell 0 when it wrote to stderr, so a library
    warning (Keras' "Do not pass an `input_shape`…", a TensorFlow log line)
    would zero a correct answer. A test fails here only by raising.
    """

    def preprocess_cell(self, cell, resources, index):
        if nbgrader_utils.is_grade(cell) and cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
        return cell, resources

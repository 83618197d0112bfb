"""Every point, decided outside the student's kernel.

After the kernel and everything it started are gone, the worker reads what
the kernel exported (artifacts, untrusted: exact types, size caps, no pickle,
safe-mode models) and judges every ``checks.verify("<key>", ...)`` named in
each graded test cell — the cell's source as the *instructor's* notebook has
it, never as the submission or the kernel saw it — with the instructor
manifest's spec of that key and the grader's own data: the public data the
student received, the private holdout, the executor's measurements of each
cell. A test scores its points when every key it names passes here, and only
then; whatever the kernel printed, raised or patched decides nothing.
"""
from __future__ import annotations

import ast
import functools
import re
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from cnnkit import messages
from cnnkit.checks import artifacts
from cnnkit.checks.artifacts import ArtifactError
from cnnkit.checks.context import Context, Unavailable
from cnnkit.checks.spec import get_kind
from cnnkit.messages import Message

from .results import CheckResult

messages.register({
    "verify.unknown_key": {
        "es": "error del corrector: la prueba usa «{key}», que no está en la especificación",
        "en": "grader error: the test uses '{key}', which is not in the specification",
    },
    "verify.crashed": {
        "es": "el corrector no pudo comprobar «{key}» ({error})",
        "en": "the grader could not check '{key}' ({error})",
    },
    "verify.no_keys": {
        "es": "error del corrector: esta prueba no comprueba nada fuera del kernel",
        "en": "grader error: this test checks nothing outside the kernel",
    },
    "verify.unavailable": {
        "es": "«{key}»: el corrector no tiene {what}",
        "en": "'{key}': the grader has no {what}",
    },
})

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_VERIFY_FALLBACK = re.compile(r"""\bverify\(\s*["']([\w.-]+)["']""")


def split_hidden(source: str) -> tuple[str, str]:
    """``(visible, hidden)`` parts of a test cell's source."""
    visible, hidden, hiding = [], [], False
    for line in source.splitlines():
        if HIDDEN_BEGIN in line:
            hiding = True
            continue
        if HIDDEN_END in line:
            hiding = False
            continue
        (hidden if hiding else visible).append(line)
    return "\n".join(visible), "\n".join(hidden)


def keys_in_source(source: str) -> list[str]:
    """Keys of ``verify("<key>", ...)`` / ``checks.verify(...)`` calls, in order."""
    cleaned = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(cleaned)
    except SyntaxError:
        return list(dict.fromkeys(_VERIFY_FALLBACK.findall(source)))
    keys = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if name == "verify" and isinstance(first, ast.Constant) and isinstance(first.value, str):
                keys.append((node.lineno, node.col_offset, first.value))
    return list(dict.fromkeys(key for *_, key in sorted(keys)))


class GraderData:
    """The grader's data: the public datasets as students receive them, and the private holdouts.

    Loaded once per worker process and shared by the jobs it grades. Dataset
    names ``probe:NAME`` come from the assignment's ``probes.py``:
    ``NAME(profile)`` returns a :class:`~cnnkit.data.Dataset` and
    ``NAME_holdout(profile)`` the private ``(x, y)``.
    """

    def __init__(self, private_dir: Path | None, probes: Mapping[str, Callable] | None = None,
                 language: str | None = None) -> None:
        self.private_dir = Path(private_dir) if private_dir else None
        self.probes = dict(probes or {})
        # The notebook's language: a stand-in's class names must be the ones its kernel saw.
        self.language = language

    def dataset(self, name: str, profile: str):
        if name.startswith("probe:"):
            return self._probe(name[6:])(profile)
        return _course_dataset(name, profile, self.language)

    def holdout(self, name: str, profile: str):
        if name.startswith("probe:"):
            return self._probe(name[6:] + "_holdout")(profile)
        return _course_holdout(name, profile, str(self.private_dir) if self.private_dir else None)

    def _probe(self, name: str) -> Callable:
        if name not in self.probes:
            raise Unavailable(f"probe {name!r}")
        return self.probes[name]


@functools.lru_cache(maxsize=16)
def _course_dataset(name: str, profile: str, lang: str | None = None):
    from cnnkit.data import course_dataset

    return course_dataset(name, profile, lang=lang)


@functools.lru_cache(maxsize=16)
def _course_holdout(name: str, profile: str, private_dir: str | None):
    from cnnkit.data import course_holdout

    x, y = course_holdout(name, profile, Path(private_dir) if private_dir else None)
    x.flags.writeable = False
    return x, y


class GraderContext(Context):
    """The grader's side: artifacts of this submission, public and private data, measurements, probes."""

    side = "grader"

    def __init__(self, profile: str, manifest, *, artifacts_dir: Path, data: GraderData,
                 measurements: Mapping[str, float] | None = None, scratch: Path | None = None) -> None:
        super().__init__(profile, manifest)
        self.artifacts_dir = Path(artifacts_dir)
        self.data = data
        self.measurements = dict(measurements or {})
        self.scratch = Path(scratch) if scratch else None
        self._loaded: dict[str, Any] = {}
        self._by_content: dict[tuple, Any] = {}

    def related(self, key: str) -> Any:
        if key not in self._loaded:
            spec = self.manifest.checks.get(key)
            if spec is None:
                raise ArtifactError("verify.unknown_key", key=key)
            fmt = get_kind(spec.kind).fmt
            try:
                # A model verified under several keys is rebuilt once (VGG-19's config: seconds and GBs).
                content = (fmt, _digest(self.artifacts_dir, key, fmt)) if fmt in ("config", "model") else None
                if content is not None and content in self._by_content:
                    self._loaded[key] = self._by_content[content]
                else:
                    self._loaded[key] = artifacts.load(key, fmt, self.artifacts_dir)
                    if content is not None:
                        self._by_content[content] = self._loaded[key]
            except ArtifactError as exc:
                self._loaded[key] = exc
        value = self._loaded[key]
        if isinstance(value, ArtifactError):
            raise value
        return value

    def related_value(self, key: str, name: str) -> Any:
        path = artifacts.path_for(self.artifacts_dir, f"{key}.{name}", ".json")
        if not path.exists():
            return None
        try:
            return artifacts.load(f"{key}.{name}", "json", self.artifacts_dir)
        except ArtifactError:
            return None

    def compile_info(self, key: str) -> dict:
        return artifacts.compile_info(key, self.artifacts_dir)

    def dataset(self, name: str):
        return self.data.dataset(name, self.profile)

    def holdout(self, name: str):
        return self.data.holdout(name, self.profile)

    def measurement(self, name: str) -> float | None:
        return self.measurements.get(name)

    def probe(self, name: str):
        return self.data.probes.get(name)

    def student_file(self, name: str) -> Path | None:
        if self.scratch is None or not isinstance(name, str) or "/" in name.strip("./") or name.startswith(".."):
            return None
        path = self.scratch / Path(name).name
        return path if path.is_file() and not path.is_symlink() else None


def _digest(directory: Path, key: str, fmt: str) -> str:
    """A digest of the files of a model artifact (raises ArtifactError like loading would)."""
    import hashlib

    digest = hashlib.sha256()
    for suffix in artifacts.SUFFIXES[fmt][:2]:
        digest.update(artifacts.read_untrusted(artifacts.path_for(directory, key, suffix), key))
    return digest.hexdigest()


def verify_key(key: str, ctx: GraderContext) -> CheckResult:
    """Judge artifact ``key``; never raises for anything the submission did."""
    spec = ctx.manifest.checks.get(key)
    if spec is None:
        return CheckResult(key, False, failures=[Message("verify.unknown_key", {"key": key})])
    try:
        payload = ctx.related(key)
        outcome = get_kind(spec.kind).check(payload, spec, ctx)
    except ArtifactError as exc:
        return CheckResult(key, False, failures=[Message(exc.code, exc.params)])
    except Unavailable as exc:
        return CheckResult(key, False, failures=[Message("verify.unavailable", {"key": key, "what": str(exc)})])
    except Exception as exc:  # a malformed artifact must not stop the batch
        return CheckResult(key, False, failures=[Message("verify.crashed", {
            "key": key, "error": f"{type(exc).__name__}: {str(exc)[:300]}"})])
    details = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in outcome.details.items()}
    return CheckResult(key, outcome.passed, failures=list(outcome.failures), notes=list(outcome.notes),
                       details=artifacts.to_plain(_plain(details)))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.generic,)):
        return value.item()
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)

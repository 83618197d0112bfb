"""Re-check, outside the student's kernel, what the kernel exported.

A test cell's source is trusted once nbgrader has restored it from the
gradebook; the kernel that ran it is not (a submission can monkeypatch
``checks`` or the IPython shell). So after the kernel has exited, every
``checks.verify("<key>", ...)`` named in a graded test cell is judged again
here, on the exported artifact, with the spec from ``specs/ID.toml`` and —
for accuracy — the grader's own test data.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from . import artifacts, messages
from .artifacts import ArtifactError
from .checks import KINDS, CheckOutcome, Context, run_check
from .messages import Message
from .specs import AssignmentSpec

messages.register({
    "verify.unknown_key": {
        "es": "error del corrector: la prueba usa «{key}», que no está en la especificación",
        "en": "grader error: the test uses '{key}', which is not in the specification",
    },
    "verify.crashed": {
        "es": "el corrector no pudo comprobar «{key}» ({error})",
        "en": "the grader could not check '{key}' ({error})",
    },
})

_VERIFY_FALLBACK = re.compile(r"""\bverify\(\s*["']([\w.-]+)["']""")


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


def verify_key(key: str, assignment: AssignmentSpec, directory: Path, profile: str) -> CheckOutcome:
    """Judge artifact ``key`` from ``directory``; never raises for student faults."""
    if key not in assignment.specs:
        return CheckOutcome(key, failures=[Message("verify.unknown_key", {"key": key})])
    spec = assignment.specs[key]
    kind = KINDS[spec.kind]
    try:
        artifact = artifacts.load(key, kind.fmt, directory)
        extras_path = artifacts.path_for(directory, f"{key}.extras", "json")
        extras = artifacts.load(f"{key}.extras", "json", directory) if extras_path.exists() else {}
    except ArtifactError as exc:
        return CheckOutcome(key, failures=[Message(exc.code, exc.params)])
    model_file = artifacts.path_for(directory, key, "model") if kind.fmt == "model" else None
    ctx = Context(profile=profile, assignment=assignment, extras=extras if isinstance(extras, dict) else {},
                  model_file=model_file)
    try:
        return run_check(spec, artifact, ctx)
    except Exception as exc:  # a malformed artifact must not stop the batch
        return CheckOutcome(key, failures=[Message("verify.crashed", {"key": key,
                                                                      "error": f"{type(exc).__name__}: {exc}"})])

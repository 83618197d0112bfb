"""What a course notebook's test cells call: ``checks.verify(key, obj)``.

In the locked setup cell::

    from cnnkit import checks
    checks.use_assignment("cifar10_cnn")

and in a test cell::

    checks.verify("model_3x3", model_3x3)
    checks.verify("acc_3x3", model_3x3, reported=test_accuracy_3x3)

``verify`` does one of two things:

* **Graded** (the grader set ``$CNNKIT_ARTIFACTS_DIR``): it exports the object
  as an artifact in the format its check kind reads (no pickle, exact types)
  and judges nothing. After the kernel is gone the grader checks every key of
  every test cell outside the kernel, on its own data, against expectations
  the kernel never sees: **no point depends on what runs here**.
* **A student's own run**: when the key's spec is public (a visible test), it
  checks the object right away, on the data the student has, and raises
  ``AssertionError`` with the message in the notebook's language when it
  fails. A key only a hidden test uses has no public spec; ``verify`` then says
  that the grader checks it at submission.

The ``assert_*`` helpers below are for the student's own cells: in-kernel
only, they never score.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from .. import messages
from . import artifacts
from .artifacts import ArtifactError
from .context import Context, Unavailable
from .outcome import CheckOutcome
from .spec import KINDS, Kind, Option, Spec, SpecError, get_kind, kind, parse_spec

__all__ = ["use_assignment", "verify", "CheckOutcome", "Context", "KernelContext", "Spec", "Option", "Kind",
           "KINDS", "kind", "get_kind", "parse_spec", "SpecError", "run_check",
           "assert_output_shape", "assert_param_count", "assert_architecture", "assert_classifier",
           "assert_accuracy", "assert_exact", "assert_figure", "assert_confusion_matrix", "assert_history"]

ASSIGNMENT_ENV = "CNNKIT_ASSIGNMENT"
EXPORT_KINDS_ENV = "CNNKIT_EXPORT_KINDS"   # the grader's {key: kind} for every key, hidden ones included

messages.register({
    "check.passed": {"es": "✓ {key}: correcto", "en": "✓ {key}: correct"},
    "check.no_assignment": {
        "es": "ejecuta primero la celda de configuración (checks.use_assignment)",
        "en": "run the setup cell first (checks.use_assignment)",
    },
    "check.graded_later": {
        "es": "· {key}: lo comprueba el corrector al entregar",
        "en": "· {key}: checked by the grader when you submit",
    },
    "check.exported": {
        "es": "· {key}: entregado al corrector",
        "en": "· {key}: handed to the grader",
    },
})

_current_assignment: str | None = None
_verified: dict[str, Any] = {}          # key -> artifact payload, for checks that relate keys
_related: dict[str, dict[str, Any]] = {}


def use_assignment(assignment_id: str):
    """Select the assignment whose public manifest ``verify`` uses (the notebook's setup cell)."""
    from ..assignment import load_manifest

    global _current_assignment
    manifest = load_manifest(assignment_id)
    _current_assignment = assignment_id
    _verified.clear()
    _related.clear()
    return manifest


def current_assignment():
    from ..assignment import load_manifest

    name = _current_assignment or os.environ.get(ASSIGNMENT_ENV)
    if not name:
        raise AssertionError(messages.render("check.no_assignment"))
    return load_manifest(name)


def _active_profile() -> str:
    from ..profile import profile

    return profile().name


class KernelContext(Context):
    """A student's own run: public data, objects verified earlier in this kernel."""

    side = "kernel"

    def __init__(self, profile: str, manifest=None, extras: Mapping[str, Any] | None = None) -> None:
        super().__init__(profile, manifest)
        self.extras = dict(extras or {})

    def related(self, key: str) -> Any:
        if key not in _verified:
            raise ArtifactError("artifact.missing", key=key)
        return _verified[key]

    def related_value(self, key: str, name: str) -> Any:
        return _related.get(key, {}).get(name)

    def dataset(self, name: str):
        from ..data import course_dataset

        if name.startswith("probe:"):
            raise Unavailable(name)      # the instructor's own data: only the grader has it
        return course_dataset(name)


def run_check(spec: Spec, payload: Any, ctx: Context) -> CheckOutcome:
    """Judge ``payload`` (already in its kind's artifact format) against ``spec``."""
    return get_kind(spec.kind).check(payload, spec, ctx)


def _export_kinds() -> dict[str, str]:
    path = os.environ.get(EXPORT_KINDS_ENV)
    if not path:
        return {}
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def verify(key: str, obj: Any, *, lang: str | None = None, **related: Any) -> None:
    """Hand ``obj`` to the grader as ``key`` (graded run), or check it now (a student's own run).

    ``related`` values (e.g. ``reported=test_accuracy``) travel with it; the
    kind says which it reads. Returns ``None`` on purpose: nbgrader reads a
    number left as a test cell's value as partial credit.
    """
    manifest = current_assignment()
    spec = manifest.checks.get(key)
    directory = artifacts.artifacts_dir()
    kind_name = _export_kinds().get(key) if directory is not None else None
    kind_name = kind_name or (spec.kind if spec is not None else None)
    if kind_name is None:
        print(messages.render("check.graded_later", lang, key=key))
        return None
    kind_ = get_kind(kind_name)
    try:
        payload = kind_.prepare(obj)
        plain_related = {name: artifacts.to_plain(value) for name, value in related.items()}
        if directory is not None:
            artifacts.export(payload, key, kind_.fmt, directory)
            for name, value in plain_related.items():
                artifacts.export(value, f"{key}.{name}", "json", directory)
    except ArtifactError as exc:
        raise AssertionError(messages.render(exc.code, lang, **exc.params)) from None
    _verified[key] = obj if kind_.fmt in ("config", "model") else payload
    _related[key] = plain_related
    if directory is not None:
        # Graded: the grader judges outside the kernel; nothing here decides a point.
        print(messages.render("check.exported", lang, key=key))
        return None
    if spec is None:
        print(messages.render("check.graded_later", lang, key=key))
        return None
    try:
        outcome = run_check(spec, _verified[key], KernelContext(_active_profile(), manifest))
    except Unavailable:
        print(messages.render("check.graded_later", lang, key=key))
        return None
    if not outcome.passed:
        raise AssertionError(outcome.render(lang))
    print(outcome.render(lang))
    return None


# --------------------------------------------------------------------------- ad hoc, in-kernel only

def _adhoc(kind_name: str, obj: Any, lang: str | None, extras: Mapping[str, Any] | None = None,
           **options: Any) -> None:
    key = options.pop("key", kind_name)
    kind_ = get_kind(kind_name)
    spec = parse_spec(key, {"kind": kind_name, **{k: v for k, v in options.items() if v is not None}}, "ad hoc")
    try:
        payload = kind_.prepare(obj)
    except ArtifactError as exc:
        raise AssertionError(messages.render(exc.code, lang, **exc.params)) from None
    try:
        manifest = current_assignment()
    except Exception:
        manifest = None
    outcome = run_check(spec, obj if kind_.fmt in ("config", "model") else payload,
                        KernelContext(_active_profile(), manifest, extras))
    if not outcome.passed:
        raise AssertionError(outcome.render(lang))
    # No return value: a test cell's last value is read by nbgrader as partial credit.


def assert_output_shape(model, expected, *, lang: str | None = None) -> None:
    """``model.output_shape`` equals ``expected`` (use ``None`` for the batch dimension)."""
    _adhoc("output_shape", model, lang, expected=["None" if d is None else int(d) for d in expected])


def assert_param_count(model, expected: int, *, trainable: int | None = None, lang: str | None = None) -> None:
    """The model has exactly ``expected`` parameters (and ``trainable`` trainable ones)."""
    _adhoc("params", model, lang, expected=int(expected), trainable=None if trainable is None else int(trainable))


def assert_architecture(model, reference: str, *, num_classes: int | None = None, ignore=(),
                        lang: str | None = None, **reference_kwargs) -> None:
    """The model matches ``cnnkit.models.build(reference, **reference_kwargs)`` layer by layer."""
    _adhoc("architecture", model, lang, reference=reference, kwargs=reference_kwargs,
           num_classes=num_classes, ignore=list(ignore))


def assert_classifier(model, num_classes: int, *, lang: str | None = None) -> None:
    """The output layer has ``num_classes`` units and a softmax (or linear) activation."""
    _adhoc("classifier", model, lang, num_classes=int(num_classes))


def assert_accuracy(model, x, y, threshold: float, *, lang: str | None = None) -> None:
    """``model`` classifies at least ``threshold`` of ``(x, y)`` correctly."""
    _adhoc("accuracy", model, lang, extras={"x": x, "y": y}, threshold=float(threshold))


def assert_exact(value, expected, *, key: str = "value", lang: str | None = None, **tolerances) -> None:
    """``value`` has ``expected``'s exact type and value (plain data only)."""
    type_name = {int: "int", float: "float", str: "str", bool: "bool", list: "list", dict: "dict"}.get(type(expected))
    _adhoc("value", value, lang, key=key, expected=artifacts.to_plain(expected), type=type_name, reveal=True,
           **tolerances)


def assert_figure(fig, *, lang: str | None = None, **options) -> None:
    """Figure structure: ``axes``, ``grid``, ``titles``/``title_pattern``, ``images``, ``min_lines``, ``labels``, ``legend``."""
    _adhoc("figure", fig, lang, **options)


def assert_confusion_matrix(cm, y_true, y_pred, *, num_classes: int | None = None,
                            lang: str | None = None) -> None:
    """``cm`` is scikit-learn's confusion matrix of ``(y_true, y_pred)`` (rows: true class)."""
    _adhoc("confusion_matrix", (cm, y_true, y_pred), lang, num_classes=num_classes)


def assert_history(history, *, keys=("loss",), min_epochs: int = 1, lang: str | None = None) -> None:
    """A Keras ``History`` (or its dict) with ``keys`` and at least ``min_epochs`` finite epochs."""
    _adhoc("history", history, lang, keys=list(keys), min_epochs=int(min_epochs))

"""Checks that course notebooks' tests call, and that the grader re-runs.

Two ways to use them in a test cell::

    from autograder import checks
    checks.use_assignment("cifar10_cnn")          # once, in the locked setup cell

    checks.verify("model_3x3", model_3x3)          # spec-driven (autograder/specs/ID.toml)
    checks.assert_output_shape(model_3x3, (None, 10))   # ad hoc, in-kernel only

``verify(key, obj)`` looks up the spec of ``key``, exports ``obj`` as an
artifact when the grader asked for it (``$CNNKIT_ARTIFACTS_DIR``), checks it
right away (so students see the result), and raises ``AssertionError`` with a
message in the notebook's language when it fails. After the kernel is gone
the grader re-runs the same check on the artifact, in its own process and on
its own data (:mod:`autograder.verify`): a test cell scores only when both
agree. Every check kind lives in :data:`KINDS`; each says which artifact
format it uses, how to turn the student's object into it (``prepare``) and
how to judge it (``check``).
"""
from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from . import artifacts, messages
from .artifacts import ArtifactError
from .messages import Message
from .specs import AssignmentSpec, Spec, load_assignment

ASSIGNMENT_ENV = "CNNKIT_ASSIGNMENT"

messages.register({
    "check.passed": {"es": "✓ {key}: correcto", "en": "✓ {key}: correct"},
    "artifact.type": {
        "es": "{where}: se esperaba un número, texto, lista o array de NumPy, no un objeto de tipo {type}",
        "en": "{where}: expected a number, text, list or NumPy array, not an object of type {type}",
    },
    "artifact.not_model": {
        "es": "se esperaba un modelo de Keras (keras.Model), no {type}",
        "en": "expected a Keras model (keras.Model), not {type}",
    },
    "artifact.model_config": {
        "es": "no se pudo exportar la configuración del modelo ({error}); usa Sequential o la API funcional",
        "en": "the model's configuration could not be exported ({error}); use Sequential or the functional API",
    },
    "artifact.model_save": {
        "es": "no se pudo guardar el modelo ({error}); usa capas estándar de Keras",
        "en": "the model could not be saved ({error}); use standard Keras layers",
    },
    "artifact.missing": {
        "es": "el corrector no recibió «{key}»: la celda que lo calcula no se ejecutó o falló antes",
        "en": "the grader did not receive '{key}': the cell computing it did not run or failed earlier",
    },
    "artifact.unreadable": {
        "es": "el corrector no pudo leer «{key}» ({error})",
        "en": "the grader could not read '{key}' ({error})",
    },
    "check.no_assignment": {
        "es": "ejecuta primero la celda de configuración (checks.use_assignment)",
        "en": "run the setup cell first (checks.use_assignment)",
    },
    "params.total": {
        "es": "el modelo tiene {got:,} parámetros; se esperaban {expected:,}",
        "en": "the model has {got:,} parameters; expected {expected:,}",
    },
    "params.trainable": {
        "es": "el modelo tiene {got:,} parámetros entrenables; se esperaban {expected:,}",
        "en": "the model has {got:,} trainable parameters; expected {expected:,}",
    },
    "shape.output": {
        "es": "la salida del modelo tiene forma {got}; se esperaba {expected}",
        "en": "the model's output has shape {got}; expected {expected}",
    },
    "shape.array": {
        "es": "«{key}» tiene forma {got}; se esperaba {expected}",
        "en": "'{key}' has shape {got}; expected {expected}",
    },
    "array.not_finite": {
        "es": "«{key}» contiene valores NaN o infinitos",
        "en": "'{key}' contains NaN or infinite values",
    },
    "array.dtype": {
        "es": "«{key}» tiene tipo {got}; se esperaba {expected}",
        "en": "'{key}' has dtype {got}; expected {expected}",
    },
    "classifier.units": {
        "es": "la última capa ({layer}) tiene {got} unidades; el conjunto de datos tiene {expected} clases",
        "en": "the last layer ({layer}) has {got} units; the dataset has {expected} classes",
    },
    "classifier.activation": {
        "es": "la última capa usa activación {got}; para clasificar {classes} clases usa softmax",
        "en": "the last layer uses activation {got}; use softmax to classify {classes} classes",
    },
    "classifier.input": {
        "es": "el modelo espera entradas de forma {got}; las imágenes tienen forma {expected}",
        "en": "the model expects inputs of shape {got}; the images have shape {expected}",
    },
    "classifier.logits_hint": {
        "es": "la salida ya aplica {activation} pero la pérdida usa from_logits=True: "
              "quita from_logits=True (o usa una salida lineal)",
        "en": "the output already applies {activation} but the loss uses from_logits=True: "
              "drop from_logits=True (or use a linear output)",
    },
    "accuracy.low": {
        "es": "el modelo acierta el {got:.1%} de las {n} imágenes de test del corrector; se pide al menos {threshold:.1%}",
        "en": "the model gets {got:.1%} of the grader's {n} test images right; at least {threshold:.1%} is required",
    },
    "accuracy.ok": {
        "es": "precisión en los datos de test del corrector: {got:.1%} (umbral {threshold:.1%})",
        "en": "accuracy on the grader's test data: {got:.1%} (threshold {threshold:.1%})",
    },
    "accuracy.reported_mismatch": {
        "es": "informas de una precisión de {reported:.1%}, pero el modelo obtiene {got:.1%} en los datos del corrector",
        "en": "you report an accuracy of {reported:.1%}, but the model scores {got:.1%} on the grader's data",
    },
    "accuracy.predict_failed": {
        "es": "el modelo no pudo clasificar las imágenes de test ({error})",
        "en": "the model could not classify the test images ({error})",
    },
    "value.type": {
        "es": "«{key}» debe ser de tipo {expected}, no {got}",
        "en": "'{key}' must be of type {expected}, not {got}",
    },
    "value.wrong": {
        "es": "«{key}» no es correcto (valor recibido: {got})",
        "en": "'{key}' is not correct (value received: {got})",
    },
    "value.range": {
        "es": "«{key}» vale {got}; debe estar entre {low} y {high}",
        "en": "'{key}' is {got}; it must be between {low} and {high}",
    },
    "value.wrong_reveal": {
        "es": "«{key}» vale {got}; se esperaba {expected}",
        "en": "'{key}' is {got}; expected {expected}",
    },
    "figure.axes": {
        "es": "la figura tiene {got} paneles; se esperaban {expected}",
        "en": "the figure has {got} panels; expected {expected}",
    },
    "figure.grid": {
        "es": "los paneles forman una rejilla {got}; se esperaba {expected}",
        "en": "the panels form a {got} grid; expected {expected}",
    },
    "figure.title": {
        "es": "el panel {index} tiene el título «{got}»; se esperaba «{expected}»",
        "en": "panel {index} is titled '{got}'; expected '{expected}'",
    },
    "figure.title_pattern": {
        "es": "el panel {index} tiene el título «{got}», que no sigue el formato pedido ({expected})",
        "en": "panel {index} is titled '{got}', which does not follow the requested format ({expected})",
    },
    "figure.image": {
        "es": "el panel {index} no muestra ninguna imagen",
        "en": "panel {index} shows no image",
    },
    "figure.lines": {
        "es": "el panel {index} tiene {got} curvas; se esperaban al menos {expected}",
        "en": "panel {index} has {got} curves; at least {expected} expected",
    },
    "figure.label": {
        "es": "el panel {index} no tiene etiqueta en el eje {axis}",
        "en": "panel {index} has no {axis}-axis label",
    },
    "figure.legend": {
        "es": "el panel {index} no tiene leyenda",
        "en": "panel {index} has no legend",
    },
    "figure.not_figure": {
        "es": "se esperaba una figura de matplotlib, no {type}",
        "en": "expected a matplotlib figure, not {type}",
    },
    "cm.shape": {
        "es": "la matriz de confusión tiene forma {got}; con {classes} clases debe ser {expected}",
        "en": "the confusion matrix has shape {got}; with {classes} classes it must be {expected}",
    },
    "cm.total": {
        "es": "la matriz de confusión suma {got}; hay {expected} predicciones",
        "en": "the confusion matrix adds up to {got}; there are {expected} predictions",
    },
    "cm.inconsistent": {
        "es": "la matriz de confusión no corresponde a las etiquetas y predicciones (fila {row}, columna {col}: {got} en vez de {expected}); "
              "¿filas = clase real, columnas = clase predicha?",
        "en": "the confusion matrix does not match the labels and predictions (row {row}, column {col}: {got} instead of {expected}); "
              "rows = true class, columns = predicted class?",
    },
    "cm.lengths": {
        "es": "y_true tiene {a} elementos e y_pred {b}",
        "en": "y_true has {a} items and y_pred {b}",
    },
    "history.keys": {
        "es": "el historial de entrenamiento no tiene «{missing}» (tiene: {present}); ¿entrenaste con validación?",
        "en": "the training history has no '{missing}' (it has: {present}); did you train with validation?",
    },
    "history.epochs": {
        "es": "el historial tiene {got} épocas; se esperaban al menos {expected}",
        "en": "the history has {got} epochs; at least {expected} expected",
    },
    "history.not_finite": {
        "es": "la pérdida de entrenamiento no es finita (NaN/inf): revisa la tasa de aprendizaje y la normalización",
        "en": "the training loss is not finite (NaN/inf): check the learning rate and the normalisation",
    },
})


# --------------------------------------------------------------------------- outcome & context

@dataclass
class CheckOutcome:
    """Result of one check: failures make it fail, notes are advice only."""

    key: str
    failures: list[Message] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures

    def render(self, lang: str | None = None) -> str:
        lines = [m.render(lang) for m in self.failures + self.notes]
        return "\n".join(lines) if lines else messages.render("check.passed", lang, key=self.key)

    def to_json(self) -> dict:
        return {"key": self.key, "passed": self.passed,
                "failures": [m.to_json() for m in self.failures],
                "notes": [m.to_json() for m in self.notes],
                "details": artifacts.to_plain(self.details)}


@dataclass
class Context:
    """What a check may consult besides the artifact."""

    profile: str
    assignment: AssignmentSpec | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    model_file: Path | None = None      # the .keras file, for compile-config hints

    @property
    def num_classes(self) -> int | None:
        """The assignment's number of classes under this profile (a stand-in may have fewer)."""
        value = self.assignment.num_classes if self.assignment else None
        return value.get(self.profile) if isinstance(value, Mapping) else value

    def classes_for(self, spec: Spec) -> int | None:
        """The spec's own ``num_classes`` for this profile, else the assignment's."""
        return spec.option("num_classes", self.num_classes, profile=self.profile)


# --------------------------------------------------------------------------- kinds

@dataclass(frozen=True)
class Kind:
    """A kind of check: artifact format, object → exportable, and the judgement."""

    fmt: str
    check: Callable[[Any, Spec, Context], CheckOutcome]
    prepare: Callable[[Any], Any] = lambda obj: obj


KINDS: dict[str, Kind] = {}


def kind(name: str, fmt: str, prepare: Callable[[Any], Any] | None = None):
    def decorator(fn):
        KINDS[name] = Kind(fmt=fmt, check=fn, prepare=prepare or (lambda obj: obj))
        return fn
    return decorator


def _shape_tuple(shape: Any) -> tuple:
    return tuple(None if (d is None or d == "None") else int(d) for d in shape)


@functools.lru_cache(maxsize=16)
def _reference_model(name: str, frozen_kwargs: tuple):
    from cnnkit import models

    return models.build(name, **dict(frozen_kwargs))


def _freeze(mapping: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in mapping.items()))


def reference_model(spec: Spec):
    return _reference_model(spec.options["reference"], _freeze(spec.options.get("kwargs", {})))


@kind("architecture", "config")
def _check_architecture(model, spec: Spec, ctx: Context) -> CheckOutcome:
    from .archdiff import compare

    outcome = CheckOutcome(spec.key)
    diff = compare(model, reference_model(spec), num_classes=ctx.classes_for(spec),
                   ignore=spec.option("ignore", ()), check_params=spec.option("check_params", True))
    outcome.failures.extend(diff.differences[: spec.option("max_messages", 6)])
    outcome.details["params"] = diff.student_params
    return outcome


@kind("params", "config")
def _check_params(model, spec: Spec, ctx: Context) -> CheckOutcome:
    outcome = CheckOutcome(spec.key)
    expected = spec.option("expected", profile=ctx.profile)
    if expected is None:
        expected = int(reference_model(spec).count_params())
    got = int(model.count_params())
    outcome.details["params"] = got
    if got != int(expected):
        outcome.failures.append(Message("params.total", {"got": got, "expected": int(expected)}))
    trainable = spec.option("trainable", profile=ctx.profile)
    if trainable is not None:
        got_trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
        if got_trainable != int(trainable):
            outcome.failures.append(Message("params.trainable", {"got": got_trainable, "expected": int(trainable)}))
    return outcome


@kind("output_shape", "config")
def _check_output_shape(model, spec: Spec, ctx: Context) -> CheckOutcome:
    outcome = CheckOutcome(spec.key)
    expected = _shape_tuple(spec.option("expected", profile=ctx.profile))
    got = _shape_tuple(model.output_shape)
    if got != expected:
        outcome.failures.append(Message("shape.output", {"got": got, "expected": expected}))
    return outcome


def _classifier_failures(model, num_classes: int | None, spec: Spec, ctx: Context) -> tuple[list, list]:
    """Output units/activation problems (failures) and from_logits hints (notes)."""
    failures, notes = [], []
    last = _last_layer_with_units(model)
    activation = _output_activation(model)
    units = _shape_tuple(model.output_shape)[-1]
    if num_classes is not None and units != num_classes:
        failures.append(Message("classifier.units", {"layer": type(last).__name__ if last else "?",
                                                     "got": units, "expected": num_classes}))
    allowed = spec.option("output_activations", ["softmax", "linear"])
    if num_classes and num_classes > 2 and activation not in allowed:
        failures.append(Message("classifier.activation", {"got": activation, "classes": num_classes}))
    if activation in ("softmax", "sigmoid") and _loss_from_logits(ctx.model_file, model):
        notes.append(Message("classifier.logits_hint", {"activation": activation}))
    return failures, notes


def _last_layer_with_units(model):
    for layer in reversed(model.layers):
        if hasattr(layer, "units") or hasattr(layer, "filters"):
            return layer
    return None


def _output_activation(model) -> str:
    """The activation applied last: a trailing Activation/Softmax layer or the last Dense's."""
    from .archdiff import _ACTIVATION_LAYERS, _activation_name

    for layer in reversed(model.layers):
        kind_name = type(layer).__name__
        if kind_name in _ACTIVATION_LAYERS:
            config = layer.get_config()
            return _activation_name(config.get("activation")) if kind_name == "Activation" else kind_name.lower()
        if kind_name in ("Dropout", "Flatten", "Reshape"):
            continue
        if hasattr(layer, "activation"):
            return _activation_name(layer.get_config().get("activation"))
        return "linear"
    return "linear"


def _loss_from_logits(model_file: Path | None, model=None) -> bool:
    """Whether the model was compiled with a ``from_logits=True`` loss.

    The grader reads the ``.keras`` file's compile config; in the kernel the
    live model's loss object is serialised instead."""
    if model_file is not None:
        config = artifacts.compile_config(model_file) or {}
        return '"from_logits": true' in _json_text(config.get("loss"))
    loss = getattr(model, "loss", None)
    if loss is None or isinstance(loss, str):
        return False
    try:
        import keras

        return '"from_logits": true' in _json_text(keras.losses.serialize(loss))
    except Exception:
        return bool(getattr(loss, "from_logits", False))


def _json_text(obj: Any) -> str:
    import json

    try:
        return json.dumps(obj).lower()
    except (TypeError, ValueError):
        return ""


@kind("classifier", "config")
def _check_classifier(model, spec: Spec, ctx: Context) -> CheckOutcome:
    outcome = CheckOutcome(spec.key)
    failures, notes = _classifier_failures(model, ctx.classes_for(spec), spec, ctx)
    outcome.failures += failures
    outcome.notes += notes
    return outcome


@functools.lru_cache(maxsize=8)
def _grader_test_data(dataset: str, profile: str, split: str):
    """The grader's own evaluation data: a course dataset name (``"cifar10"``,
    see :func:`cnnkit.data.course_dataset`) or ``"module:function"`` returning
    ``(x, y)`` for a profile name."""
    if ":" in dataset:
        import importlib

        module_name, _, attr = dataset.partition(":")
        return getattr(importlib.import_module(module_name), attr)(profile)
    from cnnkit.data import course_dataset
    from cnnkit.profile import Profile

    data = course_dataset(dataset, Profile(profile))
    if split == "test":
        return data.x_test, data.y_test
    if split == "val":
        return data.x_val, data.y_val
    raise ValueError(f"unknown split {split!r}")


def model_inputs(x: np.ndarray, spec: Spec) -> np.ndarray:
    """Images as the assignment's models receive them (``input_scale``, ``resize``, ``channels``)."""
    x = np.asarray(x)
    channels = spec.option("channels")
    if channels and x.shape[-1] != channels:
        x = np.repeat(x, channels // x.shape[-1], axis=-1)
    resize = spec.option("resize")
    if resize and tuple(x.shape[1:3]) != tuple(resize):
        from PIL import Image

        x = np.stack([np.asarray(Image.fromarray(img.squeeze()).resize(tuple(resize)[::-1], Image.BILINEAR))
                      .reshape(*resize, -1) for img in x.astype(np.uint8)])
    scale = spec.option("input_scale", "unit")
    x = x.astype("float32")
    if scale == "unit":
        x = x / 255.0
    elif scale != "raw":
        raise ValueError(f"unknown input_scale {scale!r}")
    return x


@kind("accuracy", "model")
def _check_accuracy(model, spec: Spec, ctx: Context) -> CheckOutcome:
    outcome = CheckOutcome(spec.key)
    num_classes = ctx.classes_for(spec)
    failures, notes = _classifier_failures(model, num_classes, spec, ctx)
    outcome.notes += notes
    if any(m.code == "classifier.units" for m in failures):
        outcome.failures += failures  # predictions would be meaningless
        return outcome
    if "x" in ctx.extras:   # ad-hoc use: the caller gave the data
        x, y = np.asarray(ctx.extras["x"]), np.asarray(ctx.extras["y"])
    else:
        x, y = _grader_test_data(spec.option("dataset"), ctx.profile, spec.option("split", "test"))
        x = model_inputs(x, spec)
    expected_input = _shape_tuple(model.inputs[0].shape)[1:]
    if tuple(x.shape[1:]) != expected_input:
        outcome.failures.append(Message("classifier.input", {"got": expected_input, "expected": tuple(x.shape[1:])}))
        return outcome
    try:
        probabilities = model.predict(x, batch_size=spec.option("batch_size", 256), verbose=0)
    except Exception as exc:
        outcome.failures.append(Message("accuracy.predict_failed", {"error": f"{type(exc).__name__}: {exc}"}))
        return outcome
    predicted = np.asarray(probabilities).reshape(len(x), -1).argmax(axis=1)
    y = np.asarray(y).reshape(-1)
    accuracy = float((predicted == y).mean())
    threshold = float(spec.option("threshold", profile=ctx.profile))
    outcome.details.update(accuracy=accuracy, threshold=threshold, n=int(len(y)))
    if accuracy < threshold:
        outcome.failures.append(Message("accuracy.low", {"got": accuracy, "threshold": threshold, "n": int(len(y))}))
    else:
        outcome.notes.append(Message("accuracy.ok", {"got": accuracy, "threshold": threshold}))
    reported = ctx.extras.get("reported")
    if reported is not None and type(reported) in (int, float):
        # Students report either a fraction (0.71) or a percentage (71.0).
        reported_fraction = float(reported) / 100 if float(reported) > 1.0 else float(reported)
        if abs(reported_fraction - accuracy) > float(spec.option("reported_tolerance", 0.05)):
            outcome.failures.append(Message("accuracy.reported_mismatch",
                                            {"reported": reported_fraction, "got": accuracy}))
    return outcome


_TYPES = {"int": (int,), "float": (float, int), "number": (float, int), "str": (str,),
          "bool": (bool,), "list": (list,), "dict": (dict,)}


def _expected_value(spec: Spec, profile: str | None = None) -> Any:
    source = spec.option("expected_from")
    if source is None:
        return spec.option("expected", profile=profile)
    module_name, _, attr = source.partition(":")
    import importlib

    fn = getattr(importlib.import_module(module_name), attr)
    return fn(*spec.option("args", []), **spec.option("kwargs", {}))


def _values_equal(got: Any, expected: Any, rel: float, abs_tol: float) -> bool:
    if type(expected) is bool or type(got) is bool:
        return type(got) is type(expected) and got == expected
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(float(got), float(expected), rel_tol=rel, abs_tol=abs_tol)
    if isinstance(expected, str) and isinstance(got, str):
        return got.strip().lower() == expected.strip().lower()
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        return len(got) == len(expected) and all(_values_equal(g, e, rel, abs_tol) for g, e in zip(got, expected))
    if isinstance(expected, dict) and isinstance(got, dict):
        return got.keys() == expected.keys() and all(_values_equal(got[k], expected[k], rel, abs_tol) for k in expected)
    return False


@kind("value", "json", prepare=artifacts.to_plain)
def _check_value(value, spec: Spec, ctx: Context) -> CheckOutcome:
    outcome = CheckOutcome(spec.key)
    wanted_type = spec.option("type")
    if wanted_type:
        allowed = _TYPES[wanted_type]
        if type(value) not in allowed or (wanted_type in ("int", "float", "number") and type(value) is bool):
            outcome.failures.append(Message("value.type", {"key": spec.key, "expected": wanted_type,
                                                           "got": type(value).__name__}))
            return outcome
    low, high = spec.option("min", profile=ctx.profile), spec.option("max", profile=ctx.profile)
    if low is not None or high is not None:
        # A range: e.g. a CPU time, or a probability in [0, 1].
        if not isinstance(value, (int, float)) or isinstance(value, bool) or \
                (low is not None and value < low) or (high is not None and value > high):
            outcome.failures.append(Message("value.range", {"key": spec.key, "got": value,
                                                            "low": "-∞" if low is None else low,
                                                            "high": "∞" if high is None else high}))
        if spec.option("expected") is None and spec.option("one_of") is None and spec.option("expected_from") is None:
            return outcome
    one_of = spec.option("one_of", profile=ctx.profile)
    expected = _expected_value(spec, ctx.profile) if one_of is None else None
    candidates = one_of if one_of is not None else [expected]
    rel, abs_tol = float(spec.option("rel_tol", 1e-9)), float(spec.option("abs_tol", 0.0))
    if not any(_values_equal(value, candidate, rel, abs_tol) for candidate in candidates):
        code = "value.wrong_reveal" if spec.option("reveal", False) else "value.wrong"
        outcome.failures.append(Message(code, {"key": spec.key, "got": value,
                                               "expected": expected if one_of is None else one_of}))
    return outcome


def summarize_figure(fig: Any) -> dict:
    """The structure of a matplotlib figure as plain data (what figure checks judge)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover
        Figure = ()
    if fig is not None and not isinstance(fig, Figure) and hasattr(fig, "figure"):
        fig = fig.figure  # an Axes, or pyplot's current figure holder
    if not isinstance(fig, Figure):
        raise ArtifactError("figure.not_figure", type=type(fig).__name__)
    panels, grid = [], None
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        position = None
        spec = ax.get_subplotspec() if hasattr(ax, "get_subplotspec") else None
        if spec is not None:
            rows, cols = spec.get_gridspec().get_geometry()
            grid = grid or [rows, cols]
            position = [spec.rowspan.start, spec.colspan.start]
        panels.append({
            "title": ax.get_title() or ax.get_title(loc="left") or ax.get_title(loc="right"),
            "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "images": len(ax.images), "lines": len(ax.lines), "patches": len(ax.patches),
            "collections": len(ax.collections), "legend": ax.get_legend() is not None,
            "position": position,
        })
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    return {"axes": panels, "grid": grid, "suptitle": suptitle}


@kind("figure", "json", prepare=summarize_figure)
def _check_figure(summary: dict, spec: Spec, ctx: Context) -> CheckOutcome:
    outcome = CheckOutcome(spec.key)
    panels = summary["axes"]
    fail = outcome.failures.append
    expected_axes = spec.option("axes")
    if expected_axes is not None and len(panels) != expected_axes:
        fail(Message("figure.axes", {"got": len(panels), "expected": expected_axes}))
    grid = spec.option("grid")
    if grid is not None and summary.get("grid") != list(grid):
        got = "×".join(map(str, summary["grid"])) if summary.get("grid") else "?"
        fail(Message("figure.grid", {"got": got, "expected": "×".join(map(str, grid))}))
    field_name = spec.option("title_field", "title")
    titles = spec.option("titles")
    pattern = spec.option("title_pattern")
    for i, panel in enumerate(panels, start=1):
        text = panel.get(field_name, "")
        if titles is not None and i <= len(titles) and text.strip() != titles[i - 1]:
            fail(Message("figure.title", {"index": i, "got": text, "expected": titles[i - 1]}))
        if pattern and not re.fullmatch(pattern, text.strip()):
            fail(Message("figure.title_pattern", {"index": i, "got": text, "expected": spec.option("title_format", pattern)}))
        if spec.option("images") and panel["images"] < 1:
            fail(Message("figure.image", {"index": i}))
        min_lines = spec.option("min_lines")
        if min_lines and panel["lines"] < min_lines:
            fail(Message("figure.lines", {"index": i, "got": panel["lines"], "expected": min_lines}))
        for axis in spec.option("labels", []):
            if not panel.get(f"{axis}label", "").strip():
                fail(Message("figure.label", {"index": i, "axis": axis}))
        if spec.option("legend") and not panel["legend"]:
            fail(Message("figure.legend", {"index": i}))
    del outcome.failures[spec.option("max_messages", 6):]
    return outcome


def _confusion_payload(obj: Any) -> dict:
    if isinstance(obj, dict):
        return {k: np.asarray(obj[k]) for k in ("cm", "y_true", "y_pred")}
    cm, y_true, y_pred = obj
    return {"cm": np.asarray(cm), "y_true": np.asarray(y_true), "y_pred": np.asarray(y_pred)}


@kind("confusion_matrix", "arrays", prepare=_confusion_payload)
def _check_confusion_matrix(arrays: dict, spec: Spec, ctx: Context) -> CheckOutcome:
    from sklearn.metrics import confusion_matrix

    outcome = CheckOutcome(spec.key)
    cm = np.asarray(arrays["cm"])
    y_true, y_pred = np.asarray(arrays["y_true"]).reshape(-1), np.asarray(arrays["y_pred"])
    if y_pred.ndim == 2:  # probabilities: take the predicted class
        y_pred = y_pred.argmax(axis=1)
    y_pred = y_pred.reshape(-1)
    k = ctx.classes_for(spec) or cm.shape[0]
    if cm.shape != (k, k):
        outcome.failures.append(Message("cm.shape", {"got": tuple(cm.shape), "classes": k, "expected": (k, k)}))
        return outcome
    if len(y_true) != len(y_pred):
        outcome.failures.append(Message("cm.lengths", {"a": len(y_true), "b": len(y_pred)}))
        return outcome
    if int(cm.sum()) != len(y_true):
        outcome.failures.append(Message("cm.total", {"got": int(cm.sum()), "expected": len(y_true)}))
    reference = confusion_matrix(y_true, y_pred, labels=list(range(k)))
    mismatch = np.argwhere(reference != cm)
    if len(mismatch):
        row, col = (int(v) for v in mismatch[0])
        outcome.failures.append(Message("cm.inconsistent", {"row": row, "col": col, "got": int(cm[row, col]),
                                                            "expected": int(reference[row, col])}))
    return outcome


def _history_payload(obj: Any) -> dict:
    history = getattr(obj, "history", obj)
    if not isinstance(history, dict):
        raise ArtifactError("artifact.type", where="history", type=type(obj).__name__)
    return artifacts.to_plain({str(k): [float(v) for v in vals] for k, vals in history.items()})


@kind("history", "json", prepare=_history_payload)
def _check_history(history: dict, spec: Spec, ctx: Context) -> CheckOutcome:
    outcome = CheckOutcome(spec.key)
    for key in spec.option("keys", ["loss"]):
        if key not in history:
            outcome.failures.append(Message("history.keys", {"missing": key, "present": ", ".join(sorted(history))}))
    epochs = len(history.get("loss", []))
    min_epochs = spec.option("min_epochs", profile=ctx.profile) or 1
    if epochs < int(min_epochs):
        outcome.failures.append(Message("history.epochs", {"got": epochs, "expected": int(min_epochs)}))
    if any(not isinstance(v, (int, float)) or not math.isfinite(v) for v in history.get("loss", [])):
        outcome.failures.append(Message("history.not_finite", {}))
    return outcome


def _array_payload(obj: Any) -> dict:
    return {"array": np.asarray(obj)}


@kind("array", "arrays", prepare=_array_payload)
def _check_array(arrays: dict, spec: Spec, ctx: Context) -> CheckOutcome:
    outcome = CheckOutcome(spec.key)
    array = arrays["array"]
    expected = spec.option("shape")
    if expected is not None:
        expected = tuple(None if d in (None, "None", -1) else int(d) for d in expected)
        if len(expected) != array.ndim or any(e is not None and e != g for e, g in zip(expected, array.shape)):
            outcome.failures.append(Message("shape.array", {"key": spec.key, "got": tuple(array.shape),
                                                            "expected": tuple("?" if e is None else e for e in expected)}))
    dtype_kind = spec.option("dtype_kind")
    if dtype_kind and array.dtype.kind not in dtype_kind:
        outcome.failures.append(Message("array.dtype", {"key": spec.key, "got": str(array.dtype), "expected": dtype_kind}))
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        outcome.failures.append(Message("array.not_finite", {"key": spec.key}))
    return outcome


# --------------------------------------------------------------------------- in-kernel API

_current_assignment: str | None = None


def use_assignment(assignment_id: str) -> AssignmentSpec:
    """Select the assignment whose specs ``verify`` uses (the notebook's setup cell)."""
    global _current_assignment
    spec = load_assignment(assignment_id)
    _current_assignment = assignment_id
    return spec


def current_assignment() -> AssignmentSpec:
    name = _current_assignment or os.environ.get(ASSIGNMENT_ENV)
    if not name:
        raise AssertionError(messages.render("check.no_assignment"))
    return load_assignment(name)


def _active_profile() -> str:
    from cnnkit.profile import profile

    return profile().name


def run_check(spec: Spec, artifact: Any, ctx: Context) -> CheckOutcome:
    """Judge ``artifact`` (already in its artifact format) against ``spec``."""
    return KINDS[spec.kind].check(artifact, spec, ctx)


def verify(key: str, obj: Any, *, lang: str | None = None, **extras: Any) -> None:
    """Check ``obj`` against the spec ``key`` of the current assignment.

    Exports ``obj`` (and ``extras``, e.g. ``reported=test_accuracy``) for the
    grader when ``$CNNKIT_ARTIFACTS_DIR`` is set, then judges it here so the
    student sees the outcome. Raises ``AssertionError`` with the messages when
    the check fails; prints a one-line confirmation otherwise.

    Returns ``None`` on purpose: nbgrader reads a number left as a test
    cell's value as partial credit, so a check must not leave one.
    """
    assignment = current_assignment()
    spec = assignment.spec(key)
    kind_ = KINDS[spec.kind]
    try:
        payload = kind_.prepare(obj)
        plain_extras = artifacts.to_plain(extras)
        exported = artifacts.export(payload, key, kind_.fmt)
        if extras:
            artifacts.export(plain_extras, f"{key}.extras", "json")
    except ArtifactError as exc:
        raise AssertionError(messages.render(exc.code, lang, **exc.params)) from None
    ctx = Context(profile=_active_profile(), assignment=assignment, extras=plain_extras,
                  model_file=exported if kind_.fmt == "model" else None)
    outcome = run_check(spec, payload, ctx)
    if not outcome.passed:
        raise AssertionError(outcome.render(lang))
    print(outcome.render(lang))


def _adhoc(kind_name: str, obj: Any, lang: str | None, extras: Mapping[str, Any] | None = None,
           **options: Any) -> None:
    spec = Spec(key=options.pop("key", kind_name), kind=kind_name, options=options)
    kind_ = KINDS[kind_name]
    try:
        payload = kind_.prepare(obj)
    except ArtifactError as exc:
        raise AssertionError(messages.render(exc.code, lang, **exc.params)) from None
    try:
        assignment = current_assignment()
    except (AssertionError, FileNotFoundError):
        assignment = None
    outcome = run_check(spec, payload, Context(profile=_active_profile(), assignment=assignment,
                                               extras=extras or {}))
    if not outcome.passed:
        raise AssertionError(outcome.render(lang))
    # No return value: a test cell's last value is read by nbgrader as partial credit.


def assert_output_shape(model, expected, *, lang: str | None = None) -> None:
    """``model.output_shape`` equals ``expected`` (use ``None`` for the batch dimension)."""
    _adhoc("output_shape", model, lang, expected=list(expected))


def assert_param_count(model, expected: int, *, trainable: int | None = None, lang: str | None = None) -> None:
    """The model has exactly ``expected`` parameters (and ``trainable`` trainable ones)."""
    _adhoc("params", model, lang, expected=int(expected), trainable=trainable)


def assert_architecture(model, reference: str, *, num_classes: int | None = None, ignore=(),
                        lang: str | None = None, **reference_kwargs) -> None:
    """The model matches ``cnnkit.models.build(reference, **reference_kwargs)`` layer by layer."""
    _adhoc("architecture", model, lang, reference=reference, kwargs=reference_kwargs,
                  num_classes=num_classes, ignore=list(ignore))


def assert_classifier(model, num_classes: int, *, lang: str | None = None) -> None:
    """The output layer has ``num_classes`` units and a softmax (or linear) activation."""
    _adhoc("classifier", model, lang, num_classes=num_classes)


def assert_accuracy(model, x, y, threshold: float, *, lang: str | None = None) -> None:
    """``model`` classifies at least ``threshold`` of ``(x, y)`` correctly."""
    _adhoc("accuracy", model, lang, extras={"x": x, "y": y}, threshold=float(threshold),
                  num_classes=None)


def assert_exact(value, expected, *, key: str = "value", lang: str | None = None, **tolerances) -> None:
    """``value`` has ``expected``'s exact type and value (plain data only)."""
    type_name = {int: "int", float: "float", str: "str", bool: "bool", list: "list", dict: "dict"}.get(type(expected))
    _adhoc("value", value, lang, key=key, expected=expected, type=type_name, reveal=True, **tolerances)


def assert_figure(fig, *, lang: str | None = None, **options) -> None:
    """Figure structure: ``axes``, ``grid``, ``titles``/``title_pattern``, ``images``, ``min_lines``, ``labels``, ``legend``."""
    _adhoc("figure", fig, lang, **options)


def assert_confusion_matrix(cm, y_true, y_pred, *, num_classes: int | None = None,
                            lang: str | None = None) -> None:
    """``cm`` is scikit-learn's confusion matrix of ``(y_true, y_pred)`` (rows: true class)."""
    _adhoc("confusion_matrix", (cm, y_true, y_pred), lang, num_classes=num_classes)


def assert_history(history, *, keys=("loss",), min_epochs: int = 1, lang: str | None = None) -> None:
    """A Keras ``History`` (or its dict) with ``keys`` and at least ``min_epochs`` finite epochs."""
    _adhoc("history", history, lang, keys=list(keys), min_epochs=min_epochs)

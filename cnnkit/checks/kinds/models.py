"""A model's structure: output shape, parameter counts, layer-by-layer architecture, classifier head."""
from __future__ import annotations

import numpy as np

from ... import messages
from ..archdiff import compare, operations, output_activation, output_shape
from ..outcome import CheckOutcome
from ..spec import Option, Spec, kind
from ._common import reference_model, shape_tuple

messages.register({
    "params.total": {
        "es": "el modelo tiene {got:,} parámetros; se esperaban {expected:,}",
        "en": "the model has {got:,} parameters; expected {expected:,}",
    },
    "params.trainable": {
        "es": "el modelo tiene {got:,} parámetros entrenables; se esperaban {expected:,}",
        "en": "the model has {got:,} trainable parameters; expected {expected:,}",
    },
    "params.diagnosis": {"es": "{es}", "en": "{en}"},
    "shape.output": {
        "es": "la salida del modelo tiene forma {got}; se esperaba {expected}",
        "en": "the model's output has shape {got}; expected {expected}",
    },
    "classifier.units": {
        "es": "la última capa ({layer}) tiene {got} unidades; el conjunto de datos tiene {expected} clases",
        "en": "the last layer ({layer}) has {got} units; the dataset has {expected} classes",
    },
    "classifier.activation": {
        "es": "la última capa usa activación {got}; para clasificar {classes} clases usa softmax",
        "en": "the last layer uses activation {got}; use softmax to classify {classes} classes",
    },
    "classifier.logits_hint": {
        "es": "la salida ya aplica {activation} pero la pérdida usa from_logits=True: "
              "quita from_logits=True (o usa una salida lineal)",
        "en": "the output already applies {activation} but the loss uses from_logits=True: "
              "drop from_logits=True (or use a linear output)",
    },
    "layers.attrs": {
        "es": "las capas {type} del modelo son {got}; se esperaban {expected}",
        "en": "the model's {type} layers are {got}; expected {expected}",
    },
    "layers.missing": {
        "es": "el modelo no contiene ninguna capa {layer}{hint_es}",
        "en": "the model contains no {layer} layer{hint_en}",
    },
})

MODEL_READS = "a keras.Model (its configuration)"


@kind("output_shape", "config", reads=MODEL_READS, options={
    "expected": Option("shape", None, "the output shape, 'None' for the batch", profiled=True, required=True),
})
def _check_output_shape(model, spec: Spec, ctx) -> CheckOutcome:
    """The model's output shape."""
    outcome = CheckOutcome(spec.key)
    expected = shape_tuple(spec.option("expected", ctx.profile))
    got = output_shape(model)
    if got != expected:
        outcome.fail("shape.output", got=got, expected=expected)
    return outcome


messages.register({
    "weights.not_trained": {
        "es": "el optimizador del modelo dio {steps} pasos; se esperaban al menos {expected}: ¿entrenaste este "
              "modelo con model.fit?",
        "en": "the model's optimizer took {steps} steps; at least {expected} expected: did you train this model "
              "with model.fit?",
    },
})


@kind("weights", "model", reads="a keras.Model with its weights (for the checks that recompute from it)", options={
    "expected": Option("shape", None, "the output shape, 'None' for the batch", profiled=True),
    "min_steps": Option("int", None, "the model's optimizer must have taken at least this many steps "
                                     "(it was trained)", profiled=True),
})
def _check_weights(model, spec: Spec, ctx) -> CheckOutcome:
    """Exports the model with its weights for keys that recompute from it; judges its output shape (and training)."""
    from ..artifacts import _iterations

    outcome = CheckOutcome(spec.key)
    expected = spec.option("expected", ctx.profile)
    if expected is not None and output_shape(model) != shape_tuple(expected):
        outcome.fail("shape.output", got=output_shape(model), expected=shape_tuple(expected))
    min_steps = spec.option("min_steps", ctx.profile)
    if min_steps:
        steps = ctx.compile_info(spec.key).get("optimizer_iterations") if ctx.side == "grader" \
            else _iterations(model)
        if type(steps) is not int or steps < min_steps:
            outcome.fail("weights.not_trained", steps=steps if type(steps) is int else 0, expected=int(min_steps))
    return outcome


def trainable_count(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@kind("params", "config", reads=MODEL_READS, options={
    "expected": Option("int", None, "total parameters (default: the reference model's)", profiled=True),
    "trainable": Option("int", None, "trainable parameters", profiled=True),
    "reference": Option("str", None, "a cnnkit.models builder whose count is expected"),
    "kwargs": Option("table", None, "keyword arguments of the reference builder"),
    "diagnoses": Option("list", [], "tables {trainable = N, es = '…', en = '…'} (optionally per profile: "
                                    "{trainable = {smoke = …, full = …}}): the message for a known wrong count"),
})
def _check_params(model, spec: Spec, ctx) -> CheckOutcome:
    """Total and trainable parameter counts, with the reason for known wrong counts."""
    outcome = CheckOutcome(spec.key)
    expected = spec.option("expected", ctx.profile)
    if expected is None:
        expected = int(reference_model(spec).count_params())
    got = int(model.count_params())
    outcome.details["params"] = got
    if got != int(expected):
        outcome.fail("params.total", got=got, expected=int(expected))
    trainable = spec.option("trainable", ctx.profile)
    if trainable is not None:
        got_trainable = trainable_count(model)
        outcome.details["trainable"] = got_trainable
        if got_trainable != int(trainable):
            for diagnosis in spec.option("diagnoses"):
                wanted = diagnosis.get("trainable")
                wanted = wanted.get(ctx.profile) if isinstance(wanted, dict) else wanted
                if wanted == got_trainable:
                    outcome.fail("params.diagnosis", es=diagnosis["es"], en=diagnosis["en"])
                    break
            else:
                outcome.fail("params.trainable", got=got_trainable, expected=int(trainable))
    return outcome


@kind("architecture", "config", reads=MODEL_READS, options={
    "reference": Option("str", None, "the cnnkit.models builder to compare with", required=True),
    "kwargs": Option("table", None, "keyword arguments of the builder"),
    "num_classes": Option("int", None, "classes of the dataset (default: the assignment's)", profiled=True),
    "ignore": Option("list", [], "layer types left out of the comparison"),
    "check_params": Option("bool", True, "also compare the total parameter count"),
})
def _check_architecture(model, spec: Spec, ctx) -> CheckOutcome:
    """Layer by layer against a reference builder, naming each differing layer as summary() numbers it."""
    outcome = CheckOutcome(spec.key)
    diff = compare(model, reference_model(spec), num_classes=ctx.classes_for(spec),
                   ignore=spec.option("ignore"), check_params=spec.option("check_params"))
    outcome.failures.extend(diff.differences[: spec.option("max_messages")])
    outcome.details["params"] = diff.student_params
    return outcome


def _last_layer_with_units(model):
    for layer in reversed(model.layers):
        if hasattr(layer, "units") or hasattr(layer, "filters"):
            return layer
    return None


def from_logits(compile_config: dict | None) -> bool:
    """Whether a compile config's loss says ``from_logits=True``."""
    import json

    loss = (compile_config or {}).get("loss")
    try:
        return '"from_logits": true' in json.dumps(loss).lower()
    except (TypeError, ValueError):
        return False


def _live_from_logits(model) -> bool:
    try:
        return from_logits(model.get_compile_config() if getattr(model, "compiled", False) else None)
    except Exception:
        return bool(getattr(getattr(model, "loss", None), "from_logits", False))


def classifier_problems(model, num_classes: int | None, spec: Spec, ctx, key: str | None = None) -> CheckOutcome:
    """Output units and activation (failures) and a from_logits mismatch (a note)."""
    outcome = CheckOutcome(spec.key)
    last = _last_layer_with_units(model)
    activation = output_activation(model)
    units = (output_shape(model) or (None,))[-1]
    if num_classes is not None and units != num_classes:
        outcome.fail("classifier.units", layer=type(last).__name__ if last else "?", got=units, expected=num_classes)
    allowed = spec.options.get("output_activations", ["softmax", "linear"])
    if num_classes and num_classes > 2 and activation not in allowed:
        outcome.fail("classifier.activation", got=activation, classes=num_classes)
    compiled = ctx.compile_info(key or spec.key).get("compile_config") if ctx.side == "grader" else None
    logits = from_logits(compiled) if ctx.side == "grader" else _live_from_logits(model)
    if activation in ("softmax", "sigmoid") and logits:
        outcome.note("classifier.logits_hint", activation=activation)
    return outcome


CLASSIFIER_OPTIONS = {
    "num_classes": Option("int", None, "classes of the dataset (default: the assignment's)", profiled=True),
    "output_activations": Option("list", ["softmax", "linear"], "accepted output activations"),
}


@kind("classifier", "config", reads=MODEL_READS, options=CLASSIFIER_OPTIONS)
def _check_classifier(model, spec: Spec, ctx) -> CheckOutcome:
    """One output unit per class and a softmax (or linear) output."""
    return classifier_problems(model, ctx.classes_for(spec), spec, ctx)


@kind("layer_attrs", "config", reads=MODEL_READS, options={
    "type": Option("str", None, "layer type, e.g. 'Dense'", required=True),
    "attrs": Option("list", None, "attributes of each such layer, e.g. ['units', 'activation']", required=True),
    "expected": Option("list", None, "one list of attribute values per layer, in order", profiled=True,
                       required=True),
})
def _check_layer_attrs(model, spec: Spec, ctx) -> CheckOutcome:
    """The attributes of every layer of one type, in order (e.g. the dense top of VGG-19)."""
    outcome = CheckOutcome(spec.key)
    names = spec.option("attrs")
    got = [[op.attrs.get(name) for name in names] for op in operations(model) if op.type == spec.option("type")]
    expected = spec.option("expected", ctx.profile)
    if got != expected:
        outcome.fail("layers.attrs", type=spec.option("type"), got=got, expected=expected)
    return outcome


def nested_layers(model):
    """Every layer of a model, entering nested models (a Sequential inside a Sequential)."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from nested_layers(layer)


@kind("contains_layers", "config", reads=MODEL_READS, options={
    "layers": Option("list", None, "layer type names (a trailing '*' matches a prefix, e.g. 'Random*')",
                     required=True),
    "hints": Option("table", {}, "per layer name, {es = '…', en = '…'}: what to do when it is missing"),
})
def _check_contains_layers(model, spec: Spec, ctx) -> CheckOutcome:
    """The model (nested models included) contains layers of each named type."""
    outcome = CheckOutcome(spec.key)
    present = [type(layer).__name__ for layer in nested_layers(model)]
    hints = spec.option("hints")
    for wanted in spec.option("layers"):
        found = any(name.startswith(wanted[:-1]) for name in present) if wanted.endswith("*") else wanted in present
        if not found:
            hint = hints.get(wanted, {})
            outcome.fail("layers.missing", layer=wanted, hint_es=f": {hint['es']}" if hint else "",
                         hint_en=f": {hint['en']}" if hint else "")
    return outcome

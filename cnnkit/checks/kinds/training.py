"""Training: the history Keras returned, and times the student measured."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import messages
from ...messages import nested
from ..artifacts import ArtifactError, to_plain
from ..context import select
from ..outcome import CheckOutcome
from ..spec import Option, Spec, kind
from ._common import INPUT_OPTIONS, model_inputs, probabilities

messages.register({
    "history.keys": {
        "es": "el historial de entrenamiento no tiene «{missing}» (tiene: {present}){why}",
        "en": "the training history has no '{missing}' (it has: {present}){why}",
    },
    "history.why_validation": {"es": "; ¿entrenaste con validación?", "en": "; did you train with validation?"},
    "history.why_metric": {"es": "; ¿compilaste con metrics=[\"accuracy\"]?",
                           "en": "; did you compile with metrics=[\"accuracy\"]?"},
    "history.keras2_name": {
        "es": "el historial llama «{got}» a «{modern}» (nombre de Keras 2): se acepta; en Keras 3 usa metrics=[\"accuracy\"]",
        "en": "the history calls '{modern}' '{got}' (the Keras 2 name): accepted; in Keras 3 use metrics=[\"accuracy\"]",
    },
    "history.epochs": {
        "es": "el historial tiene {got} épocas; se esperaban al menos {expected}",
        "en": "the history has {got} epochs; at least {expected} expected",
    },
    "history.too_many_epochs": {
        "es": "el historial tiene {got} épocas; el enunciado pide como mucho {expected}",
        "en": "the history has {got} epochs; the assignment asks for at most {expected}",
    },
    "history.not_finite": {
        "es": "la pérdida de entrenamiento no es finita (NaN/inf): revisa la tasa de aprendizaje y la normalización",
        "en": "the training loss is not finite (NaN/inf): check the learning rate and the normalisation",
    },
    "history.malformed": {
        "es": "el historial debe ser el History que devuelve fit (o su .history): listas de números por métrica",
        "en": "the history must be the History that fit returns (or its .history): lists of numbers per metric",
    },
    "history.not_trained": {
        "es": "el historial tiene {epochs} épocas, pero el optimizador del modelo solo dio {steps} pasos: "
              "el historial no es el del entrenamiento de este modelo",
        "en": "the history has {epochs} epochs, but the model's optimizer took only {steps} steps: "
              "the history is not this model's training",
    },
    "history.no_model": {
        "es": "el historial no viene con el modelo entrenado («{model}»): entrena ese modelo en este cuaderno",
        "en": "the history does not come with its trained model ('{model}'): train that model in this notebook",
    },
    "history.validated_on_test": {
        "es": "la pérdida de validación de la época {epoch} ({val:.4f}) es la del modelo sobre el conjunto de test "
              "({test:.4f}): validaste con el test; separa la validación de los datos de entrenamiento "
              "(validation_split o train_val_split)",
        "en": "the validation loss of epoch {epoch} ({val:.4f}) is the model's loss on the test set ({test:.4f}): "
              "you validated on the test set; take validation from the training data "
              "(validation_split or train_val_split)",
    },
    "time.positive": {
        "es": "«{key}» debe ser un número de segundos mayor que cero (un float), no {got!r}",
        "en": "'{key}' must be a number of seconds above zero (a float), not {got!r}",
    },
    "time.mismatch": {
        "es": "«{key}» vale {got:.2f} s, pero el corrector midió {measured:.2f} s de {clock} en esa celda: "
              "mide solo el entrenamiento, con {how}",
        "en": "'{key}' is {got:.2f} s, but the grader measured {measured:.2f} s of {clock} in that cell: "
              "time the training only, with {how}",
    },
    "time.unmeasured": {
        "es": "el corrector no pudo medir el tiempo de la celda que calcula «{key}» (no llegó a ejecutarse)",
        "en": "the grader could not time the cell that computes '{key}' (it did not run)",
    },
    "time.clock_cpu": {"es": "CPU", "en": "CPU time"},
    "time.clock_wall": {"es": "reloj", "en": "wall-clock time"},
})

KERAS2_NAMES = {"accuracy": "acc", "val_accuracy": "val_acc"}


def _history_payload(obj: Any) -> dict:
    history = getattr(obj, "history", obj)
    if not isinstance(history, dict):
        raise ArtifactError("artifact.type", where="history", type=type(obj).__name__)
    return to_plain({str(k): [float(v) for v in values] for k, values in history.items()})


def sparse_crossentropy(probs: np.ndarray, y: np.ndarray, *, logits: bool = False) -> float:
    """Mean sparse categorical cross-entropy as Keras computes it (probabilities clipped to 1e-7)."""
    probs = np.asarray(probs, dtype="float64")
    if logits:
        probs = np.exp(probs - probs.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
    else:
        probs = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-7, None)
    picked = np.clip(probs[np.arange(len(y)), np.asarray(y).reshape(-1)], 1e-7, 1 - 1e-7)
    return float(-np.log(picked).mean())


@kind("history", "json", reads="the History of model.fit (or its .history dict)", prepare=_history_payload,
      options={
          "keys": Option("list", ["loss"], "metrics the history must have (Keras 2's acc/val_acc accepted)"),
          "min_epochs": Option("int", 1, "at least this many epochs", profiled=True),
          "max_epochs": Option("int", None, "at most this many epochs", profiled=True),
          "model": Option("str", None, "key of the model it trained: its optimizer must have taken >= 1 step "
                                       "per epoch"),
          "not_validated_on": Option("str", None, "with `model`: fail when a val_loss is the model's loss on "
                                                  "this public split (e.g. 'test')"),
          "dataset": Option("str", None, "dataset of not_validated_on"),
          **INPUT_OPTIONS,
      })
def _check_history(history: Any, spec: Spec, ctx) -> CheckOutcome:
    """Metric names, epoch count and finite losses; consistency with the trained model; no validation on test."""
    outcome = CheckOutcome(spec.key)
    if not isinstance(history, dict) or not all(isinstance(v, list) and all(type(x) in (int, float) for x in v)
                                                for v in history.values()):
        return outcome.fail("history.malformed")
    for key in spec.option("keys"):
        if key in history:
            continue
        old = KERAS2_NAMES.get(key)
        if old in history:
            outcome.note("history.keras2_name", got=old, modern=key)
            continue
        why = "history.why_validation" if key.startswith("val_") else "history.why_metric"
        outcome.fail("history.keys", missing=key, present=", ".join(sorted(history)), why=nested(why))
    epochs = len(history.get("loss", []))
    min_epochs = int(spec.option("min_epochs", ctx.profile) or 1)
    if epochs < min_epochs:
        outcome.fail("history.epochs", got=epochs, expected=min_epochs)
    max_epochs = spec.option("max_epochs", ctx.profile)
    if max_epochs is not None and epochs > max_epochs:
        outcome.fail("history.too_many_epochs", got=epochs, expected=int(max_epochs))
    if any(not math.isfinite(v) for v in history.get("loss", [])):
        outcome.fail("history.not_finite")
    model_key = spec.option("model")
    if model_key and ctx.side == "grader":
        # A history travels with the model it trained: no model, or a model whose optimizer took
        # fewer steps than the history has epochs, means the history is not that training's.
        try:
            ctx.related(model_key)
        except ArtifactError as exc:
            outcome.fail("history.no_model", model=model_key)
        else:
            steps = ctx.compile_info(model_key).get("optimizer_iterations")
            if type(steps) is not int or steps < epochs:
                outcome.fail("history.not_trained", epochs=epochs, steps=steps if type(steps) is int else 0)
    split = spec.option("not_validated_on")
    if split and model_key and history.get("val_loss"):
        _validated_on(history["val_loss"], split, spec, ctx, outcome,
                      val_accuracies=history.get("val_accuracy") or history.get("val_acc"))
    return outcome


def _validated_on(val_losses: list, split: str, spec: Spec, ctx, outcome: CheckOutcome,
                  val_accuracies: list | None = None) -> None:
    try:
        model = ctx.related(spec.option("model"))
    except ArtifactError:
        return   # the model's own check reports it missing
    if ctx.side == "kernel" and not hasattr(model, "predict"):
        return
    pair = select(ctx, spec, split)
    if pair is None:
        return
    x, y = pair
    probs = probabilities(model, model_inputs(x, spec), spec)
    from ..archdiff import output_activation

    test_loss = sparse_crossentropy(probs, y, logits=output_activation(model) == "linear")
    test_accuracy = float((probs.argmax(axis=1) == np.asarray(y).reshape(-1)).mean())
    # Validation on the test set gives the model's test loss to float precision (same images,
    # same final weights: ~1e-6 relative across backends) and, when the history has it, its test
    # accuracy within one image; another split of the same size agrees only by coincidence. (A
    # 1e-3 tolerance alone was met by chance: a barely trained smoke model, val_loss 2.2430 on
    # its own validation images against 2.2443 on x_test.)
    for epoch in (len(val_losses), int(np.argmin(val_losses)) + 1):
        val = float(val_losses[epoch - 1])
        if abs(val - test_loss) > 1e-4 * abs(test_loss) + 1e-6:
            continue
        if val_accuracies and len(val_accuracies) == len(val_losses) and \
                abs(float(val_accuracies[epoch - 1]) - test_accuracy) > 1.0 / max(1, len(y)) + 1e-6:
            continue
        outcome.fail("history.validated_on_test", epoch=epoch, val=val, test=test_loss)
        return


@kind("cell_time", "json", reads="a number of seconds the student measured", prepare=to_plain, options={
    "cell": Option("str", None, "grade id of the solution cell whose work is timed", required=True),
    "clock": Option("str", "cpu", "'cpu' (time.process_time) or 'wall' (time.time / perf_counter)"),
    "low": Option("float", 0.2, "lowest accepted share of the cell's measured time"),
    "high": Option("float", 1.3, "highest accepted multiple of the cell's measured time"),
    "slack": Option("float", 1.0, "seconds of slack on both bounds"),
})
def _check_cell_time(value: Any, spec: Spec, ctx) -> CheckOutcome:
    """A positive float, within what the grader measured for that cell from outside the kernel."""
    outcome = CheckOutcome(spec.key)
    if type(value) not in (float, int) or isinstance(value, bool) or not value > 0:
        return outcome.fail("time.positive", key=spec.key, got=value)
    clock = spec.option("clock")
    measured = ctx.measurement(f"{clock}:{spec.option('cell')}")
    if measured is None:
        if ctx.side == "grader":
            outcome.fail("time.unmeasured", key=spec.key)
        return outcome            # the student's own run: nothing measured from outside
    outcome.details.update(measured=measured, reported=float(value))
    low = spec.option("low") * measured - spec.option("slack")
    high = spec.option("high") * measured + spec.option("slack")
    if not low <= float(value) <= high:
        outcome.fail("time.mismatch", key=spec.key, got=float(value), measured=measured,
                     clock=nested(f"time.clock_{clock}"),
                     how="time.process_time()" if clock == "cpu" else "time.perf_counter()")
    return outcome

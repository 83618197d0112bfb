"""What a model predicts: accuracy on the grader's images, and everything derived from predictions.

Accuracy thresholds are measured on the grader-private holdout (images no
student receives); every figure the student reports, and every object built
from predictions (a confusion matrix, a best or worst class, one image's
prediction), is recomputed from the student's model on the public split the
student used, so it must be the model's, not hand-written.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import messages
from ...messages import nested
from ..artifacts import ArtifactError, to_plain
from ..context import HOLDOUT, select
from ..outcome import CheckOutcome
from ..spec import Option, Spec, kind
from ._common import DATA_OPTIONS, INPUT_OPTIONS, OPTIONAL_DATA_OPTIONS, as_fraction, model_inputs, probabilities
from .models import CLASSIFIER_OPTIONS, classifier_problems
from .training import sparse_crossentropy

messages.register({
    "accuracy.low": {
        "es": "el modelo acierta el {got:.1%} de {where}; se pide al menos {threshold:.1%}",
        "en": "the model gets {got:.1%} of {where} right; at least {threshold:.1%} is required",
    },
    "accuracy.ok": {
        "es": "exactitud en {where}: {got:.1%} (umbral {threshold:.1%})",
        "en": "accuracy on {where}: {got:.1%} (threshold {threshold:.1%})",
    },
    "accuracy.where_holdout": {"es": "las {n} imágenes propias del corrector",
                               "en": "the grader's own {n} images"},
    "accuracy.where_public": {"es": "tus {n} imágenes de test (el corrector la mide con imágenes propias)",
                              "en": "your {n} test images (the grader measures it on images of its own)"},
    "accuracy.test_overfit": {
        "es": "el modelo acierta el {public:.1%} de x_test pero solo el {holdout:.1%} de imágenes nuevas: "
              "¿entrenaste (o elegiste el modelo) con el conjunto de test?",
        "en": "the model gets {public:.1%} of x_test right but only {holdout:.1%} of new images: "
              "did you train (or choose the model) on the test set?",
    },
    "accuracy.reported_mismatch": {
        "es": "informas de una exactitud de {reported:.1%}, pero el modelo obtiene {got:.1%} en {where}",
        "en": "you report an accuracy of {reported:.1%}, but the model scores {got:.1%} on {where}",
    },
    "accuracy.reported_type": {
        "es": "la exactitud que informas debe ser una fracción entre 0 y 1 (un float), no {got!r}",
        "en": "the accuracy you report must be a fraction between 0 and 1 (a float), not {got!r}",
    },
    "accuracy.predict_failed": {
        "es": "el modelo no pudo clasificar las imágenes ({error})",
        "en": "the model could not classify the images ({error})",
    },
    "classifier.input": {
        "es": "el modelo espera entradas de forma {got}; las imágenes tienen forma {expected}",
        "en": "the model expects inputs of shape {got}; the images have shape {expected}",
    },
    "split.where_train": {"es": "x_train ({n} imágenes)", "en": "x_train ({n} images)"},
    "split.where_val": {"es": "la validación ({n} imágenes)", "en": "the validation set ({n} images)"},
    "split.where_test": {"es": "x_test ({n} imágenes)", "en": "x_test ({n} images)"},
    "cm.shape": {
        "es": "la matriz de confusión tiene forma {got}; con {classes} clases debe ser {expected}",
        "en": "the confusion matrix has shape {got}; with {classes} classes it must be {expected}",
    },
    "cm.total": {
        "es": "la matriz de confusión suma {got}; hay {expected} predicciones",
        "en": "the confusion matrix adds up to {got}; there are {expected} predictions",
    },
    "cm.inconsistent": {
        "es": "la matriz de confusión no corresponde a las etiquetas y predicciones (fila {row}, columna {col}: {got} "
              "en vez de {expected}); ¿filas = clase real, columnas = clase predicha?",
        "en": "the confusion matrix does not match the labels and predictions (row {row}, column {col}: {got} "
              "instead of {expected}); rows = true class, columns = predicted class?",
    },
    "cm.lengths": {
        "es": "y_true tiene {a} elementos e y_pred {b}",
        "en": "y_true has {a} items and y_pred {b}",
    },
    "cm.not_test_labels": {
        "es": "las etiquetas de la matriz no son y_test en su orden: usa las etiquetas de test tal cual",
        "en": "the matrix's labels are not y_test in order: use the test labels as they are",
    },
    "cm.not_model_predictions": {
        "es": "{count} de las {n} predicciones no son las que da el modelo para x_test (p. ej. la imagen {index}: "
              "dices {got} y el modelo predice {expected}): calcula y_pred con argmax(model.predict(x_test))",
        "en": "{count} of the {n} predictions are not what the model predicts for x_test (e.g. image {index}: "
              "you say {got}, the model predicts {expected}): compute y_pred as argmax(model.predict(x_test))",
    },
    "extreme.wrong": {
        "es": "según las predicciones del modelo en x_test, la {which} clase es {expected}, no {got!r}",
        "en": "according to the model's predictions on x_test, the {which} class is {expected}, not {got!r}",
    },
    "extreme.best": {"es": "mejor", "en": "best"},
    "extreme.worst": {"es": "peor", "en": "worst"},
    "prediction.class": {
        "es": "el modelo predice «{expected}» para la imagen {index}, no {got!r}",
        "en": "the model predicts '{expected}' for image {index}, not {got!r}",
    },
    "prediction.probability": {
        "es": "la probabilidad de la clase predicha para la imagen {index} es {expected:.4f}, no {got!r} "
              "(una fracción entre 0 y 1, no un porcentaje)",
        "en": "the probability of the predicted class for image {index} is {expected:.4f}, not {got!r} "
              "(a fraction between 0 and 1, not a percentage)",
    },
    "loss.mismatch": {
        "es": "«{key}» vale {got!r}, pero la entropía cruzada de las predicciones del modelo en {where} es "
              "{expected:.4f}: ¿evaluaste el modelo en esos datos?",
        "en": "'{key}' is {got!r}, but the cross-entropy of the model's predictions on {where} is {expected:.4f}: "
              "did you evaluate the model on that data?",
    },
})

MODEL_WEIGHTS = "a trained keras.Model (configuration and weights)"


def _where(split: str, n: int) -> dict:
    return nested(f"split.where_{split}", n=n)


def _predict(model, x: np.ndarray, spec: Spec, outcome: CheckOutcome) -> np.ndarray | None:
    expected_input = tuple(None if d is None else int(d) for d in model.inputs[0].shape)[1:]
    if tuple(x.shape[1:]) != expected_input:
        outcome.fail("classifier.input", got=expected_input, expected=tuple(x.shape[1:]))
        return None
    try:
        return probabilities(model, x, spec)
    except Exception as exc:
        outcome.fail("accuracy.predict_failed", error=f"{type(exc).__name__}: {str(exc)[:200]}")
        return None


def _accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float((probs.argmax(axis=1) == np.asarray(y).reshape(-1)).mean())


def fitted_to_public(acc_public: float, acc_holdout: float, n_public: int, n_holdout: int,
                     max_gap: float) -> bool:
    """Whether a model did better on the public test images the student had than on fresh ones by
    more than sampling explains: the gap above ``max_gap`` and above 4 standard errors of a
    difference of two proportions (both splits are i.i.d. draws of one test set)."""
    stderr = math.sqrt(max(acc_holdout * (1 - acc_holdout), 1e-4) * (1 / n_public + 1 / n_holdout))
    return acc_public - acc_holdout > max(max_gap, 4 * stderr)


@kind("accuracy", "model", reads=MODEL_WEIGHTS, options={
    **DATA_OPTIONS, **INPUT_OPTIONS, **CLASSIFIER_OPTIONS,
    "threshold": Option("float", None, "lowest accuracy accepted on the grader's holdout (calibrated: see the "
                                       "comment beside it)", profiled=True, required=True),
    "public_split": Option("str", "test", "the public split the student evaluated on (reported figure, gap)"),
    "reported_tolerance": Option("float", 0.03, "how far a reported accuracy may be from the model's"),
    # Four standard errors of the difference (one-sided false alarm ~3e-5 for an honest model, whose
    # public and holdout images are i.i.d. halves of one test split). The earlier floor of 0.15 let a
    # model trained on the full profile's 5,000 public test images pass (calibrate.py's control:
    # holdout 0.447 against public 0.506, a gap of 6 standard errors).
    "max_gap": Option("float", 0.03, "public-split accuracy above holdout accuracy by more than this (and 4 "
                                     "standard errors) means the model was fitted to the public test set"),
}, )
def _check_accuracy(model, spec: Spec, ctx) -> CheckOutcome:
    """Accuracy on the grader's own images, the reported figure against the model, no fitting to the test set."""
    outcome = CheckOutcome(spec.key)
    problems = classifier_problems(model, ctx.classes_for(spec), spec, ctx)
    outcome.notes += problems.notes
    if any(m.code == "classifier.units" for m in problems.failures):
        outcome.failures += problems.failures     # predictions would be meaningless
        return outcome
    threshold = float(spec.option("threshold", ctx.profile))
    extras = getattr(ctx, "extras", {})
    if "x" in extras:   # ad hoc, in the kernel: the caller gave the data
        probs = _predict(model, np.asarray(extras["x"]), spec, outcome)
        if probs is None:
            return outcome
        accuracy = _accuracy(probs, extras["y"])
        if accuracy < threshold:
            outcome.fail("accuracy.low", got=accuracy, threshold=threshold, where=_where("test", len(probs)))
        return outcome
    public_split = spec.option("public_split")
    x_pub, y_pub = select(ctx, spec, public_split)
    probs_pub = _predict(model, model_inputs(x_pub, spec), spec, outcome)
    if probs_pub is None:
        return outcome
    acc_public = _accuracy(probs_pub, y_pub)
    holdout = select(ctx, spec, HOLDOUT)
    if holdout is not None:
        x_hold, y_hold = holdout
        probs_hold = _predict(model, model_inputs(x_hold, spec), spec, outcome)
        if probs_hold is None:
            return outcome
        accuracy, n, where = _accuracy(probs_hold, y_hold), len(y_hold), nested("accuracy.where_holdout", n=len(y_hold))
        if fitted_to_public(acc_public, accuracy, len(y_pub), n, spec.option("max_gap")):
            outcome.fail("accuracy.test_overfit", public=acc_public, holdout=accuracy)
    else:
        accuracy, n, where = acc_public, len(y_pub), nested("accuracy.where_public", n=len(y_pub))
    outcome.details.update(accuracy=accuracy, public_accuracy=acc_public, threshold=threshold, n=int(n))
    if accuracy < threshold:
        outcome.fail("accuracy.low", got=accuracy, threshold=threshold, where=where)
    else:
        outcome.note("accuracy.ok", got=accuracy, threshold=threshold, where=where)
    reported = ctx.related_value(spec.key, "reported")
    if reported is not None:
        _reported(reported, acc_public, public_split, len(y_pub), spec, outcome)
    return outcome


def _reported(reported: Any, measured: float, split: str, n: int, spec: Spec, outcome: CheckOutcome,
              tolerance: float | None = None) -> None:
    fraction = as_fraction(reported)
    if tolerance is None:
        tolerance = spec.option("reported_tolerance")
    if fraction is None or not 0.0 <= fraction <= 1.0:
        outcome.fail("accuracy.reported_type", got=reported)
    elif abs(fraction - measured) > tolerance:
        outcome.fail("accuracy.reported_mismatch", reported=fraction, got=measured, where=_where(split, n))


@kind("measured_accuracy", "json", reads="an accuracy the student measured (a fraction)", prepare=to_plain,
      options={
          **DATA_OPTIONS, **INPUT_OPTIONS,
          "model": Option("str", None, "key of the model measured", required=True),
          "split": Option("str", "test", "public split it was measured on: train, val or test; with "
                                         "images_from, the part of the student's split: train or val"),
          "images_from": Option("str", None, "key of a validation_split: measure on the student's own training "
                                             "or validation images, rebuilt from its fingerprints and the "
                                             "development images (train + val) of `dataset`"),
          "tolerance": Option("float", 0.03, "how far it may be from the model's accuracy on that split"),
          "validation_fraction": Option("float", None, "the notebook's train_val_split of the training split "
                                                       "(its locked data cell): split 'train' is the part it "
                                                       "trains on, 'val' the part it validates on"),
          "validation_seed": Option("int", 0, "the seed of that train_val_split"),
      })
def _check_measured_accuracy(value: Any, spec: Spec, ctx) -> CheckOutcome:
    """A reported accuracy (train, validation or test) against the model's, recomputed on that split."""
    outcome = CheckOutcome(spec.key)
    try:
        model = ctx.related(spec.option("model"))
    except ArtifactError as exc:
        return outcome.fail(exc.code, **exc.params)
    if spec.option("images_from"):
        pair = student_split_images(ctx, spec, outcome)
        if pair is None:
            return outcome
        x, y = pair
    elif spec.option("validation_fraction"):
        x, y = notebook_split_part(ctx, spec)
    else:
        x, y = select(ctx, spec)
    probs = _predict(model, model_inputs(x, spec), spec, outcome)
    if probs is not None:
        _reported(value, _accuracy(probs, y), spec.option("split"), len(y), spec, outcome,
                  tolerance=spec.option("tolerance"))
    return outcome


messages.register({
    "measured.images_unknown": {
        "es": "{count} de las {n} imágenes de {part} no están entre las imágenes de desarrollo (x_pool): el "
              "corrector reconoce tus imágenes por su contenido exacto para medir la exactitud; sepáralas de "
              "x_pool sin convertirlas",
        "en": "{count} of the {n} images of {part} are not among the development images (x_pool): the grader "
              "recognises your images by their exact content to measure the accuracy; split them from x_pool "
              "without converting them",
    },
    "measured.no_images": {
        "es": "{part} no tiene imágenes: no hay exactitud que medir",
        "en": "{part} has no images: there is no accuracy to measure",
    },
})


def notebook_split_part(ctx, spec: Spec) -> tuple[np.ndarray, np.ndarray]:
    """The training (``split`` train) or validation (val) part of ``train_val_split(x_train, y_train,
    fraction=validation_fraction, seed=validation_seed)`` of ``dataset``: what a locked data cell that
    splits the training images gives the student as x_train / x_val."""
    from ...data import train_val_split

    part = spec.option("split")
    if part not in ("train", "val"):
        raise ValueError(f"{spec.where}: [checks.{spec.key}]: with validation_fraction, split is 'train' or 'val'")
    data = ctx.dataset(spec.option("dataset"))
    x_train, y_train, x_val, y_val = train_val_split(data.x_train, data.y_train,
                                                     fraction=spec.option("validation_fraction"),
                                                     seed=spec.option("validation_seed"))
    return (np.asarray(x_train), np.asarray(y_train)) if part == "train" else (np.asarray(x_val), np.asarray(y_val))


def student_split_images(ctx, spec: Spec, outcome: CheckOutcome) -> tuple[np.ndarray, np.ndarray] | None:
    """The student's own training or validation images (``split``: train or val), rebuilt from the
    fingerprints the ``images_from`` validation_split exported and the development images (train + val
    splits) of ``dataset``, with their labels there; ``None`` (and a failure) when some are not found."""
    from .preprocessing import fingerprints

    part = spec.option("split")
    if part not in ("train", "val"):
        raise ValueError(f"{spec.where}: [checks.{spec.key}]: with images_from, split is 'train' or 'val'")
    try:
        arrays = ctx.related(spec.option("images_from"))
    except ArtifactError as exc:
        outcome.fail(exc.code, **exc.params)
        return None
    prints = np.asarray(arrays.get(part, np.zeros(0, dtype=np.uint64)) if isinstance(arrays, dict) else [])
    prints = prints.reshape(-1).tolist()
    if not prints:
        outcome.fail("measured.no_images", part=nested(f"split.part_{part}"))
        return None
    data = ctx.dataset(spec.option("dataset"))
    pool_x = data.x_train if data.x_val is None else np.concatenate([data.x_train, data.x_val])
    pool_y = data.y_train if data.y_val is None else np.concatenate([data.y_train, data.y_val])
    index_of = {p: i for i, p in enumerate(fingerprints(pool_x).tolist())}
    missing = sum(1 for p in prints if p not in index_of)
    if missing:
        outcome.fail("measured.images_unknown", count=missing, n=len(prints), part=nested(f"split.part_{part}"))
        return None
    rows = np.array([index_of[p] for p in prints], dtype=np.int64)
    return np.asarray(pool_x[rows]), np.asarray(pool_y[rows])


def _confusion_payload(obj: Any) -> dict:
    if isinstance(obj, dict):
        return {k: np.asarray(obj[k]) for k in ("cm", "y_true", "y_pred")}
    cm, y_true, y_pred = obj
    return {"cm": np.asarray(cm), "y_true": np.asarray(y_true), "y_pred": np.asarray(y_pred)}


def _labels(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    return (array.argmax(axis=1) if array.ndim == 2 else array.reshape(-1)).astype(np.int64)


def model_predictions(ctx, spec: Spec, outcome: CheckOutcome):
    """``(probabilities, labels)`` of the spec's related ``model`` on its public split, or ``None``."""
    try:
        model = ctx.related(spec.option("model"))
    except ArtifactError as exc:
        outcome.fail(exc.code, **exc.params)
        return None
    x, y = select(ctx, spec)
    probs = _predict(model, model_inputs(x, spec), spec, outcome)
    return None if probs is None else (probs, y)


def _flip_allowed(probs: np.ndarray, index: int, margin: float = 1e-4) -> bool:
    """Whether image ``index`` sits on a tie: its top two probabilities within ``margin``."""
    top = np.sort(probs[index])[-2:]
    return len(top) == 2 and top[1] - top[0] <= margin


PREDICTION_OPTIONS = {
    **DATA_OPTIONS, **INPUT_OPTIONS,
    "model": Option("str", None, "key of the model whose predictions these are"),
    "split": Option("str", "test", "public split predicted"),
}


@kind("confusion_matrix", "arrays", reads="(cm, y_true, y_pred): the matrix and what it counts",
      prepare=_confusion_payload, options={
          **PREDICTION_OPTIONS, **OPTIONAL_DATA_OPTIONS,
          "num_classes": Option("int", None, "classes (default: the assignment's)", profiled=True),
      })
def _check_confusion_matrix(arrays: dict, spec: Spec, ctx) -> CheckOutcome:
    """The matrix of (y_true, y_pred); with `model`, y_true is the split's labels and y_pred the model's predictions."""
    from ...evaluate import confusion_matrix

    outcome = CheckOutcome(spec.key)
    if not {"cm", "y_true", "y_pred"} <= set(arrays):
        return outcome.fail("cm.lengths", a="?", b="?")
    cm = np.asarray(arrays["cm"])
    y_true, y_pred = _labels(arrays["y_true"]), _labels(arrays["y_pred"])
    k = ctx.classes_for(spec) or (cm.shape[0] if cm.ndim == 2 else 0)
    if cm.shape != (k, k):
        return outcome.fail("cm.shape", got=tuple(cm.shape), classes=k, expected=(k, k))
    if len(y_true) != len(y_pred):
        return outcome.fail("cm.lengths", a=len(y_true), b=len(y_pred))
    if int(cm.sum()) != len(y_true):
        outcome.fail("cm.total", got=int(cm.sum()), expected=len(y_true))
    reference = confusion_matrix(y_true, y_pred, num_classes=k)
    mismatch = np.argwhere(reference != cm)
    if len(mismatch):
        row, col = (int(v) for v in mismatch[0])
        outcome.fail("cm.inconsistent", row=row, col=col, got=int(cm[row, col]), expected=int(reference[row, col]))
    if spec.option("model") and not outcome.failures:
        predicted = model_predictions(ctx, spec, outcome)
        if predicted is None:
            return outcome
        probs, y = predicted
        if len(y_true) != len(y) or not np.array_equal(y_true, y):
            return outcome.fail("cm.not_test_labels")
        model_labels = probs.argmax(axis=1)
        wrong = [i for i in np.flatnonzero(model_labels != y_pred) if not _flip_allowed(probs, i)]
        if wrong:
            outcome.fail("cm.not_model_predictions", count=len(wrong), n=len(y), index=int(wrong[0]),
                         got=int(y_pred[wrong[0]]), expected=int(model_labels[wrong[0]]))
    return outcome


@kind("class_extreme", "json", reads="a class (its name, or its label with answer = 'index')", prepare=to_plain,
      options={
          **PREDICTION_OPTIONS,
          "which": Option("str", "best", "'best' or 'worst' per-class accuracy"),
          "answer": Option("str", "name", "'name' (a class name) or 'index' (its label)"),
      })
def _check_class_extreme(value: Any, spec: Spec, ctx) -> CheckOutcome:
    """The best or worst class by per-class accuracy, recomputed from the model's predictions."""
    from ...evaluate import per_class_accuracy

    outcome = CheckOutcome(spec.key)
    spec_model = spec.option("model")
    if not spec_model:
        raise ValueError(f"{spec.where}: [checks.{spec.key}] needs `model`")
    predicted = model_predictions(ctx, spec, outcome)
    if predicted is None:
        return outcome
    probs, y = predicted
    names = ctx.dataset(spec.option("dataset")).class_names
    k = len(names)
    per_class = per_class_accuracy(y, probs.argmax(axis=1), num_classes=k)
    counts = np.bincount(y, minlength=k)
    # One image whose top two probabilities tie could flip between runs: accept classes within one image.
    slack = 1.0 / max(1, counts[counts > 0].min()) + 1e-9 if any(_flip_allowed(probs, i) for i in range(len(y))) \
        else 1e-9
    extreme = per_class.max() if spec.option("which") == "best" else per_class.min()
    accepted = [c for c in range(k) if abs(per_class[c] - extreme) <= slack]
    if spec.option("answer") == "index":
        ok = type(value) is int and value in accepted
    else:
        ok = type(value) is str and value.strip().lower() in [names[c].lower() for c in accepted]
    if not ok:
        outcome.fail("extreme.wrong", which=nested(f"extreme.{spec.option('which')}"), got=value,
                     expected=" / ".join(names[c] if spec.option("answer") == "name" else f"{c} ({names[c]})"
                                         for c in accepted))
    return outcome


messages.register({
    "per_class.shape": {
        "es": "la exactitud por clase tiene forma {got}; se esperaba un valor por clase ({expected})",
        "en": "the per-class accuracy has shape {got}; one value per class ({expected}) was expected",
    },
    "per_class.wrong": {
        "es": "{count} de las {classes} exactitudes por clase no son las de las predicciones del modelo en x_test "
              "(p. ej. la clase {index}, «{class_name}»: dices {got}, el modelo acierta {expected:.4f}): "
              "aciertos de la clase / imágenes de la clase",
        "en": "{count} of the {classes} per-class accuracies are not those of the model's predictions on x_test "
              "(e.g. class {index}, '{class_name}': you say {got}, the model gets {expected:.4f}): "
              "hits in the class / images of the class",
    },
})


def _per_class_payload(obj: Any) -> dict:
    return {"array": np.asarray(obj)}


@kind("per_class_accuracy", "arrays", reads="the accuracy within each true class (k fractions, in class order)",
      prepare=_per_class_payload, options={
          **PREDICTION_OPTIONS,
          "tolerance": Option("float", 1e-4, "how far each fraction may be from the model's"),
      })
def _check_per_class_accuracy(arrays: dict, spec: Spec, ctx) -> CheckOutcome:
    """Accuracy within each class, recomputed from the model's predictions (an image on a tie may flip)."""
    from ...evaluate import per_class_accuracy

    outcome = CheckOutcome(spec.key)
    if not spec.option("model"):
        raise ValueError(f"{spec.where}: [checks.{spec.key}] needs `model`")
    got = np.asarray(arrays.get("array", np.zeros(0)) if isinstance(arrays, dict) else arrays)
    names = ctx.dataset(spec.option("dataset")).class_names
    k = len(names)
    if got.shape != (k,) or got.dtype.kind not in "biuf":
        return outcome.fail("per_class.shape", got=tuple(got.shape), expected=k)
    predicted = model_predictions(ctx, spec, outcome)
    if predicted is None:
        return outcome
    probs, y = predicted
    expected = per_class_accuracy(y, probs.argmax(axis=1), num_classes=k)
    counts = np.bincount(y, minlength=k)
    # An image whose top two probabilities tie may be predicted either way: its class may be off by one image.
    ties = np.bincount([y[i] for i in range(len(y)) if _flip_allowed(probs, i)], minlength=k)
    slack = ties / np.maximum(counts, 1) + spec.option("tolerance")
    got = got.astype("float64")
    empty = counts == 0                      # no images: 0 or NaN are both fine
    wrong = [c for c in range(k) if not (empty[c] and (np.isnan(got[c]) or got[c] == 0))
             and not (np.isfinite(got[c]) and not empty[c] and abs(got[c] - expected[c]) <= slack[c])]
    if wrong:
        c = wrong[0]
        outcome.fail("per_class.wrong", count=len(wrong), classes=k, index=c, class_name=names[c],
                     got=float(got[c]), expected=float(expected[c]))
    return outcome


@kind("prediction", "json", reads="the predicted class name or its probability for one image",
      prepare=to_plain, options={
          **PREDICTION_OPTIONS,
          "index": Option("int", None, "position of the image in the split", required=True),
          "field": Option("str", "class", "'class' (its name) or 'probability' (a fraction)"),
          "tolerance": Option("float", 1e-3, "for the probability"),
      })
def _check_prediction(value: Any, spec: Spec, ctx) -> CheckOutcome:
    """One image's predicted class or probability, recomputed from the model."""
    outcome = CheckOutcome(spec.key)
    try:
        model = ctx.related(spec.option("model"))
    except ArtifactError as exc:
        return outcome.fail(exc.code, **exc.params)
    x, _ = select(ctx, spec)
    index = spec.option("index")
    probs = _predict(model, model_inputs(x[index:index + 1], spec), spec, outcome)
    if probs is None:
        return outcome
    names = ctx.dataset(spec.option("dataset")).class_names
    row = probs[0]
    if spec.option("field") == "class":
        accepted = {names[int(c)].lower() for c in np.flatnonzero(row >= row.max() - 1e-4)}
        if type(value) is not str or value.strip().lower() not in accepted:
            outcome.fail("prediction.class", expected=names[int(row.argmax())], index=index, got=value)
    else:
        if type(value) not in (int, float) or isinstance(value, bool) or \
                abs(float(value) - float(row.max())) > spec.option("tolerance"):
            outcome.fail("prediction.probability", expected=float(row.max()), index=index, got=value)
    return outcome


@kind("loss", "json", reads="a loss the student measured", prepare=to_plain, options={
    **DATA_OPTIONS, **INPUT_OPTIONS,
    "model": Option("str", None, "key of the model evaluated", required=True),
    "split": Option("str", "test", "public split evaluated"),
    "rel_tol": Option("float", 0.02, "relative tolerance"),
})
def _check_loss(value: Any, spec: Spec, ctx) -> CheckOutcome:
    """A reported cross-entropy against the model's on that split."""
    from ..archdiff import output_activation

    outcome = CheckOutcome(spec.key)
    try:
        model = ctx.related(spec.option("model"))
    except ArtifactError as exc:
        return outcome.fail(exc.code, **exc.params)
    x, y = select(ctx, spec)
    probs = _predict(model, model_inputs(x, spec), spec, outcome)
    if probs is None:
        return outcome
    expected = sparse_crossentropy(probs, y, logits=output_activation(model) == "linear")
    if type(value) not in (int, float) or isinstance(value, bool) or \
            abs(float(value) - expected) > spec.option("rel_tol") * expected + 1e-3:
        outcome.fail("loss.mismatch", key=spec.key, got=value, expected=expected,
                     where=_where(spec.option("split"), len(y)))
    return outcome

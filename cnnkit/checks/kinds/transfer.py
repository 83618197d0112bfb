"""Transfer learning: features and feature maps recomputed from the student's base, and the grader's own SVM."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import messages
from ..artifacts import ArtifactError, to_plain
from ..context import HOLDOUT, select
from ..outcome import CheckOutcome
from ..spec import Option, Spec, kind
from ._common import DATA_OPTIONS, INPUT_OPTIONS, as_fraction, finalize_state, model_inputs
from .values import _array_payload

messages.register({
    "features.rows": {
        "es": "«{key}» tiene {got} filas y hay {expected} imágenes: una fila de características por imagen",
        "en": "'{key}' has {got} rows and there are {expected} images: one row of features per image",
    },
    "features.shape": {
        "es": "«{key}» tiene forma {got}; la base del modelo da {expected} para esas imágenes",
        "en": "'{key}' has shape {got}; the model's base gives {expected} for those images",
    },
    "features.values": {
        "es": "«{key}» no coincide con lo que da {model} para esas imágenes ({count} de {n} filas distintas, "
              "p. ej. la fila {row}): extrae las características con ese modelo, con su preprocesado y en el "
              "orden de las imágenes",
        "en": "'{key}' does not match what {model} gives for those images ({count} of {n} rows differ, e.g. "
              "row {row}): extract the features with that model, its preprocessing, in the images' order",
    },
    "maps.rows": {
        "es": "«{key}» tiene los mapas de {got} imágenes; se piden los de {expected} imágenes",
        "en": "'{key}' holds the maps of {got} images; those of {expected} images are asked for",
    },
    "maps.layer": {
        "es": "el modelo no tiene la capa {layer}",
        "en": "the model has no layer {layer}",
    },
    "svm.low": {
        "es": "una SVM lineal sobre las características de tu base acierta el {got:.1%} de {where}; se pide al "
              "menos {threshold:.1%}",
        "en": "a linear SVM on your base's features gets {got:.1%} of {where} right; at least {threshold:.1%} "
              "is required",
    },
    "svm.reported": {
        "es": "informas de una exactitud de la SVM de {reported!r}, pero una LinearSVC ajustada con esas "
              "características obtiene {got:.1%} en x_test (una fracción entre 0 y 1)",
        "en": "you report an SVM accuracy of {reported!r}, but a LinearSVC fitted on those features scores "
              "{got:.1%} on x_test (a fraction between 0 and 1)",
    },
})


def _model(ctx, spec: Spec, outcome: CheckOutcome):
    try:
        return ctx.related(spec.option("model"))
    except ArtifactError as exc:
        outcome.fail(exc.code, **exc.params)
        return None


def features_of(model, x: np.ndarray, spec: Spec) -> np.ndarray:
    """One flat feature row per image, as ``cnnkit.transfer.extract_features`` computes them."""
    from ...transfer import extract_features

    finalize_state(model)
    return extract_features(model, model_inputs(x, spec), batch_size=spec.option("batch_size"),
                            pooling=spec.option("pooling"))


def _compare(got: np.ndarray, expected: np.ndarray, spec: Spec, outcome: CheckOutcome, model_name: str) -> None:
    if got.shape != expected.shape:
        outcome.fail("features.shape", key=spec.key, got=tuple(got.shape), expected=tuple(expected.shape))
        return
    close = np.isclose(got, expected, rtol=spec.option("rtol"), atol=spec.option("atol"))
    rows = close.reshape(len(close), -1).all(axis=1)
    if not rows.all():
        bad = np.flatnonzero(~rows)
        outcome.fail("features.values", key=spec.key, model=model_name, count=len(bad), n=len(rows),
                     row=int(bad[0]))


COMPARE_OPTIONS = {
    "model": Option("str", None, "key of the model (with weights) that computes them", required=True),
    "split": Option("str", "train", "public split of the images"),
    "rtol": Option("float", 1e-3, "relative tolerance"),
    "atol": Option("float", 1e-3, "absolute tolerance"),
}


@kind("features", "arrays", reads="feature rows (n, d) of the first images, computed with a model's base",
      prepare=_array_payload, options={
          **DATA_OPTIONS, **INPUT_OPTIONS, **COMPARE_OPTIONS,
          "pooling": Option("str", "flatten", "how a 4-D output becomes rows: flatten, avg or max"),
      })
def _check_features(arrays: dict, spec: Spec, ctx) -> CheckOutcome:
    """Feature values recomputed from the student's base on the same images; rows = images (`rows=` given)."""
    outcome = CheckOutcome(spec.key)
    got = np.asarray(arrays["array"], dtype="float64")
    x, _ = select(ctx, spec)
    rows = ctx.related_value(spec.key, "rows")
    if rows is not None and rows != len(x):
        outcome.fail("features.rows", key=spec.key, got=rows, expected=len(x))
    model = _model(ctx, spec, outcome)
    if model is None:
        return outcome
    n = min(len(got), len(x))
    expected = features_of(model, x[:n], spec)
    _compare(got[:n].reshape(n, -1) if got.ndim > 1 else got, expected, spec, outcome, spec.option("model"))
    return outcome


@kind("feature_maps", "arrays", reads="feature maps (n, h, w, c) of a layer for the first images",
      prepare=_array_payload, options={
          **DATA_OPTIONS, **INPUT_OPTIONS, **COMPARE_OPTIONS,
          "layer": Option("any", "first_conv", "layer name, index in model.layers, 'first_conv' or 'last_conv'"),
          "rows": Option("int", None, "how many images' maps there must be (default: any number)", profiled=True),
      })
def _check_feature_maps(arrays: dict, spec: Spec, ctx) -> CheckOutcome:
    """A layer's feature maps, recomputed from the student's model with cnnkit.featuremaps."""
    from ... import featuremaps

    outcome = CheckOutcome(spec.key)
    got = np.asarray(arrays["array"], dtype="float64")
    rows = spec.option("rows", ctx.profile)
    if rows is not None and (got.ndim == 0 or len(got) != rows):
        outcome.fail("maps.rows", key=spec.key, got=len(got) if got.ndim else 0, expected=rows)
    model = _model(ctx, spec, outcome)
    if model is None:
        return outcome
    layer = spec.option("layer")
    try:
        target = {"first_conv": featuremaps.first_conv, "last_conv": featuremaps.last_conv}[layer](model) \
            if layer in ("first_conv", "last_conv") else layer
        x, _ = select(ctx, spec)
        n = min(len(got), len(x))
        expected = featuremaps.feature_maps(model, target, model_inputs(x[:n], spec),
                                            batch_size=spec.option("batch_size"))
    except (ValueError, KeyError, IndexError) as exc:
        return outcome.fail("maps.layer", layer=f"{layer!r} ({exc})"[:200])
    _compare(got[:n], np.asarray(expected, dtype="float64"), spec, outcome, spec.option("model"))
    return outcome


@kind("svm_accuracy", "json", reads="the accuracy the student's linear SVM got on x_test", prepare=to_plain, options={
    **DATA_OPTIONS, **INPUT_OPTIONS,
    "model": Option("str", None, "key of the convolutional base (with weights)", required=True),
    "pooling": Option("str", "flatten", "how a 4-D output becomes rows: flatten, avg or max"),
    "threshold": Option("float", None, "lowest accuracy of the grader's SVM on its holdout", profiled=True,
                        required=True),
    "C": Option("float", 1.0, "LinearSVC regularisation"),
    "tolerance": Option("float", 0.05, "how far the reported accuracy may be from the grader's refit on x_test"),
})
def _check_svm_accuracy(value: Any, spec: Spec, ctx) -> CheckOutcome:
    """The grader fits its own LinearSVC on the student's base's features; reported figure and holdout accuracy."""
    from ...transfer import linear_svm

    outcome = CheckOutcome(spec.key)
    model = _model(ctx, spec, outcome)
    if model is None:
        return outcome
    x_train, y_train = select(ctx, spec, "train")
    x_test, y_test = select(ctx, spec, "test")      # a workload's subset narrows the training split only
    svm = linear_svm(features_of(model, x_train, spec), y_train, C=spec.option("C"), seed=0)
    public = float(svm.score(features_of(model, x_test, spec), y_test))
    reported = as_fraction(value)
    if reported is None or not 0 <= reported <= 1 or abs(reported - public) > spec.option("tolerance"):
        outcome.fail("svm.reported", reported=value, got=public)
    holdout = select(ctx, spec, HOLDOUT)
    threshold = float(spec.option("threshold", ctx.profile))
    if holdout is not None:
        accuracy = float(svm.score(features_of(model, holdout[0], spec), holdout[1]))
        where = messages.nested("accuracy.where_holdout", n=len(holdout[1]))
    else:
        accuracy, where = public, messages.nested("accuracy.where_public", n=len(y_test))
    outcome.details.update(accuracy=accuracy, public_accuracy=public, threshold=threshold)
    if accuracy < threshold:
        outcome.fail("svm.low", got=accuracy, threshold=threshold, where=where)
    return outcome

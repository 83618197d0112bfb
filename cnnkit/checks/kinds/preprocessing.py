"""Data preparation: validation splits, normalisation statistics, data augmentation, models compared."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import messages
from ..artifacts import ArtifactError, numeric_arrays
from ..context import HOLDOUT, select
from ..outcome import CheckOutcome
from ..spec import Option, Spec, kind
from ._common import DATA_OPTIONS, INPUT_OPTIONS, model_inputs, probabilities
from .values import _array_payload

messages.register({
    "split.not_stratified": {
        "es": "la validación tiene entre {low} y {high} imágenes por clase: no está estratificada; usa train_val_split",
        "en": "the validation set has between {low} and {high} images per class: it is not stratified; use "
              "train_val_split",
    },
    "split.size": {
        "es": "la validación tiene {got} imágenes; con fraction={fraction} de {n} deberían ser {expected}",
        "en": "the validation set has {got} images; fraction={fraction} of {n} gives {expected}",
    },
    "split.not_from_pool": {
        "es": "{count} imágenes de {part} no están entre las imágenes de desarrollo: la validación y el "
              "entrenamiento salen de x_pool (nunca del test)",
        "en": "{count} images of {part} are not among the development images: training and validation come "
              "from x_pool (never from the test set)",
    },
    "split.sizes": {
        "es": "entrenamiento ({train}) + validación ({val}) = {total}, pero hay {pool} imágenes de desarrollo",
        "en": "training ({train}) + validation ({val}) = {total}, but there are {pool} development images",
    },
    "split.overlap": {
        "es": "{count} imágenes están a la vez en entrenamiento y en validación",
        "en": "{count} images are in both training and validation",
    },
    "split.labels": {
        "es": "{count} etiquetas de {part} no son las de sus imágenes: separa imágenes y etiquetas juntas",
        "en": "{count} labels of {part} are not their images' labels: split images and labels together",
    },
    "split.share": {
        "es": "la validación es el {got:.0%} de los datos de desarrollo; usa entre el {low:.0%} y el {high:.0%}",
        "en": "the validation set is {got:.0%} of the development data; use between {low:.0%} and {high:.0%}",
    },
    "split.part_train": {"es": "entrenamiento", "en": "training"},
    "split.part_val": {"es": "validación", "en": "validation"},
    "normalizer.stats": {
        "es": "la {what} de la normalización no es la de las imágenes de entrenamiento (x_train, en [0, 1]): "
              "ajústala con normalizer.adapt(x_train)",
        "en": "the normalisation's {what} is not that of the training images (x_train, in [0, 1]): fit it with "
              "normalizer.adapt(x_train)",
    },
    "normalizer.mean": {"es": "media", "en": "mean"},
    "normalizer.variance": {"es": "varianza", "en": "variance"},
    "augment.inference": {
        "es": "el aumento cambia las imágenes con training=False: usa solo capas Random*, que en predict/"
              "evaluate dejan pasar la imagen tal cual",
        "en": "the augmentation changes images with training=False: use only Random* layers, which leave images "
              "as they are in predict/evaluate",
    },
    "augment.shape": {
        "es": "el aumento cambia la forma de las imágenes: {got} en vez de {expected}",
        "en": "the augmentation changes the images' shape: {got} instead of {expected}",
    },
    "augment.no_change": {
        "es": "el aumento no modifica las imágenes con training=True: ¿tiene alguna capa Random*?",
        "en": "the augmentation does not change images with training=True: does it have a Random* layer?",
    },
    "augment.vertical_flip": {
        "es": "el volteo vertical pone las imágenes boca abajo, algo que no ocurre en este conjunto de datos: "
              "usa RandomFlip(\"horizontal\")",
        "en": "a vertical flip turns images upside down, which never happens in this dataset: use "
              "RandomFlip(\"horizontal\")",
    },
    "augment.rotation": {
        "es": "RandomRotation gira hasta {got:.0f}°; aquí las imágenes están derechas: como mucho {high:.0f}° "
              "(el factor es una fracción de vuelta: 15° = 15 / 360)",
        "en": "RandomRotation turns up to {got:.0f}°; images here are upright: at most {high:.0f}° "
              "(the factor is a fraction of a turn: 15° = 15 / 360)",
    },
    "compare.not_better": {
        "es": "el modelo acierta el {got:.1%} de {where} y «{other}» el {other_got:.1%}: debe superarlo",
        "en": "the model gets {got:.1%} of {where} right and '{other}' {other_got:.1%}: it must do better",
    },
})


def fingerprints(images: np.ndarray) -> np.ndarray:
    """A 64-bit fingerprint per image (BLAKE2b of its bytes): images compared without sending them."""
    import hashlib

    images = np.ascontiguousarray(images)
    return np.array([int.from_bytes(hashlib.blake2b(img.tobytes(), digest_size=8).digest(), "little")
                     for img in images], dtype=np.uint64)


def _split_payload(obj: Any) -> dict:
    """``(x_train, y_train, x_val, y_val)`` as fingerprints and labels."""
    x_train, y_train, x_val, y_val = obj
    return numeric_arrays({"train": fingerprints(np.asarray(x_train)), "y_train": np.asarray(y_train),
                           "val": fingerprints(np.asarray(x_val)), "y_val": np.asarray(y_val)})


@kind("validation_split", "arrays", reads="(x_train, y_train, x_val, y_val) made from the development images",
      prepare=_split_payload, options={
          **DATA_OPTIONS,
          "low": Option("float", 0.05, "smallest share of the development images for validation"),
          "high": Option("float", 0.35, "largest share"),
      })
def _check_validation_split(arrays: dict, spec: Spec, ctx) -> CheckOutcome:
    """Training and validation come from the development images (train + val splits), together and labelled."""
    outcome = CheckOutcome(spec.key)
    data = ctx.dataset(spec.option("dataset"))
    pool_x = data.x_train if data.x_val is None else np.concatenate([data.x_train, data.x_val])
    pool_y = data.y_train if data.y_val is None else np.concatenate([data.y_train, data.y_val])
    label_of = dict(zip(fingerprints(pool_x).tolist(), pool_y.tolist()))
    train, val = arrays.get("train", np.zeros(0)), arrays.get("val", np.zeros(0))
    if len(train) + len(val) != len(pool_y):
        outcome.fail("split.sizes", train=len(train), val=len(val), total=len(train) + len(val), pool=len(pool_y))
    for part, prints, labels in (("train", train, arrays.get("y_train")), ("val", val, arrays.get("y_val"))):
        missing = [p for p in prints.tolist() if p not in label_of]
        if missing:
            outcome.fail("split.not_from_pool", count=len(missing), part=messages.nested(f"split.part_{part}"))
        if labels is None or len(labels) != len(prints):
            outcome.fail("split.labels", count=len(prints), part=messages.nested(f"split.part_{part}"))
        else:
            wrong = sum(1 for p, y in zip(prints.tolist(), np.asarray(labels).reshape(-1).tolist())
                        if p in label_of and label_of[p] != y)
            if wrong:
                outcome.fail("split.labels", count=wrong, part=messages.nested(f"split.part_{part}"))
    overlap = len(set(train.tolist()) & set(val.tolist()))
    if overlap:
        outcome.fail("split.overlap", count=overlap)
    share = len(val) / max(1, len(pool_y))
    if not spec.option("low") <= share <= spec.option("high"):
        outcome.fail("split.share", got=share, low=spec.option("low"), high=spec.option("high"))
    return outcome


@kind("stratified", "arrays", reads="the validation labels (y_val)", prepare=_array_payload, options={
    **DATA_OPTIONS,
    "fraction": Option("float", None, "share of the training images asked for validation", required=True),
})
def _check_stratified(arrays: dict, spec: Spec, ctx) -> CheckOutcome:
    """Validation labels: the asked share of the training split, every class within one image of its share."""
    outcome = CheckOutcome(spec.key)
    y_val = np.asarray(arrays["array"]).reshape(-1)
    data = ctx.dataset(spec.option("dataset"))
    n = len(data.y_train)
    expected = int(np.ceil(spec.option("fraction") * n))
    if len(y_val) != expected:
        outcome.fail("split.size", got=len(y_val), fraction=spec.option("fraction"), n=n, expected=expected)
    if y_val.dtype.kind not in "iu" or (len(y_val) and (y_val.min() < 0 or y_val.max() >= data.num_classes)):
        return outcome.fail("split.labels", count=len(y_val), part=messages.nested("split.part_val"))
    counts = np.bincount(y_val, minlength=data.num_classes)
    share = np.bincount(data.y_train, minlength=data.num_classes) * (len(y_val) / max(1, n))
    if np.any(np.abs(counts - share) > 1 + 1e-9):
        outcome.fail("split.not_stratified", low=int(counts.min()), high=int(counts.max()))
    return outcome


def _normalizer_payload(layer: Any) -> dict:
    import keras

    return numeric_arrays({"mean": np.asarray(keras.ops.convert_to_numpy(layer.mean)).reshape(-1),
                           "variance": np.asarray(keras.ops.convert_to_numpy(layer.variance)).reshape(-1)})


@kind("normalizer", "arrays", reads="a fitted keras.layers.Normalization (its mean and variance)",
      prepare=_normalizer_payload, options={
          **DATA_OPTIONS,
          "validation_fraction": Option("float", None, "the notebook's train_val_split fraction: stats come from "
                                                       "the training part only"),
          "validation_seed": Option("int", 0, "the notebook's train_val_split seed"),
          "rtol": Option("float", 1e-3, "relative tolerance of the mean"),
          "variance_rtol": Option("float", 1e-2, "relative tolerance of the variance"),
      })
def _check_normalizer(arrays: dict, spec: Spec, ctx) -> CheckOutcome:
    """The per-channel mean and variance are those of the training images in [0, 1]."""
    from ...data import train_val_split

    outcome = CheckOutcome(spec.key)
    data = ctx.dataset(spec.option("dataset"))
    x = data.x_train
    if spec.option("validation_fraction"):
        x, _, _, _ = train_val_split(data.x_train, data.y_train, fraction=spec.option("validation_fraction"),
                                     seed=spec.option("validation_seed"))
    x = x.astype("float64") / 255.0
    for name, expected, rtol in (("mean", x.mean(axis=(0, 1, 2)), spec.option("rtol")),
                                 ("variance", x.var(axis=(0, 1, 2)), spec.option("variance_rtol"))):
        got = arrays.get(name)
        if got is None or got.shape != expected.shape or not np.allclose(got, expected, rtol=rtol, atol=1e-5):
            outcome.fail("normalizer.stats", what=messages.nested(f"normalizer.{name}"))
    return outcome


@kind("augmentation", "config", reads="a keras.Sequential of data-augmentation layers", options={
    **DATA_OPTIONS, **INPUT_OPTIONS,
    "split": Option("str", "train", "images it is tried on"),
    "vertical_flip": Option("bool", True, "whether flipping images upside down is plausible"),
    "max_rotation": Option("float", None, "largest plausible rotation, in degrees"),
})
def _check_augmentation(model, spec: Spec, ctx) -> CheckOutcome:
    """Identity at inference, changes images in training, keeps their shape, and only plausible changes."""
    import keras

    outcome = CheckOutcome(spec.key)
    x, _ = select(ctx, spec)
    batch = model_inputs(x[:8], spec)
    at_inference = np.asarray(keras.ops.convert_to_numpy(model(batch, training=False)))
    at_training = np.asarray(keras.ops.convert_to_numpy(model(batch, training=True)))
    if at_inference.shape != batch.shape or not np.allclose(at_inference, batch, atol=1e-5):
        outcome.fail("augment.inference")
    if at_training.shape != batch.shape:
        outcome.fail("augment.shape", got=at_training.shape, expected=batch.shape)
    elif np.allclose(at_training, batch):
        outcome.fail("augment.no_change")
    from .models import nested_layers

    for layer in nested_layers(model):
        config = layer.get_config()
        if type(layer).__name__ == "RandomFlip" and not spec.option("vertical_flip") and \
                "vertical" in str(config.get("mode", "")):
            outcome.fail("augment.vertical_flip")
        high = spec.option("max_rotation")
        if type(layer).__name__ == "RandomRotation" and high is not None:
            factor = config.get("factor")
            values = factor if isinstance(factor, (list, tuple)) else [factor]
            degrees = 360 * max(abs(float(v)) for v in values)
            if degrees > high + 1e-6:
                outcome.fail("augment.rotation", got=degrees, high=high)
    return outcome


@kind("compare_accuracy", "config", reads="a keras.Model (whose weights another key exported)", options={
    **DATA_OPTIONS, **INPUT_OPTIONS,
    "model": Option("str", None, "key under which this model's weights were exported", required=True),
    "other": Option("str", None, "key of the model it must beat", required=True),
    "margin": Option("float", 0.0, "by at least this much accuracy", profiled=True),
})
def _check_compare_accuracy(_config, spec: Spec, ctx) -> CheckOutcome:
    """This model beats another on the grader's own images (or on x_test in a student's run)."""
    outcome = CheckOutcome(spec.key)
    scores = {}
    pair = select(ctx, spec, HOLDOUT)
    where = messages.nested("accuracy.where_holdout", n=len(pair[1])) if pair is not None else None
    if pair is None:
        pair = select(ctx, spec, "test")
        where = messages.nested("accuracy.where_public", n=len(pair[1]))
    x, y = pair
    for name in (spec.option("model"), spec.option("other")):
        try:
            model = ctx.related(name)
        except ArtifactError as exc:
            return outcome.fail(exc.code, **exc.params)
        probs = probabilities(model, model_inputs(x, spec), spec)
        scores[name] = float((probs.argmax(axis=1) == y).mean())
    got, other = scores[spec.option("model")], scores[spec.option("other")]
    outcome.details.update(accuracy=got, other_accuracy=other)
    if not got > other + spec.option("margin", ctx.profile):
        outcome.fail("compare.not_better", got=got, where=where, other=spec.option("other"), other_got=other)
    return outcome

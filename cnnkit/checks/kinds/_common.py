"""Helpers the check kinds share: input preparation, predictions, shapes, related models."""
from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np

from ..spec import Option, Spec

# Options of every kind that feeds images to a model.
INPUT_OPTIONS = {
    "input_scale": Option("str", "unit", "how the model receives uint8 images: 'unit' (x / 255) or 'raw' (0-255)"),
    "channels": Option("int", None, "repeat grey images to this many channels"),
    "resize": Option("list", None, "resize images to [height, width] first (bilinear)"),
    "preprocess": Option("str", None, "keras.applications preprocessing applied to 0-255 images, "
                                      "e.g. 'vgg16' (then input_scale is ignored)"),
    "batch_size": Option("int", 256, "prediction batch size"),
}
# Options that select images: see cnnkit.checks.context.select.
DATA_OPTIONS = {
    "dataset": Option("str", None, "course dataset name (cnnkit.data.course_dataset)", required=True),
    "subset": Option("str", None, "use the workload's stratified training subset (data.subset(n_train, seed=0))"),
    "first": Option("int", None, "only the first N images of the split"),
}
# The same, for kinds that read images only with some options (e.g. a confusion matrix with `model`).
OPTIONAL_DATA_OPTIONS = {**DATA_OPTIONS, "dataset": Option("str", None, "course dataset name "
                                                                         "(cnnkit.data.course_dataset)")}


def shape_tuple(shape: Any) -> tuple:
    return tuple(None if (d is None or d == "None") else int(d) for d in shape)


def model_inputs(x: np.ndarray, spec: Spec) -> np.ndarray:
    """uint8 images as the assignment's models receive them (``channels``, ``resize``, scale or preprocess)."""
    x = np.asarray(x)
    channels = spec.option("channels")
    if channels and x.shape[-1] != channels:
        x = np.repeat(x, channels // x.shape[-1], axis=-1)
    size = spec.option("resize")
    if size and tuple(x.shape[1:3]) != tuple(size):
        from ...data import resize_images

        x = resize_images(x.astype(np.uint8), tuple(size))
    preprocess = spec.option("preprocess")
    if preprocess:
        from ...transfer import preprocessing_for

        return np.asarray(preprocessing_for(preprocess)(x.astype("float32")))
    scale = spec.option("input_scale")
    x = x.astype("float32")
    if scale == "unit":
        return x / 255.0
    if scale != "raw":
        raise ValueError(f"unknown input_scale {scale!r}")
    return x


def finalize_state(model) -> None:
    """Let every layer rebuild what it derives from its weights (an adapted ``Normalization``'s mean and
    variance), as ``keras.saving`` does after loading: a model whose weights were assigned one by one
    (``artifacts.load``) would otherwise normalise with the initial zeros and ones. Idempotent."""
    stack = [model]
    while stack:
        layer = stack.pop()
        stack.extend(getattr(layer, "layers", []) or [])
        if hasattr(layer, "finalize_state"):
            try:
                layer.finalize_state()
            except Exception:  # a layer with nothing to finalize; the prediction shows any real problem
                pass


def probabilities(model, x: np.ndarray, spec: Spec) -> np.ndarray:
    """The model's output rows for ``x`` (n, k)."""
    finalize_state(model)
    out = model.predict(x, batch_size=spec.option("batch_size"), verbose=0)
    return np.asarray(out).reshape(len(x), -1)


def related_model(ctx, spec: Spec):
    """The model verified under the spec's ``model`` key."""
    return ctx.related(spec.option("model"))


@functools.lru_cache(maxsize=16)
def _reference_model(name: str, frozen_kwargs: tuple):
    from ... import models

    return models.build(name, **dict(frozen_kwargs))


def freeze(mapping: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in mapping.items()))


def reference_model(spec: Spec):
    """``cnnkit.models.build(reference, **kwargs)``, built once per process."""
    return _reference_model(spec.option("reference"), freeze(spec.option("kwargs") or {}))


def as_fraction(value: Any) -> float | None:
    """A reported accuracy as a fraction; ``None`` when it is not a plain number."""
    if type(value) not in (int, float) or isinstance(value, bool):
        return None
    return float(value)

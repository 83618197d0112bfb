"""Plain values, arrays and facts about a dataset."""
from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np

from ... import messages
from ..artifacts import ArtifactError, to_plain
from ..context import select
from ..outcome import CheckOutcome
from ..spec import Option, Spec, kind
from ._common import DATA_OPTIONS

messages.register({
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
    "value.keys": {
        "es": "«{key}» debe tener exactamente las claves {expected} (tiene {got})",
        "en": "'{key}' must have exactly the keys {expected} (it has {got})",
    },
    "value.fields": {
        "es": "«{key}»[{row!r}] debe ser un diccionario con {expected}",
        "en": "'{key}'[{row!r}] must be a dictionary with {expected}",
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
    "indices.count": {
        "es": "«{key}» tiene {got} índices; se pedían {expected}",
        "en": "'{key}' has {got} indices; {expected} were asked for",
    },
    "indices.repeated": {
        "es": "«{key}» tiene índices repetidos: elige imágenes distintas",
        "en": "'{key}' has repeated indices: pick different images",
    },
    "indices.range": {
        "es": "«{key}» tiene índices fuera de 0..{last}",
        "en": "'{key}' has indices outside 0..{last}",
    },
    "indices.class": {
        "es": "{count} de las imágenes de «{key}» no son de la clase «{class_name}» (p. ej. la {index}, que es «{got}»)",
        "en": "{count} of the images in '{key}' are not of class '{class_name}' (e.g. {index}, which is '{got}')",
    },
})

_TYPES = {"int": (int,), "float": (float, int), "number": (float, int), "str": (str,),
          "bool": (bool,), "list": (list,), "dict": (dict,)}


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


def _expected_value(spec: Spec, profile: str) -> Any:
    source = spec.option("expected_from")
    if source is None:
        return spec.option("expected", profile)
    module_name, _, attr = source.partition(":")
    if not module_name.startswith("cnnkit."):
        raise ValueError(f"expected_from must name a cnnkit function, not {source!r}")
    fn = getattr(importlib.import_module(module_name), attr)
    return fn(*spec.option("args"), **(spec.option("kwargs") or {}))


def judge_value(value: Any, spec: Spec, ctx, expected: Any = None, candidates: list | None = None) -> CheckOutcome:
    """The value judgement (type, range, keys, expected / one_of), shared by kinds that compute ``expected``."""
    outcome = CheckOutcome(spec.key)
    wanted_type = spec.option("type")
    if wanted_type:
        allowed = _TYPES[wanted_type]
        if type(value) not in allowed or (wanted_type in ("int", "float", "number") and type(value) is bool):
            return outcome.fail("value.type", key=spec.key, expected=wanted_type, got=type(value).__name__)
    keys = spec.options.get("keys")
    if keys is not None:
        if not isinstance(value, dict) or sorted(value) != sorted(keys):
            got = sorted(value) if isinstance(value, dict) else type(value).__name__
            return outcome.fail("value.keys", key=spec.key, expected=sorted(keys), got=got)
        fields = spec.options.get("fields")
        for row, entry in value.items():
            if fields and (not isinstance(entry, dict) or not set(fields) <= set(entry)):
                outcome.fail("value.fields", key=spec.key, row=row, expected=", ".join(fields))
        if outcome.failures:
            return outcome
    low, high = spec.option("min", ctx.profile), spec.option("max", ctx.profile)
    if low is not None or high is not None:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or \
                (low is not None and value < low) or (high is not None and value > high):
            outcome.fail("value.range", key=spec.key, got=value, low="-∞" if low is None else low,
                         high="∞" if high is None else high)
    if expected is None and candidates is None:
        one_of = spec.option("one_of", ctx.profile)
        if one_of is not None:
            candidates = one_of
        elif spec.options.get("expected") is not None or spec.options.get("expected_from") is not None:
            expected = _expected_value(spec, ctx.profile)
    if expected is None and candidates is None:
        return outcome
    rel, abs_tol = float(spec.option("rel_tol")), float(spec.option("abs_tol"))
    options = candidates if candidates is not None else [expected]
    if not any(_values_equal(value, candidate, rel, abs_tol) for candidate in options):
        if spec.option("reveal"):
            outcome.fail("value.wrong_reveal", key=spec.key, got=value,
                         expected=expected if candidates is None else " / ".join(map(str, candidates)))
        else:
            outcome.fail("value.wrong", key=spec.key, got=value)
    return outcome


VALUE_OPTIONS = {
    "type": Option("str", None, "exact type: int, float (int accepted), number, str, bool, list, dict"),
    "expected": Option("any", None, "the expected value (strings compare without case or surrounding spaces)",
                       profiled=True),
    "expected_from": Option("str", None, "'cnnkit.module:function' called with args/kwargs gives the expected value"),
    "args": Option("list", [], "positional arguments for expected_from"),
    "kwargs": Option("table", None, "keyword arguments for expected_from"),
    "one_of": Option("list", None, "any of these values is right", profiled=True),
    "min": Option("float", None, "lowest accepted number", profiled=True),
    "max": Option("float", None, "highest accepted number", profiled=True),
    "rel_tol": Option("float", 1e-9, "relative tolerance for numbers"),
    "abs_tol": Option("float", 0.0, "absolute tolerance for numbers"),
    "keys": Option("list", None, "a dict with exactly these keys"),
    "fields": Option("list", None, "with keys: each entry is a dict with at least these fields"),
    "reveal": Option("bool", False, "say the expected value when it is wrong (visible tests only)"),
}


@kind("value", "json", reads="a plain value (number, text, list, dict)", options=VALUE_OPTIONS, prepare=to_plain)
def _check_value(value, spec: Spec, ctx) -> CheckOutcome:
    """Exact type, then a range, an expected value or one of several."""
    return judge_value(value, spec, ctx)


def _array_payload(obj: Any) -> dict:
    return {"array": np.asarray(obj)}


@kind("array", "arrays", reads="a NumPy array (or a list of numbers)", prepare=_array_payload, options={
    "shape": Option("shape", None, "expected shape; 'None' for any size", profiled=True),
    "dtype_kind": Option("str", None, "NumPy dtype kinds accepted, e.g. 'f' or 'iu'"),
})
def _check_array(arrays: dict, spec: Spec, ctx) -> CheckOutcome:
    """Shape, dtype kind and finite values of an array."""
    outcome = CheckOutcome(spec.key)
    array = arrays["array"]
    expected = spec.option("shape", ctx.profile)
    if expected is not None:
        expected = tuple(None if d == "None" else int(d) for d in expected)
        if len(expected) != array.ndim or any(e is not None and e != g for e, g in zip(expected, array.shape)):
            outcome.fail("shape.array", key=spec.key, got=tuple(array.shape),
                         expected=tuple("?" if e is None else e for e in expected))
    dtype_kind = spec.option("dtype_kind")
    if dtype_kind and array.dtype.kind not in dtype_kind:
        outcome.fail("array.dtype", key=spec.key, got=str(array.dtype), expected=dtype_kind)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        outcome.fail("array.not_finite", key=spec.key)
    return outcome


_FACTS = ("num_images", "num_classes", "class_names", "split_sizes", "train_per_class", "test_per_class",
          "total_per_class", "mean_per_class")


def dataset_fact(data, fact: str) -> Any:
    """One indicator of a dataset (over its train, val and test splits), computed from the images."""
    splits = [(x, y) for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val), (data.x_test, data.y_test))
              if x is not None]
    k = data.num_classes
    per_class = {name: np.bincount(y, minlength=k).tolist() for name, y in
                 (("train", data.y_train), ("test", data.y_test))}
    total = np.sum([np.bincount(y, minlength=k) for _, y in splits], axis=0).tolist()
    values = {
        "num_images": int(sum(len(x) for x, _ in splits)), "num_classes": int(k),
        "class_names": list(data.class_names),
        "split_sizes": [len(data.y_train), len(data.y_test)] if data.x_val is None else
        [len(data.y_train), len(data.y_val), len(data.y_test)],
        "train_per_class": per_class["train"], "test_per_class": per_class["test"], "total_per_class": total,
        "mean_per_class": float(np.mean(total)),
    }
    return values[fact]


@kind("dataset_fact", "json", reads="a number or list computed from the dataset", prepare=to_plain, options={
    **VALUE_OPTIONS, "dataset": DATA_OPTIONS["dataset"],
    "fact": Option("str", None, f"one of {', '.join(_FACTS)} (train, validation and test splits together)",
                   required=True),
})
def _check_dataset_fact(value, spec: Spec, ctx) -> CheckOutcome:
    """A dataset indicator, compared with the grader's own count on the data the student received."""
    fact = spec.option("fact")
    if fact not in _FACTS:
        raise ValueError(f"unknown fact {fact!r}")
    return judge_value(value, spec, ctx, expected=dataset_fact(ctx.dataset(spec.option("dataset")), fact))


@kind("class_indices", "arrays", reads="an array of image positions", prepare=_array_payload, options={
    **DATA_OPTIONS, "split": Option("str", "train", "split the positions index"),
    "class_name": Option("str", None, "every image must be of this class", required=True),
    "count": Option("int", None, "how many positions"),
    "distinct": Option("bool", True, "no position twice"),
})
def _check_class_indices(arrays: dict, spec: Spec, ctx) -> CheckOutcome:
    """Positions of images of one class: how many, all distinct, all of that class in the split."""
    outcome = CheckOutcome(spec.key)
    indices = arrays["array"].reshape(-1)
    if indices.dtype.kind not in "iu":
        return outcome.fail("array.dtype", key=spec.key, got=str(indices.dtype), expected="iu")
    count = spec.option("count")
    if count is not None and len(indices) != count:
        outcome.fail("indices.count", key=spec.key, got=len(indices), expected=count)
    if spec.option("distinct") and len(set(indices.tolist())) != len(indices):
        outcome.fail("indices.repeated", key=spec.key)
    data = ctx.dataset(spec.option("dataset"))
    _, y = select(ctx, spec)
    if len(indices) and (indices.min() < 0 or indices.max() >= len(y)):
        return outcome.fail("indices.range", key=spec.key, last=len(y) - 1)
    wanted = data.class_names.index(spec.option("class_name"))
    wrong = [int(i) for i in indices if y[i] != wanted]
    if wrong:
        outcome.fail("indices.class", key=spec.key, count=len(wrong), class_name=spec.option("class_name"),
                     index=wrong[0], got=data.class_names[y[wrong[0]]])
    return outcome

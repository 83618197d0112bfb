"""Layer-by-layer comparison of a student's model with a reference model.

Students may write the same network in several correct ways; the seeds teach
some of them. Before comparing, both models are reduced to a list of
*operations*:

* ``Conv2D(..., activation=None)`` followed by ``Activation("relu")`` is one
  ReLU convolution (seed 001 shows both spellings), likewise ``ReLU()`` and
  ``Softmax()`` layers;
* ``ZeroPadding2D(p)`` followed by a stride-1 ``valid`` convolution with
  ``p = (k - 1) / 2`` is a ``same`` convolution (seed 001's first form);
* input layers are not operations.

The two lists are aligned (``difflib``) so that one missing layer is reported
as *missing*, not as every later layer being wrong, and each difference
becomes a :class:`~cnnkit.messages.Message` naming the student's layer as
``summary()`` numbers it: "layer 7 (Dense) has 20 units; expected 10 — the
dataset has 10 classes".
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable

from .. import messages
from ..messages import Message

messages.register({
    "arch.ok": {
        "es": "La arquitectura coincide con la de referencia.",
        "en": "The architecture matches the reference.",
    },
    "arch.units": {
        "es": "la capa {index} ({layer}) tiene {got} unidades; se esperaban {expected}",
        "en": "layer {index} ({layer}) has {got} units; expected {expected}",
    },
    "arch.units_classes": {
        "es": "la capa {index} ({layer}) tiene {got} unidades; el conjunto de datos tiene {expected} clases",
        "en": "layer {index} ({layer}) has {got} units; the dataset has {expected} classes",
    },
    "arch.filters": {
        "es": "la capa {index} ({layer}) tiene {got} filtros; se esperaban {expected}",
        "en": "layer {index} ({layer}) has {got} filters; expected {expected}",
    },
    "arch.kernel_size": {
        "es": "la capa {index} ({layer}) usa núcleos {got}; se esperaban {expected}",
        "en": "layer {index} ({layer}) uses {got} kernels; expected {expected}",
    },
    "arch.strides": {
        "es": "la capa {index} ({layer}) usa stride {got}; se esperaba {expected}",
        "en": "layer {index} ({layer}) uses stride {got}; expected {expected}",
    },
    "arch.padding": {
        "es": "la capa {index} ({layer}) usa padding='{got}'; se esperaba padding='{expected}'",
        "en": "layer {index} ({layer}) uses padding='{got}'; expected padding='{expected}'",
    },
    "arch.activation": {
        "es": "la capa {index} ({layer}) usa activación {got}; se esperaba {expected}",
        "en": "layer {index} ({layer}) uses activation {got}; expected {expected}",
    },
    "arch.pool_size": {
        "es": "la capa {index} ({layer}) agrupa ventanas {got}; se esperaban {expected}",
        "en": "layer {index} ({layer}) pools {got} windows; expected {expected}",
    },
    "arch.rate": {
        "es": "la capa {index} ({layer}) tiene tasa {got}; se esperaba {expected}",
        "en": "layer {index} ({layer}) has rate {got}; expected {expected}",
    },
    "arch.type": {
        "es": "la capa {index} es {got}; en esa posición se esperaba {expected}",
        "en": "layer {index} is {got}; {expected} was expected at that position",
    },
    "arch.missing": {
        "es": "falta {expected} después de la capa {after}",
        "en": "{expected} is missing after layer {after}",
    },
    "arch.missing_at_start": {
        "es": "falta {expected} al principio del modelo",
        "en": "{expected} is missing at the start of the model",
    },
    "arch.extra": {
        "es": "sobra la capa {index} ({got}); la referencia no la tiene",
        "en": "layer {index} ({got}) is extra; the reference has no such layer",
    },
    "arch.output_shape": {
        "es": "la salida del modelo tiene forma {got}; se esperaba {expected}",
        "en": "the model's output has shape {got}; expected {expected}",
    },
    "arch.input_shape": {
        "es": "la entrada del modelo tiene forma {got}; se esperaba {expected}",
        "en": "the model's input has shape {got}; expected {expected}",
    },
    "arch.params_total": {
        "es": "el modelo tiene {got:,} parámetros; la referencia tiene {expected:,}",
        "en": "the model has {got:,} parameters; the reference has {expected:,}",
    },
    "arch.more": {
        "es": "… y {count} diferencias más",
        "en": "… and {count} more differences",
    },
})

# Layer types whose only role is an activation: merged into the previous op.
_ACTIVATION_LAYERS = {"Activation", "ReLU", "Softmax", "LeakyReLU", "ELU"}
_INPUT_LAYERS = {"InputLayer"}
# Attributes compared for each op type, in the order messages are produced.
_ATTRS = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "activation"),
    "Conv1D": ("filters", "kernel_size", "strides", "padding", "activation"),
    "DepthwiseConv2D": ("kernel_size", "strides", "padding", "activation"),
    "SeparableConv2D": ("filters", "kernel_size", "strides", "padding", "activation"),
    "Dense": ("units", "activation"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "Dropout": ("rate",),
    "SpatialDropout2D": ("rate",),
    "ZeroPadding2D": ("padding",),
}


@dataclass
class Op:
    """One operation of a model, after normalisation."""

    index: int                      # 1-based position in model.layers (as summary() lists)
    type: str
    attrs: dict[str, Any] = field(default_factory=dict)
    params: int = 0

    def describe(self) -> str:
        """Short human form, e.g. ``Conv2D(64, 3×3, relu)``."""
        a = self.attrs
        if self.type in ("Conv2D", "SeparableConv2D", "Conv1D"):
            return f"{self.type}({a.get('filters')}, {_size(a.get('kernel_size'))}, {a.get('activation')})"
        if self.type == "Dense":
            return f"Dense({a.get('units')}, {a.get('activation')})"
        if self.type in ("MaxPooling2D", "AveragePooling2D"):
            return f"{self.type}({_size(a.get('pool_size'))})"
        if self.type in ("Dropout", "SpatialDropout2D"):
            return f"{self.type}({a.get('rate')})"
        return self.type


def _size(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    return str(value)


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _activation_name(value: Any) -> str:
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):  # serialised activation
        return str(value.get("config", {}).get("name") or value.get("class_name", "?")).lower()
    return getattr(value, "__name__", str(value))


def operations(model) -> list[Op]:
    """The normalised operation list of a Keras model (see module docstring)."""
    ops: list[Op] = []
    pending_padding: Op | None = None
    for position, layer in enumerate(model.layers, start=1):
        kind = type(layer).__name__
        if kind in _INPUT_LAYERS:
            continue
        config = layer.get_config()
        params = int(layer.count_params()) if layer.built else 0
        if kind in _ACTIVATION_LAYERS and ops and ops[-1].attrs.get("activation", "linear") == "linear" \
                and "activation" in ops[-1].attrs:
            ops[-1].attrs["activation"] = _activation_of_layer(kind, config)
            continue
        if kind in _ACTIVATION_LAYERS:
            ops.append(Op(position, "Activation", {"activation": _activation_of_layer(kind, config)}))
            continue
        attrs = {}
        for name in _ATTRS.get(kind, ()):
            if name in config:
                value = config[name]
                attrs[name] = _activation_name(value) if name == "activation" else _tuple(value)
        if kind in ("MaxPooling2D", "AveragePooling2D") and attrs.get("strides") is None:
            attrs["strides"] = attrs.get("pool_size")  # Keras' default: strides = pool_size
        if kind == "Model" or kind in ("Functional", "Sequential"):
            attrs["layers"] = len(layer.layers)
        op = Op(position, kind, attrs, params)
        if pending_padding is not None:
            merged = _merge_padding(pending_padding, op)
            if merged:
                ops.pop()  # drop the padding op: it is part of this convolution
                op = merged
            pending_padding = None
        if kind == "ZeroPadding2D":
            pending_padding = op
        ops.append(op)
    return ops


def output_activation(model) -> str:
    """The activation the model applies last: a trailing ``Activation``/``Softmax`` layer or the last
    weighted layer's own (``"linear"`` when none). The one place both the kernel and the grader ask."""
    for op in reversed(operations(model)):
        if op.type in ("Dropout", "SpatialDropout2D", "Flatten", "Reshape"):
            continue
        return op.attrs.get("activation", "linear")
    return "linear"


def _activation_of_layer(kind: str, config: dict) -> str:
    if kind == "Activation":
        return _activation_name(config.get("activation"))
    return {"ReLU": "relu", "Softmax": "softmax", "LeakyReLU": "leaky_relu", "ELU": "elu"}[kind]


def _merge_padding(padding: Op, conv: Op) -> Op | None:
    """ZeroPadding2D(p) + valid stride-1 conv k×k with p=(k-1)/2 ≡ same conv."""
    if conv.type not in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
        return None
    pad = padding.attrs.get("padding")
    kernel = conv.attrs.get("kernel_size")
    if conv.attrs.get("padding") != "valid" or tuple(conv.attrs.get("strides", (1, 1))) != (1, 1):
        return None
    if not isinstance(kernel, tuple) or any(k % 2 == 0 for k in kernel):
        return None
    expected = tuple(((k - 1) // 2, (k - 1) // 2) for k in kernel)
    if isinstance(pad, tuple) and pad and all(isinstance(p, int) for p in pad):
        pad = tuple((p, p) for p in pad)
    if pad != expected:
        return None
    attrs = dict(conv.attrs, padding="same")
    return Op(padding.index, conv.type, attrs, conv.params)


@dataclass
class ArchitectureDiff:
    """The differences found; empty ``differences`` means the models agree."""

    differences: list[Message]
    student_ops: list[Op]
    reference_ops: list[Op]
    student_params: int
    reference_params: int

    @property
    def matches(self) -> bool:
        return not self.differences

    def render(self, lang: str | None = None, limit: int = 6) -> str:
        if self.matches:
            return messages.render("arch.ok", lang)
        lines = [m.render(lang) for m in self.differences[:limit]]
        if len(self.differences) > limit:
            lines.append(messages.render("arch.more", lang, count=len(self.differences) - limit))
        return "\n".join(f"- {line}" for line in lines)


def compare(student, reference, *, num_classes: int | None = None,
            ignore: Iterable[str] = (), check_params: bool = True) -> ArchitectureDiff:
    """Compare two Keras models layer by layer.

    Parameters
    ----------
    student, reference : keras.Model
        Built models (their layers must know their shapes).
    num_classes : int, optional
        The dataset's number of classes; a wrong number of units in the
        output layer is then reported in those terms.
    ignore : iterable of str
        Layer types left out of the comparison (e.g. ``{"Dropout"}``).
    check_params : bool
        Also compare the total parameter count.
    """
    ignore = set(ignore)
    s_ops = [op for op in operations(student) if op.type not in ignore]
    r_ops = [op for op in operations(reference) if op.type not in ignore]
    diffs: list[Message] = []

    s_in, r_in = _input_shape(student), _input_shape(reference)
    if s_in is not None and r_in is not None and s_in != r_in:
        diffs.append(Message("arch.input_shape", {"got": s_in, "expected": r_in}))

    last_weighted = _last_weighted_index(s_ops)
    # Align on full signatures first, so that an inserted layer of a common
    # type (another Dense) is reported as missing rather than shifting every
    # later comparison; then align the leftover stretches by type alone to
    # report attribute differences between layers that correspond.
    outer = difflib.SequenceMatcher(a=[_signature(o) for o in s_ops], b=[_signature(o) for o in r_ops],
                                    autojunk=False)
    for tag, i1, i2, j1, j2 in outer.get_opcodes():
        if tag == "equal":
            continue
        s_block, r_block = s_ops[i1:i2], r_ops[j1:j2]
        inner = difflib.SequenceMatcher(a=[o.type for o in s_block], b=[o.type for o in r_block], autojunk=False)
        for itag, a1, a2, b1, b2 in inner.get_opcodes():
            if itag == "equal":
                for s_op, r_op in zip(s_block[a1:a2], r_block[b1:b2]):
                    diffs.extend(_attr_diffs(s_op, r_op, is_output=(s_op is last_weighted), num_classes=num_classes))
            elif itag == "replace" and (a2 - a1) == (b2 - b1):
                for s_op, r_op in zip(s_block[a1:a2], r_block[b1:b2]):
                    diffs.append(Message("arch.type", {"index": s_op.index, "got": s_op.describe(),
                                                       "expected": r_op.describe()}))
            else:
                before = s_block[a1 - 1] if a1 > 0 else (s_ops[i1 - 1] if i1 > 0 else None)
                for r_op in r_block[b1:b2]:
                    if before is not None:
                        diffs.append(Message("arch.missing", {"expected": r_op.describe(), "after": before.index}))
                    else:
                        diffs.append(Message("arch.missing_at_start", {"expected": r_op.describe()}))
                for s_op in s_block[a1:a2]:
                    diffs.append(Message("arch.extra", {"index": s_op.index, "got": s_op.describe()}))

    s_out, r_out = _output_shape(student), _output_shape(reference)
    if s_out != r_out:
        diffs.append(Message("arch.output_shape", {"got": s_out, "expected": r_out}))
    s_params, r_params = int(student.count_params()), int(reference.count_params())
    if check_params and s_params != r_params:
        diffs.append(Message("arch.params_total", {"got": s_params, "expected": r_params}))
    return ArchitectureDiff(diffs, s_ops, r_ops, s_params, r_params)


def _signature(op: Op) -> tuple:
    return (op.type, tuple(sorted((k, str(v)) for k, v in op.attrs.items())))


def _last_weighted_index(ops: list[Op]) -> Op | None:
    for op in reversed(ops):
        if op.type in ("Dense", "Conv2D"):
            return op
    return None


def _attr_diffs(s_op: Op, r_op: Op, *, is_output: bool, num_classes: int | None) -> list[Message]:
    out = []
    for name in _ATTRS.get(s_op.type, ()):
        got, expected = s_op.attrs.get(name), r_op.attrs.get(name)
        if got == expected:
            continue
        params = {"index": s_op.index, "layer": s_op.type, "got": _size(got), "expected": _size(expected)}
        code = f"arch.{name}"
        if name == "units" and is_output and num_classes is not None and expected == num_classes:
            code = "arch.units_classes"
        if name == "strides":
            params.update(got=_size(got), expected=_size(expected))
        out.append(Message(code, params))
    return out


def _shape(shape: Any) -> tuple | None:
    if shape is None:
        return None
    if isinstance(shape, list):  # several inputs/outputs
        return tuple(_shape(s) for s in shape)
    return tuple(None if d is None else int(d) for d in shape)


def _input_shape(model) -> tuple | None:
    try:
        return _shape(model.inputs[0].shape) if len(model.inputs) == 1 else None
    except (AttributeError, ValueError, IndexError):
        return None


def output_shape(model) -> tuple | None:
    """``model``'s output shape as a tuple (``None`` for the batch dimension)."""
    return _output_shape(model)


def _output_shape(model) -> tuple | None:
    try:
        return _shape(model.output_shape)
    except (AttributeError, ValueError):
        try:
            return _shape(model.outputs[0].shape)
        except Exception:
            return None

"""Parameter and shape arithmetic: the sums students do by hand, done exactly.

Seed 000 (ejercicio 2b–c) gives the rule for a convolutional layer with ``N``
kernels of size ``m × m`` over ``NC`` input channels::

    parameters = N · m² · NC + N        (N·m²·NC weights, one bias per kernel)

and asks students to check it against ``model.summary()``; seed 001
(actividades 1–6) asks for the output shape and parameter count after each
VGG-19 block; seed 004 walks 28 → 24 → 12 → 8 → 4 through a small CNN.
This module has:

* the formulas, as pure Python on ints: :func:`conv2d_params`,
  :func:`dense_params`, :func:`batchnorm_params`,
  :func:`depthwise_conv2d_params`, :func:`separable_conv2d_params`,
  :func:`conv_output_size`, :func:`pool_output_size`;
* :func:`layer_table` — every layer of a Keras model with its output shape,
  its parameter count by formula and by Keras, and whether they agree;
* :func:`architecture_table` — AlexNet vs VGG-19 vs ResNet-50 (seed 001,
  parte 2) with a source for every figure.

Importing this module does not import Keras; :func:`layer_table` works on a
model you already have, and ``architecture_table(compute_params=True)``
imports :mod:`cnnkit.models` when called. The tables print in the notebook's
language (:func:`cnnkit.messages.current_lang`); their fields and numbers do
not depend on it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Sequence

from . import messages

__all__ = [
    "conv2d_params", "dense_params", "batchnorm_params",
    "depthwise_conv2d_params", "separable_conv2d_params",
    "conv_output_size", "pool_output_size",
    "LayerRow", "LayerTable", "layer_table",
    "ArchitectureRow", "ArchitectureTable", "architecture_table",
]


messages.register({
    "layer_table.model": {"es": 'Modelo: "{name}"', "en": 'Model: "{name}"'},
    "layer_table.header": {
        # one cell per column, separated by "|"
        "es": "#|Capa (tipo)|Forma de salida|Fórmula|Por fórmula|Según Keras|OK",
        "en": "#|Layer (type)|Output shape|Formula|By formula|By Keras|OK",
    },
    "layer_table.not_applicable": {"es": "n/d", "en": "n/a"},
    "layer_table.yes": {"es": "sí", "en": "yes"},
    "layer_table.total": {"es": "Parámetros totales: {n:,}", "en": "Total params: {n:,}"},
    "layer_table.trainable": {"es": "Parámetros entrenables: {n:,}", "en": "Trainable params: {n:,}"},
    "layer_table.non_trainable": {"es": "Parámetros no entrenables: {n:,}", "en": "Non-trainable params: {n:,}"},
    "layer_table.nested": {"es": "suma de {n} capas internas", "en": "sum of {n} inner layers"},
})


# --------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------

def _positive_int(value: Any, what: str) -> int:
    # bool is an int subclass; `conv2d_params(True, ...)` is a bug, not 1 filter.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{what} must be a positive int, got {value}")
    return value


def _kernel_dims(kernel_size: Any, what: str = "kernel_size") -> tuple[int, ...]:
    """``3`` → ``(3, 3)``; ``(3, 5)`` → ``(3, 5)`` (height, width)."""
    if isinstance(kernel_size, (tuple, list)):
        if not kernel_size:
            raise ValueError(f"{what} must not be empty")
        return tuple(_positive_int(k, f"{what} entry") for k in kernel_size)
    k = _positive_int(kernel_size, what)
    return (k, k)


def _kernel_text(dims: Sequence[int]) -> str:
    """``(3, 3)`` → ``"3²"``, ``(3, 5)`` → ``"3·5"`` for formula strings."""
    if len(dims) == 2 and dims[0] == dims[1]:
        return f"{dims[0]}²"
    if len(dims) == 3 and dims[0] == dims[1] == dims[2]:
        return f"{dims[0]}³"
    return "·".join(str(d) for d in dims)


# --------------------------------------------------------------------------
# parameter formulas
# --------------------------------------------------------------------------

def conv2d_params(filters: int, kernel_size: int | Sequence[int], in_channels: int,
                  bias: bool = True, *, groups: int = 1) -> int:
    """Parameters of a convolutional layer: ``N·m²·NC + N`` (seed 000, ejercicio 2b).

    Args:
        filters: ``N``, the number of kernels (output channels).
        kernel_size: ``m`` for an ``m × m`` kernel, or ``(h, w)``.
        in_channels: ``NC``, channels of the layer's input (3 for an RGB image
            at the first layer; the previous layer's filters further in).
        bias: whether each kernel has a bias (Keras ``use_bias``).
        groups: grouped convolution (Keras ``groups``): each kernel sees only
            ``NC / groups`` channels — how the two-GPU AlexNet split conv2/4/5.

    Examples:
        >>> conv2d_params(32, 3, 3)          # first conv of the Keras cifar10 example
        896
        >>> conv2d_params(32, 5, 3)          # ... with 5 × 5 kernels
        2432
        >>> conv2d_params(64, (3, 3), 32, bias=False)
        18432
    """
    filters = _positive_int(filters, "filters")
    dims = _kernel_dims(kernel_size)
    in_channels = _positive_int(in_channels, "in_channels")
    groups = _positive_int(groups, "groups")
    if in_channels % groups or filters % groups:
        raise ValueError(f"groups={groups} must divide both in_channels={in_channels} "
                         f"and filters={filters}")
    return filters * math.prod(dims) * (in_channels // groups) + (filters if bias else 0)


def dense_params(units: int, in_features: int, bias: bool = True) -> int:
    """Parameters of a fully connected (``Dense``) layer: ``units·in_features + units``.

    Examples:
        >>> dense_params(512, 6 * 6 * 64)    # Dense(512) after Flatten in the cifar10 example
        1180160
        >>> dense_params(4096, 7 * 7 * 512)  # VGG-19 fc1
        102764544
    """
    units = _positive_int(units, "units")
    in_features = _positive_int(in_features, "in_features")
    return units * in_features + (units if bias else 0)


def batchnorm_params(channels: int, *, center: bool = True, scale: bool = True) -> int:
    """Parameters of a ``BatchNormalization`` layer: ``4·C`` with Keras defaults.

    Per channel: ``gamma`` (if ``scale``) and ``beta`` (if ``center``) are
    trainable; the moving mean and moving variance are not trained by the
    gradient (non-trainable), but ``count_params()`` and ``summary()`` count them.
    With the defaults half of the ``4·C`` is trainable.

    Examples:
        >>> batchnorm_params(64)
        256
    """
    channels = _positive_int(channels, "channels")
    return channels * (2 + int(center) + int(scale))


def depthwise_conv2d_params(kernel_size: int | Sequence[int], in_channels: int,
                            depth_multiplier: int = 1, bias: bool = True) -> int:
    """Parameters of ``DepthwiseConv2D``: ``m²·NC·D + NC·D`` (one kernel per input channel).

    Examples:
        >>> depthwise_conv2d_params(3, 32)
        320
    """
    dims = _kernel_dims(kernel_size)
    in_channels = _positive_int(in_channels, "in_channels")
    depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier")
    outputs = in_channels * depth_multiplier
    return math.prod(dims) * outputs + (outputs if bias else 0)


def separable_conv2d_params(filters: int, kernel_size: int | Sequence[int], in_channels: int,
                            depth_multiplier: int = 1, bias: bool = True) -> int:
    """Parameters of ``SeparableConv2D``: depthwise ``m²·NC·D`` + pointwise ``NC·D·N`` + ``N``.

    Examples:
        >>> separable_conv2d_params(64, 3, 32)
        2400
    """
    filters = _positive_int(filters, "filters")
    dims = _kernel_dims(kernel_size)
    in_channels = _positive_int(in_channels, "in_channels")
    depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier")
    depthwise = math.prod(dims) * in_channels * depth_multiplier
    pointwise = in_channels * depth_multiplier * filters
    return depthwise + pointwise + (filters if bias else 0)


# --------------------------------------------------------------------------
# output sizes
# --------------------------------------------------------------------------

def _window_output_size(size: int, window: int, stride: int, padding: str | int,
                        dilation: int, what: str) -> int:
    size = _positive_int(size, "size")
    window = _positive_int(window, what)
    stride = _positive_int(stride, "stride")
    dilation = _positive_int(dilation, "dilation")
    effective = dilation * (window - 1) + 1      # a dilated kernel spans more pixels
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "same":
            # Keras/TF "same": pad so that every stride position fits: ceil(size / stride).
            return -(-size // stride)
        if mode != "valid":
            raise ValueError(f"padding must be 'valid', 'same' or a non-negative int, got {padding!r}")
        pad = 0
    elif isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be 'valid', 'same' or a non-negative int, got {padding!r}")
    else:
        pad = padding
    padded = size + 2 * pad
    if effective > padded:
        raise ValueError(
            f"a {what} of {effective} pixels does not fit in an input of {size} pixels "
            f"with padding {padding!r}: the output would be empty")
    return (padded - effective) // stride + 1


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: str | int = "valid",
                     *, dilation: int = 1) -> int:
    """Spatial size (one axis) after a convolution.

    ``valid``: ``⌊(size − k) / stride⌋ + 1``; ``same``: ``⌈size / stride⌉``;
    an int ``p`` pads ``p`` zeros on each side: ``⌊(size + 2p − k) / stride⌋ + 1``.

    Examples:
        >>> conv_output_size(28, 5)                   # seed 004: 28 → 24
        24
        >>> conv_output_size(224, 3, padding="same")  # VGG convs keep the size
        224
        >>> conv_output_size(227, 11, stride=4)       # AlexNet conv1
        55

    Raises:
        ValueError: when the kernel does not fit (e.g. 5 × 5 on 4 pixels, ``valid``).
    """
    return _window_output_size(size, kernel, stride, padding, dilation, "kernel")


def pool_output_size(size: int, pool: int, stride: int | None = None,
                     padding: str | int = "valid") -> int:
    """Spatial size (one axis) after pooling; ``stride`` defaults to ``pool`` as in Keras.

    Examples:
        >>> pool_output_size(24, 2)            # seed 004: 24 → 12
        12
        >>> pool_output_size(55, 3, stride=2)  # AlexNet's overlapping pooling
        27
        >>> pool_output_size(13, 2)            # odd sizes round down with 'valid'
        6
    """
    return _window_output_size(size, pool, pool if stride is None else stride, padding, 1,
                               "pool window")


# --------------------------------------------------------------------------
# layer_table
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerRow:
    """One layer of a model, as ``summary()`` lists it, plus the hand calculation.

    ``params_formula`` is ``None`` for layer types the formulas do not cover
    (then ``agrees`` is ``None`` too); parameter-free layers have 0.
    """

    index: int                          # 1-based, in summary() order
    name: str
    type: str                           # class name, e.g. "Conv2D"
    output_shape: tuple | None          # e.g. (None, 32, 32, 32); None if not defined
    params_formula: int | None
    params_keras: int
    formula: str                        # e.g. "32·3²·3 + 32"; "" when not applicable

    @property
    def agrees(self) -> bool | None:
        """True/False when a formula applies; None when it does not."""
        if self.params_formula is None:
            return None
        return self.params_formula == self.params_keras

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["agrees"] = self.agrees
        return row


@dataclass
class LayerTable:
    """Rows of :func:`layer_table` with totals; ``print(table)`` renders it as text."""

    model_name: str
    rows: list[LayerRow]
    total_params: int
    trainable_params: int
    non_trainable_params: int

    def __iter__(self) -> Iterator[LayerRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> LayerRow:
        return self.rows[index]

    def by_type(self, *types: str) -> list[LayerRow]:
        """Rows whose layer class name is one of ``types``, e.g. ``by_type("Conv2D")``."""
        return [row for row in self.rows if row.type in types]

    def disagreements(self) -> list[LayerRow]:
        """Rows where formula and Keras differ (should be empty for correct formulas)."""
        return [row for row in self.rows if row.agrees is False]

    def to_dicts(self) -> list[dict[str, Any]]:
        """Plain dicts, one per row (``pandas.DataFrame(table.to_dicts())`` works)."""
        return [row.to_dict() for row in self.rows]

    def to_text(self, lang: str | None = None) -> str:
        """A fixed-width table in the spirit of ``model.summary()``, in ``lang``
        (default :func:`cnnkit.messages.current_lang`)."""
        lang = messages.current_lang(lang)
        header = tuple(messages.render("layer_table.header", lang).split("|"))
        not_applicable = messages.render("layer_table.not_applicable", lang)
        body = []
        for row in self.rows:
            shape = "?" if row.output_shape is None else str(row.output_shape)
            by_formula = not_applicable if row.params_formula is None else f"{row.params_formula:,}"
            mark = {True: messages.render("layer_table.yes", lang), False: "NO", None: "-"}[row.agrees]
            body.append((str(row.index), f"{row.name} ({row.type})", shape, row.formula,
                         by_formula, f"{row.params_keras:,}", mark))
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        right = {0, 4, 5}                 # numbers read better right-aligned

        def fmt(cells: Sequence[str]) -> str:
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "-" * len(fmt(header))
        lines = [messages.render("layer_table.model", lang, name=self.model_name), rule, fmt(header), rule,
                 *(fmt(r) for r in body), rule,
                 messages.render("layer_table.total", lang, n=self.total_params),
                 messages.render("layer_table.trainable", lang, n=self.trainable_params),
                 messages.render("layer_table.non_trainable", lang, n=self.non_trainable_params)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _shape_tuple(shape: Any) -> tuple:
    return tuple(None if d is None else int(d) for d in shape)


def _tensor_shape(layer: Any, attribute: str) -> tuple | None:
    # `layer.input` / `layer.output` raise when a layer was called several
    # times (several inbound nodes) or never placed in a graph; the table then
    # shows "?" rather than guessing.
    try:
        tensor = getattr(layer, attribute)
    except (AttributeError, ValueError, RuntimeError):
        return None
    if isinstance(tensor, (list, tuple)):
        if len(tensor) != 1:
            return None
        tensor = tensor[0]
    shape = getattr(tensor, "shape", None)
    return None if shape is None else _shape_tuple(shape)


def _count_weights(weights: Sequence[Any]) -> int:
    return sum(math.prod(int(d) for d in w.shape) for w in weights)


def _channels_axis(config: dict[str, Any]) -> int:
    return 1 if config.get("data_format") == "channels_first" else -1


def _formula_for(layer: Any) -> tuple[int | None, str]:
    """(parameters by formula, formula text) from the layer's config and input shape."""
    import keras  # only called on a Keras layer, so Keras is already loaded

    layers = keras.layers
    if isinstance(layer, keras.Model):
        # A nested model (e.g. the ResNet-50 base of a transfer model) counts
        # as the sum of its own layers, each checked by formula.
        total = 0
        for inner in layer.layers:
            count, _ = _formula_for(inner)
            if count is None:
                return None, ""
            total += count
        return total, messages.render("layer_table.nested", n=len(layer.layers))
    if not layer.weights:
        return 0, "0"

    config = layer.get_config()
    in_shape = _tensor_shape(layer, "input")
    if in_shape is None:
        return None, ""
    bias = bool(config.get("use_bias", True))
    plus_bias = " + {0}" if bias else ""

    if isinstance(layer, layers.SeparableConv2D):
        nc = in_shape[_channels_axis(config)]
        n, dims, dm = config["filters"], tuple(config["kernel_size"]), config["depth_multiplier"]
        count = separable_conv2d_params(n, dims, nc, dm, bias)
        text = f"{_kernel_text(dims)}·{nc}·{dm} + {nc}·{dm}·{n}" + plus_bias.format(n)
        return count, text
    if isinstance(layer, layers.DepthwiseConv2D):
        nc = in_shape[_channels_axis(config)]
        dims, dm = tuple(config["kernel_size"]), config["depth_multiplier"]
        count = depthwise_conv2d_params(dims, nc, dm, bias)
        return count, f"{_kernel_text(dims)}·{nc}·{dm}" + plus_bias.format(f"{nc}·{dm}")
    if isinstance(layer, (layers.Conv1D, layers.Conv2D, layers.Conv3D,
                          layers.Conv2DTranspose)):
        # N·m²·NC + N — the same count for transposed convolutions, whose
        # kernel is (m, m, N, NC) instead of (m, m, NC, N).
        nc = in_shape[_channels_axis(config)]
        n, dims, groups = config["filters"], tuple(config["kernel_size"]), config.get("groups", 1)
        count = conv2d_params(n, dims, nc, bias, groups=groups)
        channels = f"({nc}/{groups})" if groups != 1 else f"{nc}"
        return count, f"{n}·{_kernel_text(dims)}·{channels}" + plus_bias.format(n)
    if isinstance(layer, layers.Dense):
        units, features = config["units"], in_shape[-1]
        count = dense_params(units, features, bias)
        return count, f"{units}·{features}" + plus_bias.format(units)
    if isinstance(layer, layers.BatchNormalization):
        axes = config["axis"] if isinstance(config["axis"], (list, tuple)) else [config["axis"]]
        channels = math.prod(in_shape[a] for a in axes)
        center, scale = bool(config.get("center", True)), bool(config.get("scale", True))
        count = batchnorm_params(channels, center=center, scale=scale)
        return count, f"{2 + int(center) + int(scale)}·{channels}"
    return None, ""


def layer_table(model: Any) -> LayerTable:
    """Every layer of ``model`` with its output shape and parameter count, by formula and by Keras.

    Rows follow ``model.layers``, numbered from 1 as ``model.summary()`` lists
    them (functional models list their ``InputLayer`` first; Sequential models
    do not). Output shapes come from ``layer.output.shape`` (Keras 3 removed
    ``layer.output_shape``). The formula column covers ``Conv1D/2D/3D``,
    ``Conv2DTranspose``, ``DepthwiseConv2D``, ``SeparableConv2D``, ``Dense``,
    ``BatchNormalization``, nested models (sum of their layers) and
    parameter-free layers (0); other layers with weights show ``n/a``.

    This is seed 000 ejercicio 2c ("verifique que el número de parámetros ...
    coincida con los cálculos") and seed 001 actividades 1–6.

    Example::

        table = layer_table(cnnkit.models.build("keras_cifar10_cnn"))
        print(table)                      # text
        rows = table.to_dicts()           # list of dicts
        assert not table.disagreements()
    """
    rows = []
    for index, layer in enumerate(model.layers, start=1):
        count, text = _formula_for(layer)
        rows.append(LayerRow(
            index=index,
            name=layer.name,
            type=type(layer).__name__,
            output_shape=_tensor_shape(layer, "output"),
            params_formula=count,
            params_keras=int(layer.count_params()) if layer.built else 0,
            formula=text,
        ))
    trainable = _count_weights(model.trainable_weights)
    non_trainable = _count_weights(model.non_trainable_weights)
    return LayerTable(model_name=model.name, rows=rows, total_params=trainable + non_trainable,
                      trainable_params=trainable, non_trainable_params=non_trainable)


# --------------------------------------------------------------------------
# architecture_table
# --------------------------------------------------------------------------

KRIZHEVSKY_2012 = ("A. Krizhevsky, I. Sutskever, G. E. Hinton. ImageNet Classification with "
                   "Deep Convolutional Neural Networks. NIPS 2012.")
SIMONYAN_2015 = ("K. Simonyan, A. Zisserman. Very Deep Convolutional Networks for Large-Scale "
                 "Image Recognition. ICLR 2015 (arXiv:1409.1556).")
HE_2016 = ("K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. "
           "CVPR 2016 (arXiv:1512.03385).")
KERAS_APPLICATIONS = "Keras Applications model table, https://keras.io/api/applications/"
TORCHVISION_ALEXNET = ("torchvision AlexNet_Weights.IMAGENET1K_V1, "
                       "https://pytorch.org/vision/stable/models/generated/torchvision.models.alexnet.html")


@dataclass(frozen=True)
class ArchitectureRow:
    """One architecture of seed 001's comparison (parte 2), each figure with its source.

    Accuracies are ImageNet (ILSVRC-2012) validation accuracy in percent,
    single 224 × 224 centre crop, as the cited model tables report them.
    """

    name: str
    year: int
    paper: str
    depth: int                     # weighted layers (conv + fully connected), as the papers count
    depth_note: str
    params: int
    params_source: str
    top1: float
    top5: float
    accuracy_source: str
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ArchitectureTable:
    """Rows of :func:`architecture_table`; ``print(table)`` renders text with sources."""

    rows: list[ArchitectureRow] = field(default_factory=list)

    def __iter__(self) -> Iterator[ArchitectureRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: int | str) -> ArchitectureRow:
        if isinstance(key, str):
            for row in self.rows:
                if row.name.lower() == key.lower():
                    return row
            raise KeyError(f"no architecture {key!r}; have {[r.name for r in self.rows]}")
        return self.rows[key]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [row.to_dict() for row in self.rows]

    def to_text(self, lang: str | None = None) -> str:
        """The table and every figure's source, labelled in ``lang`` (default
        :func:`cnnkit.messages.current_lang`); the rows' own text is in the
        language :func:`architecture_table` was called in."""
        lang = messages.current_lang(lang)
        header = tuple(messages.render("arch_table.header", lang).split("|"))
        body = [(r.name, str(r.year), str(r.depth), f"{r.params:,}", f"{r.top1:.1f}",
                 f"{r.top5:.1f}") for r in self.rows]
        widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]

        def fmt(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths)))

        word = {key: messages.render(f"arch_table.{key}", lang)
                for key in ("sources", "depth", "parameters", "accuracy", "note")}
        lines = [fmt(header), "-" * len(fmt(header)), *(fmt(b) for b in body), "", word["sources"]]
        for r in self.rows:
            lines += [f"  {r.name}: {r.paper}",
                      f"    {word['depth']}: {r.depth_note}",
                      f"    {word['parameters']}: {r.params_source}",
                      f"    {word['accuracy']}: {r.accuracy_source}"]
            if r.notes:
                lines.append(f"    {word['note']}: {r.notes}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


# The rows' prose (what a reader of the table reads) is in the catalogue;
# citations, URLs and numbers are the same in every language.
messages.register({
    "arch_table.header": {"es": "Red|Año|Profundidad|Parámetros|Top-1 %|Top-5 %",
                          "en": "Network|Year|Depth|Parameters|Top-1 %|Top-5 %"},
    "arch_table.sources": {"es": "Fuentes:", "en": "Sources:"},
    "arch_table.depth": {"es": "profundidad", "en": "depth"},
    "arch_table.parameters": {"es": "parámetros", "en": "parameters"},
    "arch_table.accuracy": {"es": "exactitud", "en": "accuracy"},
    "arch_table.note": {"es": "nota", "en": "note"},
    "arch_table.keras_applications": {
        "es": "tabla de modelos de Keras Applications, https://keras.io/api/applications/",
        "en": KERAS_APPLICATIONS,
    },
    "arch_table.alexnet.depth": {"es": "5 capas convolucionales + 3 totalmente conectadas (artículo, §3.5)",
                                 "en": "5 convolutional + 3 fully connected layers (paper, §3.5)"},
    "arch_table.alexnet.params": {
        "es": "{torchvision} (variante de una sola torre, 61.1M); el artículo da 60 millones para el "
              "original con dos GPU",
        "en": "{torchvision} (single-tower variant, 61.1M); the paper states 60 million for the two-GPU original",
    },
    "arch_table.alexnet.notes": {
        "es": "Artículo, validación de ILSVRC-2012, una CNN (Tabla 2): 40.7% de error top-1 / 18.2% top-5, "
              "es decir, 59.3% / 81.8% de exactitud (promediando diez recortes por imagen en test, §4.1). "
              "cnnkit.models.alexnet es una variante de una sola torre 96-256-384-384-256 con "
              "62,378,344 parámetros; el original agrupado para dos GPU tiene 60,965,224.",
        "en": "Paper, ILSVRC-2012 validation, one CNN (Table 2): 40.7% top-1 / 18.2% top-5 "
              "error, i.e. 59.3% / 81.8% accuracy (ten-patch test-time averaging, §4.1). "
              "cnnkit.models.alexnet is a single-tower 96-256-384-384-256 variant with "
              "62,378,344 parameters; the grouped two-GPU original has 60,965,224.",
    },
    "arch_table.vgg19.depth": {
        "es": "16 capas convolucionales + 3 totalmente conectadas (configuración E, Tabla 1)",
        "en": "16 convolutional + 3 fully connected layers (configuration E, Table 1)",
    },
    "arch_table.vgg19.params": {
        "es": "{keras} (143.7M; número exacto de keras.applications.VGG19); Tabla 2 del artículo: 144M",
        "en": "{keras} (143.7M; exact count of keras.applications.VGG19); paper Table 2: 144M",
    },
    "arch_table.vgg19.notes": {
        "es": "Artículo, evaluación a una sola escala con variación de escala (Tabla 3, configuración E): "
              "25.5% de error top-1 / 8.0% top-5, es decir, 74.5% / 92.0% de exactitud.",
        "en": "Paper, single-scale evaluation with scale jittering (Table 3, config E): "
              "25.5% top-1 / 8.0% top-5 error, i.e. 74.5% / 92.0% accuracy.",
    },
    "arch_table.resnet50.depth": {
        "es": "49 capas convolucionales + 1 totalmente conectada en el camino principal (Tabla 1; sin contar "
              "los atajos de proyección 1×1). La tabla de Keras da 107, contando todas las capas de su grafo",
        "en": "49 convolutional + 1 fully connected layer on the main path (Table 1; 1×1 projection "
              "shortcuts not counted). Keras' table lists 107, counting every layer of its graph",
    },
    "arch_table.resnet50.params": {
        "es": "{keras} (25.6M; número exacto de keras.applications.ResNet50)",
        "en": "{keras} (25.6M; exact count of keras.applications.ResNet50)",
    },
    "arch_table.resnet50.notes": {
        "es": "Artículo, test con 10 recortes (Tabla 3): 22.85% de error top-1 / 6.71% top-5, "
              "es decir, 77.15% / 93.29% de exactitud.",
        "en": "Paper, 10-crop testing (Table 3): 22.85% top-1 / 6.71% top-5 error, "
              "i.e. 77.15% / 93.29% accuracy.",
    },
    "arch_table.built_alexnet": {
        "es": "construida: cnnkit.models.alexnet(weights=None), variante de una sola torre; las cifras de "
              "exactitud son de la variante de 61.1M de torchvision",
        "en": "built: cnnkit.models.alexnet(weights=None), single-tower variant; "
              "the accuracy figures refer to torchvision's 61.1M variant",
    },
    "arch_table.built": {"es": "construida: {call}", "en": "built: {call}"},
})


def _architectures(lang: str | None = None) -> tuple[ArchitectureRow, ...]:
    """The three rows, their prose in ``lang`` (default :func:`cnnkit.messages.current_lang`)."""
    lang = messages.current_lang(lang)
    keras_table = messages.render("arch_table.keras_applications", lang)

    def text(code: str) -> str:
        return messages.render(code, lang, keras=keras_table, torchvision=TORCHVISION_ALEXNET)

    return (
        ArchitectureRow(
            name="AlexNet", year=2012, paper=KRIZHEVSKY_2012,
            depth=8, depth_note=text("arch_table.alexnet.depth"),
            params=61_100_840, params_source=text("arch_table.alexnet.params"),
            top1=56.5, top5=79.1, accuracy_source=TORCHVISION_ALEXNET + " (acc@1 56.522, acc@5 79.066)",
            notes=text("arch_table.alexnet.notes"),
        ),
        ArchitectureRow(
            name="VGG-19", year=2014, paper=SIMONYAN_2015,
            depth=19, depth_note=text("arch_table.vgg19.depth"),
            params=143_667_240, params_source=text("arch_table.vgg19.params"),
            top1=71.3, top5=90.0, accuracy_source=keras_table,
            notes=text("arch_table.vgg19.notes"),
        ),
        ArchitectureRow(
            name="ResNet-50", year=2015, paper=HE_2016,
            depth=50, depth_note=text("arch_table.resnet50.depth"),
            params=25_636_712, params_source=text("arch_table.resnet50.params"),
            top1=74.9, top5=92.1, accuracy_source=keras_table,
            notes=text("arch_table.resnet50.notes"),
        ),
    )


def _built_param_counts(lang: str | None = None) -> dict[str, tuple[int, str]]:
    import keras

    from . import models

    counts = {}
    model = models.build("alexnet")
    counts["AlexNet"] = (model.count_params(), messages.render("arch_table.built_alexnet", lang))
    del model
    model = models.build("vgg19")
    counts["VGG-19"] = (model.count_params(),
                        messages.render("arch_table.built", lang, call="cnnkit.models.vgg19(weights=None)"))
    del model
    model = keras.applications.ResNet50(weights=None)
    counts["ResNet-50"] = (model.count_params(),
                           messages.render("arch_table.built", lang, call="keras.applications.ResNet50(weights=None)"))
    return counts


def architecture_table(compute_params: bool = False, *, lang: str | None = None) -> ArchitectureTable:
    """AlexNet, VGG-19 and ResNet-50 side by side: depth, parameters, ImageNet accuracy.

    Seed 001, parte 2: "compare profundidad, número de parámetros y el
    rendimiento que estas redes obtienen en el conjunto de datos ImageNet".
    Every figure carries its source (paper, Keras Applications or torchvision
    model tables); the notes add the papers' own figures where the protocol
    differs (multi-crop, multi-scale).

    Args:
        compute_params: build the three models (``weights=None``, a few
            seconds and ~1 GB of memory) and report their ``count_params()``
            instead of the tabulated counts.
        lang: language of the notes and sources (``"es"`` or ``"en"``);
            default :func:`cnnkit.messages.current_lang`. Papers are cited
            by their own titles.
    """
    rows = list(_architectures(lang))
    if compute_params:
        built = _built_param_counts(lang)
        rows = [ArchitectureRow(**{**row.to_dict(), "params": built[row.name][0],
                                   "params_source": built[row.name][1]})
                for row in rows]
    return ArchitectureTable(rows)

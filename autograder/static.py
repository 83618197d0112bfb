"""Static hints on student code: read the AST, never execute it.

:func:`analyze_notebook` looks at the student's own cells (nbgrader
``solution`` cells) and returns :class:`Finding` objects that render in
Spanish or English through :mod:`cnnkit.messages`. Rules:

=========================================  ========  =====================================================
code                                       severity  what it catches
=========================================  ========  =====================================================
``static.syntax_error``                    error     a cell that does not parse (line given)
``static.keras2_generator_method``         warning   ``fit_generator`` / ``evaluate_generator`` / ``predict_generator``
``static.optimizer_lowercase``             error     ``keras.optimizers.rmsprop(...)`` (Keras 1's lowercase names)
``static.optimizer_lr``                    warning   ``SGD(lr=...)`` (any Keras optimizer)
``static.optimizer_decay``                 warning   ``SGD(..., decay=...)``
``static.image_data_generator``            warning   ``keras.preprocessing.image.ImageDataGenerator``
``static.image_data_generator_legacy``     hint      ``tensorflow.keras.preprocessing.image.ImageDataGenerator``
``static.np_utils``                        warning   ``keras.utils.np_utils``
``static.predict_classes``                 warning   ``model.predict_classes(x)``
``static.layer_output_shape``              warning   ``layer.output_shape`` on a layer (not a model)
``static.keras2_layer_module``             warning   ``keras.layers.core`` / ``convolutional`` / ``pooling``...
``static.input_shape_argument``            hint      ``input_shape=`` / ``input_dim=`` passed to a layer
``static.keras1_kernel_size``              error     ``Convolution2D(64, 3, 3)``: Keras 1's kernel size, a stride in Keras 2+
``static.input_call``                      error     ``input()``: waits for a keyboard the grader does not have
``static.probabilities_with_from_logits``  warning   softmax/sigmoid output + a loss with ``from_logits=True``
``static.output_units``                    error     last Dense units != ``num_classes``
``static.sigmoid_multiclass``              hint      sigmoid over several classes with a categorical loss
``static.validation_on_test``              warning   ``validation_data=(x_test, y_test)``
``static.reference_model``                 error     importing or calling ``cnnkit.models`` builders
``static.shared_optimizer``                error     one optimizer object passed to the ``compile`` of two models
``static.rescaled_twice``                  warning   ``x = x / 255`` on images a cell already divided by 255
=========================================  ========  =====================================================

The whole notebook is read in order as one flat namespace, so facts from the
instructor's locked cells (imports, a ``compile`` with ``from_logits=True``)
inform findings, but only lines in the selected cells are reported. Names are
resolved through the notebook's imports (``from tensorflow.keras import
models`` makes ``models.Sequential`` Keras', ``from cnnkit import models``
makes ``models.build`` the reference builder). Models are followed by the
name they are assigned to: ``m = Sequential([...])``, ``m.add(...)`` (across
cells), ``m = Model(inputs, outputs)`` with ``outputs`` built by layer calls;
a ``compile`` on that name pairs the model's output with its loss. It is a
best-effort reading: nothing here executes, so values that are not literals
(``Dense(n)``) are simply not judged.
"""
from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from cnnkit import messages
from cnnkit.compat import KERAS2_IDIOMS, KERAS2_LAYER_SUBMODULES as KERAS2_LAYER_MODULES

__all__ = ["Finding", "SEVERITIES", "analyze_source", "analyze_notebook", "covered_by_static"]

SEVERITIES = ("error", "warning", "hint")

messages.register({
    "static.syntax_error": {
        "es": "Error de sintaxis en la línea {line}: {detail}. Corrígelo para que la celda se pueda ejecutar.",
        "en": "Syntax error on line {line}: {detail}. Fix it so the cell can run.",
    },
    "static.keras2_generator_method": {
        "es": "`{receiver}.{old}(...)` es de Keras 2 y no existe en Keras 3: usa `{receiver}.{new}(...)`, "
              "que acepta el generador directamente.",
        "en": "`{receiver}.{old}(...)` is Keras 2 and does not exist in Keras 3: use `{receiver}.{new}(...)`, "
              "which takes the generator directly.",
    },
    "static.optimizer_lowercase": {
        "es": "`{old}` es de Keras 1 y no existe en Keras 3: la clase es `{new}`; escribe "
              "`{new}(learning_rate={value})`.",
        "en": "`{old}` is Keras 1 and does not exist in Keras 3: the class is `{new}`; write "
              "`{new}(learning_rate={value})`.",
    },
    "static.optimizer_lr": {
        "es": "`{optimizer}(lr=...)` es de Keras 2 y Keras 3 lo rechaza: escribe `{optimizer}(learning_rate={value})`.",
        "en": "`{optimizer}(lr=...)` is Keras 2 and Keras 3 rejects it: write `{optimizer}(learning_rate={value})`.",
    },
    "static.optimizer_decay": {
        "es": "`decay={decay}` ya no existe en Keras 3: se ignora y el ritmo de aprendizaje no decae. "
              "Para el decaimiento de Keras 2 (`lr / (1 + decay · iteraciones)`) usa "
              "`{optimizer}(learning_rate=keras.optimizers.schedules.InverseTimeDecay({lr}, decay_steps=1, "
              "decay_rate={decay}))`.",
        "en": "`decay={decay}` no longer exists in Keras 3: it is ignored and the learning rate does not decay. "
              "For Keras 2's decay (`lr / (1 + decay · iterations)`) use "
              "`{optimizer}(learning_rate=keras.optimizers.schedules.InverseTimeDecay({lr}, decay_steps=1, "
              "decay_rate={decay}))`.",
    },
    "static.image_data_generator": {
        "es": "`{name}` no existe en Keras 3. Haz el aumento de datos con capas del modelo "
              "(`keras.layers.RandomFlip`, `keras.layers.RandomRotation`, `keras.layers.RandomZoom`...), "
              "normaliza con `keras.layers.Rescaling` o `keras.layers.Normalization` y lee carpetas con "
              "`keras.utils.image_dataset_from_directory`.",
        "en": "`{name}` does not exist in Keras 3. Augment data with layers in the model "
              "(`keras.layers.RandomFlip`, `keras.layers.RandomRotation`, `keras.layers.RandomZoom`...), "
              "normalise with `keras.layers.Rescaling` or `keras.layers.Normalization`, and read folders with "
              "`keras.utils.image_dataset_from_directory`.",
    },
    "static.image_data_generator_legacy": {
        "es": "`{name}` es una clase heredada (legacy) de Keras 2 que ya no se mantiene. En Keras 3 se usan "
              "capas de aumento de datos (`keras.layers.RandomFlip`, `keras.layers.RandomRotation`...) y "
              "`keras.utils.image_dataset_from_directory` para leer carpetas.",
        "en": "`{name}` is a legacy Keras 2 class that is no longer maintained. Keras 3 uses augmentation "
              "layers (`keras.layers.RandomFlip`, `keras.layers.RandomRotation`...) and "
              "`keras.utils.image_dataset_from_directory` to read folders.",
    },
    "static.np_utils": {
        "es": "`keras.utils.np_utils` no existe en Keras 3: usa `keras.utils.to_categorical(...)`.",
        "en": "`keras.utils.np_utils` does not exist in Keras 3: use `keras.utils.to_categorical(...)`.",
    },
    "static.predict_classes": {
        "es": "`{receiver}.predict_classes(...)` no existe en Keras 3: usa `np.argmax({receiver}.predict(x), axis=-1)` "
              "(o `({receiver}.predict(x) > 0.5).astype(\"int32\")` si la salida es una única unidad sigmoide).",
        "en": "`{receiver}.predict_classes(...)` does not exist in Keras 3: use `np.argmax({receiver}.predict(x), axis=-1)` "
              "(or `({receiver}.predict(x) > 0.5).astype(\"int32\")` for a single sigmoid unit).",
    },
    "static.layer_output_shape": {
        "es": "En Keras 3 las capas no tienen `output_shape`: usa `{expr}.output.shape`.",
        "en": "Keras 3 layers have no `output_shape`: use `{expr}.output.shape`.",
    },
    "static.keras2_layer_module": {
        "es": "`keras.layers.{module}` es un módulo de Keras 2 que no existe en Keras 3: importa las capas "
              "desde `keras.layers` (`from keras.layers import {names}`).",
        "en": "`keras.layers.{module}` is a Keras 2 module that does not exist in Keras 3: import layers "
              "from `keras.layers` (`from keras.layers import {names}`).",
    },
    "static.input_shape_argument": {
        "es": "`{layer}(..., {argument}=...)`: pasar la forma de entrada a una capa está obsoleto en Keras 3 "
              "(muestra un aviso). Empieza el modelo con `keras.Input(shape={shape})`.",
        "en": "`{layer}(..., {argument}=...)`: passing the input shape to a layer is deprecated in Keras 3 "
              "(it warns). Start the model with `keras.Input(shape={shape})`.",
    },
    "static.keras1_kernel_size": {
        "es": "`{call}` es la forma de Keras 1 (filtros, filas, columnas). En Keras 2 y 3 el tercer argumento "
              "es `strides`: esta capa usa un paso de {stride} y reduce la imagen. Escribe "
              "`{layer}({filters}, ({rows}, {cols}))`.",
        "en": "`{call}` is Keras 1's form (filters, rows, columns). In Keras 2 and 3 the third argument is "
              "`strides`: this layer uses a stride of {stride} and shrinks the image. Write "
              "`{layer}({filters}, ({rows}, {cols}))`.",
    },
    "static.input_call": {
        "es": "`input(...)` espera a que alguien escriba en el teclado: al corregir no hay nadie y la celda "
              "se queda bloqueada hasta agotar su tiempo. Escribe el valor en el código (p. ej. `{name} = 5`).",
        "en": "`input(...)` waits for someone to type: when grading nobody does, and the cell blocks until "
              "it runs out of time. Put the value in the code (e.g. `{name} = 5`).",
    },
    "static.probabilities_with_from_logits": {
        "es": "La salida del modelo ya pasa por `{activation}` (son probabilidades), pero la pérdida `{loss}` "
              "usa `from_logits=True`, que espera valores sin activar (logits). Quita `from_logits=True` de la "
              "pérdida o quita la activación de la última capa.",
        "en": "The model's output already goes through `{activation}` (probabilities), but the loss `{loss}` "
              "uses `from_logits=True`, which expects raw scores (logits). Remove `from_logits=True` from the "
              "loss, or remove the activation from the last layer.",
    },
    "static.output_units": {
        "es": "La última capa Dense tiene {units} unidades; el conjunto de datos tiene {num_classes} clases. "
              "La capa de salida necesita una unidad por clase: `Dense({num_classes}, ...)`.",
        "en": "The last Dense layer has {units} units; the dataset has {num_classes} classes. "
              "The output layer needs one unit per class: `Dense({num_classes}, ...)`.",
    },
    "static.sigmoid_multiclass": {
        "es": "La última capa usa `sigmoid` con {units} unidades, pero la pérdida `{loss}` supone una sola clase "
              "por imagen: usa `activation=\"softmax\"`, que reparte la probabilidad entre las clases "
              "(`sigmoid` es para salidas binarias o multietiqueta).",
        "en": "The last layer uses `sigmoid` over {units} units, but the loss `{loss}` assumes one class per "
              "image: use `activation=\"softmax\"`, which shares the probability among the classes "
              "(`sigmoid` is for binary or multi-label outputs).",
    },
    "static.shared_optimizer": {
        "es": "`{optimizer}` ya entrena a `{first}`: un optimizador guarda el estado de las variables del primer "
              "modelo que entrena, y en Keras 3 no sirve para otro (`ValueError: Unknown variable`). Crea uno "
              "nuevo para `{model}`: `{model}.compile(optimizer={constructor}, ...)`.",
        "en": "`{optimizer}` already trains `{first}`: an optimizer keeps the state of the variables of the first "
              "model it trains, and in Keras 3 it cannot train another (`ValueError: Unknown variable`). Create "
              "a new one for `{model}`: `{model}.compile(optimizer={constructor}, ...)`.",
    },
    "static.rescaled_twice": {
        "es": "`{source}` ya está en [0, 1]: ya se dividió entre 255 (línea {line} de su celda). "
              "Dividir otra vez deja las imágenes casi negras (valores ≤ 0,004) y el modelo apenas aprende; "
              "además, el corrector le da imágenes en [0, 1]. Usa `{source}` tal cual.",
        "en": "`{source}` is already in [0, 1]: it was already divided by 255 (line {line} of its cell). "
              "Dividing again leaves the images almost black (values ≤ 0.004) and the model hardly learns; "
              "besides, the grader feeds it images in [0, 1]. Use `{source}` as it is.",
    },
    "static.validation_on_test": {
        "es": "`validation_data={expr}` valida con el conjunto de test: lo que decidas mirando la validación "
              "(épocas, early stopping, hiperparámetros) se ajusta al test y su exactitud deja de ser una "
              "estimación honesta. Usa `validation_split=0.1` o separa una parte del entrenamiento para "
              "validar, y reserva el test para la evaluación final.",
        "en": "`validation_data={expr}` validates on the test set: whatever you tune by watching validation "
              "(epochs, early stopping, hyper-parameters) is fitted to the test set, and its accuracy is no "
              "longer an honest estimate. Use `validation_split=0.1` or hold out part of the training data "
              "for validation, and keep the test set for the final evaluation.",
    },
    "static.reference_model": {
        "es": "`{what}`: en tu solución no uses los modelos de referencia de `cnnkit.models`; construye tú "
              "la arquitectura con capas de Keras (`keras.Sequential([...])` o la API funcional).",
        "en": "`{what}`: do not use the reference models from `cnnkit.models` in your solution; build the "
              "architecture yourself with Keras layers (`keras.Sequential([...])` or the functional API).",
    },
})

SEVERITY_OF = {
    "static.syntax_error": "error",
    "static.keras2_generator_method": "warning",
    "static.optimizer_lowercase": "error",
    "static.optimizer_lr": "warning",
    "static.optimizer_decay": "warning",
    "static.image_data_generator": "warning",
    "static.image_data_generator_legacy": "hint",
    "static.np_utils": "warning",
    "static.predict_classes": "warning",
    "static.layer_output_shape": "warning",
    "static.keras2_layer_module": "warning",
    "static.input_shape_argument": "hint",
    "static.keras1_kernel_size": "error",
    "static.input_call": "error",
    "static.probabilities_with_from_logits": "warning",
    "static.output_units": "error",
    "static.sigmoid_multiclass": "hint",
    "static.validation_on_test": "warning",
    "static.reference_model": "error",
    "static.shared_optimizer": "error",
    "static.rescaled_twice": "warning",
}


@dataclass(frozen=True)
class Finding:
    """One static hint. ``cell_index`` is the position in ``nb.cells`` (None
    for :func:`analyze_source`); ``line`` is 1-based within that cell;
    ``cell_id`` is the nbgrader ``grade_id`` (or the cell id), which stays
    stable when a student inserts cells."""

    code: str
    severity: str
    cell_index: int | None = None
    line: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    cell_id: str | None = None

    def message(self, lang: str | None = None) -> str:
        return messages.render(self.code, lang, **self.params)

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "cell_index": self.cell_index,
            "cell_id": self.cell_id,
            "line": self.line,
            "params": dict(self.params),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Finding":
        return cls(code=data["code"], severity=data["severity"], cell_index=data.get("cell_index"),
                   line=data.get("line"), params=dict(data.get("params") or {}), cell_id=data.get("cell_id"))


# ------------------------------------------------------------------ vocab

GENERATOR_METHODS = {"fit_generator": "fit", "evaluate_generator": "evaluate", "predict_generator": "predict"}

OPTIMIZERS = {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl",
              "Lion", "Lamb", "Adafactor"}
_OPTIMIZERS_LOWER = {name.lower(): name for name in OPTIMIZERS}
# Keras 1 spelled kernel sizes as separate positional arguments: Conv2D(filters, rows, cols).
_KERAS1_CONV = {"Convolution2D", "Conv2D", "Convolution1D", "SeparableConv2D"}
# Keras 2 / Keras 3 default learning rates, to fill the decay suggestion.
_DEFAULT_LR = {"SGD": "0.01"}

_KERAS2_LAYER_MODULE = re.compile(r"(?:^|\.)keras\.layers\.(" + "|".join(KERAS2_LAYER_MODULES) + r")(?:\.|$)")

# Layer classes recognised even when imported with `from ... import *` or
# under an unknown alias; anything under a `...layers.` path counts too.
KNOWN_LAYERS = {
    "Dense", "Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D",
    "MaxPooling1D", "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D",
    "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten", "Dropout", "SpatialDropout2D",
    "BatchNormalization", "LayerNormalization", "Activation", "Softmax", "ReLU", "LeakyReLU", "PReLU",
    "ELU", "Reshape", "InputLayer", "Rescaling", "Normalization", "RandomFlip", "RandomRotation",
    "RandomZoom", "RandomTranslation", "GaussianNoise", "ZeroPadding2D", "UpSampling2D",
}
_ACTIVATION_LAYERS = {"Softmax": "softmax", "ReLU": "relu", "LeakyReLU": "leaky_relu", "PReLU": "prelu",
                      "ELU": "elu"}
PROBABILITY_ACTIVATIONS = {"softmax", "sigmoid"}

_LOSS_KINDS = {
    "categorical_crossentropy": "categorical", "sparse_categorical_crossentropy": "categorical",
    "categoricalcrossentropy": "categorical", "sparsecategoricalcrossentropy": "categorical",
    "categorical_focal_crossentropy": "categorical", "categoricalfocalcrossentropy": "categorical",
    "binary_crossentropy": "binary", "binarycrossentropy": "binary",
    "binary_focal_crossentropy": "binary", "binaryfocalcrossentropy": "binary",
}

_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
_REFERENCE_MODULE = re.compile(r"^cnnkit\.models(?:\.|$)")


# ---------------------------------------------------------------- parsing

def _compile_ast(source: str) -> ast.Module:
    # Top-level await is legal in a notebook cell.
    return compile(source, "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                   dont_inherit=True)


def _neutralise_ipython(source: str) -> str:
    """Replace IPython-only lines with Python of the same line count, so line
    numbers still point at the student's source."""
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].lstrip()[2:].split(maxsplit=1)
        if not magic or magic[0] not in _PYTHON_CELL_MAGICS:
            return "\n" * (len(lines) - 1)  # %%bash, %%html, %%writefile...: not Python
        lines[first] = "pass"
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        assigned = re.match(r"([A-Za-z_][\w.,\s]*?)\s*=\s*[%!]", stripped)
        if stripped.startswith(("%", "!")):
            out.append(indent + "pass")
        elif assigned:                                   # files = !ls   /  t = %timeit -o f()
            out.append(f"{indent}{assigned.group(1)} = None")
        elif not stripped.startswith("#") and (stripped.startswith("?") or stripped.endswith("?")):
            out.append(indent + "pass")                  # model.fit?  /  ?model.fit
        else:
            out.append(line)
    return "\n".join(out)


def _parse(source: str) -> ast.Module:
    try:
        return _compile_ast(source)
    except (SyntaxError, ValueError):
        pass  # maybe IPython syntax; the neutralised source keeps line numbers
    return _compile_ast(_neutralise_ipython(source))


# ------------------------------------------------------------ small helpers

def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _snippet(node: ast.AST, limit: int = 60) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    value = _keyword(call, name)
    if value is None and len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        value = call.args[position]
    return value


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _is_255(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == 255


def _int_literal(node: ast.expr | None) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    return None


_UNSET = object()


def _activation_name(node: ast.expr | None, default: str | None = "linear") -> str | None:
    """``"softmax"`` from ``"softmax"``, ``tf.nn.softmax`` or ``keras.activations.softmax``;
    None when it is not something we can read."""
    if node is None:
        return default
    if isinstance(node, ast.Constant):
        if node.value is None:
            return "linear"
        return node.value.lower() if isinstance(node.value, str) else None
    dotted = _dotted(node)
    return dotted.rsplit(".", 1)[-1].lower() if dotted else None


def _identifier_tokens(name: str) -> list[str]:
    return [token.lower() for token in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def _names_test_data(node: ast.expr) -> bool:
    """True when an identifier in ``node`` names test data: ``x_test``,
    ``test_images``, ``Xtest``, ``imagenes_prueba`` (not ``latest``)."""
    for sub in ast.walk(node):
        name = sub.id if isinstance(sub, ast.Name) else sub.attr if isinstance(sub, ast.Attribute) else None
        if name and any(re.match(r"^[xy]?test|^prueba", token) for token in _identifier_tokens(name)):
            return True
    return False


# ------------------------------------------------------------- the facts

@dataclass
class _Cell:
    index: int | None
    cell_id: str | None
    source: str
    selected: bool


@dataclass
class _Site:
    cell: _Cell
    line: int


@dataclass
class _Layer:
    kind: str               # "dense" | "activation" | "other"
    activation: Any         # "softmax", "linear"...; None when unreadable
    units: int | None
    site: _Site


@dataclass
class _Output:
    dense: _Layer
    activation: str | None
    activation_site: _Site


@dataclass
class _Loss:
    kind: str               # "categorical" | "binary" | "other"
    from_logits: bool
    text: str
    site: _Site
    node_id: int


def _output_of(layers: list[_Layer]) -> _Output | None:
    """The classifier head of a layer list: the last Dense and the activation
    applied to it (its own, or trailing ``Activation``/``Softmax`` layers)."""
    activation, activation_site = _UNSET, None
    for layer in reversed(layers):
        if layer.kind == "activation":
            if activation is _UNSET:
                activation, activation_site = layer.activation, layer.site
            continue
        if layer.kind == "dense":
            if activation is _UNSET:
                activation, activation_site = layer.activation, layer.site
            return _Output(dense=layer, activation=activation, activation_site=activation_site)
        return None  # ends in Flatten/Conv/a base model: not a head we can judge
    return None


# ------------------------------------------------------------ the analysis

class _Analysis(ast.NodeVisitor):
    def __init__(self, num_classes: int | Iterable[int] | None) -> None:
        self.assigned_to: dict[int, str] = {}
        if num_classes is None:
            self.expected: frozenset[int] = frozenset()
        elif isinstance(num_classes, int):
            self.expected = frozenset({num_classes})
        else:
            self.expected = frozenset(int(n) for n in num_classes)
        self.findings: list[Finding] = []
        self._reported: set[tuple] = set()
        self.cell: _Cell | None = None
        self.imports: dict[str, str] = {}           # local name -> dotted module path
        self.star_modules: list[str] = []
        self.assignments: dict[str, tuple[ast.expr, _Site]] = {}
        self.models: dict[str, list[_Layer]] = {}   # model name -> its layers so far
        self.chains: dict[str, list[_Layer]] = {}   # functional tensor name -> layers applied
        self.layer_names: set[str] = set()
        self.model_names: set[str] = set()
        self.registered_calls: set[int] = set()
        self.anonymous_models: dict[int, str] = {}      # id(Sequential call) -> model key
        self.builder_functions: dict[str, list[_Layer]] = {}
        self.pairs: list[tuple[_Output, _Loss]] = []
        self.compiled_models: set[str] = set()
        self.unpaired_losses: list[_Loss] = []
        self.logit_losses: dict[int, _Loss] = {}
        self.consumed_losses: set[int] = set()
        self.optimizer_owner: dict[int, tuple[str, str]] = {}   # id(optimizer call) -> (first model, its name)
        self.scaled: dict[str, _Site] = {}                      # image arrays already divided by 255

    # ---------------------------------------------------------- driver

    def run(self, cells: list[_Cell]) -> list[Finding]:
        for cell in cells:
            self.cell = cell
            try:
                tree = _parse(cell.source)
            except (SyntaxError, ValueError) as error:
                line = getattr(error, "lineno", None) or 1
                detail = getattr(error, "msg", None) or str(error)
                self._report("static.syntax_error", line, line=line, detail=detail)
                continue
            except (RecursionError, MemoryError):
                continue  # pathological nesting: no hints for this cell, never a crash
            try:
                self.visit(tree)
            except RecursionError:
                continue  # `1 + 1 + ... + 1` thousands deep; findings so far stand
        self._model_rules()
        order = {id(finding): n for n, finding in enumerate(self.findings)}
        return sorted(self.findings, key=lambda f: (-1 if f.cell_index is None else f.cell_index,
                                                    f.line or 0, order[id(f)]))

    def _site(self, node: ast.AST) -> _Site:
        return _Site(self.cell, getattr(node, "lineno", 1))

    def _report(self, code: str, at_line: int, /, **params: Any) -> None:
        self._report_at(code, [_Site(self.cell, at_line)], **params)

    def _report_at(self, code: str, sites: list[_Site | None], /, **params: Any) -> None:
        """Report at the first site in a selected cell (the student's code)."""
        site = next((s for s in sites if s is not None and s.cell.selected), None)
        if site is None:
            return
        key = (code, site.cell.index, site.line)
        if key in self._reported:
            return
        self._reported.add(key)
        self.findings.append(Finding(code=code, severity=SEVERITY_OF[code], cell_index=site.cell.index,
                                     line=site.line, params=params, cell_id=site.cell.cell_id))

    def _qualified(self, node: ast.AST) -> str | None:
        """Dotted name with its first part replaced by what it was imported as."""
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.imports:
            return self.imports[head] + ("." + rest if rest else "")
        return dotted

    # ---------------------------------------------------------- imports

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.imports[alias.asname] = alias.name
            else:
                head = alias.name.split(".")[0]
                self.imports[head] = head
            self._check_module_path(alias.name, node, names=())

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:  # relative imports are the student's own modules
            return
        module = node.module or ""
        names = [alias.name for alias in node.names if alias.name != "*"]
        self._check_module_path(module, node, names=names)
        for alias in node.names:
            if alias.name == "*":
                self.star_modules.append(module)
                continue
            path = f"{module}.{alias.name}"
            self.imports[alias.asname or alias.name] = path
            self._check_module_path(path, node, names=names)

    def _check_module_path(self, path: str, node: ast.AST, names: list[str] | tuple) -> None:
        line = node.lineno
        parts = path.split(".")
        if _REFERENCE_MODULE.match(path):
            self._report("static.reference_model", line, what=_snippet(node))
        if "np_utils" in parts:
            self._report("static.np_utils", line)
        layer_module = _KERAS2_LAYER_MODULE.search(path)
        if layer_module:
            shown = [n for n in names if n not in KERAS2_LAYER_MODULES]
            self._report("static.keras2_layer_module", line, module=layer_module.group(1),
                         names=", ".join(shown) if shown else "...")
        if path.endswith("preprocessing.image.ImageDataGenerator"):
            self._report_image_data_generator(path, line)

    def _report_image_data_generator(self, path: str, line: int) -> None:
        if path.startswith(("tensorflow.", "tf.")):
            self._report("static.image_data_generator_legacy", line, name=path)
        else:  # keras.preprocessing (Keras 2) or the old keras_preprocessing package
            self._report("static.image_data_generator", line, name=path)

    # ---------------------------------------------------------- names

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        qualified = self._qualified(node)
        if qualified and _REFERENCE_MODULE.match(qualified):
            self._report("static.reference_model", node.lineno, what=node.id)
        if node.id == "ImageDataGenerator" and node.id not in self.imports:
            star = next((m for m in self.star_modules if m.endswith("preprocessing.image")), None)
            if star:
                self._report_image_data_generator(f"{star}.ImageDataGenerator", node.lineno)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load):
            owner = self._qualified(node.value) or ""
            qualified = self._qualified(node)
            if qualified and _REFERENCE_MODULE.match(qualified):
                self._report("static.reference_model", node.lineno, what=_snippet(node))
            if node.attr == "ImageDataGenerator" and owner.endswith("preprocessing.image"):
                self._report_image_data_generator(f"{owner}.ImageDataGenerator", node.lineno)
            if node.attr == "np_utils":
                self._report("static.np_utils", node.lineno)
            if node.attr in KERAS2_LAYER_MODULES and owner.endswith("keras.layers"):
                self._report("static.keras2_layer_module", node.lineno, module=node.attr, names="...")
            if node.attr == "output_shape" and self._is_layer(node.value):
                self._report("static.layer_output_shape", node.lineno, expr=_snippet(node.value))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        # importlib.import_module("cnnkit.models") is the same import.
        if isinstance(node.value, str) and _REFERENCE_MODULE.match(node.value):
            self._report("static.reference_model", node.lineno, what=repr(node.value))

    # ----------------------------------------------- layers and models

    def _layer_class(self, call: ast.expr) -> str | None:
        if not isinstance(call, ast.Call):
            return None
        qualified = self._qualified(call.func)
        if not qualified:
            return None
        parts = qualified.split(".")
        if parts[-1] in KNOWN_LAYERS or ("layers" in parts[:-1] and parts[-1][:1].isupper()):
            return parts[-1]
        return None

    def _layer_fact(self, node: ast.expr) -> _Layer:
        site = self._site(node)
        layer_class = self._layer_class(node)
        if layer_class == "Dense":
            return _Layer("dense", _activation_name(_argument(node, 1, "activation")),
                          _int_literal(_argument(node, 0, "units")), site)
        if layer_class == "Activation":
            return _Layer("activation", _activation_name(_argument(node, 0, "activation"), default=None),
                          None, site)
        if layer_class in _ACTIVATION_LAYERS:
            return _Layer("activation", _ACTIVATION_LAYERS[layer_class], None, site)
        return _Layer("other", None, None, site)

    def _chain_of(self, node: ast.expr) -> list[_Layer] | None:
        """Layers applied to produce a functional-API tensor, when we can tell."""
        dotted = _dotted(node)
        if dotted is not None:
            return self.chains.get(dotted)
        if isinstance(node, ast.Call) and self._layer_class(node.func):
            before = self._chain_of(node.args[0]) if node.args else None
            return (before or []) + [self._layer_fact(node.func)]
        return None

    def _model_layers(self, call: ast.Call) -> list[_Layer] | None:
        """Layers of ``Sequential([...])`` or ``Model(inputs, outputs)``; None if not a model call."""
        qualified = self._qualified(call.func) or ""
        last = qualified.rsplit(".", 1)[-1]
        if last == "Sequential":
            listed = _argument(call, 0, "layers")
            if isinstance(listed, (ast.List, ast.Tuple)):
                return [self._layer_fact(element) for element in listed.elts]
            return []
        if last in ("Model", "Functional"):
            outputs = _argument(call, 1, "outputs")
            chain = self._chain_of(outputs) if outputs is not None else None
            return list(chain) if chain else []
        return None

    def _is_layers_collection(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Attribute) and node.attr == "layers":
            return True
        if isinstance(node, ast.Subscript):
            return self._is_layers_collection(node.value)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("enumerate", "reversed", "list") and node.args):
            return self._is_layers_collection(node.args[0])
        return False

    def _bind_loop_target(self, target: ast.expr, iterable: ast.expr) -> None:
        if not self._is_layers_collection(iterable):
            return
        if isinstance(target, ast.Tuple) and target.elts:  # for i, layer in enumerate(model.layers)
            target = target.elts[-1]
        dotted = _dotted(target)
        if dotted:
            self.layer_names.add(dotted)
            self.model_names.discard(dotted)

    def _is_layer(self, node: ast.expr) -> bool:
        """Heuristic for ``X.output_shape``: flag only when X is clearly a layer
        (``model.layers[i]``, ``model.get_layer(...)``, a loop over
        ``model.layers``, a name bound to a layer constructor, or a name that
        says "layer"/"capa"); models keep ``output_shape`` in Keras 3."""
        if isinstance(node, ast.Subscript):
            return self._is_layers_collection(node.value)
        if isinstance(node, ast.Call):
            return (isinstance(node.func, ast.Attribute) and node.func.attr == "get_layer") \
                or self._layer_class(node) is not None
        dotted = _dotted(node)
        if dotted is None or dotted in self.model_names:
            return False
        if dotted in self.layer_names:
            return True
        last = dotted.rsplit(".", 1)[-1].lower()
        return ("layer" in last or "capa" in last) and "model" not in last

    # ----------------------------------------------------- statements

    def visit_Assign(self, node: ast.Assign) -> None:
        if isinstance(node.targets[0], ast.Name):
            # n = int(input()): the hint names the variable to set by hand.
            for call in ast.walk(node.value):
                if isinstance(call, ast.Call):
                    self.assigned_to[id(call)] = node.targets[0].id
        for target in node.targets:
            self._bind(target, node.value)
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value)
            self.visit(node.value)

    def _bind(self, target: ast.expr, value: ast.expr) -> None:
        name = _dotted(target)
        if name is None:
            for element in getattr(target, "elts", []):
                self._forget(_dotted(element))
            return
        chain = self._chain_of(value) if isinstance(value, ast.Call) else None
        self._check_rescaled(name, value)
        self._forget(name)
        self.assignments[name] = (value, self._site(value))
        if isinstance(value, ast.Call):
            layers = self._model_layers(value)
            qualified = self._qualified(value.func) or ""
            if layers is not None:
                self.models[name] = layers
                self.model_names.add(name)
                self.registered_calls.add(id(value))
            elif isinstance(value.func, ast.Name) and value.func.id in self.builder_functions:
                self.models[name] = list(self.builder_functions[value.func.id])  # model = build_model()
                self.model_names.add(name)
            elif isinstance(value.func, ast.Call) and chain is not None:
                self.chains[name] = chain                        # x = Dense(10)(x)
            elif self._layer_class(value) is not None:
                self.layer_names.add(name)                       # conv = Conv2D(...)
            elif isinstance(value.func, ast.Attribute) and value.func.attr == "get_layer":
                self.layer_names.add(name)
            elif ".applications." in f".{qualified}." or qualified.endswith("load_model"):
                self.model_names.add(name)
        elif isinstance(value, ast.Subscript) and self._is_layers_collection(value.value):
            self.layer_names.add(name)                           # layer = model.layers[0]

    def _check_rescaled(self, name: str, value: ast.expr) -> None:
        """``x = x / 255`` where ``x`` was already divided by 255 (often by the locked data cell)."""
        divides = any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) and _is_255(n.right)
                      for n in ast.walk(value))
        if not divides:
            self.scaled.pop(name, None)
            return
        again = [n.id for n in ast.walk(value) if isinstance(n, ast.Name) and n.id in self.scaled]
        if again:
            self._report("static.rescaled_twice", value.lineno, source=again[0], line=self.scaled[again[0]].line)
        self.scaled[name] = self._site(value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        name = _dotted(node.target)
        if isinstance(node.op, ast.Div) and _is_255(node.value) and name:
            if name in self.scaled:
                self._report("static.rescaled_twice", node.lineno, source=name, line=self.scaled[name].line)
            self.scaled[name] = self._site(node)
        self.generic_visit(node)

    def _forget(self, name: str | None) -> None:
        if name is None:
            return
        for table in (self.models, self.chains, self.assignments):
            table.pop(name, None)
        self.layer_names.discard(name)
        self.model_names.discard(name)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        # Remember what a builder returns, so `model = build_model()` followed
        # by `model.compile(...)` outside the function still pairs up.
        self.generic_visit(node)
        for statement in ast.walk(node):
            if not isinstance(statement, ast.Return) or statement.value is None:
                continue
            returned = _dotted(statement.value)
            key = returned if returned in self.models else self.anonymous_models.get(id(statement.value))
            if key is not None:
                self.builder_functions[node.name] = self.models[key]

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self._bind_loop_target(node.target, node.iter)
        for statement in node.body + node.orelse:
            self.visit(statement)

    def _visit_comprehension(self, node: ast.AST, results: list[ast.expr]) -> None:
        # Generators first, so `[l.output_shape for l in model.layers]` knows `l`.
        for generator in node.generators:
            self.visit(generator.iter)
            self._bind_loop_target(generator.target, generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        for result in results:
            self.visit(result)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._visit_comprehension(node, [node.elt])

    visit_SetComp = visit_ListComp
    visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._visit_comprehension(node, [node.key, node.value])

    # ---------------------------------------------------------- calls

    def visit_Call(self, node: ast.Call) -> None:
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        receiver = _snippet(node.func.value, 30) if method else ""
        qualified = self._qualified(node.func) or ""
        last = qualified.rsplit(".", 1)[-1] if qualified else (method or "")

        if method in GENERATOR_METHODS:
            self._report("static.keras2_generator_method", node.lineno, receiver=receiver, old=method,
                         new=GENERATOR_METHODS[method])
        if method == "predict_classes":
            self._report("static.predict_classes", node.lineno, receiver=receiver)
        if last in OPTIMIZERS:
            self._check_optimizer(node, _snippet(node.func, 60), last)
        elif last.lower() in _OPTIMIZERS_LOWER and ".optimizers." in f".{qualified}":
            # keras.optimizers.rmsprop: Keras 1's lowercase alias; every hint names the real class.
            written = _snippet(node.func, 60)
            modern = written[: len(written) - len(last)] + _OPTIMIZERS_LOWER[last.lower()]
            rate = _keyword(node, "lr") or _argument(node, 0, "learning_rate")
            self._report("static.optimizer_lowercase", node.lineno, old=written, new=modern,
                         value=_snippet(rate, 30) if rate is not None else "0.001")
            self._check_optimizer(node, modern, _OPTIMIZERS_LOWER[last.lower()])
        layer_class = self._layer_class(node)
        if layer_class:
            self._check_input_shape(node, layer_class)
            self._check_keras1_kernel_size(node, layer_class)
        if isinstance(node.func, ast.Name) and node.func.id == "input" and "input" not in self.layer_names:
            self._report("static.input_call", node.lineno, name=self.assigned_to.get(id(node), "valor"))
        if _is_true(_keyword(node, "from_logits")):
            self.logit_losses[id(node)] = self._loss_from_call(node)
        if method in ("fit", "fit_generator"):
            validation = _keyword(node, "validation_data")
            if validation is not None and _names_test_data(validation):
                self._report("static.validation_on_test", node.lineno, expr=_snippet(validation))
        if _REFERENCE_MODULE.match(qualified):
            self._report("static.reference_model", node.lineno, what=f"{_dotted(node.func)}(...)")
        if method == "add" and node.args:
            self._track_add(node)
        if method == "pop" and _dotted(node.func.value) in self.models and self.models[_dotted(node.func.value)]:
            self.models[_dotted(node.func.value)].pop()
        if method == "compile":
            self._track_compile(node)
        if id(node) not in self.registered_calls:
            layers = self._model_layers(node)
            if layers:  # `return keras.Sequential([...])` in a builder function
                key = f"<model at {self.cell.index}:{node.lineno}>"
                self.models[key] = layers
                self.registered_calls.add(id(node))
                self.anonymous_models[id(node)] = key
        self.generic_visit(node)

    def _check_keras1_kernel_size(self, node: ast.Call, layer_class: str) -> None:
        if layer_class not in _KERAS1_CONV or len(node.args) < 3:
            return
        rows, cols = (_int_literal(a) for a in node.args[1:3])
        if rows is None or cols is None:       # Conv2D(64, (3, 3), 2): a real stride
            return
        self._report("static.keras1_kernel_size", node.lineno, call=_snippet(node, 60),
                     layer=_snippet(node.func, 40).replace("Convolution", "Conv"),
                     filters=_snippet(node.args[0], 20), rows=rows, cols=cols, stride=cols)

    def _check_optimizer(self, node: ast.Call, optimizer: str, name: str) -> None:
        """``optimizer`` as the hint should spell it (the student's path, the real class); ``name`` the class."""
        lr = _keyword(node, "lr")
        if lr is not None:
            self._report("static.optimizer_lr", node.lineno, optimizer=optimizer, value=_snippet(lr, 30))
        decay = _keyword(node, "decay")
        if decay is not None:
            rate = lr if lr is not None else _argument(node, 0, "learning_rate")
            self._report("static.optimizer_decay", node.lineno, optimizer=optimizer,
                         lr=_snippet(rate, 30) if rate is not None else _DEFAULT_LR.get(name, "0.001"),
                         decay=_snippet(decay, 30))

    def _check_input_shape(self, node: ast.Call, layer_class: str) -> None:
        shape = _keyword(node, "input_shape")
        if shape is not None:
            self._report("static.input_shape_argument", node.lineno, layer=layer_class, argument="input_shape",
                         shape=_snippet(shape, 30))
        dim = _keyword(node, "input_dim")
        if dim is not None:
            self._report("static.input_shape_argument", node.lineno, layer=layer_class, argument="input_dim",
                         shape=f"({_snippet(dim, 20)},)")

    def _track_add(self, node: ast.Call) -> None:
        model = _dotted(node.func.value)
        if model is None:
            return
        argument = node.args[0]
        if model in self.models:
            self.models[model].append(self._layer_fact(argument))
        elif self._layer_class(argument):  # a model built in a cell we only see part of
            self.models[model] = [self._layer_fact(argument)]
            self.model_names.add(model)

    # ------------------------------------------------------------ losses

    def _loss_from_call(self, node: ast.Call) -> _Loss:
        qualified = self._qualified(node.func) or ""
        name = qualified.rsplit(".", 1)[-1]
        # Shown as `SparseCategoricalCrossentropy(from_logits=True)`: the
        # module path the student used adds nothing to the message.
        shown = ast.Call(func=ast.Name(id=name or "loss"), args=node.args, keywords=node.keywords)
        return _Loss(kind=_LOSS_KINDS.get(name.lower(), "other"),
                     from_logits=_is_true(_keyword(node, "from_logits")),
                     text=_snippet(shown, 70), site=self._site(node), node_id=id(node))

    def _resolve_loss(self, node: ast.expr | None, depth: int = 0) -> _Loss | None:
        if node is None:
            return None
        if isinstance(node, ast.Call):
            return self._loss_from_call(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return _Loss(_LOSS_KINDS.get(node.value.lower(), "other"), False, repr(node.value),
                         self._site(node), id(node))
        dotted = _dotted(node)
        if dotted is None:
            return None
        if dotted in self.assignments and depth < 3:  # loss_fn = SparseCategoricalCrossentropy(...)
            value, _ = self.assignments[dotted]
            return self._resolve_loss(value, depth + 1)
        name = dotted.rsplit(".", 1)[-1]             # keras.losses.categorical_crossentropy
        if name.lower() in _LOSS_KINDS:
            return _Loss(_LOSS_KINDS[name.lower()], False, dotted, self._site(node), id(node))
        return None

    def _track_compile(self, node: ast.Call) -> None:
        self._check_shared_optimizer(node)
        loss = self._resolve_loss(_argument(node, 1, "loss"))
        if loss is None:
            return
        self.consumed_losses.add(loss.node_id)
        model = _dotted(node.func.value)
        output = _output_of(self.models[model]) if model in self.models else None
        if output is None:
            self.unpaired_losses.append(loss)
            return
        self.pairs.append((output, loss))
        self.compiled_models.add(model)

    def _check_shared_optimizer(self, node: ast.Call) -> None:
        """``opt = Adam(...)`` then ``a.compile(opt, ...)`` and ``b.compile(opt, ...)``."""
        argument = _argument(node, 0, "optimizer")
        name, model = _dotted(argument) if argument is not None else None, _dotted(node.func.value)
        if not name or not model or name not in self.assignments:
            return
        value, _ = self.assignments[name]
        if not isinstance(value, ast.Call):
            return
        last = (self._qualified(value.func) or "").rsplit(".", 1)[-1]
        if last not in OPTIMIZERS and last.lower() not in _OPTIMIZERS_LOWER:
            return
        first = self.optimizer_owner.setdefault(id(value), (model, name))[0]
        if first != model:
            self._report("static.shared_optimizer", node.lineno, optimizer=name, first=first, model=model,
                         constructor=_snippet(value, 60))

    # ------------------------------------------------- notebook-wide rules

    def _model_rules(self) -> None:
        uncompiled = [out for key, layers in self.models.items() if key not in self.compiled_models
                      for out in [_output_of(layers)] if out is not None]
        # Losses we could not tie to a model: from a compile on an unknown
        # model, or built with from_logits=True outside any compile
        # (custom loops). They are paired with every model never compiled.
        loose = list(self.unpaired_losses) + [loss for key, loss in self.logit_losses.items()
                                              if key not in self.consumed_losses]
        candidates = self.pairs + [(out, loss) for loss in loose for out in uncompiled]

        for output, loss in candidates:
            if loss.from_logits and output.activation in PROBABILITY_ACTIVATIONS:
                self._report_at("static.probabilities_with_from_logits", [output.activation_site, loss.site],
                                activation=output.activation, loss=loss.text)
            units = output.dense.units
            if (output.activation == "sigmoid" and units is not None and units > 1
                    and loss.kind == "categorical"):
                self._report_at("static.sigmoid_multiclass", [output.activation_site, loss.site],
                                units=units, loss=loss.text)

        if self.expected:
            # Judge a head only when it is clearly a classifier: a softmax or
            # sigmoid output, or a linear one compiled with a classification loss.
            trained_as_classifier = {id(out) for out, loss in candidates
                                     if loss.kind in ("categorical", "binary") or loss.from_logits}
            heads = [out for out, _ in self.pairs] + uncompiled
            for output in heads:
                units = output.dense.units
                if units is None or units in self.expected:
                    continue
                if units == 1 and output.activation == "sigmoid" and 2 in self.expected:
                    continue  # binary classification with one sigmoid unit
                if output.activation in PROBABILITY_ACTIVATIONS or (
                        output.activation == "linear" and id(output) in trained_as_classifier):
                    self._report_at("static.output_units", [output.dense.site], units=units,
                                    num_classes="/".join(str(n) for n in sorted(self.expected)))


# ---------------------------------------------------------------- public API

def analyze_source(source: str, *, num_classes: int | Iterable[int] | None = None) -> list[Finding]:
    """Findings for one piece of Python (a cell or a script); ``cell_index`` is None."""
    return _Analysis(num_classes).run([_Cell(index=None, cell_id=None, source=source, selected=True)])


def analyze_notebook(nb: Any, *, num_classes: int | Iterable[int] | None = None,
                     solution_only: bool = True) -> list[Finding]:
    """Findings for a notebook (``nbformat`` node, a dict, or a path).

    With ``solution_only`` only nbgrader ``solution`` code cells are reported
    (all code cells when the notebook has no nbgrader metadata at all);
    every code cell is still read, in order, for context.
    ``num_classes`` may be one int or several (a notebook with two datasets).
    """
    if isinstance(nb, (str, os.PathLike)):
        import nbformat

        nb = nbformat.read(os.fspath(nb), as_version=4)
    cells = nb.get("cells", [])
    has_nbgrader = any("nbgrader" in (cell.get("metadata") or {}) for cell in cells)
    report_all = not solution_only or not has_nbgrader
    code_cells = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        nbgrader = (cell.get("metadata") or {}).get("nbgrader") or {}
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        code_cells.append(_Cell(index=index, cell_id=nbgrader.get("grade_id") or cell.get("id"),
                                source=source, selected=report_all or bool(nbgrader.get("solution"))))
    return _Analysis(num_classes).run(code_cells)


def covered_by_static(kind: str, static_codes: set) -> bool:
    """Whether a Keras-2 idiom the shims saw run is already explained by a static finding."""
    return KERAS2_IDIOMS.get(kind, (None, None))[1] in static_codes

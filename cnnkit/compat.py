"""Let Keras-2 course code run on Keras 3, and teach the Keras-3 spelling.

The autograder must grade notebooks written the old way (the course's own
slides use ``fit_generator``, ``ImageDataGenerator`` and ``SGD(lr=..., decay=...)``),
while students should learn the modern call. :func:`install` patches Keras 3
only where the old spelling would otherwise fail or silently change meaning:

==============================================  ====================================================
Keras 2                                         what happens after :func:`install`
==============================================  ====================================================
``model.fit_generator(gen, steps_per_epoch=)``  ``model.fit(gen, ...)``; fractional step counts are
``model.evaluate_generator(gen, steps=)``       rounded up as Keras 2 did; ``workers``,
``model.predict_generator(gen, steps=)``        ``use_multiprocessing`` and ``max_queue_size`` are
                                                dropped (Keras 3 sets them on ``PyDataset``)
``SGD(lr=0.01)`` (any optimizer)                ``learning_rate=0.01``
``SGD(..., decay=1e-6)``                        ``learning_rate=InverseTimeDecay(lr, 1, 1e-6)``,
                                                Keras 2's ``lr / (1 + decay * iterations)``
``keras.preprocessing.image.ImageDataGenerator``  the legacy class Keras 3 still ships
``keras.utils.np_utils.to_categorical``         ``keras.utils.to_categorical``
``model.predict_classes(x)``                    ``argmax`` of ``model.predict(x)`` (or ``> 0.5``)
``layer.output_shape``                          ``layer.output.shape``
``keras.layers.core`` / ``convolutional`` ...   ``keras.layers``
==============================================  ====================================================

Each old spelling, the first time it is used, is recorded (:func:`used`) and
explained with one line on **stdout** in the catalogue's language: nbgrader
scores a test cell 0 when anything reaches stderr, so hints never go there.

Importing this module does not import Keras; :func:`install` does.
"""
from __future__ import annotations

import functools
import json
import math
import os
import sys
import threading
import types
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from . import messages

__all__ = [
    "Keras2Usage", "install", "uninstall", "is_installed",
    "used", "reset", "write_report",
]

# The hint template is the same shape for every idiom; the tail says why the
# modern call is better or what the shim did, so the student learns something.
messages.register({
    "compat.fit_generator": {
        "es": "Keras 2: `{idiom}` → Keras 3: `{modern}` (`fit` ya acepta generadores y `PyDataset`)",
        "en": "Keras 2: `{idiom}` → Keras 3: `{modern}` (`fit` accepts generators and `PyDataset`s)",
    },
    "compat.evaluate_generator": {
        "es": "Keras 2: `{idiom}` → Keras 3: `{modern}` (`evaluate` ya acepta generadores)",
        "en": "Keras 2: `{idiom}` → Keras 3: `{modern}` (`evaluate` accepts generators)",
    },
    "compat.predict_generator": {
        "es": "Keras 2: `{idiom}` → Keras 3: `{modern}` (`predict` ya acepta generadores)",
        "en": "Keras 2: `{idiom}` → Keras 3: `{modern}` (`predict` accepts generators)",
    },
    "compat.optimizer_lr": {
        "es": "Keras 2: `{idiom}` → Keras 3: `{modern}` (Keras 3 rechaza `lr=`)",
        "en": "Keras 2: `{idiom}` → Keras 3: `{modern}` (Keras 3 rejects `lr=`)",
    },
    "compat.optimizer_decay": {
        "es": "Keras 2: `{idiom}` → Keras 3: `{modern}` (Keras 3 ignora `decay=`: el ritmo de aprendizaje no decaería)",
        "en": "Keras 2: `{idiom}` → Keras 3: `{modern}` (Keras 3 ignores `decay=`: the learning rate would not decay)",
    },
    "compat.image_data_generator": {
        "es": "Keras 2: `{idiom}` → Keras 3: `{modern}` (aquí se usa la clase heredada, que ya no se mantiene)",
        "en": "Keras 2: `{idiom}` → Keras 3: `{modern}` (the legacy class is used here; it is no longer maintained)",
    },
    "compat.np_utils": {
        "es": "Keras 2: `{idiom}` → Keras 3: `{modern}`",
        "en": "Keras 2: `{idiom}` → Keras 3: `{modern}`",
    },
    "compat.predict_classes": {
        "es": "Keras 2: `{idiom}` → Keras 3: `{modern}` (con salida sigmoide de 1 unidad: `(model.predict(x) > 0.5).astype(\"int32\")`)",
        "en": "Keras 2: `{idiom}` → Keras 3: `{modern}` (for a 1-unit sigmoid output: `(model.predict(x) > 0.5).astype(\"int32\")`)",
    },
    "compat.layer_output_shape": {
        "es": "Keras 2: `{idiom}` → Keras 3: `{modern}`",
        "en": "Keras 2: `{idiom}` → Keras 3: `{modern}`",
    },
    "compat.layers_submodule": {
        "es": "Keras 2: `{idiom}` → Keras 3: `{modern}` (todas las capas están en `keras.layers`)",
        "en": "Keras 2: `{idiom}` → Keras 3: `{modern}` (every layer lives in `keras.layers`)",
    },
})

HINT_PREFIX = "cnnkit · "

# Keras 2.x module paths that course code imports layers from; Keras 3 has
# only the flat `keras.layers` namespace.
KERAS2_LAYER_SUBMODULES = ("core", "convolutional", "pooling", "normalization", "advanced_activations",
                           "merge", "recurrent", "embeddings", "noise", "local", "wrappers")

# The one table of Keras-2 idioms: each kind the shims record, the message that
# explains it when it runs, and the static hint (autograder.static) that
# explains the same idiom from the source, so feedback says it once.
KERAS2_IDIOMS = {
    "fit_generator": ("compat.fit_generator", "static.keras2_generator_method"),
    "evaluate_generator": ("compat.evaluate_generator", "static.keras2_generator_method"),
    "predict_generator": ("compat.predict_generator", "static.keras2_generator_method"),
    "optimizer_lr": ("compat.optimizer_lr", "static.optimizer_lr"),
    "optimizer_decay": ("compat.optimizer_decay", "static.optimizer_decay"),
    "image_data_generator": ("compat.image_data_generator", "static.image_data_generator"),
    "np_utils": ("compat.np_utils", "static.np_utils"),
    "predict_classes": ("compat.predict_classes", "static.predict_classes"),
    "layer_output_shape": ("compat.layer_output_shape", "static.layer_output_shape"),
    **{f"layers.{name}": ("compat.layers_submodule", "static.keras2_layer_module")
       for name in KERAS2_LAYER_SUBMODULES},
}

# Modules whose code may legitimately probe `layer.output_shape` (e.g. Keras'
# own summary does `hasattr(layer, "output_shape")`): for them the attribute
# must stay missing, exactly as in plain Keras 3, and no usage is charged to
# the student. cnnkit/autograder are listed so our own helpers never are.
_LIBRARY_MODULE_PREFIXES = ("keras", "tensorflow", "tf_keras", "jax", "optree", "absl",
                            "cnnkit.", "autograder.")


@dataclass(frozen=True)
class Keras2Usage:
    """One kind of Keras-2 spelling seen in this process, with its Keras-3 form."""

    kind: str      # stable key, e.g. "fit_generator", "optimizer_lr"
    idiom: str     # the old spelling, as the student wrote it (values filled in)
    modern: str    # the Keras-3 code to write instead
    code: str      # message code in :mod:`cnnkit.messages`

    def message(self, lang: str | None = None) -> str:
        return messages.render(self.code, lang, idiom=self.idiom, modern=self.modern)

    def to_json(self) -> dict:
        return asdict(self)


class _State:
    """Everything install() changed, so uninstall() can put it back."""

    def __init__(self) -> None:
        self.installed = False
        self.hints = True
        self.lock = threading.RLock()
        self.usages: dict[str, Keras2Usage] = {}
        # (owner object, attribute name, original value or _MISSING)
        self.patched_attributes: list[tuple[Any, str, Any]] = []
        # (sys.modules key, original module or _MISSING)
        self.patched_modules: list[tuple[str, Any]] = []


_MISSING = object()
_state = _State()


# ---------------------------------------------------------------- recording

def _record(kind: str, idiom: str, modern: str) -> None:
    """Remember the first use of ``kind`` and print its hint (stdout only)."""
    with _state.lock:
        if kind in _state.usages:
            return
        usage = Keras2Usage(kind=kind, idiom=idiom, modern=modern, code=KERAS2_IDIOMS[kind][0])
        _state.usages[kind] = usage
        show = _state.hints
    if show:
        # Looked up at call time: Jupyter replaces sys.stdout per kernel.
        print(HINT_PREFIX + usage.message(), file=sys.stdout, flush=True)




def used() -> list[Keras2Usage]:
    """The Keras-2 spellings used since install()/reset(), first use first."""
    with _state.lock:
        return list(_state.usages.values())


def reset() -> None:
    """Forget recorded usages: each idiom will be recorded and hinted again."""
    with _state.lock:
        _state.usages.clear()


def write_report(path: str | os.PathLike) -> Path:
    """Write :func:`used` as JSON (``{"usages": [...]}``) atomically; returns the path.

    The grader reads the file after the kernel is gone, so the write must never
    leave half a file.
    """
    from .checks.artifacts import atomic_write

    target = Path(path)
    atomic_write(target, json.dumps({"usages": [usage.to_json() for usage in used()]}, ensure_ascii=False, indent=2))
    return target


# ------------------------------------------------------------ small helpers

def _whole_steps(steps: Any) -> Any:
    """Keras 2 accepted fractional step counts (the course slides pass
    ``len(x) * 0.9 / 32``) and looped ``while done < steps``, i.e. rounded up;
    Keras 3 needs an int."""
    if steps is None:
        return None
    if isinstance(steps, float):
        return math.ceil(steps)
    return int(steps)


def _keras3_data(data: Any, class_weight: Mapping[int, float] | None = None) -> Any:
    """Keras 2's generator contract, served to Keras 3.

    Keras 2 took any iterator (``zip(images, masks)``, ``iter(batches)``),
    batches as tuples or lists, bare inputs for ``predict_generator``, and
    ``class_weight`` with generators; Keras 3 wants a real generator of
    tuples and rejects ``class_weight`` for generators. PyDatasets (the
    legacy ``ImageDataGenerator`` iterators are PyDatasets) pass unchanged.
    """
    import keras

    if isinstance(data, keras.utils.PyDataset):
        return data
    if isinstance(data, types.GeneratorType) or (hasattr(data, "__next__") and hasattr(data, "__iter__")):
        return _keras2_batches(data, class_weight)
    return data


def _keras2_batches(batches: Any, class_weight: Mapping[int, float] | None):
    for batch in batches:
        if isinstance(batch, list):
            batch = tuple(batch)         # tf.keras 2 read a list batch as (x, y[, w])
        elif not isinstance(batch, tuple):
            batch = (batch,)             # predict_generator could yield bare inputs
        if class_weight and len(batch) == 2:
            batch = (*batch, _class_sample_weights(batch[1], class_weight))
        yield batch


def _class_sample_weights(targets: Any, class_weight: Mapping[int, float]):
    """Per-sample weights from class weights, as Keras 2 computed them:
    class = argmax of one-hot targets, else the rounded label."""
    import numpy as np

    targets = np.asarray(targets)
    if targets.ndim > 1 and targets.shape[-1] > 1:
        classes = targets.argmax(axis=-1)
    else:
        classes = np.round(targets.reshape(len(targets), -1)[:, 0]).astype(int)
    return np.array([class_weight.get(int(c), 1.0) for c in classes.reshape(-1)], dtype="float32")


def _number(value: Any) -> str:
    """A learning rate or decay as the student would write it."""
    return repr(float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)


def _set_attribute(owner: Any, name: str, value: Any) -> None:
    original = owner.__dict__.get(name, _MISSING) if hasattr(owner, "__dict__") else _MISSING
    _state.patched_attributes.append((owner, name, original))
    setattr(owner, name, value)


def _set_module(key: str, module: types.ModuleType) -> None:
    _state.patched_modules.append((key, sys.modules.get(key, _MISSING)))
    sys.modules[key] = module


# ------------------------------------------------------- Model method shims

def _fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                   validation_data=None, validation_steps=None, validation_freq=1, class_weight=None,
                   max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True,
                   initial_epoch=0):
    # Keras 2.x signature (positional order included). workers,
    # use_multiprocessing and max_queue_size belong to PyDataset in Keras 3;
    # dropping them only means single-process loading, never a wrong result.
    import keras

    _record("fit_generator", "model.fit_generator(generator, ...)", "model.fit(generator, ...)")
    is_dataset = isinstance(generator, keras.utils.PyDataset)
    return self.fit(
        generator if is_dataset else _keras3_data(generator, class_weight),
        steps_per_epoch=_whole_steps(steps_per_epoch),
        epochs=epochs,
        verbose=verbose,
        callbacks=callbacks,
        validation_data=_keras3_data(validation_data),
        validation_steps=_whole_steps(validation_steps),
        validation_freq=validation_freq,
        # Keras 3 handles class_weight itself only for PyDatasets.
        class_weight=class_weight if is_dataset else None,
        # Keras 2 shuffled only Sequences (now PyDatasets); for a generator
        # Keras 3 would warn that shuffle=True is ignored.
        shuffle=shuffle if is_dataset else False,
        initial_epoch=initial_epoch,
    )


def _evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                        use_multiprocessing=False, verbose=0):
    # verbose=0 is Keras 2's default here (Keras 3's evaluate defaults to a progress bar).
    _record("evaluate_generator", "model.evaluate_generator(generator, ...)", "model.evaluate(generator, ...)")
    return self.evaluate(_keras3_data(generator), steps=_whole_steps(steps), callbacks=callbacks, verbose=verbose)


def _predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                       use_multiprocessing=False, verbose=0):
    _record("predict_generator", "model.predict_generator(generator, ...)", "model.predict(generator, ...)")
    return self.predict(_keras3_data(generator), steps=_whole_steps(steps), callbacks=callbacks, verbose=verbose)


def _predict_classes(self, x, batch_size=32, verbose=0):
    # Why: course code computes accuracy and confusion matrices with it; it
    # left Keras in TF 2.6. Same rule as Keras 2's Sequential.predict_classes.
    import numpy as np

    _record("predict_classes", "model.predict_classes(x)", "np.argmax(model.predict(x), axis=-1)")
    probabilities = np.asarray(self.predict(x, batch_size=batch_size, verbose=verbose))
    if probabilities.shape[-1] > 1:
        return probabilities.argmax(axis=-1)
    return (probabilities > 0.5).astype("int32")


# -------------------------------------------------------- optimizer shim

def _wrap_optimizer_init(original_init: Callable) -> Callable:
    """Patch BaseOptimizer.__init__, the one place every optimizer (and every
    backend) passes through: SGD, Adam... forward unknown keywords there."""
    from keras.optimizers.schedules import InverseTimeDecay, LearningRateSchedule

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        optimizer = type(self).__name__
        if "lr" in kwargs:
            lr = kwargs.pop("lr")
            if isinstance(lr, int) and not isinstance(lr, bool):
                lr = float(lr)  # Keras 2 took `lr=1`; Keras 3 wants a float
            # Keras 2 let `lr` win over `learning_rate` (subclasses always pass
            # their default learning_rate, so we cannot tell if both were given).
            if args:
                args = (lr,) + args[1:]
            else:
                kwargs["learning_rate"] = lr
            _record("optimizer_lr", f"{optimizer}(lr={_number(lr)})",
                    f"keras.optimizers.{optimizer}(learning_rate={_number(lr)})")
        if "decay" in kwargs:
            learning_rate = args[0] if args else kwargs.get("learning_rate")
            decay = kwargs["decay"]
            if not decay:
                kwargs.pop("decay")  # Keras 2's default decay=0.0: nothing to emulate
                _record("optimizer_decay", f"{optimizer}(..., decay={_number(decay)})",
                        f"keras.optimizers.{optimizer}(learning_rate={_number(learning_rate)})")
            elif isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool):
                kwargs.pop("decay")
                schedule = InverseTimeDecay(float(learning_rate), decay_steps=1, decay_rate=float(decay))
                if args:
                    args = (schedule,) + args[1:]
                else:
                    kwargs["learning_rate"] = schedule
                _record("optimizer_decay", f"{optimizer}(..., decay={_number(decay)})",
                        "keras.optimizers.{opt}(learning_rate=keras.optimizers.schedules.InverseTimeDecay("
                        "{lr}, decay_steps=1, decay_rate={decay}))".format(
                            opt=optimizer, lr=_number(learning_rate), decay=_number(decay)))
            elif isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
                # A schedule cannot be wrapped by a built-in one (and a custom
                # wrapper would not load under safe_mode), so Keras 3's own
                # "decay is ignored" warning stays; the hint says what to do.
                _record("optimizer_decay", f"{optimizer}(learning_rate=<schedule>, decay={_number(decay)})",
                        f"keras.optimizers.{optimizer}(learning_rate=schedule)")
        return original_init(self, *args, **kwargs)

    return __init__


# ----------------------------------------------------- layer output_shape

def _layer_getattr(self, name: str):
    """Only called when normal lookup fails: serves Keras 2's ``layer.output_shape``."""
    owner = next((klass for klass in type(self).__mro__ if name in vars(klass)), None)
    if owner is not None:
        # A real property (Layer.output, Sequential.output_shape...) raised
        # AttributeError and Python fell back to us: run it again so the
        # student sees Keras' own message ("has never been called..."), not
        # a bare "has no attribute".
        return vars(owner)[name].__get__(self, type(self))
    if name == "output_shape":
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if not caller.startswith(_LIBRARY_MODULE_PREFIXES):
            _record("layer_output_shape", "layer.output_shape", "layer.output.shape")
            output = self.output  # raises Keras' own "never been called" error
            if isinstance(output, (list, tuple)):
                return [tuple(tensor.shape) for tensor in output]
            return tuple(output.shape)
    raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}", name=name, obj=self)


# ------------------------------------------------------- module aliases

def _recording_alias(name: str, target: types.ModuleType, on_access: Callable[[str], None]) -> types.ModuleType:
    """A module named ``name`` whose attributes come from ``target``; each
    access reports itself first (PEP 562 ``__getattr__``)."""
    alias = types.ModuleType(name, f"Keras-2 alias of {target.__name__} (cnnkit.compat)")

    def __getattr__(attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        value = getattr(target, attribute)
        on_access(attribute)
        return value

    alias.__getattr__ = __getattr__
    alias.__dir__ = lambda: dir(target)
    return alias


def _install_image_data_generator(keras) -> None:
    import keras.preprocessing.image as image_module

    if "ImageDataGenerator" in vars(image_module) or "__getattr__" in vars(image_module):
        return  # this Keras still has it (or already customises lookups)
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    def __getattr__(attribute: str):
        # Module-level __getattr__ serves both `keras.preprocessing.image.X`
        # and `from keras.preprocessing.image import X`, and lets us record
        # the old spelling at the import, where the student wrote it.
        if attribute == "ImageDataGenerator":
            _record("image_data_generator", "keras.preprocessing.image.ImageDataGenerator",
                    "keras.layers.RandomFlip(), keras.layers.RandomRotation(...), "
                    "keras.utils.image_dataset_from_directory(...)")
            return ImageDataGenerator
        raise AttributeError(f"module {image_module.__name__!r} has no attribute {attribute!r}")

    _set_attribute(image_module, "__getattr__", __getattr__)


def _install_np_utils(keras) -> None:
    import keras.utils as utils_module

    if "keras.utils.np_utils" in sys.modules or hasattr(utils_module, "np_utils"):
        return

    def on_access(attribute: str) -> None:
        _record("np_utils", f"keras.utils.np_utils.{attribute}", f"keras.utils.{attribute}")

    alias = _recording_alias("keras.utils.np_utils", utils_module, on_access)
    _set_module("keras.utils.np_utils", alias)
    _set_attribute(utils_module, "np_utils", alias)


def _install_layer_submodules(keras) -> None:
    # Why: Keras-2 tutorials write `from keras.layers.convolutional import
    # Conv2D`; Keras 3 has one flat `keras.layers`.
    import keras.layers as layers_module

    for submodule in KERAS2_LAYER_SUBMODULES:
        key = f"keras.layers.{submodule}"
        if key in sys.modules or hasattr(layers_module, submodule):
            continue

        def on_access(attribute: str, submodule: str = submodule) -> None:
            _record(f"layers.{submodule}", f"from keras.layers.{submodule} import {attribute}",
                    f"from keras.layers import {attribute}")

        alias = _recording_alias(key, layers_module, on_access)
        _set_module(key, alias)
        _set_attribute(layers_module, submodule, alias)


# ------------------------------------------------------------ install

def install(*, hints: bool = True) -> None:
    """Patch Keras 3 so Keras-2 spellings work (idempotent, any backend).

    ``hints=False`` still records usages but prints nothing.
    """
    with _state.lock:
        _state.hints = hints
        if _state.installed:
            return
        import keras
        from keras.src.optimizers.base_optimizer import BaseOptimizer

        try:
            for name, shim in (("fit_generator", _fit_generator),
                               ("evaluate_generator", _evaluate_generator),
                               ("predict_generator", _predict_generator),
                               ("predict_classes", _predict_classes)):
                if not hasattr(keras.Model, name):  # only where the old spelling would fail
                    _set_attribute(keras.Model, name, shim)
            _set_attribute(BaseOptimizer, "__init__", _wrap_optimizer_init(BaseOptimizer.__init__))
            layer_class = keras.layers.Layer
            if not any("__getattr__" in vars(klass) for klass in layer_class.__mro__[:-1]):
                _set_attribute(layer_class, "__getattr__", _layer_getattr)
            _install_image_data_generator(keras)
            _install_np_utils(keras)
            _install_layer_submodules(keras)
        except BaseException:
            _undo_patches()  # never leave Keras half-patched
            raise
        _state.installed = True


def is_installed() -> bool:
    return _state.installed


def _undo_patches() -> None:
    for owner, name, original in reversed(_state.patched_attributes):
        if original is _MISSING:
            try:
                delattr(owner, name)
            except AttributeError:
                pass
        else:
            setattr(owner, name, original)
    for key, original in reversed(_state.patched_modules):
        if original is _MISSING:
            sys.modules.pop(key, None)
        else:
            sys.modules[key] = original
    _state.patched_attributes.clear()
    _state.patched_modules.clear()


def uninstall() -> None:
    """Restore Keras exactly as it was before :func:`install` (recorded usages stay)."""
    with _state.lock:
        if not _state.installed:
            return
        _undo_patches()
        _state.installed = False

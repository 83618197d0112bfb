"""Training: one call that fits a model the way the seeds ask, and measures it.

::

    from cnnkit.train import train, augmentation

    result = train(model, (x_train, y_train), epochs=2, batch_size=32,
                   validation=0.1, augment=augmentation(), normalize=True)
    result.history.history["val_accuracy"]   # per-epoch curves (a Keras History)
    result.cpu_time, result.wall_time        # seed 000, exercise 2b
    result.best_epoch["val_accuracy"]        # 1-based epoch of the peak

Validation data is always held out from the *training* data. One seed (003)
validates on the test set; that turns the test set into a tuning set, so the
accuracy reported on it is optimistic and no longer an honest estimate of how
the model does on unseen images. :func:`train` never receives the test set
and refuses ``validation=(x_test, y_test)`` when it can see them.

From ``ImageDataGenerator`` to Keras 3
--------------------------------------
Keras 3 removed ``keras.preprocessing.image.ImageDataGenerator`` and
``fit_generator``. The seeds' options map to preprocessing layers placed
*inside* the model (Keras 3's recommended way: a saved model carries its own
preprocessing, and random augmentation is active only while training):

==========================================  ==================================================
``ImageDataGenerator`` / Keras 2            Keras 3 (what :func:`train` does)
==========================================  ==================================================
``featurewise_center=True`` +               ``keras.layers.Normalization(axis=-1)`` adapted on
``featurewise_std_normalization=True``,     the training images (:func:`normalization`;
``datagen.fit(x_train)``                    ``train(..., normalize=True)``)
``rescale=1/255``                           ``keras.layers.Rescaling(1/255)``
                                            (``normalize="rescale"``)
``horizontal_flip=True``                    ``keras.layers.RandomFlip("horizontal")``
``width_shift_range=w``,                    ``keras.layers.RandomTranslation(h, w)``
``height_shift_range=h``                    (``augmentation(translate=...)``)
``rotation_range=degrees``                  ``keras.layers.RandomRotation(degrees / 360)``
                                            (``augmentation(rotate=degrees)``)
``zoom_range=z``                            ``keras.layers.RandomZoom(z)`` (``augmentation(zoom=z)``)
``validation_split=0.1`` + ``subset=``      ``train(..., validation=0.1)`` (stratified hold-out)
``preprocessing_function=preprocess_input`` :func:`cnnkit.transfer.preprocessing_layer` (a layer)
                                            or :func:`cnnkit.transfer.preprocessing_for`
``model.fit_generator(datagen.flow(...))``  ``model.fit(x, y, ...)``
``predict_generator(...)``                  ``model.predict(x)``
``SGD(lr=0.01, decay=1e-6)``                ``SGD(learning_rate=0.01)`` (+ a schedule for decay)
==========================================  ==================================================
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

import keras

from . import messages

messages.register({
    "train.summary_run": {"es": "épocas ejecutadas: {epochs}   reloj: {wall:.1f} s   CPU: {cpu:.1f} s",
                          "en": "epochs run: {epochs}   wall: {wall:.1f} s   CPU: {cpu:.1f} s"},
    "train.summary_validation": {"es": "validación: {source}", "en": "validation: {source}"},
    "train.summary_metric": {"es": "{metric:>16}: última {last:.4f}   mejor {best:.4f} (época {epoch})",
                             "en": "{metric:>16}: last {last:.4f}   best {best:.4f} (epoch {epoch})"},
    "train.val_from_dataset": {"es": "la partición de validación del propio conjunto ({n} imágenes)",
                               "en": "the dataset's own validation split ({n} images)"},
    "train.val_given": {"es": "los arrays dados ({n} imágenes)", "en": "given arrays ({n} images)"},
    "train.val_fraction": {"es": "el {fraction:.0%} de los datos de entrenamiento, estratificado ({n} imágenes)",
                           "en": "{fraction:.0%} of the training data, stratified ({n} images)"},
    "train.val_is_test": {
        "es": "validation=(x_test, y_test) ajustaría el entrenamiento con el conjunto de test, y la exactitud "
              "en test dejaría de ser una estimación honesta. Separa en su lugar una parte de los datos de "
              "entrenamiento, p. ej. validation=0.1.",
        "en": "validation=(x_test, y_test) would tune training on the test set, and the "
              "test accuracy would no longer be an honest estimate. Hold out part of the "
              "training data instead, e.g. validation=0.1.",
    },
})

__all__ = [
    "TrainResult", "train", "augmentation", "normalization", "holdout_indices",
    "best_epochs", "default_loss", "resolve_validation", "ValidationSplit",
]

# Metrics where smaller is better; every other metric peaks at its maximum.
_LOWER_IS_BETTER = ("loss", "error", "crossentropy", "mse", "mae", "mape", "msle",
                    "hinge", "divergence")


# --------------------------------------------------------------------------- #
# Preprocessing layers
# --------------------------------------------------------------------------- #
def augmentation(flip: str | None = "horizontal", translate: float | None = 0.1,
                 rotate: float | None = None, zoom: float | None = None, seed: int = 0, *,
                 fill_mode: str = "reflect") -> keras.Sequential:
    """Random image augmentation as Keras layers (active only while training).

    Parameters
    ----------
    flip : {"horizontal", "vertical", "horizontal_and_vertical"} or None
        ``keras.layers.RandomFlip(flip)``; ``ImageDataGenerator(horizontal_flip=True)``
        is ``flip="horizontal"``.
    translate : float or None
        Largest shift as a fraction of height and width,
        ``keras.layers.RandomTranslation(translate, translate)``; the same number as
        ``width_shift_range``/``height_shift_range`` when those are fractions.
    rotate : float or None
        Largest rotation **in degrees**, like ``rotation_range``. Keras'
        ``RandomRotation`` takes a fraction of a full turn, so this builds
        ``RandomRotation(rotate / 360)``.
    zoom : float or None
        ``keras.layers.RandomZoom(zoom)``: zoom in or out by up to this fraction,
        like ``zoom_range=zoom``.
    seed : int
        Each layer gets its own seed derived from this one.
    fill_mode : str
        How pixels shifted in from outside the image are filled (``"reflect"``,
        ``"nearest"`` — ``ImageDataGenerator``'s default —, ``"constant"``, ``"wrap"``).

    Returns
    -------
    keras.Sequential
        Maps a float batch ``(n, h, w, c)`` to a batch of the same shape and dtype.
        Called with ``training=False`` (``predict``, ``evaluate``) it is the identity.
    """
    layers: list[keras.layers.Layer] = []
    if flip:
        layers.append(keras.layers.RandomFlip(flip, seed=seed))
    if translate:
        layers.append(keras.layers.RandomTranslation(
            translate, translate, fill_mode=fill_mode, seed=seed + 1))
    if rotate:
        layers.append(keras.layers.RandomRotation(
            rotate / 360.0, fill_mode=fill_mode, seed=seed + 2))
    if zoom:
        layers.append(keras.layers.RandomZoom(zoom, fill_mode=fill_mode, seed=seed + 3))
    if not layers:
        raise ValueError("augmentation() with every option off would do nothing; "
                         "pass augment=None to train() instead")
    return keras.Sequential(layers, name="augmentation")


def _batches(x: np.ndarray, size: int = 2048) -> Iterable[np.ndarray]:
    for start in range(0, len(x), size):
        yield np.asarray(x[start:start + size], dtype="float32")


def normalization(x_train: np.ndarray, *, axis: int | None = -1) -> keras.layers.Normalization:
    """A ``keras.layers.Normalization`` adapted on training images.

    The seeds' rule (seed 002): mean and standard deviation come from the
    training images only; validation and test images are normalised with those
    same statistics. Inside a model that happens automatically.

    Parameters
    ----------
    x_train : ndarray of shape (n, h, w, c), any numeric dtype
        Training images only (never validation or test images).
    axis : int or None
        ``-1``: one mean and variance per channel, like
        ``ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)``.
        ``None``: a single mean and variance over all pixels and channels.

    Returns
    -------
    keras.layers.Normalization
        ``layer.mean`` / ``layer.variance`` have shape ``(1, 1, 1, c)`` for
        ``axis=-1``; the layer outputs float32 ``(x - mean) / sqrt(variance)``.
    """
    x_train = np.asarray(x_train)
    if x_train.ndim < 2 or len(x_train) == 0:
        raise ValueError(f"normalization() needs a non-empty batch of images, got {x_train.shape}")
    layer = keras.layers.Normalization(axis=axis, name="normalization")
    # Adapt batch by batch: numpy's var() on a whole uint8 dataset would make
    # a float64 copy of it (1.2 GB for CIFAR-10).
    layer.adapt(_batches(x_train))
    return layer


def _normalizer(normalize: Any, x_fit: np.ndarray) -> keras.layers.Layer | None:
    if normalize is None or normalize is False:
        return None
    if normalize is True or normalize == "per_channel":
        return normalization(x_fit, axis=-1)
    if normalize == "global":
        return normalization(x_fit, axis=None)
    if normalize == "rescale":
        return keras.layers.Rescaling(1.0 / 255, name="rescale")
    if isinstance(normalize, keras.layers.Normalization):
        if not normalize.built:  # un-adapted: adapt on the training part only
            normalize.adapt(_batches(x_fit))
        return normalize
    if isinstance(normalize, keras.layers.Layer):
        return normalize
    raise ValueError(f"normalize={normalize!r}: expected None, True, 'per_channel', "
                     "'global', 'rescale' or a Keras layer")


def _augmenter(augment: Any, seed: int) -> keras.layers.Layer | None:
    if augment is None or augment is False:
        return None
    if augment is True:
        return augmentation(seed=seed)
    if isinstance(augment, Mapping):
        return augmentation(**{"seed": seed, **augment})
    if isinstance(augment, keras.layers.Layer):
        return augment
    raise ValueError(f"augment={augment!r}: expected None, True, a dict of "
                     "augmentation() options or a Keras layer")


# --------------------------------------------------------------------------- #
# Validation hold-out
# --------------------------------------------------------------------------- #
def _labels_1d(y: np.ndarray) -> np.ndarray:
    from .evaluate import as_labels

    return as_labels(y)


def holdout_indices(y: np.ndarray, fraction: float, *, seed: int = 0,
                    stratify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(len(y))`` into training and validation indices.

    Parameters
    ----------
    y : ndarray of shape (n,), (n, 1) or one-hot (n, k)
        Training labels.
    fraction : float in (0, 1)
        Share held out for validation (``ceil(fraction * n)`` items).
    seed : int
        Same seed, same split.
    stratify : bool
        Keep class proportions (:func:`cnnkit.data.train_val_split`). Falls back
        to a plain random split when a class is too small to stratify.

    Returns
    -------
    train_idx, val_idx : ndarray of int64
        Disjoint, sorted, together ``range(n)``.
    """
    from sklearn.model_selection import train_test_split

    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    labels = _labels_1d(y)
    index = np.arange(len(labels), dtype=np.int64)
    if stratify:
        try:
            from .data import train_val_split
        except ImportError:  # pragma: no cover - data package missing
            train_val_split = None
        try:
            if train_val_split is not None:
                train_idx, _, val_idx, _ = train_val_split(index, labels, fraction=fraction,
                                                           seed=seed)
            else:  # pragma: no cover
                train_idx, val_idx = train_test_split(index, test_size=fraction,
                                                      stratify=labels, random_state=seed)
            return np.sort(train_idx), np.sort(val_idx)
        except ValueError:
            pass  # a class too small to stratify: plain random split below
    train_idx, val_idx = train_test_split(index, test_size=fraction, random_state=seed)
    return np.sort(train_idx), np.sort(val_idx)


# --------------------------------------------------------------------------- #
# Result
# --------------------------------------------------------------------------- #
def _lower_is_better(metric: str) -> bool:
    name = metric[4:] if metric.startswith("val_") else metric
    return any(name.endswith(suffix) or name == suffix for suffix in _LOWER_IS_BETTER)


def best_epochs(history: Mapping[str, Sequence[float]] | keras.callbacks.History) -> dict[str, int]:
    """1-based epoch where each metric peaked: minimum for losses/errors, maximum otherwise.

    Ties go to the earliest epoch. ``history`` is a Keras ``History`` or its
    ``.history`` dict.
    """
    curves = getattr(history, "history", history)
    best = {}
    for metric, values in curves.items():
        values = np.asarray(values, dtype="float64")
        if values.size == 0 or np.all(np.isnan(values)):
            continue
        pick = np.nanargmin if _lower_is_better(metric) else np.nanargmax
        best[metric] = int(pick(values)) + 1
    return best


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : keras.Model
        The trained model. When ``augment``/``normalize`` were used it is a
        ``keras.Sequential`` ``[augmentation, normalization, base_model]``
        that takes raw images; otherwise it is ``base_model`` itself.
    base_model : keras.Model
        The model passed to :func:`train` (trained in place: it shares its
        weights with ``model``).
    history : keras.callbacks.History
        ``history.history`` is the dict of per-epoch lists (``"loss"``,
        ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``...), as ``fit`` returns.
    wall_time : float
        Seconds of ``fit`` by the clock.
    cpu_time : float
        CPU seconds of ``fit`` used by this process, all threads
        (``time.process_time()``), so it may exceed ``wall_time`` on several cores.
    best_epoch : dict[str, int]
        1-based epoch where each metric peaked (minimum for losses).
    final : dict[str, float]
        Every metric at the last epoch run.
    epochs_run : int
        Fewer than ``epochs`` when early stopping stopped training.
    train_indices, validation_indices : ndarray of int64 or None
        Rows of the training arrays used to fit / held out to validate, when
        validation was a fraction; ``None`` otherwise.
    validation_source : str or None
        Where the validation data came from, in words.
    normalizer, augmenter : keras.layers.Layer or None
        The preprocessing layers placed in ``model``.
    """

    model: keras.Model
    base_model: keras.Model
    history: keras.callbacks.History
    wall_time: float
    cpu_time: float
    best_epoch: dict[str, int]
    final: dict[str, float]
    epochs_run: int
    train_indices: np.ndarray | None = None
    validation_indices: np.ndarray | None = None
    validation_source: str | None = None
    normalizer: keras.layers.Layer | None = None
    augmenter: keras.layers.Layer | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def best(self, metric: str) -> float:
        """Value of ``metric`` at its best epoch."""
        return float(self.history.history[metric][self.best_epoch[metric] - 1])

    def summary(self, lang: str | None = None) -> str:
        """A few lines for a notebook or a report, in ``lang`` (default
        :func:`cnnkit.messages.current_lang`); metrics keep their Keras names."""
        lang = messages.current_lang(lang)
        lines = [messages.render("train.summary_run", lang, epochs=self.epochs_run, wall=self.wall_time,
                                 cpu=self.cpu_time)]
        if self.validation_source:
            lines.append(messages.render("train.summary_validation", lang, source=self.validation_source))
        for metric in sorted(self.final):
            lines.append(messages.render("train.summary_metric", lang, metric=metric, last=self.final[metric],
                                         best=self.best(metric), epoch=self.best_epoch[metric]))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# --------------------------------------------------------------------------- #
# Compilation
# --------------------------------------------------------------------------- #
def _last_layer(model: keras.layers.Layer) -> keras.layers.Layer:
    while isinstance(model, keras.Model) and model.layers:
        model = model.layers[-1]
    return model


def _outputs_logits(model: keras.Model) -> bool:
    """True when the model's last layer has no activation (its outputs are logits)."""
    last = _last_layer(model)
    activation = getattr(last, "activation", None)
    if activation is None:
        return False  # e.g. a Softmax layer or a custom one: assume probabilities
    return getattr(activation, "__name__", "") == "linear"


def default_loss(model: keras.Model, y: np.ndarray | None = None) -> keras.losses.Loss:
    """The loss :func:`train` compiles with when none is given.

    Sparse categorical cross-entropy for integer labels (categorical for
    one-hot ``y``, binary for a single sigmoid output), with ``from_logits``
    set from the model's last layer: ``True`` only when it has no activation.
    (Seed 003 pairs a sigmoid output with ``from_logits=True``; Keras warns
    about it because the loss then applies softmax to sigmoid outputs.)
    """
    from_logits = _outputs_logits(model)
    units = None
    try:
        units = model.outputs[0].shape[-1]
    except (AttributeError, IndexError, ValueError):
        pass
    if units == 1:
        return keras.losses.BinaryCrossentropy(from_logits=from_logits)
    if y is not None and np.ndim(y) == 2 and np.shape(y)[1] > 1:
        return keras.losses.CategoricalCrossentropy(from_logits=from_logits)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)


def _compile(model: keras.Model, *, optimizer, loss, metrics, y, source: keras.Model) -> None:
    source_compiled = getattr(source, "compiled", False)
    if optimizer is None and loss is None:
        if model is source and source_compiled:
            return  # keep the student's own compile()
        if source_compiled:
            # The wrapper gets the base model's compile settings, with a fresh
            # optimizer of the same configuration.
            model.compile_from_config(source.get_compile_config())
            return
    if loss is None:
        loss = source.loss if source_compiled and source.loss is not None else default_loss(source, y)
    model.compile(optimizer=optimizer if optimizer is not None else keras.optimizers.Adam(),
                  loss=loss, metrics=list(metrics) if metrics else None)


def _ensure_built(model: keras.Model, image_shape: tuple[int, ...]) -> None:
    # A Sequential without an Input has no `outputs` until built (default_loss
    # reads the output width); built here, its batch dimension stays free
    # instead of taking the size of whichever batch it first sees.
    if isinstance(model, keras.Sequential) and not model.built:
        model.build((None, *image_shape))


# --------------------------------------------------------------------------- #
# train()
# --------------------------------------------------------------------------- #
def _split_data(train_data) -> tuple[np.ndarray, np.ndarray, Any]:
    if hasattr(train_data, "x_train") and hasattr(train_data, "y_train"):
        return np.asarray(train_data.x_train), np.asarray(train_data.y_train), train_data
    try:
        x, y = train_data
    except (TypeError, ValueError):
        raise TypeError("train_data must be (x_train, y_train) or a cnnkit Dataset") from None
    return np.asarray(x), np.asarray(y), None


def _is_test_split(arrays, dataset) -> bool:
    if dataset is None or getattr(dataset, "x_test", None) is None:
        return False
    x_test, x_val = dataset.x_test, np.asarray(arrays[0])
    if x_val is x_test or len(x_test) == 0:
        return x_val is x_test
    # The same array, a view of it, or a copy of it.
    return np.shares_memory(x_val, x_test) or (
        x_val.shape == x_test.shape and np.array_equal(x_val, x_test))


@dataclass
class ValidationSplit:
    """Training part and validation data, as :func:`resolve_validation` decides them."""

    x_fit: np.ndarray
    y_fit: np.ndarray
    validation_data: tuple[np.ndarray, np.ndarray] | None
    train_indices: np.ndarray | None = None
    validation_indices: np.ndarray | None = None
    source: str | None = None


def resolve_validation(x: np.ndarray, y: np.ndarray, validation, *, dataset=None,
                       seed: int = 0) -> ValidationSplit:
    """Apply :func:`train`'s ``validation`` rule to training arrays ``x``, ``y``.

    ``dataset`` (a cnnkit ``Dataset``, optional) supplies its own ``x_val`` and
    lets the test split be recognised and refused.
    """
    if dataset is not None and getattr(dataset, "x_val", None) is not None \
            and validation is not None and not isinstance(validation, (tuple, list)):
        return ValidationSplit(
            x, y, (np.asarray(dataset.x_val), np.asarray(dataset.y_val)),
            source=messages.render("train.val_from_dataset", n=len(dataset.x_val)))
    if validation is None or (not isinstance(validation, (tuple, list)) and validation == 0):
        return ValidationSplit(x, y, None)
    if isinstance(validation, (tuple, list)):
        if len(validation) != 2:
            raise ValueError("validation arrays must be a pair (x_val, y_val)")
        if _is_test_split(validation, dataset):
            raise ValueError(messages.render("train.val_is_test"))
        x_val, y_val = np.asarray(validation[0]), np.asarray(validation[1])
        if len(x_val) != len(y_val):
            raise ValueError(f"validation has {len(x_val)} images but {len(y_val)} labels")
        return ValidationSplit(x, y, (x_val, y_val),
                               source=messages.render("train.val_given", n=len(x_val)))
    fraction = float(validation)
    train_idx, val_idx = holdout_indices(y, fraction, seed=seed)
    return ValidationSplit(x[train_idx], y[train_idx], (x[val_idx], y[val_idx]),
                           train_indices=train_idx, validation_indices=val_idx,
                           source=messages.render("train.val_fraction", fraction=fraction, n=len(val_idx)))



def _early_stopping(early_stopping, validated: bool) -> keras.callbacks.Callback | None:
    if early_stopping is None or early_stopping is False:
        return None
    if isinstance(early_stopping, keras.callbacks.Callback):
        return early_stopping
    if isinstance(early_stopping, (int, np.integer)) and not isinstance(early_stopping, bool):
        return keras.callbacks.EarlyStopping(
            monitor="val_loss" if validated else "loss",
            patience=int(early_stopping), restore_best_weights=True)
    raise ValueError(f"early_stopping={early_stopping!r}: expected None, an int patience "
                     "or a keras.callbacks.EarlyStopping")


def train(model: keras.Model, train_data, *, epochs: int, batch_size: int = 32,
          validation: float | tuple | None = 0.1, augment=None, normalize=None,
          early_stopping=None, seed: int = 0, verbose: int = 0, optimizer=None, loss=None,
          metrics: Sequence[str] | None = ("accuracy",),
          callbacks: Sequence[keras.callbacks.Callback] = ()) -> TrainResult:
    """Fit ``model`` on training data, holding out validation data from it.

    Parameters
    ----------
    model : keras.Model, or a callable returning one
        Any Keras model mapping images to class scores. Compiled models keep
        their ``compile()`` settings unless ``optimizer``/``loss`` are given;
        uncompiled ones get Adam, :func:`default_loss` and ``metrics``.
        A model's initial weights are drawn when it is built, usually before
        :func:`train` is called; pass a builder instead
        (``lambda: models.build("basenet")``) to draw them after seeding, so
        that two runs with the same seed are identical.
    train_data : (x, y) or cnnkit Dataset
        ``x``: ndarray (n, h, w, c), uint8 or float; ``y``: int labels (n,) or
        (n, 1), or one-hot (n, k). A ``Dataset`` contributes only
        ``x_train``/``y_train`` (and ``x_val``/``y_val`` if it has them);
        its test split is never touched.
    epochs, batch_size : int
        As in ``model.fit``.
    validation : float, (x_val, y_val), or None
        A fraction in (0, 1): that share of the training data, stratified by
        class, is held out (seeded). Arrays: used as given (they must not be
        the test set: passing a ``Dataset``'s own ``x_test`` raises). ``None``:
        no validation. A ``Dataset`` with its own ``x_val`` uses that instead
        of a fraction.
    augment : None, True, dict or keras layer
        Random augmentation placed inside the model (see :func:`augmentation`;
        a dict is passed to it as keyword arguments).
    normalize : None, True/"per_channel", "global", "rescale" or keras layer
        Normalisation placed inside the model, with statistics from the
        training part only (see :func:`normalization`). ``"rescale"`` divides
        by 255. An un-adapted ``Normalization`` layer is adapted here.
    early_stopping : None, int or keras.callbacks.EarlyStopping
        An int is the patience of ``EarlyStopping(monitor="val_loss",
        restore_best_weights=True)`` (``"loss"`` without validation).
    seed : int
        ``keras.utils.set_random_seed(seed)`` runs first: the weights of a
        model built here (a builder, or a ``Sequential`` without ``Input``),
        the validation split, shuffling, dropout and augmentation are repeatable.
    verbose : int
        ``fit``'s verbosity (0 silent).
    optimizer, loss
        Either given: the model is (re)compiled with them (the other one
        defaults to the model's own loss, or :func:`default_loss`, and Adam).
    metrics
        Used whenever :func:`train` compiles (an uncompiled model, or
        ``optimizer``/``loss`` given); a student's own ``compile()`` keeps its metrics.
    callbacks : sequence of keras callbacks
        Extra callbacks for ``fit``.

    Returns
    -------
    TrainResult
        The trained model, its ``History``, wall and CPU time of ``fit``,
        best epoch per metric and final metrics.
    """
    keras.utils.set_random_seed(int(seed))
    if not isinstance(model, keras.Model) and callable(model):
        model = model()
    x, y, dataset = _split_data(train_data)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")

    split = resolve_validation(x, y, validation, dataset=dataset, seed=seed)
    x_fit, y_fit, validation_data = split.x_fit, split.y_fit, split.validation_data

    image_shape = tuple(x.shape[1:])
    _ensure_built(model, image_shape)
    normalizer = _normalizer(normalize, x_fit)
    augmenter = _augmenter(augment, seed)
    fitted = model
    if normalizer is not None or augmenter is not None:
        layers = [keras.Input(shape=image_shape)]
        layers += [layer for layer in (augmenter, normalizer) if layer is not None]
        fitted = keras.Sequential(layers + [model], name=f"{model.name}_preprocessed")
    _compile(fitted, optimizer=optimizer, loss=loss, metrics=metrics, y=y, source=model)

    all_callbacks = list(callbacks)
    stopper = _early_stopping(early_stopping, validation_data is not None)
    if stopper is not None:
        all_callbacks.append(stopper)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    history = fitted.fit(x_fit, y_fit, epochs=int(epochs), batch_size=int(batch_size),
                         validation_data=validation_data, callbacks=all_callbacks,
                         verbose=verbose, shuffle=True)
    wall_time, cpu_time = time.perf_counter() - wall0, time.process_time() - cpu0

    curves = history.history
    return TrainResult(
        model=fitted, base_model=model, history=history,
        wall_time=wall_time, cpu_time=cpu_time,
        best_epoch=best_epochs(curves),
        final={k: float(v[-1]) for k, v in curves.items() if len(v)},
        epochs_run=len(next(iter(curves.values()), [])),
        train_indices=split.train_indices, validation_indices=split.validation_indices,
        validation_source=split.source,
        normalizer=normalizer, augmenter=augmenter,
    )

"""Transfer learning: pretrained features + SVM, frozen bases, fine-tuning, grey → RGB.

Three recipes from the seeds:

* **Features + linear SVM** (seed 000, 3c): a convolutional base without its
  top turns each image into a vector; a linear SVM classifies the vectors::

      f_train = extract_features(base, x_train, preprocess="vgg16")
      svm = linear_svm(f_train, y_train)
      svm.score(extract_features(base, x_test, preprocess="vgg16"), y_test)

* **New head on a frozen base, then fine-tuning** (seed 002, part 3)::

      result = transfer_train(model, (x_train, y_train), epochs=3,
                              fine_tune_epochs=2, fine_tune_learning_rate=1e-5)
      print(result.frozen_head)        # which layers were frozen in each phase

* **Grey 28×28 images into an RGB network** (seed 004): VGG16 needs at least
  32×32×3 input, so Fashion-MNIST images are resized and their one channel
  repeated: :func:`grey_to_rgb` (arrays) or :func:`grey_to_rgb_layers` (in a model).

ImageNet weights need a download, which this kit never does: tests and the
smoke profile train a small base themselves; ``weights="imagenet"`` works
where Keras already has the file cached (``~/.keras/models``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

import keras

from . import messages
from .train import TrainResult, resolve_validation, train

messages.register({
    "transfer.freeze_summary": {
        "es": "{model}: {trainable} capas entrenables ({trainable_params:,} parámetros), {frozen} congeladas "
              "({non_trainable_params:,} parámetros no entrenables)",
        "en": "{model}: {trainable} layers trainable ({trainable_params:,} params), {frozen} frozen "
              "({non_trainable_params:,} non-trainable params)",
    },
    "transfer.frozen": {"es": "congelada", "en": "frozen"},
    "transfer.trainable": {"es": "entrenable", "en": "trainable"},
})

__all__ = [
    "preprocessing_for", "preprocessing_layer", "extract_features", "linear_svm",
    "grey_to_rgb", "grey_to_rgb_layers", "LayerState", "FreezeReport", "frozen_layers",
    "set_trainable", "find_base", "TransferResult", "transfer_train",
]

# keras.applications module of each architecture family and the input
# convention its preprocess_input applies:
#   caffe: RGB→BGR, minus the ImageNet channel means (0-255 scale)
#   tf:    scaled to [-1, 1]
#   torch: scaled to [0, 1], minus mean, divided by std per channel
#   none:  the model rescales internally; preprocess_input is the identity
_FAMILIES = [  # (name prefix, module, mode); longest prefixes first
    ("inceptionresnetv2", "inception_resnet_v2", "tf"),
    ("inceptionv3", "inception_v3", "tf"),
    ("efficientnetv2", "efficientnet_v2", "none"),
    ("efficientnet", "efficientnet", "none"),
    ("mobilenetv3", "mobilenet_v3", "none"),
    ("mobilenetv2", "mobilenet_v2", "tf"),
    ("mobilenet", "mobilenet", "tf"),
    ("convnext", "convnext", "none"),
    ("densenet", "densenet", "torch"),
    ("xception", "xception", "tf"),
    ("nasnet", "nasnet", "tf"),
    ("vgg16", "vgg16", "caffe"),
    ("vgg19", "vgg19", "caffe"),
]
_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype="float32")
_TORCH_MEAN = np.array([0.485, 0.456, 0.406], dtype="float32")
_TORCH_STD = np.array([0.229, 0.224, 0.225], dtype="float32")


def _family(name: str) -> tuple[str, str]:
    key = name.lower().replace("_", "").replace("-", "")
    if key.startswith("resnet"):  # resnet50, resnet101v2, ...
        return ("resnet_v2", "tf") if key.endswith("v2") else ("resnet", "caffe")
    for prefix, module, mode in _FAMILIES:
        if key.startswith(prefix):
            return module, mode
    known = "vgg16, vgg19, resnet50, resnet50v2, inception_v3, xception, mobilenet_v2, ..."
    raise ValueError(f"no keras.applications preprocessing known for {name!r}; known: {known}")


def preprocessing_for(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The ``preprocess_input`` a ``keras.applications`` model expects.

    Parameters
    ----------
    name : str
        ``"vgg16"``, ``"vgg19"``, ``"resnet50"``, ``"resnet50v2"``,
        ``"inception_v3"``, ``"xception"``, ``"mobilenet_v2"``, ``"densenet121"``, ...

    Returns
    -------
    callable
        ``f(x)`` for RGB images ``(n, h, w, 3)`` with values 0-255 (any dtype)
        returns a new float32 array; ``x`` is never modified (Keras'
        ``preprocess_input`` may work in place on float arrays).
    """
    module, _ = _family(name)
    fn = getattr(keras.applications, module).preprocess_input

    def preprocess(x):
        return np.asarray(fn(np.array(x, dtype="float32", copy=True)), dtype="float32")

    preprocess.__name__ = f"{module}_preprocess_input"
    preprocess.__doc__ = f"keras.applications.{module}.preprocess_input on a float32 copy."
    return preprocess


def preprocessing_layer(name: str) -> keras.layers.Layer:
    """``preprocessing_for(name)`` as Keras layers, to put inside a model.

    The replacement for ``ImageDataGenerator(preprocessing_function=preprocess_input)``:
    ``train(model, data, normalize=preprocessing_layer("resnet50"), ...)``.
    Built from standard layers only, so a saved model loads with
    ``safe_mode=True`` and without cnnkit. The RGB→BGR swap of the "caffe"
    models (VGG, ResNet) is a frozen ``Dense(3)`` acting on the channel axis
    (a permutation matrix, bias = minus the ImageNet means).

    Returns
    -------
    keras.layers.Layer
        Maps ``(n, h, w, 3)`` RGB 0-255 to what the model expects, float32.
    """
    module, mode = _family(name)
    layer_name = f"{module}_preprocess"
    if mode == "tf":
        return keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name=layer_name)
    if mode == "torch":
        return keras.Sequential([
            keras.layers.Rescaling(1.0 / 255),
            keras.layers.Normalization(axis=-1, mean=_TORCH_MEAN, variance=_TORCH_STD ** 2),
        ], name=layer_name)
    if mode == "none":
        return keras.layers.Identity(name=layer_name)
    swap = keras.layers.Dense(3, trainable=False, name=f"{layer_name}_bgr_minus_mean")
    swap.build((None, None, None, 3))
    permutation = np.eye(3, dtype="float32")[::-1]  # out[..., j] = in[..., 2 - j]
    swap.set_weights([permutation, -_CAFFE_MEAN_BGR])
    return keras.Sequential([swap], name=layer_name)


def _as_preprocess(preprocess) -> Callable | None:
    if preprocess is None or callable(preprocess):
        return preprocess
    if isinstance(preprocess, str):
        return preprocessing_for(preprocess)
    raise TypeError(f"preprocess must be None, a callable or a model name; got {preprocess!r}")


def extract_features(base: keras.Model, x, batch_size: int = 64, preprocess=None, *,
                     pooling: str = "flatten") -> np.ndarray:
    """One feature vector per image from a convolutional base.

    Parameters
    ----------
    base : keras.Model
        E.g. ``VGG16(include_top=False, input_shape=(32, 32, 3))`` or a
        self-trained CNN cut before its classifier.
    x : ndarray of shape (n, h, w, c)
    batch_size : int
    preprocess : None, callable or str
        Applied to each chunk of images before the base (a name goes through
        :func:`preprocessing_for`, e.g. ``"vgg16"``).
    pooling : {"flatten", "avg", "max"}
        What happens to a 4-D output ``(n, h', w', c')``: ``"flatten"``
        (default) keeps every position, ``h'·w'·c'`` features, as the seeds'
        ``predict(...).reshape(n, -1)`` does; ``"avg"``/``"max"`` pool each
        channel over the positions, ``c'`` features. A 2-D output (a base with
        ``pooling="avg"``) is returned as it is.

    Returns
    -------
    ndarray of shape (n, features), float32
        For VGG16 without top on 32×32 images the output is 1×1×512, so 512
        features with any ``pooling``.
    """
    if pooling not in ("flatten", "avg", "max"):
        raise ValueError(f"pooling must be 'flatten', 'avg' or 'max', got {pooling!r}")
    x = np.asarray(x)
    fn = _as_preprocess(preprocess)
    chunks = []
    chunk_size = max(batch_size, 1024)  # preprocess a chunk at a time: bounded memory
    for start in range(0, len(x), chunk_size):
        batch = x[start:start + chunk_size]
        if fn is not None:
            batch = fn(batch)
        out = np.asarray(base.predict(batch, batch_size=batch_size, verbose=0))
        if out.ndim > 2:
            spatial = tuple(range(1, out.ndim - 1))
            if pooling == "avg":
                out = out.mean(axis=spatial)
            elif pooling == "max":
                out = out.max(axis=spatial)
            out = out.reshape(len(out), -1)
        chunks.append(out.astype("float32", copy=False))
    if not chunks:
        raise ValueError("no images to extract features from")
    return np.concatenate(chunks, axis=0)


def linear_svm(features_train, y_train, *, C: float = 1.0, seed: int = 0,
               max_iter: int = 10_000):
    """Fit a linear SVM on feature vectors (seed 000, 3c).

    Parameters
    ----------
    features_train : ndarray of shape (n, features)
    y_train : labels (n,) or (n, 1)
    C : float
        Inverse regularisation strength.
    seed : int
        ``random_state`` of ``LinearSVC``.
    max_iter : int
        Standardised CNN features usually converge well before this.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``StandardScaler`` then ``LinearSVC``, fitted; ``predict``/``score``
        take feature arrays. Scaling matters: unscaled ReLU features of very
        different magnitudes make ``LinearSVC`` converge slowly.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from .evaluate import as_labels

    pipeline = make_pipeline(StandardScaler(),
                             LinearSVC(C=C, random_state=seed, max_iter=max_iter))
    return pipeline.fit(np.asarray(features_train), as_labels(y_train))


# --------------------------------------------------------------------------- #
# Grey → RGB (seed 004)
# --------------------------------------------------------------------------- #
def grey_to_rgb(x, size: int = 32, *, batch_size: int = 4096) -> np.ndarray:
    """Grey images to RGB images of at least ``size``×``size`` (seed 004).

    VGG16 accepts inputs down to 32×32×3; Fashion-MNIST is 28×28×1. Images
    are resized bilinearly (``keras.ops.image.resize``) and the grey channel
    is copied into R, G and B.

    Parameters
    ----------
    x : ndarray of shape (n, h, w) or (n, h, w, 1)
    size : int
        Output height and width.

    Returns
    -------
    ndarray of shape (n, size, size, 3)
        uint8 (rounded) for integer input, float32 otherwise.
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"expected grey images (n, h, w) or (n, h, w, 1); got {x.shape}")
    integer = np.issubdtype(x.dtype, np.integer)
    out = np.empty((len(x), size, size, 3), dtype="uint8" if integer else "float32")
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size].astype("float32")
        if batch.shape[1:3] != (size, size):
            batch = keras.ops.convert_to_numpy(
                keras.ops.image.resize(batch, (size, size), interpolation="bilinear"))
        if integer:
            batch = np.clip(np.rint(batch), 0, 255)
        out[start:start + len(batch)] = np.repeat(batch, 3, axis=-1)
    return out


def grey_to_rgb_layers(size: int = 32, input_shape: Sequence[int] = (28, 28, 1)) -> keras.Model:
    """:func:`grey_to_rgb` as a small Keras model to put in front of an RGB base.

    Resizing, then the channel concatenated three times; only standard layers,
    so a saved model needs no custom code to load.

    Returns
    -------
    keras.Model
        ``(n, *input_shape)`` → ``(n, size, size, 3)`` float32.
    """
    inputs = keras.Input(shape=tuple(input_shape))
    resized = keras.layers.Resizing(size, size, interpolation="bilinear")(inputs)
    rgb = keras.layers.Concatenate(axis=-1)([resized, resized, resized])
    return keras.Model(inputs, rgb, name="grey_to_rgb")


# --------------------------------------------------------------------------- #
# Freezing
# --------------------------------------------------------------------------- #
def _count(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


@dataclass(frozen=True)
class LayerState:
    """One layer's trainability."""

    name: str          # "base/conv1" for layers of nested models
    kind: str          # class name
    trainable: bool    # the layer's flag
    trainable_params: int
    non_trainable_params: int

    @property
    def has_weights(self) -> bool:
        return self.trainable_params + self.non_trainable_params > 0

    @property
    def frozen(self) -> bool:
        """Has weights, none of which training updates."""
        return self.has_weights and self.trainable_params == 0


@dataclass
class FreezeReport:
    """Which layers of a model training would update."""

    model_name: str
    layers: list[LayerState]

    @property
    def frozen(self) -> list[str]:
        """Names of layers with weights that are all frozen."""
        return [s.name for s in self.layers if s.frozen]

    @property
    def trainable(self) -> list[str]:
        """Names of layers with at least one trainable weight."""
        return [s.name for s in self.layers if s.trainable_params > 0]

    @property
    def trainable_params(self) -> int:
        return sum(s.trainable_params for s in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(s.non_trainable_params for s in self.layers)

    def to_text(self, lang: str | None = None) -> str:
        """A summary line, then one row per layer with weights: name, type, frozen or
        trainable, trainable and non-trainable parameters; in ``lang`` (default
        :func:`cnnkit.messages.current_lang`)."""
        lang = messages.current_lang(lang)
        with_weights = [s for s in self.layers if s.has_weights]
        width = max([len(s.name) for s in with_weights] + [5])
        state = {True: messages.render("transfer.frozen", lang), False: messages.render("transfer.trainable", lang)}
        state_width = max(len(word) for word in state.values())
        lines = [messages.render("transfer.freeze_summary", lang, model=self.model_name,
                                 trainable=len(self.trainable), trainable_params=self.trainable_params,
                                 frozen=len(self.frozen), non_trainable_params=self.non_trainable_params)]
        lines += [f"  {s.name:<{width}}  {s.kind:<20} "
                  f"{state[s.frozen]:<{state_width}} {s.trainable_params:>10,} "
                  f"{s.non_trainable_params:>10,}" for s in with_weights]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def frozen_layers(model: keras.Model) -> FreezeReport:
    """Trainability of every layer, descending into nested models.

    Returns
    -------
    FreezeReport
        ``.frozen`` / ``.trainable`` list layer names (``"base/conv1"`` inside
        a nested model); ``print(report)`` shows a table of layers with weights.
        A BatchNormalization layer always has 2 non-trainable weights (its
        moving statistics); it counts as frozen only when its scale and
        offset are frozen too.
    """
    def walk(container, prefix):
        for layer in container.layers:
            if isinstance(layer, keras.Model):
                yield from walk(layer, f"{prefix}{layer.name}/")
                continue
            yield LayerState(f"{prefix}{layer.name}", type(layer).__name__, bool(layer.trainable),
                             _count(layer.trainable_weights), _count(layer.non_trainable_weights))

    return FreezeReport(model.name, list(walk(model, "")))


def set_trainable(layers: keras.layers.Layer | Sequence[keras.layers.Layer], trainable: bool, *,
                  from_layer: int | str | None = None,
                  keep_batchnorm_frozen: bool = True) -> None:
    """Freeze or unfreeze a base (a nested model) or a list of layers.

    Parameters
    ----------
    layers : Layer/Model or sequence of layers
    trainable : bool
    from_layer : int or str, optional
        Only when unfreezing a model: unfreeze layers from this index (into
        ``model.layers``) or name on, keep the earlier ones frozen.
    keep_batchnorm_frozen : bool
        When unfreezing, leave BatchNormalization layers frozen. A frozen BN
        layer in Keras 3 also runs in inference mode, so fine-tuning with small
        batches does not overwrite the statistics learnt on the large dataset.

    Remember to ``compile`` again afterwards: a compiled model keeps training
    the variables that were trainable when it was compiled.
    """
    group = list(layers.layers) if isinstance(layers, keras.Model) else \
        [layers] if isinstance(layers, keras.layers.Layer) else list(layers)
    if isinstance(layers, keras.Model):
        layers.trainable = True  # a frozen container would override its layers' flags
    start = 0
    if from_layer is not None:
        if not isinstance(layers, keras.Model):
            raise ValueError("from_layer needs a model, not a list of layers")
        start = from_layer if isinstance(from_layer, int) else \
            [layer.name for layer in group].index(from_layer)
        start = start % len(group) if start < 0 else start
    for i, layer in enumerate(group):
        layer.trainable = bool(trainable) and i >= start
    if trainable and keep_batchnorm_frozen:
        stack = list(group)
        while stack:
            layer = stack.pop()
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
            elif isinstance(layer, keras.Model):
                stack.extend(layer.layers)
    if not trainable and isinstance(layers, keras.Model):
        layers.trainable = False


def find_base(model: keras.Model):
    """The pretrained base inside a transfer model.

    ``model.base_model`` when :func:`cnnkit.models.resnet50_transfer` built it,
    else the first nested model among its layers.

    Returns
    -------
    keras.Model
    """
    base = getattr(model, "base_model", None)
    if isinstance(base, keras.Model) and any(layer is base for layer in model.layers):
        return base
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not nested:
        raise ValueError(f"model {model.name!r} has no nested base model; pass base=... "
                         "(the model, or the list of its layers that form the base)")
    return nested[0]


def _base_group(model: keras.Model, base):
    """The layers of ``model`` that form ``base`` (nested model, or a flat functional copy)."""
    if base is None:
        return find_base(model)
    if any(layer is base for layer in model.layers):
        return base
    if isinstance(base, keras.Model):
        # Built as keras.Model(base.input, head(base.output)): the base's
        # layers appear directly in the model.
        own = {id(layer) for layer in base.layers}
        shared = [layer for layer in model.layers if id(layer) in own]
        if shared:
            return shared
    if isinstance(base, (list, tuple)):
        return list(base)
    raise ValueError(f"base {getattr(base, 'name', base)!r} is not part of model {model.name!r}")


# --------------------------------------------------------------------------- #
# Transfer training
# --------------------------------------------------------------------------- #
@dataclass
class TransferResult:
    """What :func:`transfer_train` returns.

    Attributes
    ----------
    model : keras.Model
        The trained model (with preprocessing layers if any were added).
    head : TrainResult
        Phase 1: the base frozen, the new layers trained.
    fine_tune : TrainResult or None
        Phase 2: the base unfrozen, trained on at a low learning rate.
    frozen_head, frozen_fine_tune : FreezeReport
        Which layers were frozen in each phase.
    history : dict[str, list[float]]
        Both phases' curves one after the other (for
        :func:`cnnkit.plots.training_curves`).
    """

    model: keras.Model
    head: TrainResult
    fine_tune: TrainResult | None
    frozen_head: FreezeReport
    frozen_fine_tune: FreezeReport | None
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def wall_time(self) -> float:
        return self.head.wall_time + (self.fine_tune.wall_time if self.fine_tune else 0.0)

    @property
    def cpu_time(self) -> float:
        return self.head.cpu_time + (self.fine_tune.cpu_time if self.fine_tune else 0.0)

    @property
    def final(self) -> dict[str, float]:
        return (self.fine_tune or self.head).final


def _merged(first: dict, second: dict | None) -> dict[str, list[float]]:
    merged = {k: list(map(float, v)) for k, v in first.items()}
    for k, v in (second or {}).items():
        merged.setdefault(k, []).extend(map(float, v))
    return merged


def transfer_train(model_or_variant: keras.Model | str, data, *, base=None,
                   epochs: int = 3, learning_rate: float = 1e-3,
                   fine_tune_epochs: int = 0, fine_tune_learning_rate: float = 1e-5,
                   fine_tune_from: int | str | None = None, keep_batchnorm_frozen: bool = True,
                   weights: str | None = None, num_classes: int | None = None,
                   batch_size: int = 32, validation=0.1, augment=None, normalize=None,
                   early_stopping=None, seed: int = 0, verbose: int = 0,
                   loss=None, metrics: Sequence[str] | None = ("accuracy",)) -> TransferResult:
    """Train a new head on a frozen base, then optionally fine-tune the base (seed 002, part 3).

    Parameters
    ----------
    model_or_variant : keras.Model or str
        A model containing ``base``, or a variant name for
        ``cnnkit.models.build("resnet50_transfer", variant=..., weights=...,
        num_classes=..., base=base)``.
    data : (x, y) or cnnkit Dataset
        Training data; validation is held out from it once and used by both
        phases (see :func:`cnnkit.train.train`).
    base : keras.Model, list of layers, or None
        The pretrained part. Default: the model's first nested model.
    epochs, learning_rate
        Phase 1 (base frozen, Adam at ``learning_rate``).
    fine_tune_epochs, fine_tune_learning_rate
        Phase 2 when ``fine_tune_epochs > 0``: base unfrozen, recompiled with
        Adam at this much lower rate, few epochs — large updates would wreck
        the pretrained features.
    fine_tune_from : int or str, optional
        Unfreeze only the base's layers from this index or name on; default:
        the whole base.
    keep_batchnorm_frozen : bool
        Keep BatchNormalization layers frozen (inference mode) while fine-tuning.
    weights, num_classes
        For a variant name only.
    batch_size, validation, augment, normalize, early_stopping, seed, verbose, loss, metrics
        As in :func:`cnnkit.train.train` (augmentation and normalisation are
        added once, in phase 1).

    Returns
    -------
    TransferResult
    """
    keras.utils.set_random_seed(int(seed))
    if hasattr(data, "x_train"):
        x, y, dataset = np.asarray(data.x_train), np.asarray(data.y_train), data
    else:
        (x, y), dataset = data, None
        x, y = np.asarray(x), np.asarray(y)
    if isinstance(model_or_variant, str):
        from . import models
        from .evaluate import as_labels

        if num_classes is None:
            num_classes = len(dataset.class_names) if dataset is not None \
                else int(as_labels(y).max()) + 1
        model = models.build("resnet50_transfer", variant=model_or_variant, weights=weights,
                             num_classes=num_classes, **({"base": base} if base is not None else {}))
        base = None  # the builder's model knows its base (model.base_model)
    else:
        model = model_or_variant
    group = _base_group(model, base)

    split = resolve_validation(x, y, validation, dataset=dataset, seed=seed)
    common = dict(batch_size=batch_size, validation=split.validation_data,
                  early_stopping=early_stopping, seed=seed, verbose=verbose, loss=loss,
                  metrics=metrics)

    set_trainable(group, False)
    head = train(model, (split.x_fit, split.y_fit), epochs=epochs, augment=augment,
                 normalize=normalize, optimizer=keras.optimizers.Adam(learning_rate), **common)
    frozen_head = frozen_layers(head.model)

    fine = frozen_fine = None
    if fine_tune_epochs > 0:
        set_trainable(group, True, from_layer=fine_tune_from,
                      keep_batchnorm_frozen=keep_batchnorm_frozen)
        # A new optimizer and compile(): the trainable variables changed.
        fine = train(head.model, (split.x_fit, split.y_fit), epochs=fine_tune_epochs,
                     optimizer=keras.optimizers.Adam(fine_tune_learning_rate), **common)
        frozen_fine = frozen_layers(fine.model)
    for result in (head, fine):
        if result is not None:
            result.train_indices, result.validation_indices = \
                split.train_indices, split.validation_indices
            result.validation_source = split.source
    return TransferResult(
        model=(fine or head).model, head=head, fine_tune=fine,
        frozen_head=frozen_head, frozen_fine_tune=frozen_fine,
        history=_merged(head.history.history, fine.history.history if fine else None))

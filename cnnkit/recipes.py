"""A fast, modern reference recipe for CIFAR-10 that trains on a laptop CPU.

Seed 003 trains a plain ``Conv32-Pool-Conv64-Pool-Conv64-Dense-Dense`` with
Adam at batch 32 and peaks at 67-71 % test accuracy after 6-7 epochs (the
seed's notebook: 71 % on the original images; 68 % on the JPEG copy the
course uses). This module shows what a few modern ideas buy on the *same*
hardware: on two CPU cores the fast recipe passes the seed's best accuracy
in a fifth of the time the seed needs to reach it (2 epochs, 72 % in 42 s
against 67.9 % in 218 s), and reaches 81 % in 8 epochs of a slightly wider
network (273 s; figures in ``benchmarks/RESULTS.md``):

* **BatchNorm after every convolution** -- lets us use a learning rate an
  order of magnitude higher without diverging, which is most of the speed-up.
* **A one-cycle learning-rate schedule** -- linear warm-up to a peak, then a
  linear decay to (almost) zero (Smith & Topin 2017; David Page, "How to train
  your ResNet", 2018). Short runs need the decay: the last epochs at a small
  learning rate are where test accuracy jumps.
* **SGD with Nesterov momentum, decoupled weight decay** -- the combination
  Page and Keller Jordan's *airbench* use for fast CIFAR-10. The batch is a
  moderate 128: on a CPU an epoch costs the same at 128, 256 or 512 (the
  per-step overhead is small next to the convolutions), and in a 2- or
  3-epoch run more steps learn more (73.8 % vs 73.1 % vs 70.5 % after 3
  epochs at batch 128/256/512).
* **Label smoothing (0.1 for short runs, 0.2 for longer ones)** -- a cheap
  regulariser.
* **Flip + translate augmentation done in NumPy on the whole epoch** -- a
  reflect-padded copy of the training set is cropped at random offsets with
  one vectorised gather per offset, ~0.3 s per epoch on one core; flips
  *alternate* per image from epoch to epoch (airbench's derandomised flip), so
  every image is seen both ways every two epochs.
* **A CPU-sized network** -- on a CPU the cost of a convolution is its
  multiply-adds, and multiply-adds at 32 × 32 resolution are expensive. The
  network folds 2 × 2 pixel blocks into channels first ("space-to-depth",
  lossless: 32 × 32 × 3 → 16 × 16 × 12), so its first convolution already
  runs at 16 × 16. See :func:`cifar10_fast_model`.
* **Test-time augmentation** -- test accuracy is measured on the average of
  the logits of each image and its mirror image (evaluation only; it does not
  slow training).

Everything is plain Keras 3 (``keras.ops``, ``keras.layers``): the recipe runs
under ``KERAS_BACKEND=tensorflow`` and ``jax`` alike. On CPUs with the
TensorFlow backend, oneDNN kernels make training ~30 % cheaper than TF's
default Eigen kernels; ``TF_ENABLE_ONEDNN_OPTS=1`` must be set *before*
TensorFlow is imported (``cnnkit.setup()`` turns them off for bit-for-bit
reproducible course notebooks, so ``benchmarks/time_to_accuracy.py`` turns
them back on). Measurements and what did not help: ``benchmarks/RESULTS.md``.

    >>> from cnnkit.data import load_cifar10
    >>> from cnnkit.recipes import cifar10_fast
    >>> data = load_cifar10()
    >>> result = cifar10_fast(data.x_train, data.y_train, data.x_test, data.y_test)
    >>> result.history["test_accuracy"][-1]      # ~0.74 after 3 epochs, < 1 min on 2 cores
    >>> from cnnkit.recipes import PLANS         # other budgets: "30s", "1min", "5min"
    >>> result = cifar10_fast(data.x_train, data.y_train, data.x_test, data.y_test,
    ...                       **PLANS["5min"])   # ~0.81
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import keras
from keras import layers, ops

from . import messages

messages.register({
    "recipes.epoch": {
        "es": "época {epoch}/{epochs} · pérdida {loss:.4f} · exactitud en entrenamiento {accuracy:.4f}{test} · "
              "{seconds:.1f} s",
        "en": "epoch {epoch}/{epochs} · loss {loss:.4f} · train acc {accuracy:.4f}{test} · {seconds:.1f} s",
    },
    "recipes.epoch_test": {"es": " · en test {accuracy:.4f}", "en": " · test {accuracy:.4f}"},
})

__all__ = [
    "CIFAR10_MEAN", "CIFAR10_STD", "SpaceToDepth", "OneCycle",
    "cifar10_fast_model", "whitening_kernel", "one_cycle", "augment", "evaluate_tta",
    "FastResult", "PLANS", "PLAN_BUDGETS", "cifar10_fast",
]

# Per-channel statistics of the CIFAR-10 training pixels (0..255). The model
# standardises its input with them, so it takes raw pixels: no /255 needed.
CIFAR10_MEAN = (125.3, 123.0, 113.9)
CIFAR10_STD = (63.0, 62.1, 66.7)


# --------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="cnnkit")
class SpaceToDepth(layers.Layer):
    """Fold each ``block × block`` patch of pixels into the channel axis.

    ``(H, W, C) → (H / block, W / block, C · block²)``, channels-last. Nothing
    is lost (it is a reshape), but every later layer runs at a quarter of the
    resolution -- the cheapest way to make a CNN fit a CPU's budget.
    """

    def __init__(self, block: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.block = int(block)

    def call(self, x):
        b = self.block
        _, h, w, c = x.shape
        x = ops.reshape(x, (-1, h // b, b, w // b, b, c))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, h // b, w // b, c * b * b))

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        b = self.block
        return (n, h // b, w // b, c * b * b)

    def get_config(self):
        return {**super().get_config(), "block": self.block}


def _conv_bn_relu(x, filters: int, name: str, bn_momentum: float):
    # No conv bias: the BatchNorm's beta that follows makes it redundant.
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def cifar10_fast_model(widths: Sequence[int] = (32, 64, 128), *, num_classes: int = 10,
                       bn_momentum: float = 0.9, name: str = "cifar10_fast") -> keras.Model:
    """The fast recipe's CNN: space-to-depth, then conv-BN-ReLU-maxpool stages.

    Layers and shapes for the default ``widths=(32, 64, 128)``::

        Input uint8 (32, 32, 3)       raw pixels 0..255
        Normalization                 per-channel (x - mean) / std
        SpaceToDepth(2)      → (16, 16, 12)
        Conv 3×3, 32 · BN · ReLU · MaxPool  → (8, 8, 32)     3,456 + 128
        Conv 3×3, 64 · BN · ReLU · MaxPool  → (4, 4, 64)    18,432 + 256
        Conv 3×3,128 · BN · ReLU · MaxPool  → (2, 2, 128)   73,728 + 512
        GlobalMaxPooling2D   → 128
        Dense(num_classes)   → logits                        1,290

    97,802 parameters, 97,354 of them trainable (the other 448 are
    BatchNorm's moving averages; the normaliser's fixed statistics are
    constants), 3.3 M multiply-adds per image
    (seed 003's model: 4.5 M).

    Why this shape:

    * each stage doubles the channels while pooling halves the resolution,
      so every convolution costs the same (~1.1 M multiply-adds): no stage is
      a bottleneck for either accuracy or time;
    * the output is **logits** (no softmax): train with ``from_logits=True``;
    * global *max* pooling before the classifier (as in Page's ResNet and
      airbench) keeps the head tiny; with a 2 × 2 map it loses little.

    Args:
        widths: filters of the stages; each stage halves the resolution, so
            at most 4 stages fit a 16 × 16 map.
        num_classes: units of the output layer.
        bn_momentum: BatchNorm moving-average momentum. 0.9 (PyTorch's 0.1)
            rather than Keras' 0.99: a 3-epoch run has only ~300 steps, and
            with 0.99 the moving statistics lag the fast-changing weights.
        name: model name.
    """
    widths = [int(w) for w in widths]
    if not 1 <= len(widths) <= 4:
        raise ValueError(f"cifar10_fast_model needs 1 to 4 stages, got widths={widths}")
    inputs = keras.Input((32, 32, 3), dtype="uint8", name="image")
    x = layers.Normalization(mean=CIFAR10_MEAN, variance=[s * s for s in CIFAR10_STD],
                             name="standardize")(inputs)
    x = SpaceToDepth(2, name="space_to_depth")(x)
    for i, filters in enumerate(widths, start=1):
        x = _conv_bn_relu(x, filters, f"stage{i}", bn_momentum)
        x = layers.MaxPooling2D(2, name=f"stage{i}_pool")(x)
    x = layers.GlobalMaxPooling2D(name="global_max_pool")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def whitening_kernel(images: np.ndarray, filters: int, *, n_images: int = 1000,
                     eps: float = 5e-4) -> np.ndarray:
    """A first-layer kernel that *whitens* image patches (airbench's trick).

    The 3 × 3 patches that ``stage1_conv`` sees (6 × 6 pixel windows, after
    standardisation and space-to-depth: 108 numbers) are strongly correlated.
    This kernel projects each patch onto its ``filters // 2`` principal
    directions, scaled to unit variance, with both signs (so that the ReLU
    that follows keeps the information of either sign). Training starts from
    decorrelated features instead of random ones, and the layer can stay
    frozen, which also saves its backward pass.

    Args:
        images: uint8 ``(n, 32, 32, 3)`` training images (the first
            ``n_images`` are used).
        filters: output channels; must be even.
        eps: added to the eigenvalues before the inverse square root, so the
            noisiest directions are not blown up.

    Returns:
        float32 kernel of shape ``(3, 3, 12, filters)``.
    """
    if filters % 2:
        raise ValueError(f"whitening needs an even number of filters, got {filters}")
    x = (np.asarray(images[:n_images], "float32") - np.float32(CIFAR10_MEAN)) \
        / np.float32(CIFAR10_STD)
    n = len(x)
    x = x.reshape(n, 16, 2, 16, 2, 3).transpose(0, 1, 3, 2, 4, 5).reshape(n, 16, 16, 12)
    patches = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    patches = patches.transpose(0, 1, 2, 4, 5, 3).reshape(-1, 3 * 3 * 12)  # (kh, kw, c) order
    covariance = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance.astype("float64"))
    order = np.argsort(eigenvalues)[::-1][: filters // 2]
    directions = eigenvectors[:, order] / np.sqrt(eigenvalues[order] + eps)
    kernel = np.concatenate([directions, -directions], axis=1)
    return kernel.reshape(3, 3, 12, filters).astype("float32")


# --------------------------------------------------------------------------
# The learning-rate schedule
# --------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="cnnkit")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak``, then linear decay to ``end_fraction · peak``.

    ::

        lr
        peak |        /\\
             |      /    \\
             |    /        \\
        start|  /            \\
             |/                \\___ end
             0     warmup       total_steps

    ``start_fraction · peak`` at step 0, ``peak`` at ``warmup_fraction ·
    total_steps``, ``end_fraction · peak`` at ``total_steps`` and after.
    """

    def __init__(self, peak: float, total_steps: int, warmup_fraction: float = 0.2,
                 start_fraction: float = 0.1, end_fraction: float = 0.0):
        if total_steps < 1:
            raise ValueError("total_steps must be at least 1")
        if not 0.0 < warmup_fraction < 1.0:
            raise ValueError("warmup_fraction must be in (0, 1)")
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_fraction = float(warmup_fraction)
        self.start_fraction = float(start_fraction)
        self.end_fraction = float(end_fraction)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = self.warmup_fraction * self.total_steps
        rising = self.start_fraction + (1.0 - self.start_fraction) * step / warmup
        remaining = ops.clip((self.total_steps - step) / (self.total_steps - warmup), 0.0, 1.0)
        falling = self.end_fraction + (1.0 - self.end_fraction) * remaining
        return self.peak * ops.where(step < warmup, rising, falling)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps,
                "warmup_fraction": self.warmup_fraction,
                "start_fraction": self.start_fraction, "end_fraction": self.end_fraction}


def one_cycle(peak: float, total_steps: int, warmup_fraction: float = 0.2,
              start_fraction: float = 0.1, end_fraction: float = 0.0) -> OneCycle:
    """The recipe's schedule; see :class:`OneCycle`. ``schedule(step)`` gives the rate."""
    return OneCycle(peak, total_steps, warmup_fraction, start_fraction, end_fraction)


# --------------------------------------------------------------------------
# Augmentation, in NumPy, one epoch at a time
# --------------------------------------------------------------------------

def _reflect_pad(images: np.ndarray, pad: int) -> np.ndarray:
    return np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")


def augment(images: np.ndarray, rng: np.random.Generator, *, translate: int = 2,
            flip: np.ndarray | None = None, padded: np.ndarray | None = None) -> np.ndarray:
    """Random translation by up to ``translate`` pixels plus horizontal flips.

    Each image is shifted by an offset drawn uniformly from
    ``[-translate, translate]²`` (the border is filled by reflection) and
    mirrored where ``flip`` is true (``flip=None``: a fair coin per image).

    Vectorised: images that share an offset are cropped with one slice of
    the reflect-padded batch, so there are ``(2·translate + 1)²`` copies per
    call whatever the batch size -- about 0.3 s for all 50,000 CIFAR-10
    images on one core, far cheaper than per-image Python loops or Keras'
    interpolating ``RandomTranslation``.

    Args:
        images: uint8 ``(n, h, w, c)``.
        rng: the NumPy generator to draw offsets (and flips) from.
        translate: maximum shift in pixels; 0 disables translation.
        flip: boolean ``(n,)`` mask of images to mirror, or ``None``.
        padded: ``images`` already reflect-padded by ``translate`` (saves the
            padding copy when the same images are augmented every epoch).
    """
    n, h, w, _ = images.shape
    if flip is None:
        flip = rng.random(n) < 0.5
    if translate:
        if padded is None:
            padded = _reflect_pad(images, translate)
        side = 2 * translate + 1
        offset = rng.integers(0, side * side, n)
        order = np.argsort(offset, kind="stable")
        bounds = np.searchsorted(offset[order], np.arange(side * side + 1))
        out = np.empty_like(images)
        for code in range(side * side):
            idx = order[bounds[code]:bounds[code + 1]]
            dy, dx = divmod(code, side)
            out[idx] = padded[idx, dy:dy + h, dx:dx + w]
    else:
        out = images.copy()
    mirrored = np.flatnonzero(flip)
    out[mirrored] = out[mirrored, :, ::-1]
    return out


def evaluate_tta(model: keras.Model, images: np.ndarray, labels: np.ndarray, *,
                 flip: bool = True, batch_size: int = 1000) -> float:
    """Accuracy of ``model`` on ``images``; with ``flip``, of the mean logits of
    each image and its mirror image (test-time augmentation)."""
    logits = model.predict(images, batch_size=batch_size, verbose=0)
    if flip:
        logits = logits + model.predict(images[:, :, ::-1], batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(labels).reshape(-1)))


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

@dataclass
class FastResult:
    """What :func:`cifar10_fast` returns.

    Attributes:
        model: the trained Keras model (outputs logits).
        history: per epoch lists: ``epoch`` (1-based), ``loss`` and
            ``accuracy`` (training, on augmented images, as Keras reports
            them), ``lr`` (at the epoch's end), ``epoch_time`` (seconds of
            training in the epoch: augmentation + ``fit``), ``train_time``
            (cumulative), ``train_cpu_time`` (cumulative CPU seconds of this
            process's threads while training: a load-independent measure of
            the work done, handy on a shared machine), ``eval_time`` and,
            with test data,
            ``test_accuracy``.
        train_time: seconds spent training (evaluation excluded).
        eval_time: seconds spent evaluating on the test set.
        config: the settings the run used.
        stopped_early: True when ``time_budget`` or ``on_epoch_end`` ended the run.
    """

    model: keras.Model
    history: dict[str, list]
    train_time: float
    eval_time: float
    config: dict[str, Any] = field(default_factory=dict)
    stopped_early: bool = False


#: Settings sized for two CPU cores (TensorFlow backend, oneDNN kernels), by
#: training budget. A one-cycle run is *planned* for its length -- its
#: accuracy comes from the final low-learning-rate epochs -- so pick the plan
#: for the time you have rather than stopping a longer plan early::
#:
#:     cifar10_fast(x, y, x_test, y_test, **PLANS["5min"])
#:
#: ``"30s"``: the default network for 2 epochs, ~71-72 % test accuracy.
#: ``"1min"`` (the defaults of :func:`cifar10_fast`): 3 epochs, ~74-75 %.
#: ``"5min"``: a 1.5x wider network for 8 epochs, ~81 %; longer runs
#: regularise less (label smoothing 0.2 instead of 0.1) and need a gentler
#: peak (0.2 instead of 0.3). Measured figures: ``benchmarks/RESULTS.md``.
PLANS: dict[str, dict[str, Any]] = {
    "30s": dict(epochs=2, widths=(32, 64, 128), batch_size=128, peak_lr=0.3,
                label_smoothing=0.1),
    "1min": dict(epochs=3, widths=(32, 64, 128), batch_size=128, peak_lr=0.3,
                 label_smoothing=0.1),
    "5min": dict(epochs=8, widths=(48, 96, 192), batch_size=128, peak_lr=0.2,
                 label_smoothing=0.2),
}
#: The nominal budget of each plan, in seconds of training on two cores.
PLAN_BUDGETS: dict[str, float] = {"30s": 30.0, "1min": 60.0, "5min": 300.0}


def cifar10_fast(x_train, y_train, x_test=None, y_test=None, *, epochs: int = 3,
                 batch_size: int = 128, seed: int = 0, time_budget: float | None = None,
                 on_epoch_end: Callable[[int, dict], Any] | None = None,
                 widths: Sequence[int] = (32, 64, 128), peak_lr: float = 0.3,
                 warmup_fraction: float = 0.2, momentum: float = 0.9,
                 weight_decay: float = 5e-3, label_smoothing: float = 0.1,
                 translate: int = 2, whiten: bool = False, tta: bool = True,
                 verbose: bool = False) -> FastResult:
    """Train the fast CIFAR-10 recipe; evaluate on the test set after every epoch.

    Args:
        x_train, y_train: uint8 ``(n, 32, 32, 3)`` images (raw 0..255 pixels)
            and integer labels ``(n,)`` or ``(n, 1)``.
        x_test, y_test: optional test set, evaluated after every epoch (not
            counted in ``train_time``).
        epochs: length of the schedule. The learning rate reaches zero at the
            end of the last epoch, so a run is *planned* for its epochs: 3
            epochs ≈ 74.7 % in about a minute (62 s) on two cores; more epochs (and
            a wider network) trade time for accuracy -- see :data:`PLANS`
            and ``benchmarks/RESULTS.md``.
        batch_size: images per step.
        seed: seeds Keras (the initial weights) and the NumPy generator that
            draws augmentations and the shuffling order. Same seed, data,
            backend and kernels → the same run (checked in the tests with
            TensorFlow's Eigen kernels and with JAX; reruns with oneDNN
            kernels were identical too, though TensorFlow does not promise it).
        time_budget: seconds of training after which no further epoch is
            started (when the next epoch, at the last epoch's pace, would end
            past the budget). A guard, not a plan: the schedule still assumes
            ``epochs``; choose ``epochs`` to fit the budget.
        on_epoch_end: ``callback(epoch_index, logs)`` after each epoch's
            evaluation; ``logs`` holds that epoch's history entries. Return
            ``True`` to stop training.
        widths: stage widths of :func:`cifar10_fast_model`.
        peak_lr, warmup_fraction: the :class:`OneCycle` schedule.
        momentum: Nesterov momentum of SGD.
        weight_decay: decoupled weight decay (Keras' ``SGD(weight_decay=)``:
            each step ``w -= lr · weight_decay · w``); BatchNorm's scales and
            offsets and the biases are exempt.
        label_smoothing: of the cross-entropy loss.
        translate: maximum random shift in pixels (0: none).
        whiten: initialise the first convolution with :func:`whitening_kernel`
            and freeze it. Off by default: it gives a better first epoch
            (60.5 % vs 56.5 %) but the same accuracy at the end of a 2-epoch
            run (71.8 % vs 71.7 %).
        tta: evaluate with flip test-time augmentation.
        verbose: print one line per epoch.

    Returns:
        a :class:`FastResult`.
    """
    x_train = np.asarray(x_train)
    y_train = np.asarray(y_train).reshape(-1).astype("int64")
    if x_train.dtype != np.uint8:
        raise TypeError(f"cifar10_fast expects uint8 pixels 0..255, got {x_train.dtype}")
    has_test = x_test is not None and y_test is not None
    if has_test:
        x_test = np.asarray(x_test)
        y_test = np.asarray(y_test).reshape(-1)
    num_classes = max(10, int(y_train.max()) + 1)
    config = dict(epochs=epochs, batch_size=batch_size, seed=seed, time_budget=time_budget,
                  widths=tuple(widths), peak_lr=peak_lr, warmup_fraction=warmup_fraction,
                  momentum=momentum, weight_decay=weight_decay,
                  label_smoothing=label_smoothing, translate=translate, whiten=whiten, tta=tta,
                  backend=keras.backend.backend())

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = cifar10_fast_model(widths, num_classes=num_classes)
    # Everything that touches the data counts as training time: the
    # whitening initialisation and the padded copy that augmentation crops.
    setup_start, setup_start_cpu = time.perf_counter(), time.process_time()
    if whiten:
        stem = model.get_layer("stage1_conv")
        sample = rng.choice(len(x_train), size=min(1000, len(x_train)), replace=False)
        stem.set_weights([whitening_kernel(x_train[sample], stem.filters)])
        stem.trainable = False
    targets = np.eye(num_classes, dtype="float32")[y_train]
    # Derandomised flips: a fair coin per image in epoch 1, then each image's
    # flip alternates, so each image is seen mirrored every other epoch.
    flip = rng.random(len(x_train)) < 0.5
    padded = _reflect_pad(x_train, translate) if translate else None
    setup_time = time.perf_counter() - setup_start
    setup_cpu_time = time.process_time() - setup_start_cpu

    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    schedule = one_cycle(peak_lr, epochs * steps_per_epoch, warmup_fraction)
    optimizer = keras.optimizers.SGD(schedule, momentum=momentum, nesterov=True,
                                     weight_decay=weight_decay)
    # Decay only the convolution and dense kernels: shrinking BatchNorm's
    # gamma/beta or the output bias has no regularising effect.
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    model.compile(
        optimizer=optimizer,
        # Label smoothing needs one-hot targets: CategoricalCrossentropy.
        loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                                  label_smoothing=label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )

    history: dict[str, list] = {key: [] for key in
                                ("epoch", "loss", "accuracy", "lr", "epoch_time",
                                 "train_time", "train_cpu_time", "eval_time")}
    if has_test:
        history["test_accuracy"] = []
    train_time, train_cpu_time, eval_time = setup_time, setup_cpu_time, 0.0
    stopped_early = False
    for epoch in range(epochs):
        start, start_cpu = time.perf_counter(), time.process_time()
        images = augment(x_train, rng, translate=translate, flip=flip, padded=padded)
        order = rng.permutation(len(x_train))
        fit = model.fit(images[order], targets[order], batch_size=batch_size, epochs=1,
                        shuffle=False, verbose=0)
        epoch_time = time.perf_counter() - start
        train_time += epoch_time
        train_cpu_time += time.process_time() - start_cpu
        flip = ~flip

        start = time.perf_counter()
        logs = {"epoch": epoch + 1, "loss": float(fit.history["loss"][-1]),
                "accuracy": float(fit.history["accuracy"][-1]),
                "lr": float(ops.convert_to_numpy(schedule(optimizer.iterations))),
                "epoch_time": epoch_time, "train_time": train_time,
                "train_cpu_time": train_cpu_time}
        if has_test:
            logs["test_accuracy"] = evaluate_tta(model, x_test, y_test, flip=tta)
        eval_time += time.perf_counter() - start
        logs["eval_time"] = eval_time
        for key, value in logs.items():
            history[key].append(value)
        if verbose:
            test = messages.render("recipes.epoch_test", accuracy=logs["test_accuracy"]) if has_test else ""
            print(messages.render("recipes.epoch", epoch=epoch + 1, epochs=epochs, loss=logs["loss"],
                                  accuracy=logs["accuracy"], test=test, seconds=train_time), flush=True)

        if on_epoch_end is not None and on_epoch_end(epoch, dict(logs)) is True:
            stopped_early = epoch + 1 < epochs
            break
        if time_budget is not None and epoch + 1 < epochs \
                and train_time + epoch_time > time_budget:
            stopped_early = True
            break

    return FastResult(model=model, history=history, train_time=train_time,
                      eval_time=eval_time, config=config, stopped_early=stopped_early)

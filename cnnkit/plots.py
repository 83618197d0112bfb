"""Figures for every plot the seeds ask for (matplotlib).

Every function returns the ``matplotlib.figure.Figure`` it drew (shown
inline in Jupyter) and writes it as PNG when given ``save="path.png"``.
Figures are made with ``pyplot`` so notebooks display them; scripts and
tests that make many should ``plt.close(fig)`` when done. Nothing here needs
a display: the Agg backend works.

Images may be uint8 (0-255), floats in [0, 1], or normalised floats of any
range (rescaled to [0, 1] for display only); ``(h, w, 1)`` and ``(h, w)``
images are drawn in grey.

Titles, axis labels and legends are in the notebook's language,
:func:`cnnkit.messages.current_lang` when the figure is drawn (Spanish unless
``$CNNKIT_LANG`` says otherwise); class names are shown as given.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from . import messages

__all__ = [
    "image_grid", "class_grid", "random_images_of_class", "training_curves",
    "confusion_matrix_heatmap", "feature_map_grid", "feature_map_comparison",
    "best_worst_images", "class_distribution", "prediction_panel",
]


messages.register({
    "plots.class_grid_title": {"es": "Primera imagen de entrenamiento de cada clase",
                               "en": "First training image of each class"},
    "plots.random_title": {"es": "{n} imágenes al azar de la clase «{name}»",
                           "en": "{n} random images of class '{name}'"},
    "plots.training": {"es": "entrenamiento", "en": "training"},
    "plots.validation": {"es": "validación", "en": "validation"},
    "plots.best_validation": {"es": "mejor validación (época {epoch})", "en": "best validation (epoch {epoch})"},
    "plots.epoch": {"es": "época", "en": "epoch"},
    # Keras' metric names as a panel's title; one Spanish word per concept
    # across cnnkit ("precisión" is the classification report's precision).
    "plots.metric.loss": {"es": "pérdida", "en": "loss"},
    "plots.metric.accuracy": {"es": "exactitud", "en": "accuracy"},
    "plots.metric.sparse_categorical_accuracy": {"es": "exactitud", "en": "sparse_categorical_accuracy"},
    "plots.metric.categorical_accuracy": {"es": "exactitud", "en": "categorical_accuracy"},
    "plots.metric.binary_accuracy": {"es": "exactitud", "en": "binary_accuracy"},
    "plots.confusion_title": {"es": "Matriz de confusión", "en": "Confusion matrix"},
    "plots.predicted_class": {"es": "clase predicha", "en": "predicted class"},
    "plots.true_class": {"es": "clase real", "en": "true class"},
    "plots.channel": {"es": "canal {index}", "en": "channel {index}"},
    "plots.feature_maps_title": {"es": "Mapas de características {height}×{width}, {shown} de {channels} canales",
                                 "en": "Feature maps {height}×{width}, {shown} of {channels} channels"},
    "plots.best": {"es": "mejor", "en": "best"},
    "plots.worst": {"es": "peor", "en": "worst"},
    "plots.class_score": {"es": "{kind}: {name}\n{score:.0%} de aciertos", "en": "{kind}: {name}\n{score:.0%} correct"},
    "plots.best_worst_title": {
        "es": "Imágenes de la clase mejor y de la peor clasificada (título: predicción)",
        "en": "Images of the best and the worst classified class (title: prediction)",
    },
    "plots.mean": {"es": "media {value:.1f}", "en": "mean {value:.1f}"},
    "plots.images": {"es": "imágenes", "en": "images"},
    "plots.distribution_title": {"es": "Imágenes por clase ({images} imágenes, {classes} clases)",
                                 "en": "Images per class ({images} images, {classes} classes)"},
    "plots.true_name": {"es": "real: {name}", "en": "true: {name}"},
})


def _metric_name(metric: str, lang: str) -> str:
    """A Keras metric name as a reader says it; metrics the catalogue lacks keep their own name."""
    code = f"plots.metric.{metric}"
    return messages.render(code, lang) if code in messages.codes() else metric


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _finish(fig, save: str | None):
    if save is not None:
        fig.savefig(save, format="png", dpi=100)
    return fig


def _displayable(image) -> tuple[np.ndarray, str | None]:
    """An image imshow can draw as intended, and the colour map it needs."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3):
        raise ValueError(f"expected an image (h, w), (h, w, 1) or (h, w, 3); got {img.shape}")
    if img.dtype != np.uint8:
        img = img.astype("float64")
        low, high = float(np.min(img)), float(np.max(img))
        if low < 0 or high > 1:
            # Normalised or 0-255 floats: stretch to [0, 1] so imshow does not clip.
            img = (img - low) / (high - low) if high > low else np.zeros_like(img)
    return img, ("gray" if img.ndim == 2 else None)


def _label_list(y) -> np.ndarray:
    from .evaluate import as_labels

    return as_labels(y)


def _grid(n: int, cols: int, figsize_per: float = 1.8, **kwargs):
    plt = _plt()
    cols = max(1, min(cols, n))
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, squeeze=False, layout="constrained",
                             figsize=(figsize_per * cols, figsize_per * rows + 0.4), **kwargs)
    flat = list(axes.ravel())
    for ax in flat[n:]:  # a grid wider than the images: drop the empty panels
        fig.delaxes(ax)
    return fig, flat[:n]


def _show(ax, image, title: str | None = None, fontsize: int = 9) -> None:
    img, cmap = _displayable(image)
    ax.imshow(img, cmap=cmap)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=fontsize)


def image_grid(images, titles: Sequence[str] | None = None, *, cols: int = 5,
               suptitle: str | None = None, save: str | None = None):
    """Images in a grid, one titled panel each.

    Parameters
    ----------
    images : ndarray (n, h, w, c) or sequence of images
    titles : sequence of n str, optional
    cols : int
        Panels per row; rows as needed, no empty panels.

    Returns
    -------
    Figure with ``n`` axes.
    """
    images = list(images)
    if not images:
        raise ValueError("no images to show")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"{len(titles)} titles for {len(images)} images")
    fig, axes = _grid(len(images), cols)
    for i, (ax, image) in enumerate(zip(axes, images)):
        _show(ax, image, titles[i] if titles is not None else None)
    if suptitle:
        fig.suptitle(suptitle)
    return _finish(fig, save)


def class_grid(x, y, class_names: Sequence[str], *, rows: int = 2, save: str | None = None):
    """The first training image of each class, titled ``"name (label)"`` (seed 000, 1b).

    Parameters
    ----------
    x : ndarray (n, h, w, c)
    y : labels (n,) or (n, 1)
    class_names : sequence of k str
    rows : int
        2 rows of 5 for CIFAR-10's 10 classes.

    Returns
    -------
    Figure with one axis per class present in ``y``, in label order.
    """
    labels = _label_list(y)
    present = [k for k in range(len(class_names)) if np.any(labels == k)]
    if not present:
        raise ValueError("no image has a label in range(len(class_names))")
    first = [int(np.flatnonzero(labels == k)[0]) for k in present]
    fig = image_grid([x[i] for i in first], [f"{class_names[k]} ({k})" for k in present],
                     cols=math.ceil(len(present) / rows))
    fig.suptitle(messages.render("plots.class_grid_title"))
    return _finish(fig, save)


def random_images_of_class(x, y, class_index: int | str, class_names: Sequence[str], n: int = 10,
                           seed: int = 0, *, rows: int = 2, save: str | None = None):
    """``n`` random images of one class (seed 000, 1c: ten ``"ship"`` images).

    Parameters
    ----------
    class_index : int or str
        The label, or the class name (``"ship"``).
    n : int
        Fewer panels when the class has fewer images.
    seed : int
        Same seed, same images.

    Returns
    -------
    Figure with ``min(n, images of the class)`` axes, each titled
    ``"name #i"`` with the image's index in ``x``.
    """
    if isinstance(class_index, str):
        class_index = list(class_names).index(class_index)
    labels = _label_list(y)
    pool = np.flatnonzero(labels == class_index)
    if len(pool) == 0:
        raise ValueError(f"no images of class {class_names[class_index]!r}")
    chosen = np.sort(np.random.default_rng(seed).choice(pool, size=min(n, len(pool)),
                                                        replace=False))
    name = class_names[class_index]
    fig = image_grid([x[i] for i in chosen], [f"{name} #{i}" for i in chosen],
                     cols=math.ceil(len(chosen) / rows))
    fig.suptitle(messages.render("plots.random_title", n=len(chosen), name=name))
    return _finish(fig, save)


def _history_dict(history) -> dict[str, list[float]]:
    # A TrainResult has .history (a History), whose .history is the dict.
    for _ in range(3):
        if isinstance(history, Mapping):
            return {k: list(map(float, v)) for k, v in history.items()}
        history = getattr(history, "history", None)
    raise TypeError("expected a keras History, its .history dict, or a TrainResult")


def training_curves(history, *, metrics: Sequence[str] = ("loss", "accuracy"),
                    title: str | None = None, save: str | None = None):
    """Per-epoch curves, training vs validation, one panel per metric.

    Parameters
    ----------
    history : keras History, its ``.history`` dict, or a TrainResult
    metrics : metric names
        Those present in ``history`` get a panel titled with the name
        ("pérdida" / "exactitud" for loss / accuracy in Spanish);
        ``val_<metric>`` is drawn in the same panel. The best validation epoch
        is marked.

    Returns
    -------
    Figure with one axis per metric found.
    """
    from .train import best_epochs

    curves = _history_dict(history)
    shown = [m for m in metrics if m in curves or f"val_{m}" in curves]
    if not shown:
        raise ValueError(f"none of {list(metrics)} in history (it has {sorted(curves)})")
    plt = _plt()
    fig, axes = plt.subplots(1, len(shown), squeeze=False, layout="constrained",
                             figsize=(5 * len(shown), 3.6))
    best = best_epochs(curves)
    lang = messages.current_lang()
    for ax, metric in zip(axes[0], shown):
        for key, label, style in ((metric, "plots.training", "-o"), (f"val_{metric}", "plots.validation", "-s")):
            if key in curves:
                epochs = np.arange(1, len(curves[key]) + 1)
                ax.plot(epochs, curves[key], style, markersize=3, label=messages.render(label, lang))
        if f"val_{metric}" in curves:
            b = best[f"val_{metric}"]
            ax.axvline(b, color="grey", linestyle=":", linewidth=1,
                       label=messages.render("plots.best_validation", lang, epoch=b))
        ax.set_title(_metric_name(metric, lang))
        ax.set_xlabel(messages.render("plots.epoch", lang))
        ax.set_ylabel(_metric_name(metric, lang))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _finish(fig, save)


def confusion_matrix_heatmap(cm, class_names: Sequence[str] | None = None, *,
                             normalize: bool = False, title: str | None = None,
                             save: str | None = None):
    """The confusion matrix as a heat map, rows = true class, columns = predicted.

    Parameters
    ----------
    cm : ndarray (k, k) of counts
    class_names : sequence of k str, optional
    normalize : bool
        Show each row as fractions of the true class instead of counts.
    title : str, optional
        Default "Matriz de confusión" ("Confusion matrix" in English).

    Returns
    -------
    Figure with one axis (cells annotated when k <= 30).
    """
    cm = np.asarray(cm)
    k = len(cm)
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    values = cm.astype("float64")
    if normalize:
        values = values / np.maximum(values.sum(axis=1, keepdims=True), 1)
    plt = _plt()
    size = max(4.0, 0.5 * k + 2)
    fig, ax = plt.subplots(layout="constrained", figsize=(size, size))
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel(messages.render("plots.predicted_class"))
    ax.set_ylabel(messages.render("plots.true_class"))
    ax.set_title(title if title is not None else messages.render("plots.confusion_title"))
    if k <= 30:
        threshold = values.max() / 2 if values.size else 0
        for i in range(k):
            for j in range(k):
                text = f"{values[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if values[i, j] > threshold else "black")
    return _finish(fig, save)


def _maps_of_one_image(maps, image_index: int) -> np.ndarray:
    maps = np.asarray(maps)
    if maps.ndim == 4:
        maps = maps[image_index]
    if maps.ndim != 3:
        raise ValueError(f"feature maps must be (n, h, w, c) or (h, w, c); got {maps.shape}")
    return maps


def feature_map_grid(maps, n: int = 16, *, image_index: int = 0, cols: int = 8,
                     title: str | None = None, save: str | None = None):
    """The first ``n`` channels of one image's feature maps.

    Parameters
    ----------
    maps : ndarray (n_images, h, w, channels) or (h, w, channels)
    n : int
        Channels shown (fewer if the layer has fewer).
    image_index : int
        Which image, for a batch of maps.

    Returns
    -------
    Figure with ``min(n, channels)`` axes titled ``"canal i"`` (``"channel i"`` in English).
    """
    maps = _maps_of_one_image(maps, image_index)
    count = min(n, maps.shape[-1])
    fig, axes = _grid(count, cols, figsize_per=1.5)
    for c, ax in enumerate(axes):
        ax.imshow(maps[..., c], cmap="viridis")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(messages.render("plots.channel", index=c), fontsize=8)
    fig.suptitle(title or messages.render("plots.feature_maps_title", height=maps.shape[0], width=maps.shape[1],
                                          shown=count, channels=maps.shape[-1]))
    return _finish(fig, save)


def feature_map_comparison(maps_by_label: Mapping[str, Any], n: int = 8, *,
                           image_index: int = 0, title: str | None = None,
                           save: str | None = None):
    """One row of feature maps per label (first ``n`` channels of one image).

    Returns
    -------
    Figure with ``len(maps_by_label)`` rows of ``n`` axes; each row's first
    axis carries the label.
    """
    rows = {label: _maps_of_one_image(maps, image_index) for label, maps in maps_by_label.items()}
    cols = min(n, max(m.shape[-1] for m in rows.values()))
    plt = _plt()
    fig, axes = plt.subplots(len(rows), cols, squeeze=False, layout="constrained",
                             figsize=(1.5 * cols + 1.5, 1.7 * len(rows) + 0.5))
    for r, (label, maps) in enumerate(rows.items()):
        for c in range(cols):
            ax = axes[r, c]
            if c < maps.shape[-1]:
                ax.imshow(maps[..., c], cmap="viridis")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(messages.render("plots.channel", index=c), fontsize=8)
        axes[r, 0].set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title)
    return _finish(fig, save)


def best_worst_images(x, y_true, y_pred, class_names: Sequence[str], n: int = 5, *,
                      best: int | None = None, worst: int | None = None, seed: int = 0,
                      save: str | None = None):
    """Some images of the best and of the worst classified class (seed 001, act. 9 and 13).

    Parameters
    ----------
    x : ndarray (m, h, w, c)
    y_true, y_pred : labels (or probability rows) for ``x``
    n : int
        Images per class (random, seeded).
    best, worst : int, optional
        Class labels; default from :func:`cnnkit.evaluate.best_and_worst_class`.

    Returns
    -------
    Figure with two rows (best class, worst class) of up to ``n`` axes; each
    panel is titled with the prediction, ✓ when right and ✗ when wrong, and
    each row's first axis names the class and its accuracy.
    """
    from .evaluate import best_and_worst_class, per_class_accuracy

    y_true, y_pred = _label_list(y_true), _label_list(y_pred)
    if best is None or worst is None:
        b, w = best_and_worst_class(y_true, y_pred, class_names)
        best = b.index if best is None else best
        worst = w.index if worst is None else worst
    scores = per_class_accuracy(y_true, y_pred, len(class_names))
    rng = np.random.default_rng(seed)
    picks = []
    for cls in (best, worst):
        pool = np.flatnonzero(y_true == cls)
        picks.append(np.sort(rng.choice(pool, size=min(n, len(pool)), replace=False)))
    cols = max(1, max(len(p) for p in picks))
    plt = _plt()
    fig, axes = plt.subplots(2, cols, squeeze=False, layout="constrained",
                             figsize=(1.9 * cols + 1, 4.4))
    for r, (cls, kind, chosen) in enumerate(zip((best, worst), ("plots.best", "plots.worst"), picks)):
        for c in range(cols):
            ax = axes[r, c]
            if c >= len(chosen):
                fig.delaxes(ax)
                continue
            i = chosen[c]
            mark = "✓" if y_pred[i] == y_true[i] else "✗"
            _show(ax, x[i], f"{mark} {class_names[y_pred[i]]}", fontsize=8)
        if len(chosen):
            axes[r, 0].set_ylabel(messages.render("plots.class_score", kind=messages.nested(kind),
                                                  name=class_names[cls], score=scores[cls]), fontsize=9)
    fig.suptitle(messages.render("plots.best_worst_title"))
    return _finish(fig, save)


def class_distribution(y, class_names: Sequence[str], *, title: str | None = None,
                       save: str | None = None):
    """Bar chart of images per class, with the mean as a dashed line (seed 001, act. 10).

    Returns
    -------
    Figure with one axis; its bars' heights are the counts per class.
    """
    labels = _label_list(y)
    counts = np.bincount(labels, minlength=len(class_names))[:len(class_names)]
    plt = _plt()
    fig, ax = plt.subplots(layout="constrained", figsize=(max(5.0, 0.35 * len(counts) + 2), 3.8))
    ax.bar(np.arange(len(counts)), counts, color="tab:blue")
    ax.axhline(counts.mean(), color="tab:red", linestyle="--", linewidth=1,
               label=messages.render("plots.mean", value=counts.mean()))
    ax.set_xticks(np.arange(len(counts)), list(class_names),
                  rotation=90 if len(counts) > 12 else 45, ha="right" if len(counts) <= 12 else "center",
                  fontsize=8)
    ax.set_ylabel(messages.render("plots.images"))
    ax.set_title(title or messages.render("plots.distribution_title", images=len(labels), classes=len(counts)))
    ax.legend(fontsize=8)
    return _finish(fig, save)


def prediction_panel(image, class_name: str, probability: float, *,
                     true_name: str | None = None, save: str | None = None):
    """One image titled with its predicted class and probability (seed 003).

    Parameters
    ----------
    probability : float in [0, 1]
        Shown as a percentage, e.g. ``"avión — 99.87 %"``.
    true_name : str, optional
        Adds the true class to the title ("real: ..." in Spanish).

    Returns
    -------
    Figure with one axis.
    """
    plt = _plt()
    fig, ax = plt.subplots(layout="constrained", figsize=(3, 3.3))
    title = f"{class_name} — {100 * float(probability):.2f} %"
    if true_name is not None:
        title += "\n" + messages.render("plots.true_name", name=true_name)
    _show(ax, image, title, fontsize=10)
    return _finish(fig, save)

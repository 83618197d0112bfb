"""Matplotlib figures, judged by their structure (panels, titles, images, curves, labels)."""
from __future__ import annotations

import re
from typing import Any

from ... import messages
from ..artifacts import ArtifactError
from ..outcome import CheckOutcome
from ..spec import Option, Spec, kind

messages.register({
    "figure.axes": {
        "es": "la figura tiene {got} paneles; se esperaban {expected}",
        "en": "the figure has {got} panels; expected {expected}",
    },
    "figure.grid": {
        "es": "los paneles forman una rejilla {got}; se esperaba {expected}",
        "en": "the panels form a {got} grid; expected {expected}",
    },
    "figure.title": {
        "es": "el panel {index} tiene el título «{got}»; se esperaba «{expected}»",
        "en": "panel {index} is titled '{got}'; expected '{expected}'",
    },
    "figure.title_pattern": {
        "es": "el panel {index} tiene el título «{got}», que no sigue el formato pedido ({expected})",
        "en": "panel {index} is titled '{got}', which does not follow the requested format ({expected})",
    },
    "figure.title_class": {
        "es": "el panel {index} tiene el título «{got}», que no es el nombre de ninguna clase",
        "en": "panel {index} is titled '{got}', which is not the name of any class",
    },
    "figure.titles_repeated": {
        "es": "hay paneles con el mismo título: cada uno debe mostrar una clase distinta",
        "en": "several panels have the same title: each must show a different class",
    },
    "figure.bars": {
        "es": "el panel {index} tiene {got} barras; se esperaba una por clase ({expected})",
        "en": "panel {index} has {got} bars; one per class ({expected}) was expected",
    },
    "figure.image": {
        "es": "el panel {index} no muestra ninguna imagen",
        "en": "panel {index} shows no image",
    },
    "figure.lines": {
        "es": "el panel {index} tiene {got} curvas; se esperaban al menos {expected}",
        "en": "panel {index} has {got} curves; at least {expected} expected",
    },
    "figure.label": {
        "es": "el panel {index} no tiene etiqueta en el eje {axis}",
        "en": "panel {index} has no {axis}-axis label",
    },
    "figure.legend": {
        "es": "el panel {index} no tiene leyenda",
        "en": "panel {index} has no legend",
    },
    "figure.not_figure": {
        "es": "se esperaba una figura de matplotlib, no {type}",
        "en": "expected a matplotlib figure, not {type}",
    },
    "figure.image_unknown": {
        "es": "la imagen del panel {index} no es ninguna imagen de {split}",
        "en": "the image of panel {index} is none of the {split} images",
    },
    "figure.image_class": {
        "es": "la imagen del panel {index} no es de la clase «{expected}»",
        "en": "the image of panel {index} is not of class '{expected}'",
    },
    "figure.image_not_first": {
        "es": "el panel {index} debe mostrar la primera imagen de {split} de la clase {label} ({name})",
        "en": "panel {index} must show the first {split} image of class {label} ({name})",
    },
    "figure.lines_not_history": {
        "es": "las curvas del panel {index} no son las del historial de entrenamiento «{history}»",
        "en": "the curves of panel {index} are not those of the training history '{history}'",
    },
    "figure.history_invalid": {
        "es": "las curvas dibujan el historial «{history}», que no es el de un entrenamiento de este modelo",
        "en": "the curves plot the history '{history}', which is not this model's training",
    },
})

MAX_POINTS = 1000          # y-data kept per curve: plenty for a training history


def image_fingerprint(array) -> int | None:
    """The fingerprint of an image as shown: 0-255 pixels (a [0, 1] float image is scaled back)."""
    import hashlib

    import numpy as np

    x = np.asarray(array)
    if x.dtype.kind == "f":
        x = np.clip(np.rint(x * 255.0) if x.size and np.nanmax(x) <= 1.0 else np.rint(x), 0, 255)
    x = np.ascontiguousarray(x.astype(np.uint8))
    if x.ndim == 2:
        x = x[..., None]
    return int.from_bytes(hashlib.blake2b(x.tobytes(), digest_size=8).digest(), "little")


def summarize_figure(fig: Any) -> dict:
    """The structure of a matplotlib figure as plain data (what figure checks judge)."""
    from matplotlib.figure import Figure

    if fig is not None and not isinstance(fig, Figure) and hasattr(fig, "figure"):
        fig = fig.figure  # an Axes, or pyplot's current figure holder
    if not isinstance(fig, Figure):
        raise ArtifactError("figure.not_figure", type=type(fig).__name__)
    panels, grid = [], None
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        position = None
        subplot = ax.get_subplotspec() if hasattr(ax, "get_subplotspec") else None
        if subplot is not None:
            rows, cols = subplot.get_gridspec().get_geometry()
            grid = grid or [rows, cols]
            position = [subplot.rowspan.start, subplot.colspan.start]
        panels.append({
            "title": ax.get_title() or ax.get_title(loc="left") or ax.get_title(loc="right"),
            "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "images": len(ax.images), "lines": len(ax.lines), "patches": len(ax.patches),
            "collections": len(ax.collections), "legend": ax.get_legend() is not None,
            "position": position,
            # What the panel shows, so the grader can tell which images and which numbers:
            # each image's fingerprint, each curve's y values.
            "image_fingerprints": [str(image_fingerprint(image.get_array())) for image in ax.images[:4]],
            "lines_y": [[float(v) for v in list(line.get_ydata())[:MAX_POINTS]] for line in ax.lines[:8]],
        })
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    return {"axes": panels, "grid": grid, "suptitle": suptitle}


@kind("figure", "json", reads="a matplotlib Figure (its structure: panels, titles, images, lines)",
      prepare=summarize_figure, options={
          "axes": Option("int", None, "number of panels"),
          "grid": Option("list", None, "[rows, columns] of the subplot grid"),
          "titles": Option("list", None, "the panels' titles, in order"),
          "title_pattern": Option("str", None, "regular expression every title matches"),
          "title_format": Option("str", None, "how to describe title_pattern to a student"),
          "title_field": Option("str", "title", "which text to read: title, xlabel or ylabel"),
          "titles_are_classes": Option("bool", False, "every title is a class name of `dataset`"),
          "distinct_titles": Option("bool", False, "no two panels share a title"),
          "bars_per_class": Option("bool", False, "the first panel has one bar per class of `dataset`"),
          "dataset": Option("str", None, "course dataset whose classes titles/bars refer to"),
          "images": Option("bool", False, "every panel shows an image"),
          "min_lines": Option("int", None, "every panel has at least this many curves"),
          "labels": Option("list", [], "axes that must be labelled: 'x', 'y'"),
          "legend": Option("bool", False, "every panel has a legend"),
          "images_from": Option("str", None, "every panel shows an image of this split of `dataset`"),
          "images_of_class": Option("str", None, "with images_from: every image is of this class"),
          "first_of_class": Option("bool", False, "with images_from: panel k shows the split's first image of "
                                                  "class k"),
          "lines_from": Option("str", None, "key of a history: every panel's curves are series of it, and that "
                                            "history passes its own check (the real training's)"),
      })
def _check_figure(summary: dict, spec: Spec, ctx) -> CheckOutcome:
    """Panels, grid, titles, images, curves, labels and legends of a figure."""
    outcome = CheckOutcome(spec.key)
    if not isinstance(summary, dict) or not isinstance(summary.get("axes"), list):
        return outcome.fail("figure.not_figure", type=type(summary).__name__)
    panels = [p for p in summary["axes"] if isinstance(p, dict)]
    expected_axes = spec.option("axes")
    if expected_axes is not None and len(panels) != expected_axes:
        outcome.fail("figure.axes", got=len(panels), expected=expected_axes)
    grid = spec.option("grid")
    if grid is not None and summary.get("grid") != list(grid):
        got = "×".join(map(str, summary["grid"])) if summary.get("grid") else "?"
        outcome.fail("figure.grid", got=got, expected="×".join(map(str, grid)))
    class_names = ctx.dataset(spec.option("dataset")).class_names if spec.option("dataset") else None
    field_name = spec.option("title_field")
    titles, pattern = spec.option("titles"), spec.option("title_pattern")
    texts = [str(panel.get(field_name, "")).strip() for panel in panels]
    for i, (panel, text) in enumerate(zip(panels, texts), start=1):
        if titles is not None and i <= len(titles) and text != titles[i - 1]:
            outcome.fail("figure.title", index=i, got=text, expected=titles[i - 1])
        if pattern and not re.fullmatch(pattern, text):
            outcome.fail("figure.title_pattern", index=i, got=text, expected=spec.option("title_format") or pattern)
        if spec.option("titles_are_classes") and class_names is not None and text not in class_names:
            outcome.fail("figure.title_class", index=i, got=text)
        if spec.option("images") and not panel.get("images"):
            outcome.fail("figure.image", index=i)
        min_lines = spec.option("min_lines")
        if min_lines and int(panel.get("lines", 0)) < min_lines:
            outcome.fail("figure.lines", index=i, got=panel.get("lines", 0), expected=min_lines)
        for axis in spec.option("labels"):
            if not str(panel.get(f"{axis}label", "")).strip():
                outcome.fail("figure.label", index=i, axis=axis)
        if spec.option("legend") and not panel.get("legend"):
            outcome.fail("figure.legend", index=i)
    if spec.option("distinct_titles") and len(set(texts)) != len(texts):
        outcome.fail("figure.titles_repeated")
    if spec.option("images_from"):
        _check_images(panels, spec, ctx, outcome)
    if spec.option("lines_from"):
        _check_lines(panels, spec, ctx, outcome)
    if spec.option("bars_per_class") and class_names is not None:
        bars = int(panels[0].get("patches", 0)) if panels else 0
        if bars != len(class_names):
            outcome.fail("figure.bars", index=1, got=bars, expected=len(class_names))
    del outcome.failures[spec.option("max_messages"):]
    return outcome


def _check_images(panels: list, spec: Spec, ctx, outcome: CheckOutcome) -> None:
    import numpy as np

    from ..context import select

    split = spec.option("images_from")
    x, y = select(ctx, spec, split)
    prints = [image_fingerprint(img) for img in x]
    label_of = {}
    for fingerprint, label in zip(prints, np.asarray(y).tolist()):
        label_of.setdefault(fingerprint, label)
    names = ctx.dataset(spec.option("dataset")).class_names
    first = {}
    for fingerprint, label in zip(prints, np.asarray(y).tolist()):
        first.setdefault(label, fingerprint)
    wanted = spec.option("images_of_class")
    for i, panel in enumerate(panels, start=1):
        shown = [int(f) for f in panel.get("image_fingerprints", []) if str(f).isdigit()]
        if not shown:
            continue                     # "images" already says the panel shows none
        if shown[0] not in label_of:
            outcome.fail("figure.image_unknown", index=i, split=split)
        elif wanted is not None and names[label_of[shown[0]]] != wanted:
            outcome.fail("figure.image_class", index=i, expected=wanted)
        elif spec.option("first_of_class") and first.get(i - 1) != shown[0]:
            outcome.fail("figure.image_not_first", index=i, split=split, label=i - 1,
                         name=names[i - 1] if i - 1 < len(names) else "?")


def _check_lines(panels: list, spec: Spec, ctx, outcome: CheckOutcome) -> None:
    import numpy as np

    from ..artifacts import ArtifactError
    from ..spec import get_kind

    key = spec.option("lines_from")
    try:
        history = ctx.related(key)
    except ArtifactError as exc:
        outcome.fail(exc.code, **exc.params)
        return
    series = [np.asarray(v, dtype=float) for v in history.values() if isinstance(v, list)] \
        if isinstance(history, dict) else []
    for i, panel in enumerate(panels, start=1):
        for line in panel.get("lines_y", []):
            y = np.asarray(line, dtype=float)
            if not any(len(s) == len(y) and np.allclose(s, y, rtol=1e-5, atol=1e-8) for s in series):
                outcome.fail("figure.lines_not_history", index=i, history=key)
                break
    history_spec = ctx.manifest.checks.get(key) if ctx.manifest is not None else None
    if history_spec is not None and ctx.side == "grader":
        if not get_kind(history_spec.kind).check(history, history_spec, ctx).passed:
            outcome.fail("figure.history_invalid", history=key)

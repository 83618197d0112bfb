"""``describe(dataset)``: the numbers seed 000 (ex. 1a) and seed 001 (activity 10) ask for."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import messages
from ._dataset import Dataset

__all__ = ["DatasetDescription", "describe"]

SPLITS = ("train", "val", "test")     # keys of split_sizes / per_class, the same in every language

messages.register({
    "describe.heading": {
        "es": "{name}{kind}: {images:,} imágenes, {classes} clases, {height}×{width}×{channels} uint8",
        "en": "{name}{kind}: {images:,} images, {classes} classes, {height}×{width}×{channels} uint8",
    },
    "describe.stand_in": {"es": " (sustituto)", "en": " (stand-in)"},
    "describe.sizes": {
        "es": "{sizes} · media de {mean:,.1f} imágenes por clase",
        "en": "{sizes} · mean {mean:,.1f} images per class",
    },
    "describe.class": {"es": "clase", "en": "class"},
    "describe.total": {"es": "total", "en": "total"},
    "describe.split.train": {"es": "entrenamiento", "en": "train"},
    "describe.split.val": {"es": "validación", "en": "val"},
    "describe.split.test": {"es": "test", "en": "test"},
})


@dataclass(frozen=True)
class DatasetDescription:
    """Counts of a :class:`Dataset`: images, classes, images per class and split.

    Attributes
    ----------
    name, source : str
        Copied from the dataset.
    is_stand_in : bool
        Copied from the dataset.
    class_names : list of str
    image_shape : (height, width, channels)
    split_sizes : dict
        ``{"train": n, "val": n, "test": n}`` (``val`` is 0 without a validation split).
    per_class : dict
        ``{split: [count of class 0, count of class 1, ...]}`` for every split.
    """

    name: str
    source: str
    is_stand_in: bool
    class_names: list[str]
    image_shape: tuple[int, int, int]
    split_sizes: dict[str, int]
    per_class: dict[str, list[int]] = field(repr=False)

    @property
    def num_images(self) -> int:
        """Images in all splits together."""
        return sum(self.split_sizes.values())

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def total_per_class(self) -> list[int]:
        """Images of each class over all splits."""
        return [sum(self.per_class[s][k] for s in SPLITS) for k in range(self.num_classes)]

    @property
    def mean_per_class(self) -> float:
        """Mean number of images per class, all splits together."""
        return self.num_images / self.num_classes if self.num_classes else 0.0

    def to_dict(self) -> dict:
        """Plain JSON-serialisable numbers (for reports and autograder artifacts)."""
        totals = self.total_per_class
        return {
            "name": self.name,
            "source": self.source,
            "is_stand_in": self.is_stand_in,
            "num_images": self.num_images,
            "num_classes": self.num_classes,
            "image_shape": list(self.image_shape),
            "class_names": list(self.class_names),
            "split_sizes": dict(self.split_sizes),
            "mean_images_per_class": self.mean_per_class,
            "min_images_per_class": min(totals) if totals else 0,
            "max_images_per_class": max(totals) if totals else 0,
            "per_class": {split: dict(zip(self.class_names, counts))
                          for split, counts in self.per_class.items()},
            "total_per_class": dict(zip(self.class_names, totals)),
        }

    def to_text(self, lang: str | None = None) -> str:
        """The description as a table, in ``lang`` (default :func:`cnnkit.messages.current_lang`).

        Two summary lines, then one row per class with its images in each
        split and in all, and a row of totals; ``str()`` gives the same.
        """
        lang = messages.current_lang(lang)
        height, width, channels = self.image_shape
        kind = messages.render("describe.stand_in", lang) if self.is_stand_in else ""
        split_names = {s: messages.render(f"describe.split.{s}", lang) for s in SPLITS}
        class_word, total_word = messages.render("describe.class", lang), messages.render("describe.total", lang)
        sizes = " · ".join(f"{split_names[s]} {self.split_sizes[s]:,}" for s in SPLITS)
        lines = [
            messages.render("describe.heading", lang, name=self.name, kind=kind, images=self.num_images,
                            classes=self.num_classes, height=height, width=width, channels=channels),
            messages.render("describe.sizes", lang, sizes=sizes, mean=self.mean_per_class),
        ]
        name_width = max([len(class_word), len(total_word)] + [len(c) for c in self.class_names])
        counts = [self.per_class[s] for s in SPLITS] + [self.total_per_class]
        column_totals = [sum(c) for c in counts]
        headings = [split_names[s] for s in SPLITS] + [total_word]
        # Each column as wide as its heading or its total, whichever is longer
        # (Spanish "entrenamiento" is wider than any count).
        widths = [max(6, len(h), len(f"{v:,}")) for h, v in zip(headings, column_totals)]
        lines.append("  ".join([class_word.ljust(name_width)]
                               + [h.rjust(w) for h, w in zip(headings, widths)]))
        for k, class_name in enumerate(self.class_names):
            lines.append("  ".join([class_name.ljust(name_width)]
                                   + [f"{column[k]:,}".rjust(w) for column, w in zip(counts, widths)]))
        lines.append("  ".join([total_word.ljust(name_width)]
                               + [f"{v:,}".rjust(w) for v, w in zip(column_totals, widths)]))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def describe(dataset: Dataset) -> DatasetDescription:
    """Count a dataset's images per split and class.

    Parameters
    ----------
    dataset : Dataset

    Returns
    -------
    DatasetDescription
        ``str()`` of it is a table in the notebook's language (one row per
        class, columns train / val / test / total, "entrenamiento /
        validación / test / total" in Spanish); ``.to_dict()`` gives the same
        numbers as plain data, under language-independent keys.
    """
    per_class = {}
    split_sizes = {}
    for split in SPLITS:
        y = getattr(dataset, f"y_{split}")
        y = np.zeros(0, np.int64) if y is None else y
        per_class[split] = np.bincount(y, minlength=dataset.num_classes).tolist()
        split_sizes[split] = int(len(y))
    return DatasetDescription(
        name=dataset.name, source=dataset.source, is_stand_in=dataset.is_stand_in,
        class_names=list(dataset.class_names), image_shape=dataset.image_shape,
        split_sizes=split_sizes, per_class=per_class)

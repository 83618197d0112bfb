"""What a check may consult besides the student's object.

A check kind is one function ``check(artifact, spec, ctx)``; the context is
where it runs. In the student's kernel (:class:`KernelContext`) it sees what
the student has: the public data and the objects verified so far; the
grader's context (``autograder.verify.GraderContext``) also holds the
grader-private holdout images, the executor's measurements of each cell
and the instructor's probes, and reads related objects from the exported
artifacts. Kinds ask through this one interface and state what they do when
something is not available on their side.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from .spec import Spec

PUBLIC_SPLITS = ("train", "val", "test")
HOLDOUT = "holdout"


class Unavailable(LookupError):
    """Something a check needs that this side does not have (a probe, a grader-only dataset)."""


class Context:
    """The interface every check kind uses; see the module docstring."""

    side = "kernel"

    def __init__(self, profile: str, manifest=None) -> None:
        self.profile = profile
        self.manifest = manifest

    # -- the assignment
    def classes_for(self, spec: Spec) -> int | None:
        """The spec's own ``num_classes`` (when the kind declares one), else the assignment's."""
        from .spec import get_kind

        if "num_classes" in get_kind(spec.kind).options:
            value = spec.option("num_classes", self.profile)
            if value is not None:
                return int(value)
        return self.manifest.classes(self.profile) if self.manifest is not None else None

    def workload(self, exercise: str):
        return self.manifest.workload(exercise, self.profile)

    # -- other objects of the same submission
    def related(self, key: str) -> Any:
        """The object verified as ``key`` (in its kind's artifact format); raises ``ArtifactError``."""
        raise NotImplementedError

    def related_value(self, key: str, name: str) -> Any:
        """A value given with ``verify(key, obj, name=value)``, or ``None``."""
        raise NotImplementedError

    def compile_info(self, key: str) -> dict:
        """Loss and optimizer step count of the model verified as ``key`` (``{}`` if unknown)."""
        return {}

    # -- data
    def dataset(self, name: str):
        """The public :class:`~cnnkit.data.Dataset` ``name`` as the student received it."""
        raise NotImplementedError

    def holdout(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The grader-private images of ``name`` (never in the kernel: ``None`` there)."""
        return None

    # -- what only the grader measured or defined
    def measurement(self, name: str) -> float | None:
        """A figure the executor measured from outside the kernel (e.g. ``cpu_seconds:CELL``)."""
        return None

    def probe(self, name: str) -> Callable | None:
        """An instructor-defined function of ``solutions/ID/probes.py`` (grader only)."""
        return None

    def student_file(self, name: str) -> Path | None:
        """A file the student's code wrote in its working directory (grader: after the kernel ended)."""
        return None


def select(ctx: Context, spec: Spec, split: str | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """The images and labels a spec names: ``dataset``, ``split`` (``train``, ``val``, ``test``
    or ``holdout``), optionally the stratified training ``subset`` of a workload (as the notebook's
    ``data.subset(n_train=S.n_train, seed=0)``) and the ``first`` N images.

    Returns ``None`` when the split is not available on this side (the holdout in the kernel).
    """
    name = spec.option("dataset")
    split = split or spec.option("split")
    if split == HOLDOUT:
        pair = ctx.holdout(name)
        if pair is None:
            return None
        x, y = pair
    else:
        data = ctx.dataset(name)
        workload = spec.options.get("subset")
        if workload:
            data = data.subset(n_train=ctx.workload(workload).n_train, seed=0)
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if x is None:
            raise ValueError(f"dataset {name!r} has no {split!r} split")
    first = spec.options.get("first")
    if first:
        x, y = x[:first], y[:first]
    return np.asarray(x), np.asarray(y)

"""Run profiles: how much work each exercise does on this machine.

Two profiles exist:

``smoke``
    Seconds per exercise on a laptop CPU. Small subsets, a few epochs, the
    CIFAR-10 sample shipped with the package and clearly labelled stand-ins
    for datasets the machine lacks. CI and student self-checks run this
    profile. It is the default when no GPU is visible.
``full``
    The seeds' scale: full datasets, the seeds' epochs and thresholds. It is
    the default when a GPU is visible.

``CNNKIT_PROFILE=smoke|full`` overrides the default. Each exercise's workload
per profile is part of its assignment's manifest (:mod:`cnnkit.assignment`)::

    [workload.keras_cnn.smoke]
    epochs = 3
    n_train = 1000

and is read with ``cnnkit.profile()["cifar10_cnn.keras_cnn"].epochs``.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

PROFILES = ("smoke", "full")
PROFILE_ENV = "CNNKIT_PROFILE"


@dataclass(frozen=True)
class ExerciseSettings:
    """How much work one exercise does under one profile.

    ``n_train``/``n_test``/``n_val`` of ``None`` mean "all of it".
    ``extra`` holds exercise-specific knobs (e.g. ``image_size``).
    """

    epochs: int = 1
    batch_size: int = 32
    n_train: int | None = None
    n_test: int | None = None
    n_val: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> "ExerciseSettings":
        raw = dict(table)
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{k: raw.pop(k) for k in list(raw) if k in names}, extra=raw)

    def __getattr__(self, name: str) -> Any:
        # Exercise-specific knobs read like fields: settings.image_size
        extra = object.__getattribute__(self, "extra")
        if name in extra:
            return extra[name]
        raise AttributeError(f"exercise settings have no {name!r}")


def gpu_available() -> bool:
    """True when an NVIDIA GPU is visible, without importing a framework."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return Path("/dev/nvidia0").exists() or Path("/proc/driver/nvidia/gpus").exists() \
        or shutil.which("nvidia-smi") is not None and Path("/dev/nvidiactl").exists()


@dataclass(frozen=True)
class Profile:
    """A named run profile; index it with ``"<assignment>.<exercise>"`` to get that workload."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in PROFILES:
            raise ValueError(f"unknown profile {self.name!r}; expected one of {PROFILES}")

    @property
    def is_smoke(self) -> bool:
        return self.name == "smoke"

    def settings(self, exercise: str) -> ExerciseSettings:
        """Workload of ``exercise`` (``"<assignment>.<exercise>"``) under this profile."""
        from .assignment import load_manifest

        assignment_id, dot, name = exercise.partition(".")
        if not dot:
            raise KeyError(f"exercise {exercise!r}: expected '<assignment>.<exercise>'")
        return load_manifest(assignment_id).workload(name, self.name)

    __getitem__ = settings

    def __str__(self) -> str:
        return self.name


def profile(name: str | None = None) -> Profile:
    """The active profile: ``name``, else ``$CNNKIT_PROFILE``, else ``full``
    on a GPU machine and ``smoke`` elsewhere."""
    chosen = name or os.environ.get(PROFILE_ENV) or ("full" if gpu_available() else "smoke")
    return Profile(chosen.strip().lower())

"""Run profiles: how much work each exercise does on this machine.

Two profiles exist:

``smoke``
    Seconds per exercise on a laptop CPU. Small subsets, one or two epochs,
    the CIFAR-10 sample shipped with the package and clearly labelled
    stand-ins for datasets the machine lacks. CI and student self-checks run
    this profile. It is the default when no GPU is visible.
``full``
    The seeds' scale: full datasets, the seeds' epochs and thresholds. GPU
    runners grade with it. It is the default when a GPU is visible.

``CNNKIT_PROFILE=smoke|full`` overrides the default. Per-exercise settings
live in ``cnnkit/exercises/<assignment>.toml``::

    [keras_cnn.smoke]
    epochs = 1
    n_train = 1000

    [keras_cnn.full]
    epochs = 2

and are read with ``cnnkit.profile()["cifar10_cnn.keras_cnn"].epochs``.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PROFILES = ("smoke", "full")
EXERCISES_DIR = Path(__file__).with_name("exercises")


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


@functools.lru_cache(maxsize=None)
def _load_exercises() -> dict[str, dict[str, dict[str, Any]]]:
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(EXERCISES_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
        for exercise, by_profile in doc.items():
            table[f"{path.stem}.{exercise}"] = by_profile
    return table


def exercise_names() -> list[str]:
    """All exercise keys known to the profiles, e.g. ``"cifar10_cnn.keras_cnn"``."""
    return sorted(_load_exercises())


@dataclass(frozen=True)
class Profile:
    """A named run profile; index it with an exercise key to get its settings."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in PROFILES:
            raise ValueError(f"unknown profile {self.name!r}; expected one of {PROFILES}")

    @property
    def is_smoke(self) -> bool:
        return self.name == "smoke"

    @property
    def is_full(self) -> bool:
        return self.name == "full"

    def settings(self, exercise: str) -> ExerciseSettings:
        """Settings of ``exercise`` (``"<assignment>.<exercise>"``) under this profile."""
        table = _load_exercises()
        if exercise not in table:
            known = ", ".join(sorted(table)) or "none"
            raise KeyError(f"no exercise {exercise!r} in {EXERCISES_DIR}; known: {known}")
        raw = dict(table[exercise].get(self.name, {}))
        names = {f.name for f in dataclasses.fields(ExerciseSettings)} - {"extra"}
        known_fields = {k: raw.pop(k) for k in list(raw) if k in names}
        return ExerciseSettings(**known_fields, extra=raw)

    __getitem__ = settings

    def __str__(self) -> str:
        return self.name


def profile(name: str | None = None) -> Profile:
    """The active profile: ``name``, else ``$CNNKIT_PROFILE``, else ``full``
    on a GPU machine and ``smoke`` elsewhere."""
    chosen = name or os.environ.get("CNNKIT_PROFILE") or ("full" if gpu_available() else "smoke")
    return Profile(chosen.strip().lower())

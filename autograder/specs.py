"""Per-assignment grading specs: ``autograder/specs/<assignment>.toml``.

One file per assignment says how long a submission may run and what every
``checks.verify(key, obj)`` call in its notebook must satisfy::

    [assignment]
    id = "cifar10_cnn"
    num_classes = 10

    [limits.smoke]                 # per profile; any field may be omitted
    cell_timeout = 120             # seconds per cell
    notebook_timeout = 900         # seconds for the whole notebook
    memory_mb = 6144               # resident memory of the kernel

    [checks.model_3x3]
    kind = "architecture"
    reference = "keras_cifar10_cnn"
    kwargs = { kernel_size = 3 }

    [checks.cnn70_accuracy]
    kind = "accuracy"
    dataset = "cifar10"
    threshold = { smoke = 0.25, full = 0.70 }

Specs are searched in ``$CNNKIT_SPECS_PATH`` (``os.pathsep``-separated
directories) before the package's own ``autograder/specs/``.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PACKAGE_SPECS = Path(__file__).with_name("specs")
SPECS_PATH_ENV = "CNNKIT_SPECS_PATH"


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission under one profile."""

    cell_timeout: float = 120.0
    notebook_timeout: float = 900.0
    memory_mb: int = 6144
    output_bytes: int = 1_000_000     # per cell; beyond it output is dropped (flooding)

    def replace(self, **changes: Any) -> "Limits":
        clean = {k: v for k, v in changes.items() if v is not None}
        return Limits(**{**self.__dict__, **clean})


DEFAULT_LIMITS = {
    "smoke": Limits(),
    "full": Limits(cell_timeout=3600.0, notebook_timeout=4 * 3600.0, memory_mb=32768),
}


@dataclass(frozen=True)
class Spec:
    """What one verify key must satisfy. ``options`` are the kind's settings."""

    key: str
    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: Any = None, *, profile: str | None = None) -> Any:
        """An option; a ``{smoke = .., full = ..}`` table resolves to ``profile``."""
        value = self.options.get(name, default)
        if isinstance(value, Mapping) and profile is not None and set(value) <= {"smoke", "full"}:
            if profile not in value:
                raise KeyError(f"check {self.key!r}: option {name!r} has no value for profile {profile!r}")
            return value[profile]
        return value


@dataclass(frozen=True)
class AssignmentSpec:
    id: str
    path: Path
    num_classes: int | Mapping[str, int] | None      # may differ by profile: {smoke = 25, full = 100}
    specs: Mapping[str, Spec]
    limits: Mapping[str, Limits]
    settings: Mapping[str, Any]

    def spec(self, key: str) -> Spec:
        try:
            return self.specs[key]
        except KeyError:
            raise KeyError(f"assignment {self.id!r} has no check {key!r} (in {self.path})") from None

    def limits_for(self, profile: str) -> Limits:
        return self.limits.get(profile, DEFAULT_LIMITS[profile])


def search_path() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(SPECS_PATH_ENV, "").split(os.pathsep) if p]
    return extra + [PACKAGE_SPECS]


def find_spec_file(assignment_id: str) -> Path:
    for directory in search_path():
        candidate = directory / f"{assignment_id}.toml"
        if candidate.exists():
            return candidate
    searched = ", ".join(str(p) for p in search_path())
    raise FileNotFoundError(f"no grading spec {assignment_id}.toml in {searched}")


def load_assignment(assignment_id: str) -> AssignmentSpec:
    """The parsed spec of ``assignment_id`` (cached per file and mtime)."""
    path = find_spec_file(assignment_id)
    return _load(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _load(path: Path, _mtime: int) -> AssignmentSpec:
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    meta = dict(doc.get("assignment", {}))
    assignment_id = meta.pop("id", path.stem)
    num_classes = meta.pop("num_classes", None)
    limits = {}
    for profile, base in DEFAULT_LIMITS.items():
        limits[profile] = base.replace(**doc.get("limits", {}).get(profile, {}))
    specs = {}
    for key, raw in doc.get("checks", {}).items():
        raw = dict(raw)
        kind = raw.pop("kind", None)
        if kind is None:
            raise ValueError(f"{path}: check {key!r} has no kind")
        specs[key] = Spec(key=key, kind=kind, options=raw)
    return AssignmentSpec(id=assignment_id, path=path, num_classes=num_classes,
                          specs=specs, limits=limits, settings=meta)


def available_assignments() -> list[str]:
    seen = set()
    for directory in search_path():
        seen.update(p.stem for p in directory.glob("*.toml"))
    return sorted(seen)

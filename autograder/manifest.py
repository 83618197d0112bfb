"""An assignment, as the instructor defines it: its folder under ``solutions/``.

::

    solutions/ID/ID.ipynb          nbgrader source notebook (solutions, hidden tests, mark schemes)
    solutions/ID/assignment.toml   workloads, limits, one spec per checks.verify key
    solutions/ID/probes.py         optional: functions specs name as "probe:NAME"
    solutions/ID/examples/*.py     optional: example submissions (answers) for the demo
    solutions/_data/               grader-private data shared by assignments (holdout images, seeds)

Adding an assignment is adding its folder (and generating its release with
``cnnkit release``): ids are the folders that hold ``ID/ID.ipynb``. None of
this folder is in what students install, and the grading sandbox never mounts
it; the student side is ``assignments/ID/`` (:mod:`autograder.release`).
"""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Mapping

from cnnkit.assignment import MANIFEST_NAME, Manifest, ManifestError, parse_manifest

PRIVATE_DATA = "_data"
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission under one profile."""

    cell_timeout: float = 120.0        # seconds per cell
    notebook_timeout: float = 900.0    # seconds for the whole notebook
    memory_mb: int = 6144              # memory of the kernel and everything it starts
    output_bytes: int = 1_000_000      # per cell; beyond it output is dropped (flooding)

    def replace(self, **changes: Any) -> "Limits":
        clean = {k: v for k, v in changes.items() if v is not None}
        return Limits(**{**self.__dict__, **clean})


DEFAULT_LIMITS = {
    "smoke": Limits(),
    "full": Limits(cell_timeout=3600.0, notebook_timeout=4 * 3600.0, memory_mb=32768),
}
_LIMIT_FIELDS = {f.name for f in fields(Limits)}


def default_solutions_dir() -> Path:
    """``./solutions`` when present, else the repository the package runs from."""
    here = Path.cwd() / "solutions"
    return here if here.is_dir() else REPO_ROOT / "solutions"


def assignment_ids(solutions_dir: Path | None = None) -> list[str]:
    """Every ``ID`` with a ``solutions/ID/ID.ipynb``."""
    root = Path(solutions_dir or default_solutions_dir())
    return sorted(p.parent.name for p in root.glob("*/*.ipynb") if p.stem == p.parent.name)


@dataclass(frozen=True)
class Assignment:
    """The instructor's folder of one assignment, parsed and validated."""

    id: str
    folder: Path
    manifest: Manifest

    @property
    def source_notebook(self) -> Path:
        return self.folder / f"{self.id}.ipynb"

    @property
    def examples_dir(self) -> Path:
        return self.folder / "examples"

    @property
    def private_data(self) -> Path:
        return self.folder.parent / PRIVATE_DATA

    def limits(self, profile: str) -> Limits:
        return DEFAULT_LIMITS[profile].replace(**self.manifest.limits.get(profile, {}))

    @functools.cached_property
    def probes(self) -> Mapping[str, Callable]:
        """Functions of ``probes.py`` (instructor code, run by the grader only)."""
        path = self.folder / "probes.py"
        if not path.exists():
            return {}
        spec = importlib.util.spec_from_file_location(f"cnnkit_probes_{self.id}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return {name: fn for name, fn in vars(module).items() if callable(fn) and not name.startswith("_")}


def load_assignment(assignment_id: str, solutions_dir: Path | None = None) -> Assignment:
    """``solutions/ID/``, validated: the manifest's id, limits and every check against its kind."""
    folder = Path(solutions_dir or default_solutions_dir()) / assignment_id
    path = folder / MANIFEST_NAME
    if not path.exists():
        raise FileNotFoundError(f"no {MANIFEST_NAME} for assignment {assignment_id!r} in {folder}")
    manifest = parse_manifest(path)
    if manifest.id != assignment_id:
        raise ManifestError(f"{path}: [assignment] id is {manifest.id!r}, but the folder is {assignment_id!r}")
    for profile, table in manifest.limits.items():
        unknown = set(table) - _LIMIT_FIELDS
        if unknown:
            raise ManifestError(f"{path}: [limits.{profile}] has unknown key(s) {sorted(unknown)}; "
                                f"known: {sorted(_LIMIT_FIELDS)}")
    if not (folder / f"{assignment_id}.ipynb").exists():
        raise FileNotFoundError(f"no source notebook {folder / (assignment_id + '.ipynb')}")
    return Assignment(id=assignment_id, folder=folder.resolve(), manifest=manifest)

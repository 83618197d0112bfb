"""An assignment's manifest: ``assignment.toml``.

Every assignment ``ID`` has two manifests in the same format:

``solutions/ID/assignment.toml`` (instructor side, never in what students get)
    everything the instructor defines: the workload of each exercise per
    profile, the grading limits, and one spec per ``checks.verify`` key with
    its expected values, probes and thresholds.
``assignments/ID/assignment.toml`` (student side, written by ``cnnkit release``)
    what the student's kernel needs: the workloads, the specs of the keys the
    visible tests use (so a student's own run checks them), and the names of
    the tests that also have hidden parts. Nothing a hidden test checks.

Sections::

    [assignment]
    id = "cifar10_cnn"
    num_classes = 10                  # or { smoke = 25, full = 100 }
    hidden_tests = ["test_model_3x3"] # public manifest only

    [workload.keras_cnn.smoke]        # PROFILE["cifar10_cnn.keras_cnn"] in the notebook
    epochs = 3

    [limits.smoke]                    # instructor manifest only (autograder.manifest)
    cell_timeout = 300

    [checks.model_3x3]                # see cnnkit.checks.spec
    kind = "architecture"

A notebook finds its public manifest (:func:`find_manifest`) in
``$CNNKIT_ASSIGNMENT_PATH``, next to itself (the folder a release is handed
out in), under ``assignments/ID/`` of the working directory or a parent, or
in the repository the package runs from.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import messages

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MANIFEST_NAME = "assignment.toml"
ASSIGNMENT_PATH_ENV = "CNNKIT_ASSIGNMENT_PATH"
SECTIONS = ("assignment", "workload", "limits", "checks")
ASSIGNMENT_KEYS = {"id", "title", "num_classes", "hidden_tests", "datasets", "language"}
PACKAGE_REPO = Path(__file__).resolve().parents[1]

messages.register({
    "assignment.not_found": {
        "es": "no se encuentra {name} de la práctica «{assignment}»: debe estar junto al cuaderno (la carpeta "
              "assignments/{assignment}/ que te dieron) o en una carpeta de ${env}",
        "en": "{name} of assignment '{assignment}' not found: keep it next to the notebook (the folder "
              "assignments/{assignment}/ you were given) or in a folder of ${env}",
    },
})


class ManifestError(ValueError):
    """A manifest that cannot be found or does not follow the format."""


@dataclass(frozen=True)
class Manifest:
    """A parsed ``assignment.toml`` (public or instructor)."""

    id: str
    path: Path
    title: str = ""
    # The notebook's language: what its kernel prints (data sources, tables, in-kernel hints)
    # is in it whatever language the grader writes the feedback in.
    language: str = messages.DEFAULT_LANG
    num_classes: int | Mapping[str, int] | None = None
    datasets: tuple[str, ...] = ()
    hidden_tests: tuple[str, ...] = ()
    workloads: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    limits: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    checks: Mapping[str, Any] = field(default_factory=dict)      # key -> cnnkit.checks.spec.Spec

    def classes(self, profile: str) -> int | None:
        """The number of classes under ``profile`` (a stand-in may have fewer)."""
        value = self.num_classes
        return value.get(profile) if isinstance(value, Mapping) else value

    def spec(self, key: str):
        try:
            return self.checks[key]
        except KeyError:
            raise KeyError(f"assignment {self.id!r} has no check {key!r} in {self.path}") from None

    def workload(self, exercise: str, profile: str):
        """``ExerciseSettings`` of ``exercise`` under ``profile``."""
        from .profile import ExerciseSettings

        if exercise not in self.workloads:
            known = ", ".join(sorted(self.workloads)) or "none"
            raise KeyError(f"assignment {self.id!r} has no exercise {exercise!r} in {self.path}; known: {known}")
        return ExerciseSettings.from_table(self.workloads[exercise].get(profile, {}))


def parse_manifest(path: Path) -> Manifest:
    """Read and validate ``path`` (every check against its kind's declared options)."""
    from .checks.spec import PROFILES, SpecError, parse_spec

    path = Path(path)
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"{path}: {exc}") from None
    where = str(path)
    unknown = set(doc) - set(SECTIONS)
    if unknown:
        raise ManifestError(f"{where}: unknown section(s) {sorted(unknown)}; expected {list(SECTIONS)}")
    meta = dict(doc.get("assignment", {}))
    if set(meta) - ASSIGNMENT_KEYS:
        raise ManifestError(f"{where}: [assignment] has unknown key(s) {sorted(set(meta) - ASSIGNMENT_KEYS)}")
    if "id" not in meta:
        raise ManifestError(f"{where}: [assignment] needs an id")
    language = meta.get("language", messages.DEFAULT_LANG)
    if language not in messages.LANGUAGES:
        raise ManifestError(f"{where}: [assignment] language must be one of {list(messages.LANGUAGES)}, "
                            f"not {language!r}")
    workloads = doc.get("workload", {})
    for exercise, by_profile in workloads.items():
        if not isinstance(by_profile, Mapping) or set(by_profile) - set(PROFILES):
            raise ManifestError(f"{where}: [workload.{exercise}] must have only [workload.{exercise}.smoke] "
                                "and [workload.{exercise}.full] tables")
    limits = doc.get("limits", {})
    if set(limits) - set(PROFILES):
        raise ManifestError(f"{where}: [limits] tables are per profile: {list(PROFILES)}")
    try:
        checks = {key: parse_spec(key, raw, where) for key, raw in doc.get("checks", {}).items()}
    except SpecError as exc:
        raise ManifestError(str(exc)) from None
    return Manifest(id=meta["id"], path=path, title=meta.get("title", ""), language=language, num_classes=meta.get("num_classes"),
                    datasets=tuple(meta.get("datasets", ())), hidden_tests=tuple(meta.get("hidden_tests", ())),
                    workloads=workloads, limits=limits, checks=checks)


def _candidates(assignment_id: str) -> list[Path]:
    extra = [Path(p) for p in os.environ.get(ASSIGNMENT_PATH_ENV, "").split(os.pathsep) if p]
    places = []
    for directory in extra:
        places += [directory / MANIFEST_NAME, directory / assignment_id / MANIFEST_NAME]
    cwd = Path.cwd()
    places.append(cwd / MANIFEST_NAME)
    places.append(cwd / assignment_id / MANIFEST_NAME)
    for parent in (cwd, *cwd.parents):
        places.append(parent / "assignments" / assignment_id / MANIFEST_NAME)
    places.append(PACKAGE_REPO / "assignments" / assignment_id / MANIFEST_NAME)
    return places


def _manifest_id(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh).get("assignment", {}).get("id")
    except (OSError, tomllib.TOMLDecodeError):
        return None


def find_manifest(assignment_id: str) -> Path:
    """The public manifest of ``assignment_id`` (see the module docstring for where it is looked for)."""
    for path in _candidates(assignment_id):
        if path.is_file() and _manifest_id(path) == assignment_id:
            return path
    raise ManifestError(messages.render("assignment.not_found", assignment=assignment_id, name=MANIFEST_NAME,
                                        env=ASSIGNMENT_PATH_ENV))


def load_manifest(assignment_id: str) -> Manifest:
    """The public manifest of ``assignment_id``, parsed once per file version."""
    path = find_manifest(assignment_id)
    return _cached(path.resolve(), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _cached(path: Path, _mtime: int) -> Manifest:
    return parse_manifest(path)

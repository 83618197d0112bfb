"""The model registry: a name → builder table with what each model is for.

Instructors, notebooks and the autograder refer to reference models by name
(``build("basenet")``). Parameter counts are not registered: they are the
exercises' answers, and students install this package. ``tests/test_models.py``
holds them and checks every built model against them.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["ModelInfo", "register", "build", "names", "info"]


@dataclass(frozen=True)
class ModelInfo:
    """What a registered model is and where the course uses it."""

    name: str
    builder: Callable[..., Any]
    description: str
    source: str              # seed and exercise, e.g. "seed 002, apartado 1 (BaseNet)"
    input_shape: tuple[int, int, int]
    num_classes: int | None  # None for feature extractors without a classifier

    def __str__(self) -> str:
        return (f"{self.name}: {self.description}\n"
                f"  source: {self.source}\n"
                f"  default input {self.input_shape} -> "
                + (f"{self.num_classes} classes" if self.num_classes else "features"))


_REGISTRY: dict[str, ModelInfo] = {}


def register(name: str | None = None, *, description: str, source: str,
             input_shape: tuple[int, int, int], num_classes: int | None) -> Callable:
    """Decorator adding a builder to the registry under ``name`` (default: its ``__name__``).

    Example::

        @register(description="...", source="seed 004", input_shape=(28, 28, 1), num_classes=10)
        def fashion_cnn(*, input_shape=(28, 28, 1), num_classes=10, weights=None, name=...):
            ...
    """

    def decorate(builder: Callable[..., Any]) -> Callable[..., Any]:
        key = name or builder.__name__
        if key in _REGISTRY:
            raise ValueError(f"a model named {key!r} is already registered "
                             f"({_REGISTRY[key].builder.__module__})")
        _REGISTRY[key] = ModelInfo(name=key, builder=builder, description=description,
                                   source=source, input_shape=tuple(input_shape),
                                   num_classes=None if num_classes is None else int(num_classes))
        return builder

    return decorate


def _lookup(name: str) -> ModelInfo:
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), _REGISTRY, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"no model named {name!r}.{hint} Known: {', '.join(names())}") from None


def build(name: str, **kwargs: Any):
    """Build the registered model ``name`` (uncompiled ``keras.Model``); kwargs go to its builder."""
    return _lookup(name).builder(**kwargs)


def names() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def info(name: str) -> ModelInfo:
    """Description, course source, default input shape and classes of a registered model."""
    return _lookup(name)

"""Message catalogue for feedback in Spanish (default) and English.

Each module that talks to students owns its messages and registers them::

    from autograder import messages
    messages.register({
        "arch.units": {
            "es": "la capa {index} ({layer}) tiene {got} unidades; se esperaban {expected}",
            "en": "layer {index} ({layer}) has {got} units; expected {expected}",
        },
    })
    messages.render("arch.units", lang="en", index=7, layer="Dense", got=20, expected=10)

The language comes from the ``lang`` argument, else ``$CNNKIT_LANG``, else Spanish,
the language of the course notebooks.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

LANGUAGES = ("es", "en")
DEFAULT_LANG = "es"

_CATALOGUE: dict[str, dict[str, str]] = {}


def register(catalogue: Mapping[str, Mapping[str, str]]) -> None:
    """Add messages; each needs a template for every language in :data:`LANGUAGES`."""
    for code, templates in catalogue.items():
        missing = [lang for lang in LANGUAGES if lang not in templates]
        if missing:
            raise ValueError(f"message {code!r} lacks languages {missing}")
        if code in _CATALOGUE and dict(_CATALOGUE[code]) != dict(templates):
            raise ValueError(f"message {code!r} registered twice with different text")
        _CATALOGUE[code] = dict(templates)


def current_lang(lang: str | None = None) -> str:
    chosen = (lang or os.environ.get("CNNKIT_LANG") or DEFAULT_LANG).lower()
    if chosen not in LANGUAGES:
        raise ValueError(f"unknown language {chosen!r}; expected one of {LANGUAGES}")
    return chosen


def render(code: str, lang: str | None = None, **params: Any) -> str:
    """The message ``code`` in ``lang`` with ``params`` filled in."""
    try:
        template = _CATALOGUE[code][current_lang(lang)]
    except KeyError:
        raise KeyError(f"no message {code!r}; register it first") from None
    return template.format(**params)


# Modules that register messages when imported: whoever renders stored findings
# (feedback written by the batch process, not the worker) must load them all.
_MESSAGE_MODULES = ("autograder.checks", "autograder.archdiff", "autograder.static", "autograder.verify",
                    "autograder.preprocessors", "autograder.worker", "autograder.report",
                    "autograder.selfcheck", "autograder.batch", "cnnkit.compat")


@functools.cache
def load_all() -> None:
    """Import every module that owns messages, so any stored code renders (once per process)."""
    import importlib

    for name in _MESSAGE_MODULES:
        importlib.import_module(name)


def codes() -> list[str]:
    return sorted(_CATALOGUE)


@dataclass(frozen=True)
class Message:
    """A message not yet rendered: lets one finding be shown in either language."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        return render(self.code, lang, **self.params)

    def to_json(self) -> dict:
        return {"code": self.code, "params": dict(self.params)}

"""The one message catalogue: everything a student or instructor reads, in Spanish (default) and English.

Each module that talks to people owns its messages and registers them::

    from cnnkit import messages
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
    """The message ``code`` in ``lang`` with ``params`` filled in.

    A parameter that is itself a message, ``{"code": ..., "params": {...}}``, is
    rendered in the same language first (a stored message stays plain JSON).
    """
    lang = current_lang(lang)
    try:
        template = _CATALOGUE[code][lang]
    except KeyError:
        raise KeyError(f"no message {code!r}; register it first") from None
    filled = {name: render(value["code"], lang, **value.get("params", {}))
              if isinstance(value, Mapping) and set(value) <= {"code", "params"} and "code" in value else value
              for name, value in params.items()}
    return template.format(**filled)


# Modules that register messages when imported: whoever renders stored codes
# (feedback written long after the check ran) must load them all. Packages
# built on cnnkit add theirs with add_message_modules().
_MESSAGE_MODULES = ["cnnkit.assignment", "cnnkit.compat", "cnnkit.checks", "cnnkit.checks.artifacts",
                    "cnnkit.checks.archdiff", "cnnkit.checks.kinds"]


def add_message_modules(*names: str) -> None:
    """Name more modules that register messages (imported by :func:`load_all`)."""
    for name in names:
        if name not in _MESSAGE_MODULES:
            _MESSAGE_MODULES.append(name)
            load_all.cache_clear()


@functools.cache
def load_all() -> None:
    """Import every module that owns messages, so any stored code renders (once per process)."""
    import importlib

    for name in list(_MESSAGE_MODULES):
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

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Message":
        return cls(str(data["code"]), dict(data.get("params", {})))


def nested(code: str, **params: Any) -> dict:
    """A message used as a parameter of another (rendered in the outer message's language)."""
    return {"code": code, "params": params}

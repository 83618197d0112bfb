"""Check kinds with declared options, and the specs that use them.

A *spec* says what one ``checks.verify(key, obj)`` call of a notebook must
satisfy. It is a table of an assignment manifest::

    [checks.acc_3x3]
    kind = "accuracy"
    dataset = "cifar10"
    threshold = { smoke = 0.20, full = 0.35 }

A *kind* is a Python function registered with :func:`kind`, which declares
every option it reads (type, default, whether it may differ by profile, what
it means), which artifact format it reads from the student and, in one line,
what it judges. Loading a spec validates it against those declarations: an
unknown kind, an unknown option or a value of the wrong type is an error that
names the file and the key. ``docs/AUTHORING.md``'s table of kinds is
generated from the declarations (:func:`authoring_table`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

PROFILES = ("smoke", "full")


class SpecError(ValueError):
    """A manifest that does not follow the declared kinds and options."""


@dataclass(frozen=True)
class Option:
    """One declared option of a kind.

    ``type`` is one of ``int``, ``float`` (int accepted), ``str``, ``bool``,
    ``list``, ``table``, ``shape`` (list of ints and ``"None"``) or ``any``
    (any TOML value). With ``profiled`` the value may also be a table
    ``{smoke = ..., full = ...}``.
    """

    type: str
    default: Any = None
    doc: str = ""
    profiled: bool = False
    required: bool = False


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: type(v) is int,
    "float": lambda v: type(v) in (int, float) and math.isfinite(v),
    "str": lambda v: type(v) is str,
    "bool": lambda v: type(v) is bool,
    "list": lambda v: type(v) is list,
    "table": lambda v: isinstance(v, Mapping),
    "shape": lambda v: type(v) is list and all(d == "None" or type(d) is int for d in v),
    "any": lambda v: True,
}


@dataclass(frozen=True)
class Kind:
    """A kind of check: what it reads from the student, its options, its judgement."""

    name: str
    fmt: str                                         # artifact format of the student's object
    check: Callable[[Any, "Spec", Any], Any]         # (artifact, spec, context) -> CheckOutcome
    options: Mapping[str, Option]
    reads: str                                       # what the student's object is
    doc: str                                         # what the kind judges, one line
    prepare: Callable[[Any], Any] = lambda obj: obj  # student's object -> artifact payload


KINDS: dict[str, Kind] = {}

# Options every kind accepts.
COMMON_OPTIONS = {
    "max_messages": Option("int", 6, "at most this many messages per failure"),
}


def kind(name: str, fmt: str, *, reads: str, options: Mapping[str, Option] | None = None,
         prepare: Callable[[Any], Any] | None = None):
    """Register the decorated function as check kind ``name``."""
    def decorator(fn):
        doc = (fn.__doc__ or "").strip().splitlines()
        KINDS[name] = Kind(name=name, fmt=fmt, check=fn, options={**COMMON_OPTIONS, **(options or {})},
                           reads=reads, doc=doc[0] if doc else "", prepare=prepare or (lambda obj: obj))
        return fn
    return decorator


def get_kind(name: str) -> Kind:
    from . import kinds  # noqa: F401  (registers every kind)

    try:
        return KINDS[name]
    except KeyError:
        raise SpecError(f"unknown check kind {name!r}; known: {', '.join(sorted(KINDS))}") from None


@dataclass(frozen=True)
class Spec:
    """What one verify key must satisfy: its kind and its validated options."""

    key: str
    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)
    where: str = ""          # file, for error messages

    def option(self, name: str, profile: str | None = None) -> Any:
        """An option's value (its declared default when unset); a profile table resolves to ``profile``."""
        declared = get_kind(self.kind).options.get(name)
        if declared is None:
            raise KeyError(f"check kind {self.kind!r} declares no option {name!r}")
        value = self.options.get(name, declared.default)
        if _is_profile_table(value):
            if profile is None:
                raise KeyError(f"{self.where}: check {self.key!r}: option {name!r} depends on the profile")
            if profile not in value:
                raise KeyError(f"{self.where}: check {self.key!r}: option {name!r} has no value for "
                               f"profile {profile!r}")
            return value[profile]
        return value


def _is_profile_table(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and set(value) <= set(PROFILES)


def parse_spec(key: str, raw: Mapping[str, Any], where: str) -> Spec:
    """Validate one ``[checks.KEY]`` table against its kind's declarations."""
    raw = dict(raw)
    kind_name = raw.pop("kind", None)
    if kind_name is None:
        raise SpecError(f"{where}: [checks.{key}] has no kind")
    try:
        declared_kind = get_kind(kind_name)
    except SpecError as exc:
        raise SpecError(f"{where}: [checks.{key}]: {exc}") from None
    for name, value in raw.items():
        option = declared_kind.options.get(name)
        if option is None:
            known = ", ".join(sorted(declared_kind.options))
            raise SpecError(f"{where}: [checks.{key}]: kind {kind_name!r} has no option {name!r} (options: {known})")
        values = [value]
        if _is_profile_table(value) and option.type != "table":
            if not option.profiled:
                raise SpecError(f"{where}: [checks.{key}]: option {name!r} cannot differ by profile")
            values = list(value.values())
        for item in values:
            if not _TYPE_CHECKS[option.type](item):
                raise SpecError(f"{where}: [checks.{key}]: option {name!r} must be of type {option.type}, "
                                f"not {item!r}")
    missing = [name for name, option in declared_kind.options.items() if option.required and name not in raw]
    if missing:
        raise SpecError(f"{where}: [checks.{key}]: kind {kind_name!r} needs option(s) {', '.join(missing)}")
    return Spec(key=key, kind=kind_name, options=raw, where=where)


def authoring_table() -> str:
    """The Markdown table of every kind and its options (``docs/AUTHORING.md``)."""
    from . import kinds  # noqa: F401

    lines = ["| kind | reads from the student | judges | options |", "|---|---|---|---|"]
    for name in sorted(KINDS):
        k = KINDS[name]
        options = []
        for option_name, option in sorted(k.options.items()):
            if option_name in COMMON_OPTIONS:
                continue
            flags = [option.type] + (["per profile"] if option.profiled else []) + \
                (["required"] if option.required else [])
            default = "" if option.default is None or option.required else f", default `{option.default!r}`"
            options.append(f"`{option_name}` ({', '.join(flags)}{default}): {option.doc}")
        lines.append(f"| `{name}` | {k.reads} | {k.doc} | {'<br>'.join(options)} |")
    common = ", ".join(f"`{n}` ({o.type}, default `{o.default!r}`): {o.doc}" for n, o in COMMON_OPTIONS.items())
    lines.append("")
    lines.append(f"Every kind also takes {common}.")
    return "\n".join(lines)

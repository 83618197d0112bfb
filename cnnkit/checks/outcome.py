"""The result of one check: failures decide, notes advise."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..messages import Message, render


@dataclass
class CheckOutcome:
    """Result of one check of one key. ``failures`` make it fail; ``notes`` are advice only."""

    key: str
    failures: list[Message] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures

    def fail(self, code: str, **params: Any) -> "CheckOutcome":
        self.failures.append(Message(code, params))
        return self

    def note(self, code: str, **params: Any) -> "CheckOutcome":
        self.notes.append(Message(code, params))
        return self

    def render(self, lang: str | None = None) -> str:
        lines = [m.render(lang) for m in self.failures + self.notes]
        return "\n".join(lines) if lines else render("check.passed", lang, key=self.key)

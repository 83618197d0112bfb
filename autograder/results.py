"""Typed results: what grading one submission produced, stored once as ``grading.json``.

The worker builds a :class:`SubmissionResult`; everything else is an export of
it (:mod:`autograder.report`: ``results.json`` for Gradescope, ``feedback.html``,
the row of ``grades.csv``; :mod:`autograder.batch`: the nbgrader gradebook).
Messages are stored as codes with parameters and rendered only by those
exports, in the language asked for.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cnnkit.messages import Message

SCHEMA_VERSION = 2
STATUSES = ("ok", "incomplete", "invalid_notebook", "timeout", "memory_limit", "grader_error")
TEST_STATUSES = ("passed", "failed", "not_run", "pending")


def _messages(items) -> list[Message]:
    return [m if isinstance(m, Message) else Message.from_json(m) for m in items]


@dataclass
class CheckResult:
    """The grader's verdict on one verify key of a test, outside the kernel."""

    key: str
    passed: bool
    failures: list[Message] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"key": self.key, "passed": self.passed, "failures": [m.to_json() for m in self.failures],
                "notes": [m.to_json() for m in self.notes], "details": self.details}

    @classmethod
    def from_json(cls, data: dict) -> "CheckResult":
        return cls(key=data["key"], passed=bool(data["passed"]), failures=_messages(data.get("failures", [])),
                   notes=_messages(data.get("notes", [])), details=dict(data.get("details", {})))


@dataclass
class TestOutcome:
    """One graded cell: an autograded test (``kind="test"``) or a written answer (``kind="manual"``).

    ``score`` is decided by ``checks`` alone (every key verified outside the
    kernel); ``kernel_errors`` are what the cell raised in the kernel, shown to
    the student as feedback and never scored.
    """

    grade_id: str
    name: str
    kind: str
    max_score: float
    score: float | None
    status: str
    hidden: bool = False
    checks: list[CheckResult] = field(default_factory=list)
    kernel_errors: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)    # e.g. "not run: the kernel died in cell 7"

    def to_json(self) -> dict:
        data = asdict(self)
        data["checks"] = [c.to_json() for c in self.checks]
        data["messages"] = [m.to_json() for m in self.messages]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "TestOutcome":
        data = dict(data)
        data["checks"] = [CheckResult.from_json(c) for c in data.get("checks", [])]
        data["messages"] = _messages(data.get("messages", []))
        return cls(**data)

    def failures(self) -> list[Message]:
        return [m for c in self.checks for m in c.failures]


@dataclass
class SandboxInfo:
    """How the kernel was isolated: ``code``/``params`` name the message that says so."""

    sandboxed: bool = False
    code: str = "sandbox.unknown"
    params: dict[str, Any] = field(default_factory=dict)
    killed: str | None = None           # "timeout" | "memory" | "crashed" when the worker was stopped
    returncode: int | None = None


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    profile: str
    lang: str
    submission: str
    submission_sha256: str = ""
    status: str = "ok"
    messages: list[Message] = field(default_factory=list)
    tests: list[TestOutcome] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)          # static hints (autograder.static), as stored
    keras2: list[dict] = field(default_factory=list)            # Keras-2 idioms the shims saw run
    timings: dict[str, float] = field(default_factory=dict)
    measurements: dict[str, float] = field(default_factory=dict)
    memory_peak_mb: float | None = None
    sandbox: SandboxInfo = field(default_factory=SandboxInfo)
    schema_version: int = SCHEMA_VERSION

    @property
    def autograded(self) -> list[TestOutcome]:
        return [t for t in self.tests if t.kind == "test"]

    @property
    def score(self) -> float:
        return round(sum(t.score or 0.0 for t in self.autograded), 4)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.autograded), 4)

    @property
    def pending_manual(self) -> float:
        return round(sum(t.max_score for t in self.tests if t.kind == "manual"), 4)

    def to_json(self) -> dict:
        data = asdict(self)
        data["messages"] = [m.to_json() for m in self.messages]
        data["tests"] = [t.to_json() for t in self.tests]
        data.update(score=self.score, max_score=self.max_score, pending_manual=self.pending_manual)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "SubmissionResult":
        data = {k: v for k, v in data.items() if k not in ("score", "max_score", "pending_manual")}
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"grading.json schema {data.get('schema_version')} is not {SCHEMA_VERSION}")
        data["messages"] = _messages(data.get("messages", []))
        data["tests"] = [TestOutcome.from_json(t) for t in data.get("tests", [])]
        data["sandbox"] = SandboxInfo(**data.get("sandbox", {}))
        return cls(**data)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=1, default=str)

    @classmethod
    def load(cls, path: Path) -> "SubmissionResult":
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

"""The result shape shared by the authentication-record checks (SPF, DKIM, DMARC, ...)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class CheckStatus(str, enum.Enum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
    MISSING = "missing"


class Level(str, enum.Enum):
    WARNING = "warning"
    ERROR = "error"


@dataclasses.dataclass(frozen=True)
class Problem:
    level: Level
    text: str


def warning(text: str) -> Problem:
    return Problem(Level.WARNING, text)


def error(text: str) -> Problem:
    return Problem(Level.ERROR, text)


def status_of(problems: list[Problem]) -> CheckStatus:
    if any(problem.level is Level.ERROR for problem in problems):
        return CheckStatus.ERROR
    if problems:
        return CheckStatus.WARNING
    return CheckStatus.OK


@dataclasses.dataclass(frozen=True)
class RecordCheck:
    """One record's check: its status, the record text found and the problems.

    `lookup_failed` is set when a DNS failure (timeout, SERVFAIL, REFUSED)
    left the check incomplete; change detection then treats the result as
    unknown rather than as a change. `details` holds check-specific members
    of the JSON output, such as SPF's lookup counts.
    """

    status: CheckStatus
    record: Any = None
    problems: tuple[Problem, ...] = ()
    lookup_failed: bool = False
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "record": self.record,
            "problems": [problem.text for problem in self.problems],
            **self.details,
        }


def finish(record: Any, problems: list[Problem], *, lookup_failed: bool = False, **details: Any) -> RecordCheck:
    """Build a check whose status follows from its problems."""
    return RecordCheck(status_of(problems), record, tuple(problems), lookup_failed, details)


def missing(text: str, **details: Any) -> RecordCheck:
    return RecordCheck(CheckStatus.MISSING, None, (error(text),), False, details)


def lookup_failure(name: str, rdtype: str, outcome: str, **details: Any) -> RecordCheck:
    return RecordCheck(CheckStatus.ERROR, None, (error("DNS lookup of %s %s failed: %s" % (name, rdtype, outcome)),), True, details)

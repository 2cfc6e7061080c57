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
    # A DNS lookup failed (timeout, SERVFAIL, REFUSED) and no certain error
    # was found before it: the record's state is not known.
    UNKNOWN = "unknown"


class Level(str, enum.Enum):
    # A finding that needs no action, such as a missing optional record (MTA-STS, TLS-RPT, BIMI).
    NOTE = "note"
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


def status_of(problems: list[Problem], lookup_failed: bool = False) -> CheckStatus:
    """Rank the problems; an error found is certain, so it outranks a failed lookup."""
    if any(problem.level is Level.ERROR for problem in problems):
        return CheckStatus.ERROR
    if lookup_failed:
        return CheckStatus.UNKNOWN
    if problems:
        return CheckStatus.WARNING
    return CheckStatus.OK


@dataclasses.dataclass(frozen=True)
class RecordCheck:
    """One record's check: its status, the record text found and the problems.

    `reason` names the DNS lookups that failed (timeout, SERVFAIL,
    REFUSED) and left the check incomplete; it is empty otherwise. Change
    detection treats such a result as no information, neither a change nor
    a recovery. A failed lookup is never one of the `problems`, because it
    describes the query, not the record. `details` holds check-specific members
    of the JSON output, such as SPF's lookup counts.
    """

    status: CheckStatus
    record: Any = None
    problems: tuple[Problem, ...] = ()
    reason: str = ""
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def lookup_failed(self) -> bool:
        return bool(self.reason)

    def to_json(self) -> dict[str, Any]:
        output = {
            "status": self.status.value,
            "record": self.record,
            "problems": [problem.text for problem in self.problems],
            **self.details,
        }
        if self.reason:
            output["reason"] = self.reason
        return output


def finish(record: Any, problems: list[Problem], *, reason: str = "", **details: Any) -> RecordCheck:
    """Build a check whose status follows from its problems and from `reason`, the failed lookups if any."""
    return RecordCheck(status_of(problems, bool(reason)), record, tuple(problems), reason, details)


def missing(text: str, level: Level = Level.ERROR, **details: Any) -> RecordCheck:
    """Build the check of an unpublished record. `level` is the severity of its problem: a note for an optional record."""
    return RecordCheck(CheckStatus.MISSING, None, (Problem(level, text),), "", details)


def lookup_failure(name: str, rdtype: str, outcome: str, **details: Any) -> RecordCheck:
    return RecordCheck(CheckStatus.UNKNOWN, None, (), lookup_failed_text(name, rdtype, outcome), details)


def lookup_failed_text(name: str, rdtype: str, outcome: str) -> str:
    return "DNS lookup of %s %s failed: %s" % (name, rdtype, outcome)

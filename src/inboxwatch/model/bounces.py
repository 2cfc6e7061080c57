"""Records parsed from returned mail: bounces, complaints and auto-replies.

Each record carries its `kind` (`bounce`, `complaint` or `auto-reply`), so a
parser that reads any email can report which kind of message it found.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar


@dataclasses.dataclass(frozen=True, slots=True)
class BounceRecord:
    """One recipient of one bounce (RFC 3464 DSN or a non-standard notice).

    `reason` uses the vocabulary of `inboxwatch.classify.bounce`; `hard`
    is true when the failure is permanent for the address. `status` is the
    RFC 3463 enhanced status code, `smtp_code` the SMTP reply code. `rule`
    and `matched` record which classifier rule decided the reason and on
    which text, for `inboxwatch explain`. `campaign` and `tenant` come from
    the returned headers of the original message.
    """

    kind: ClassVar[str] = "bounce"

    recipient: str | None
    reason: str
    hard: bool
    status: str | None = None
    smtp_code: int | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    reporting_mta: str | None = None
    action: str | None = None
    arrival_date: str | None = None
    sender: str | None = None
    original_message_id: str | None = None
    campaign: str | None = None
    tenant: str | None = None
    format: str | None = None
    rule: str | None = None
    matched: str | None = None
    # The Date header of the bounce message itself, as written (RFC 5322).
    date: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["kind"] = self.kind
        data["feedback_type"] = None
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class ComplaintRecord:
    """One RFC 5965 feedback report (abuse, fraud, opt-out, auth-failure, ...).

    Field names follow the report's fields: `original_rcpt_to` is
    Original-Rcpt-To, `source_ip` is Source-IP, and so on. Fields the report
    leaves out are None; `original_message_id`, `campaign` and `tenant` are
    read from the returned message or its headers.
    """

    kind: ClassVar[str] = "complaint"

    feedback_type: str
    version: str | None = None
    user_agent: str | None = None
    source_ip: str | None = None
    reported_domain: str | None = None
    original_rcpt_to: str | None = None
    original_mail_from: str | None = None
    original_message_id: str | None = None
    arrival_date: str | None = None
    reporting_mta: str | None = None
    auth_failure: str | None = None
    campaign: str | None = None
    tenant: str | None = None
    # Every Original-Rcpt-To of the report: RFC 5965 section 3.2 allows one
    # per recipient of the reported message.
    original_recipients: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["kind"] = self.kind
        data["original_recipients"] = list(self.original_recipients)
        # Every ARF report has the reason "feedback" in the bounce-reason vocabulary.
        data["reason"] = "feedback"
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class AutoReplyRecord:
    """An automatic reply (RFC 3834, vacation notice): never a bounce.

    `evidence` names the header or subject that marked it as automatic.
    """

    kind: ClassVar[str] = "auto-reply"

    sender: str | None
    subject: str | None
    evidence: str
    original_message_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["kind"] = self.kind
        return data

"""Mailbox providers' own view of a sender: Microsoft SNDS, Google Postmaster Tools, Validity Sender Score."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any


class SndsFilterResult(str, enum.Enum):
    """SNDS "filter result": the share of an IP's mail that Microsoft's filter judged spam.

    GREEN is up to 10%, YELLOW between 10% and 90%, RED over 90% (Validity's
    help article "What do the filter results mean in Microsoft's SNDS?",
    help.returnpath.com/hc/en-us/articles/115004843928).
    """

    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"


class Reputation(str, enum.Enum):
    """Postmaster Tools v1 domain and IP reputation, worst last."""

    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    BAD = "BAD"


# Rank of each reputation: a higher number is worse.
REPUTATION_RANK = {Reputation.HIGH: 0, Reputation.MEDIUM: 1, Reputation.LOW: 2, Reputation.BAD: 3}


@dataclasses.dataclass(frozen=True, slots=True)
class SndsDataRecord:
    """One row of the SNDS data export: one IP's activity over one period.

    `complaint_rate` is the exact fraction when SNDS gives one ("2.3%"). When
    it writes only a bound ("< 0.1%"), `complaint_rate` is None and
    `complaint_rate_below` contains the bound; `complaint_rate_text` keeps what
    SNDS wrote. Trap fields are None when the period had no trap hits.
    """

    ip: str
    activity_start: datetime
    activity_end: datetime
    rcpt_commands: int
    data_commands: int
    recipients: int
    filter_result: SndsFilterResult
    complaint_rate_text: str
    complaint_rate: float | None
    complaint_rate_below: float | None
    trap_start: datetime | None
    trap_end: datetime | None
    trap_hits: int
    sample_helo: str = ""
    sample_mail_from: str = ""
    comments: str = ""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["kind"] = "snds-data"
        data["filter_result"] = self.filter_result.value
        for name in ("activity_start", "activity_end", "trap_start", "trap_end"):
            value = getattr(self, name)
            data[name] = value.isoformat() if value else None
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class SndsIpStatusRecord:
    """One row of the SNDS IP status export: a range of the sender's IPs that Microsoft blocks, and why."""

    first_ip: str
    last_ip: str
    blocked: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": "snds-ipstatus", **dataclasses.asdict(self)}


@dataclasses.dataclass(frozen=True, slots=True)
class IpReputation:
    """Postmaster Tools v1: how many of the domain's sending IPs had one reputation, with sample IPs."""

    reputation: Reputation
    ip_count: int
    sample_ips: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryError:
    """Postmaster Tools: one class and type of delivery error and the fraction of traffic it hit."""

    error_class: str
    error_type: str
    ratio: float


@dataclasses.dataclass(frozen=True, slots=True)
class PostmasterDayRecord:
    """One domain's Gmail statistics for one day, from Postmaster Tools v1 traffic stats or v2 domain stats.

    Ratios are fractions (0.001 is 0.1%). Fields the response did not carry
    are None: Gmail publishes statistics only for domains with enough daily
    traffic, and v2 has no reputation. `unknown_fields` lists response fields
    this version of inboxwatch does not read, so a change in the API shows.
    """

    domain: str
    day: date
    api_version: str
    spam_rate: float | None = None
    spf_success_rate: float | None = None
    dkim_success_rate: float | None = None
    dmarc_success_rate: float | None = None
    tls_rate: float | None = None
    delivery_error_rate: float | None = None
    domain_reputation: Reputation | None = None
    ip_reputations: tuple[IpReputation, ...] = ()
    delivery_errors: tuple[DeliveryError, ...] = ()
    unknown_fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["kind"] = "postmaster"
        data["day"] = self.day.isoformat()
        data["domain_reputation"] = self.domain_reputation.value if self.domain_reputation else None
        data["ip_reputations"] = [
            {"reputation": item.reputation.value, "ip_count": item.ip_count, "sample_ips": list(item.sample_ips)}
            for item in self.ip_reputations
        ]
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class ComplianceStatus:
    """Postmaster Tools v2 compliance status of a domain: each requirement's state ("COMPLIANT", ...) as Google wrote it."""

    domain: str
    checked_at: datetime
    requirements: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "postmaster-compliance", "domain": self.domain, "checked_at": self.checked_at.isoformat(), "requirements": dict(self.requirements)}


@dataclasses.dataclass(frozen=True, slots=True)
class SenderScore:
    """A Validity Sender Score lookup: the score 0 to 100, or None when the zone has none for the IP."""

    ip: str
    checked_at: datetime
    score: int | None

"""The delivery event: one thing that happened to one message for one recipient."""

from __future__ import annotations

import dataclasses
import enum
import operator
from datetime import datetime
from typing import Any


class EventType(str, enum.Enum):
    SENT = "sent"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"
    DROPPED = "dropped"


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryEvent:
    """One delivery event, as parsed from a log line or an ESP payload.

    `time` is timezone-aware (UTC where the source says nothing). `event_id`
    is a key that is stable for the same input, so ingesting it twice stores
    it once: the ESP's own event id where there is one, otherwise the parser
    derives it from the lines that produced the event. `source` is the parser
    kind (`postfix`, `ses`, ...). For a bounce, `bounce_reason` uses the
    reason vocabulary of `inboxwatch.classify.bounce` and `hard` says whether
    the failure is permanent for the address; `hard` is None for other types.
    """

    type: EventType
    time: datetime | None
    source: str
    event_id: str
    recipient: str | None = None
    sender: str | None = None
    message_id: str | None = None
    queue_id: str | None = None
    sending_ip: str | None = None
    sending_domain: str | None = None
    relay_host: str | None = None
    relay_ip: str | None = None
    provider: str | None = None
    tenant: str | None = None
    campaign: str | None = None
    smtp_code: int | None = None
    enhanced_status: str | None = None
    diagnostic: str | None = None
    bounce_reason: str | None = None
    hard: bool | None = None
    attempt: int | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def recipient_domain(self) -> str | None:
        if not self.recipient or "@" not in self.recipient:
            return None
        return self.recipient.rsplit("@", 1)[1].strip().lower().rstrip(".") or None

    def replace(self, **changes: Any) -> "DeliveryEvent":
        """Return a copy with `changes` applied, like `dataclasses.replace` but faster.

        Enrichment copies nearly every event, and `dataclasses.replace` costs
        about twice this, because it rebuilds the keyword arguments and runs
        `__init__` through the frozen-instance checks. This reads all fields
        in one call and sets the slots directly instead, which is equivalent
        as long as the class has no `__post_init__` and no init=False fields.
        """
        unknown = changes.keys() - _FIELD_NAME_SET
        if unknown:
            raise TypeError("DeliveryEvent has no field %s" % ", ".join(sorted(unknown)))
        copy = object.__new__(DeliveryEvent)
        for name, value in zip(_FIELD_NAMES, _field_values(self)):
            _set_field(copy, name, value)
        for name, value in changes.items():
            _set_field(copy, name, value)
        return copy

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict in the field names of `inboxwatch parse --json`."""
        data = dataclasses.asdict(self)
        data["type"] = self.type.value
        data["time"] = self.time.isoformat() if self.time else None
        data["recipient_domain"] = self.recipient_domain
        return data


_FIELD_NAMES = tuple(field.name for field in dataclasses.fields(DeliveryEvent))
_FIELD_NAME_SET = frozenset(_FIELD_NAMES)
_field_values = operator.attrgetter(*_FIELD_NAMES)
# The frozen dataclass's own __setattr__ raises, so copies are filled in
# the way its generated __init__ does it.
_set_field = object.__setattr__

"""The request data and the error shared by the webhook verifiers."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from inboxwatch.errors import InboxwatchError


class VerificationError(InboxwatchError):
    """A webhook request failed verification.

    `status` is 401 when credentials or signature headers are missing and
    403 when they are present but wrong, stale or replayed.
    """

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True)
class WebhookRequest:
    """The parts of an HTTP request that verifiers read. Header names are lower case."""

    url: str
    headers: Mapping[str, str]
    body: bytes


def missing(what: str) -> VerificationError:
    return VerificationError("missing %s" % what, status=401)


def check_timestamp(text: str, now: datetime, max_age: timedelta, what: str) -> datetime:
    """Parse a Unix timestamp and reject it when it is further than `max_age` from `now` either way.

    Clock skew between the ESP and this host makes a timestamp slightly in
    the future normal, so the window is symmetric.
    """
    try:
        moment = datetime.fromtimestamp(int(text.strip()), timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise VerificationError("invalid %s %r: expected Unix seconds" % (what, text[:40])) from None
    if abs(now - moment) > max_age:
        raise VerificationError(
            "stale %s %s: more than %s from the server time %s; check both clocks"
            % (what, moment.isoformat(), max_age, now.isoformat(timespec="seconds"))
        )
    return moment

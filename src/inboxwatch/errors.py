"""The package's exceptions: one root, a subclass per kind of failure.

Messages read "what failed: cause", with the offending value and, where there
is one, the fix.
"""

from __future__ import annotations


class InboxwatchError(Exception):
    """Root of every error inboxwatch raises on purpose."""


class ParseError(InboxwatchError):
    """An input could not be parsed.

    `source` names the file (or webhook, or stream), and `line`, `offset` and
    `field` locate the problem where they are known.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        offset: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.offset = offset
        self.field = field

    def location(self) -> str:
        parts = []
        if self.source:
            parts.append(self.source)
        if self.line is not None:
            parts.append("line %d" % self.line)
        if self.offset is not None:
            parts.append("byte %d" % self.offset)
        if self.field:
            parts.append("field %s" % self.field)
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return "%s: %s" % (where, self.message) if where else self.message


class ConfigError(InboxwatchError):
    """The configuration file is missing, unreadable or invalid."""


class StoreError(InboxwatchError):
    """The database could not be opened, migrated or written."""


class ChannelError(InboxwatchError):
    """A notification channel failed.

    `retryable` says whether the same request may succeed later (timeouts,
    5xx, 429) or will fail again until someone fixes it (other 4xx, bad
    configuration). `retry_after` is the earliest useful retry in seconds
    when the receiver asked for one (an HTTP 429 or 503 Retry-After header).
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class CheckError(InboxwatchError):
    """A DNS or other health check could not be carried out."""


class FeedError(InboxwatchError):
    """A reputation feed (SNDS, Postmaster Tools, Sender Score) could not be fetched or read.

    `retryable` says whether the same request may succeed later (timeouts,
    5xx, 429); `status` is the HTTP status when there was a response.
    """

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status

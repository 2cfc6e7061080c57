"""Removal of secrets from text before it is logged or stored."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-empty secret in `text` with `[redacted]`.

    Used on error text that came from a server or a library, which may echo
    what it was sent.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def url_origin(url: str) -> str:
    """Return `scheme://host[:port]` of a URL.

    Webhook URLs often carry a token in the path or query (Slack and many
    chat services work that way), so only the origin is logged.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = "[%s]" % host
    if parts.port is not None:
        host = "%s:%d" % (host, parts.port)
    return "%s://%s" % (parts.scheme, host)


class UrlOriginFilter(logging.Filter):
    """Shorten URLs in another library's log records to their origin.

    httpx logs every request's full URL at INFO level, which for a webhook
    can include a token in the path or query.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.shorten(arg) for arg in record.args)
        return True

    @staticmethod
    def shorten(arg: object) -> object:
        text = str(arg)
        return url_origin(text) + "/..." if "://" in text else arg


def install_url_filter(logger_name: str) -> None:
    """Attach one UrlOriginFilter to the named logger, however often it is called."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, UrlOriginFilter) for existing in logger.filters):
        logger.addFilter(UrlOriginFilter())

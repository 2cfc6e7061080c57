"""Removal of secrets from text before it is logged or stored."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

REDACTED = "[redacted]"

# URL parts at least this long are treated as possible tokens by `url_secrets`.
# Shorter ones (such as "api" or "v2") are kept, so logs stay readable.
MIN_TOKEN_LENGTH = 8


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


def url_secrets(url: str) -> list[str]:
    """List the parts of a URL that may be credentials: user, password, and long path segments and query values.

    For URLs whose schema is unknown to inboxwatch (Apprise URLs), where any
    part may be a token.
    """
    parts = urlsplit(url)
    candidates = [parts.username, parts.password, url]
    candidates.extend(unquote(segment) for segment in parts.path.split("/"))
    candidates.extend(value for _key, value in parse_qsl(parts.query))
    # Several Apprise schemas carry a token in the host position, such as
    # tgram://bottoken/, and `hostname` would lowercase it.
    candidates.append(parts.netloc.rpartition("@")[2])
    found = [candidate for candidate in candidates if candidate and len(candidate) >= MIN_TOKEN_LENGTH]
    # The longest first, so a URL is replaced whole before its parts.
    return sorted(set(found), key=len, reverse=True)


class SecretFilter(logging.Filter):
    """Redact known secrets from another library's log records, after formatting their arguments."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Add secrets to redact, keeping the longest first so a whole URL goes before its parts."""
        merged = set(self.secrets) | {secret for secret in secrets if secret}
        self.secrets = sorted(merged, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = redact(record.getMessage(), self.secrets)
            record.args = None
        return True

"""Recognise DMARC aggregate and SMTP TLS reports, bare or inside containers.

Both report parsers use these checks twice: to score an input's head for
detection, and to pick the documents to parse among those an input unpacks
to (an email also carries a text part, a zip may carry a readme).
"""

from __future__ import annotations

import functools
import re

from inboxwatch.parsers.containers import looks_like_email, peek

DMARC_AGGREGATE = "dmarc-aggregate"
TLSRPT = "tlsrpt"

# Bytes of a document searched for its format's marks.
CLASSIFY_BYTES = 64 * 1024

FEEDBACK_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?feedback[\s>]")
DMARC_CHILD_ELEMENTS = re.compile(rb"<(?:[\w.-]+:)?(?:report_metadata|policy_published|record)[\s>]")
TLSRPT_MEDIA_TYPE = re.compile(rb"^content-type:\s*application/tlsrpt\+(?:json|gzip)", re.IGNORECASE | re.MULTILINE)
# RFC 8460 section 5.3: header fields of a TLS report email.
TLSRPT_HEADER = re.compile(rb"^tls-report-(?:domain|submitter):", re.IGNORECASE | re.MULTILINE)
DMARC_SUBJECT = re.compile(rb"^subject:[^\n]*report[ -]?domain", re.IGNORECASE | re.MULTILINE)
# Signs that one of an email's parts may be a report: an application/* or
# XML part, an attachment named like a report file, or report markup in the
# clear. Emails without any (bounces, ordinary mail) are not unpacked,
# because parsing their MIME tree is most of the cost of detecting them.
# The pattern is matched against the lower-cased head, which is several
# times faster than a case-insensitive search.
REPORT_CARRIER = re.compile(
    rb"content-type:[ \t]*(?:application/|text/xml)|name=[ \t]*\"?[^\";\r\n]*\.(?:xml|gz|gzip|zip|json)\b"
    rb"|<(?:[\w.-]+:)?feedback[\s>]|\"organization-name\""
)

# Detection scores (0 to 100, see `ParserSpec`). A report inside a container
# or an email scores 90, above the generic email parsers, which leave
# emails carrying reports to these parsers.
SCORE_BARE = 95
SCORE_CONTAINED = 90
SCORE_EMAIL_HINT = 60


def classify_document(content: bytes, content_type: str | None = None) -> str | None:
    """Return the report kind of one unpacked document, or None when it is neither."""
    head = content[:CLASSIFY_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if FEEDBACK_ELEMENT.search(head) and DMARC_CHILD_ELEMENTS.search(head):
            return DMARC_AGGREGATE
        return None
    if head.startswith(b"{"):
        if b'"organization-name"' in head or (b'"policies"' in head and b'"policy-type"' in head):
            return TLSRPT
        if content_type and content_type.startswith("application/tlsrpt"):
            return TLSRPT
    return None


@functools.lru_cache(maxsize=8)
def _kinds_in_head(head: bytes) -> tuple[str | None, frozenset[str]]:
    """Return the kind of the head itself and the kinds found inside its containers."""
    bare = classify_document(head)
    if bare is not None:
        return bare, frozenset()
    if not REPORT_CARRIER.search(head.lower()) and looks_like_email(head):
        return None, frozenset()
    contained = frozenset(
        kind for kind in (classify_document(content, content_type) for content_type, content in peek(head)) if kind
    )
    return None, contained


def sniff_report(head: bytes, kind: str) -> int:
    """Score how likely `head` is a report of `kind`, bare or in a container."""
    bare, contained = _kinds_in_head(head)
    if bare == kind:
        return SCORE_BARE
    if kind in contained:
        return SCORE_CONTAINED
    if bare is not None or contained or not looks_like_email(head):
        return 0
    # An email whose report attachment starts past the head: judge by its headers.
    header_block = re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0]
    if kind == TLSRPT and (TLSRPT_HEADER.search(header_block) or TLSRPT_MEDIA_TYPE.search(head)):
        return SCORE_CONTAINED
    if kind == DMARC_AGGREGATE and DMARC_SUBJECT.search(header_block):
        return SCORE_EMAIL_HINT
    return 0

"""Recognise DMARC aggregate and SMTP TLS reports, bare or inside containers.

Both report parsers use these checks twice: to score an input's head for
detection, and to pick the documents to parse among those an input unpacks
to (an email also carries a text part, a zip may carry a readme).
"""

from __future__ import annotations

import functools
import re

from inboxwatch.parsers.containers import ZIP_MAGIC, header_block, peek
from inboxwatch.parsers.gunzip import GZIP_MAGIC
from inboxwatch.parsers.sniffing import head_facts

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
# The patterns are matched against the lower-cased head, which is several
# times faster than a case-insensitive search. Each starts with a literal
# that `re` skips ahead to, which a single alternation of them lacks, so
# searching for them one by one is faster. `may_carry_report` adds report
# markup (`FEEDBACK_ELEMENT`) and a TLS report's "organization-name" key.
REPORT_CARRIERS = (
    re.compile(rb"content-type:[ \t]*(?:application/|text/xml)"),
    re.compile(rb"name=[ \t]*\"?[^\";\r\n]*\.(?:xml|gz|gzip|zip|json)\b"),
)
# The part of a DMARC_SUBJECT match that has a literal prefix, searched for in the lower-cased header block first.
REPORT_DOMAIN = re.compile(rb"report[ -]?domain")

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
def _report_scores(head: bytes) -> tuple[tuple[str, int], ...]:
    """Return a (kind, score) pair for each report kind the head may be, bare, in a container or by its email headers."""
    facts = head_facts(head)
    # `classify_document` needs "<" or "{" first, and `peek` unpacks only
    # gzip, zip and email and yields any other head unchanged, so no other
    # head can hold a report.
    if facts.first_byte not in (b"<", b"{") and not head.startswith((GZIP_MAGIC, ZIP_MAGIC)) and not facts.is_email:
        return ()
    bare = classify_document(head)
    if bare is not None:
        return ((bare, SCORE_BARE),)
    if not facts.is_email or may_carry_report(facts.lowered):
        contained = {
            kind for kind in (classify_document(content, content_type) for content_type, content in peek(head)) if kind
        }
        if contained:
            return tuple((kind, SCORE_CONTAINED) for kind in sorted(contained))
    if not facts.is_email:
        return ()
    return _email_header_scores(head, facts.lowered)


def _email_header_scores(head: bytes, lowered: bytes) -> tuple[tuple[str, int], ...]:
    """Score an email whose report attachment starts past the head, by its headers.

    Each regex runs only when a literal part of its match is found in the
    lower-cased head or header block, which is much faster.
    """
    block = header_block(head)
    scores = []
    if lowered.find(b"tls-report-", 0, len(block)) >= 0 and TLSRPT_HEADER.search(block):
        scores.append((TLSRPT, SCORE_CONTAINED))
    elif b"application/tlsrpt+" in lowered and TLSRPT_MEDIA_TYPE.search(head):
        scores.append((TLSRPT, SCORE_CONTAINED))
    if REPORT_DOMAIN.search(lowered, 0, len(block)) and DMARC_SUBJECT.search(block):
        scores.append((DMARC_AGGREGATE, SCORE_EMAIL_HINT))
    return tuple(scores)


def sniff_report(head: bytes, kind: str) -> int:
    """Score how likely `head` is a report of `kind`, bare or in a container."""
    for found, score in _report_scores(head):
        if found == kind:
            return score
    return 0


def may_carry_report(lowered: bytes) -> bool:
    """Return whether an email's lower-cased head shows a sign that one of its parts may be a report."""
    if any(pattern.search(lowered) for pattern in REPORT_CARRIERS):
        return True
    if b"feedback" in lowered and FEEDBACK_ELEMENT.search(lowered):
        return True
    return b'"organization-name"' in lowered

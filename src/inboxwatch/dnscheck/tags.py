"""Parsing of the tag=value lists used by DKIM, DMARC, MTA-STS, TLS-RPT and BIMI records."""

from __future__ import annotations

from inboxwatch.dnscheck.findings import Problem, error


def parse_tags(text: str) -> tuple[dict[str, str], list[Problem]]:
    """Split "k=v; k=v" into a dict with lower-case keys, tolerating spaces and a trailing ";".

    RFC 6376 section 3.2 allows whitespace around tags, values and
    separators; DMARC (RFC 7489 section 6.4) and the others reuse that syntax.
    A duplicate tag is an error (RFC 6376 section 3.2).
    """
    tags: dict[str, str] = {}
    problems: list[Problem] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, separator, value = part.partition("=")
        key = key.strip().lower()
        if not separator or not key:
            problems.append(error("invalid tag %r: expected NAME=VALUE" % part))
            continue
        if key in tags:
            problems.append(error("tag %s appears twice" % key))
            continue
        tags[key] = value.strip()
    return tags, problems


def first_tag_is(text: str, name: str, value: str) -> bool:
    first = text.split(";", 1)[0].strip()
    key, _, found = first.partition("=")
    return key.strip().lower() == name and found.strip().lower() == value.lower()

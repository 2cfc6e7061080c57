"""Cheap facts about an input's head that `sniff` functions test before any costly check.

`registry.detect` hands the same head to every parser, so `head_facts`
computes these facts once per head and caches them. A parser uses them to
return 0 for inputs that are obviously foreign (an email given to a log
parser, a log given to a report parser) before it decodes the head or runs
a regex over all of it.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from inboxwatch.parsers.containers import looks_like_email

# Bytes skipped before the first significant byte: a UTF-8 byte order mark and whitespace.
LEADING_FILLER = b"\xef\xbb\xbf \t\r\n"


class HeadFacts(NamedTuple):
    """Facts about a head, computed before any parser looks closer.

    `first_byte` is the first byte after a byte order mark and whitespace,
    or b"" for a blank head. `lowered` is the head in ASCII lower case, for
    case-insensitive literal searches, which are much faster than
    `re.IGNORECASE` searches. `is_email` is whether the head starts with an
    RFC 5322 header block, optionally after an mbox "From " line (see
    `containers.looks_like_email`). Detection builds one per input, and a
    named tuple is cheaper to build than a frozen dataclass.
    """

    first_byte: bytes
    lowered: bytes
    is_email: bool

    @property
    def may_be_log(self) -> bool:
        """Whether the head may be a text log: it is neither an email nor a JSON object.

        No syslog or MTA log line starts with "{" or forms an RFC 5322
        header block, so log parsers return 0 when this is False. An email
        that quotes log lines in its body is an email, not a log.
        """
        return not self.is_email and self.first_byte != b"{"


# Distinct heads cached. Detection examines one head at a time, so a few
# entries are enough. Each entry keeps the head and its lower-cased copy, at
# most 128 KiB together.
CACHED_HEADS = 4


@functools.lru_cache(maxsize=CACHED_HEADS)
def head_facts(head: bytes) -> HeadFacts:
    """Compute the `HeadFacts` of `head`, once per distinct head."""
    return HeadFacts(
        first_byte=head.lstrip(LEADING_FILLER)[:1],
        lowered=head.lower(),
        is_email=looks_like_email(head),
    )

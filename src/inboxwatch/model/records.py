"""Records that describe parsing outcomes other than events."""

from __future__ import annotations

import dataclasses

from inboxwatch.errors import ParseError


@dataclasses.dataclass(frozen=True, slots=True)
class Rejected:
    """An input item a parser could not read, kept for inspection.

    Parsers yield it in place of a record, so one bad line or payload costs
    only itself. `raw` is the offending text, cut to a bounded size by the
    parser.
    """

    error: ParseError
    raw: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class FilePosition:
    """Where reading stopped in a followed file, and how to recognise that file again."""

    path: str
    device: int
    inode: int
    offset: int
    head_digest: str

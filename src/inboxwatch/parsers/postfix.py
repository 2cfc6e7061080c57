"""Postfix mail logs: reading, fast line selection and format detection.

`postfix_lines` holds the grammar of single lines and `postfix_state` the
correlation by queue id. This module feeds that state machine: it decodes
the input in large blocks and hands over only the lines that can matter,
because most lines of a busy mail log concern connections, TLS and other
programs. `docs/inputs/postfix.md` lists which line becomes which event.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from inboxwatch.parsers.base import ParseContext, ParserSpec
from inboxwatch.parsers.postfix_lines import MAX_QUEUE_ID_LENGTH, PostfixLine, split_postfix_line
from inboxwatch.parsers.postfix_state import KIND, PostfixLogParser
from inboxwatch.parsers.sniffing import head_facts
from inboxwatch.parsers.syslog import split_prefix

__all__ = ["PARSER", "PostfixLogParser", "parse", "sniff"]

# Bytes requested per read, and the longest line, in characters, kept whole.
BLOCK_BYTES = 1 << 20
MAX_CARRIED_CHARS = 16 << 20

# Characters of a block inspected to choose between scanning and line-by-line reading.
SNIFF_CHARS = 4096

# The start of every message that produces an event, changes a lifecycle or
# is counted, after the "prog[pid]: " tag and an optional queue id. In
# scanned blocks, other lines are skipped without running any Python code for
# them. smtpd "client=" and pickup "uid=" are left out: cleanup's
# "message-id=" follows them and starts the lifecycle just as well. "relay="
# starts a status line that lacks its "to=" field, which is rejected.
INTERESTING_LINE = re.compile(
    r"\]: (?:([0-9A-Za-z]{5,%d}): )?"
    r"(to=|from=|removed|message-id=|relay=|reject:|milter-reject:|sender |postmaster )" % MAX_QUEUE_ID_LENGTH
)

# Keywords of the lines `apply_bookkeeping` applies without a full split.
BOOKKEEPING_KEYWORDS = frozenset({"removed", "message-id=", "from="})

# Lines counted from the match alone, without parsing them.
COUNTED_KEYWORDS = {
    "reject:": "inbound_rejections",
    "milter-reject:": "inbound_rejections",
}

# Lines of the input that `sniff` looks at.
SNIFF_LINES = 50


def read_blocks(stream: BinaryIO) -> Iterator[str]:
    """Yield the decoded input in blocks of whole lines, decoding as `text_lines` does.

    Each block is what one `read1` returned (`read` on streams without
    `read1`), up to its last line end. A buffered file returns up to
    `BLOCK_BYTES` at a time, while a followed log (`FollowedFile`) returns
    each line as soon as it is complete, so its events are not held back
    until a full block has arrived. Undecodable bytes become U+FFFD, even
    when a multi-byte character is split between two reads, and line ends
    are normalised to "\\n". A line longer than `MAX_CARRIED_CHARS` is cut
    there rather than buffered without bound.
    """
    read = getattr(stream, "read1", None) or stream.read
    decoder = io.IncrementalNewlineDecoder(codecs.getincrementaldecoder("utf-8")(errors="replace"), translate=True)
    carry = ""
    while True:
        data = read(BLOCK_BYTES)
        chunk = carry + decoder.decode(data, final=not data)
        cut = chunk.rfind("\n") + 1
        if cut == 0 and len(chunk) >= MAX_CARRIED_CHARS:
            cut = len(chunk)
        carry = chunk[cut:]
        if cut:
            yield chunk[:cut]
        if not data:
            break
    if carry:
        yield carry + "\n"


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    """Yield delivery events and `Rejected` items from a Postfix log, in log order.

    Blocks of the usual "prog[pid]: " form are scanned with one regex for the
    lines that can matter (`INTERESTING_LINE`), so the many lines about
    connections, TLS and other programs cost no Python code at all. A block
    in another form (RFC 5424 carries the pid in a field of its own) is
    read line by line.
    """
    parser = PostfixLogParser(context)
    lines_before = 0
    for block in read_blocks(stream):
        # NOTE: the form is chosen per block, so RFC 5424 lines inside a
        # block that starts in the usual form are not read. Finding them
        # takes one more search through every block, which by estimate
        # costs a few percent on a log whose lines the scan mostly skips.
        if "]: " in block[:SNIFF_CHARS]:
            items = scan_block(parser, block, lines_before)
        else:
            items = feed_block(parser, block, lines_before)
        yield from items
        lines_before += block.count("\n")
    yield from parser.finish()


def feed_block(parser: PostfixLogParser, block: str, lines_before: int) -> list[Any]:
    items: list[Any] = []
    lines = block.split("\n")
    if not lines[-1]:
        lines.pop()
    for offset, line in enumerate(lines, start=1):
        found = parser.feed(lines_before + offset, line)
        if found:
            items.extend(found)
    return items


def split_matched_line(block: str, line_start: int, line: str, match: re.Match[str]) -> PostfixLine | None:
    """Build a `PostfixLine` from an `INTERESTING_LINE` match, or None to fall back to `split_postfix_line`.

    Covers the RFC 3164 and ISO 8601 forms, the bulk of real logs, with a
    few string searches on positions the match already found.
    """
    tag_end = match.start()
    program_start = block.rfind(" ", line_start, tag_end) + 1
    bracket = block.rfind("[", program_start, tag_end)
    if program_start <= line_start or bracket < 0:
        return None
    slash = block.rfind("/", program_start, bracket)
    if slash < 0:
        return None
    if line[3:4] == " " and line[15:16] == " ":
        timestamp = line[:15]
    elif line[4:5] == "-":
        # ISO 8601 with a "T" or a space: everything before the host name.
        timestamp = line[: block.rfind(" ", line_start, program_start - 1) - line_start]
    else:
        return None
    queue_id = match.group(1)
    if queue_id == "NOQUEUE":
        queue_id = None
    return PostfixLine(
        timestamp,
        block[program_start:slash],
        block[slash + 1 : bracket],
        queue_id,
        block[match.end(1) + 2 if queue_id else tag_end + 3 : line_start + len(line)],
    )


def scan_block(parser: PostfixLogParser, block: str, lines_before: int) -> list[Any]:
    """Feed the parser the lines of `block` that can matter, with their line numbers.

    A pending status line (one whose reply may be wrapped) is resolved by
    feeding the physical line after it, whatever that line is. Line numbers
    are counted only for lines handed to the parser, which may need them
    for a `Rejected` item, and not for the lines `apply_bookkeeping` takes.
    """
    items: list[Any] = []
    newlines_seen = 0
    counted_to = 0
    resume_at = resolve_pending(parser, block, 0, lines_before, items)

    counters = parser.counters
    for match in INTERESTING_LINE.finditer(block, resume_at):
        queue_id, keyword = match.groups()
        counter = COUNTED_KEYWORDS.get(keyword)
        if counter is not None:
            counters[counter] += 1
            continue
        tag_end = match.start()
        line_start = block.rfind("\n", 0, tag_end) + 1
        if line_start < resume_at:
            # A second match inside a line already read: reply text can contain "]: ".
            continue
        line_end = block.find("\n", match.end())
        if line_end < 0:
            line_end = len(block)

        if queue_id is not None and apply_bookkeeping(parser, block, line_start, line_end, match):
            resume_at = line_end + 1
            continue

        newlines_seen += block.count("\n", counted_to, line_start)
        counted_to = line_start
        number = lines_before + newlines_seen + 1
        line = block[line_start:line_end]
        parts = split_matched_line(block, line_start, line, match)
        if parts is None:
            found = parser.feed(number, line)
        else:
            found = parser.handle_unless_wrapped(number, line, parts)
        if found:
            items.extend(found)
        resume_at = line_end + 1
        if parser.pending_line is not None:
            resume_at = resolve_pending(parser, block, resume_at, number, items)
    return items


def apply_bookkeeping(parser: PostfixLogParser, block: str, line_start: int, line_end: int, match: re.Match[str]) -> bool:
    """Apply a qmgr "removed" or "from=... nrcpt=" line or a cleanup "message-id=" line straight from the match.

    Returns False for any other line. These three kinds are about three
    quarters of the lines worth reading, and need neither the timestamp nor
    a full split. The daemon is the name between the last "/" and the "["
    of the tag, as `split_postfix_line` reads it.
    """
    queue_id, keyword = match.groups()
    if queue_id == "NOQUEUE" or keyword not in BOOKKEEPING_KEYWORDS:
        return False
    bracket = block.rfind("[", line_start, match.start())
    if bracket < 0:
        return False
    if keyword == "message-id=":
        if block[bracket - 8 : bracket] != "/cleanup":
            return False
        parser.note_message_id(queue_id, block[match.start(2) : line_end])
        return True
    if keyword == "removed":
        if line_end != match.end():
            return False
        if block[bracket - 5 : bracket] != "/qmgr" and block[bracket - 10 : bracket] != "/postsuper":
            return False
        parser.close(queue_id)
        return True
    if block[bracket - 5 : bracket] != "/qmgr" or block.find(" nrcpt=", match.end(), line_end) < 0:
        return False
    parser.note_queued(queue_id, block[match.start(2) : line_end])
    return True


def line_end_at(block: str, position: int) -> int:
    end = block.find("\n", position)
    return len(block) if end < 0 else end


def resolve_pending(parser: PostfixLogParser, block: str, position: int, number: int, items: list[Any]) -> int:
    """Feed physical lines from `position` while the parser has a pending line; return where feeding stopped.

    `number` is the line number of the line before `position`. When the
    block ends first, the pending line waits for the next block.
    """
    while parser.pending_line is not None and position < len(block):
        number += 1
        line_end = line_end_at(block, position)
        found = parser.feed(number, block[position:line_end])
        if found:
            items.extend(found)
        position = line_end + 1
    return position


def sniff(head: bytes, name: str) -> int:
    """Score how much the first lines look like Postfix syslog lines ("postfix/qmgr[123]: ...")."""
    if not head_facts(head).may_be_log:
        return 0
    if b"postfix" not in head:
        # No line can have a "postfix..." program name, so skip the per-line work.
        return 0
    text = head.decode("utf-8", errors="replace")
    prefixed = postfix_lines = 0
    for line in text.splitlines()[:SNIFF_LINES]:
        if split_prefix(line) is None:
            continue
        prefixed += 1
        parts = split_postfix_line(line)
        if parts is not None and parts.instance.startswith("postfix"):
            postfix_lines += 1
    if postfix_lines == 0:
        return 0
    return 60 + (35 * postfix_lines) // prefixed


PARSER = ParserSpec(
    kind=KIND,
    description="Postfix mail log (syslog): outbound delivery events per recipient",
    sniff=sniff,
    parse=parse,
    yields_events_only=True,
)

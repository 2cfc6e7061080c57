"""One module per input format. Pure: bytes in, records out.

Every parser module exposes `PARSER`, a `ParserSpec`. See `registry` for how
formats are detected.
"""

from inboxwatch.parsers.base import ParseContext, ParserSpec, ParseOutcome
from inboxwatch.parsers.registry import all_parsers, detect, get_parser

__all__ = ["ParseContext", "ParserSpec", "ParseOutcome", "all_parsers", "detect", "get_parser"]

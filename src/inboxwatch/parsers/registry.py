"""The catalogue of parsers and format detection."""

from __future__ import annotations

import importlib
import logging
from functools import cache

from inboxwatch.parsers.base import ParserSpec

log = logging.getLogger(__name__)

# Modules that define a `PARSER`. Order breaks ties in detection.
PARSER_MODULES = (
    "inboxwatch.parsers.postfix",
    "inboxwatch.parsers.exim",
    "inboxwatch.parsers.ses",
    "inboxwatch.parsers.sendgrid",
    "inboxwatch.parsers.mailgun",
    "inboxwatch.parsers.postmark",
    "inboxwatch.parsers.sparkpost",
    "inboxwatch.parsers.mandrill",
    "inboxwatch.parsers.brevo",
    "inboxwatch.parsers.resend",
    "inboxwatch.parsers.dmarc",
    "inboxwatch.parsers.dmarc_failure",
    "inboxwatch.parsers.tlsrpt",
    "inboxwatch.parsers.bounce",
    "inboxwatch.parsers.snds",
    "inboxwatch.parsers.snds_status",
    "inboxwatch.parsers.postmaster",
)

# Kinds whose `sniff` has raised in this process. Only the first failure of
# each is logged, because detection runs on every file of a folder.
_failed_sniffs: set[str] = set()


@cache
def all_parsers() -> tuple[ParserSpec, ...]:
    specs = []
    for name in PARSER_MODULES:
        module = importlib.import_module(name)
        specs.append(module.PARSER)
    return tuple(specs)


def get_parser(kind: str) -> ParserSpec:
    for spec in all_parsers():
        if spec.kind == kind or kind in spec.other_kinds:
            return spec
    known = ", ".join(sorted(spec.kind for spec in all_parsers()))
    raise KeyError("unknown input kind %r; known kinds: %s" % (kind, known))


def detect(head: bytes, name: str = "") -> ParserSpec | None:
    """Return the parser most confident about `head`, or None when none is.

    A `sniff` that raises counts as a score of 0, so a bug in one parser
    cannot stop the others from recognising their formats.
    """
    best: ParserSpec | None = None
    best_score = 0
    for spec in all_parsers():
        try:
            score = spec.sniff(head, name)
        except Exception:
            if spec.kind not in _failed_sniffs:
                _failed_sniffs.add(spec.kind)
                log.debug(
                    "format detection: the %s parser's sniff failed and counts as a score of 0. Its later failures are not logged.",
                    spec.kind,
                    exc_info=True,
                )
            continue
        if score > best_score:
            best, best_score = spec, score
    return best

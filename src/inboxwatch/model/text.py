"""Small wording helpers for text shown to people: reports, CLI output and messages."""

from __future__ import annotations


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """Return the count with the noun in the right number: "1 day", "2 days", "0 days".

    `plural_form` is for nouns whose plural is not the noun plus "s".
    """
    if count == 1:
        return "%d %s" % (count, noun)
    return "%d %s" % (count, plural_form or noun + "s")


# C0 controls but tab, DEL and C1 controls: a terminal acts on them (ESC starts
# colour, title and hyperlink sequences) instead of showing them.
_CONTROL_CHARACTERS = {code: "\\x%02x" % code for code in [*range(0x00, 0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0)]}
_CONTROL_CHARACTERS.update({0x0A: "\\n", 0x0D: "\\r"})


def printable(text: str) -> str:
    """Return `text` with control characters written as \\xNN escapes, safe to print on a terminal.

    Quarantined input is untrusted (webhook bodies, mail): printed as it is,
    an escape sequence in it could retitle or redraw the reader's terminal.
    """
    return text.translate(_CONTROL_CHARACTERS)

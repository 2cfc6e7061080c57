"""Small wording helpers for text shown to people: reports, CLI output and messages."""

from __future__ import annotations


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """Return the count with the noun in the right number: "1 day", "2 days", "0 days".

    `plural_form` is for nouns whose plural is not the noun plus "s".
    """
    if count == 1:
        return "%d %s" % (count, noun)
    return "%d %s" % (count, plural_form or noun + "s")

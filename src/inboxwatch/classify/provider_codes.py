"""Providers' own error codes in bounce texts, mapped to reasons.

Some providers put a numbered code of their own into every reply (Orange
and La Poste `OFR_416`, `LPN007_102`; Charter/Spectrum `AUP#In-1310`). The
code identifies the cause more precisely than the words around it, which
are often a generic "Service refused". The tables follow each provider's
published list, as collected in Sisimai's `Sisimai::Rhost` modules
(libsisimai-perl 4.25). A code mapped to None names no single cause, so the
text rules decide.

To add a provider: add a `CodeTable` with a pattern whose first group is
the code number, and a case to tests/test_classify_bounce.py.
"""

from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass(frozen=True)
class CodeTable:
    """One provider's codes. `pattern` runs over the normalized text and captures the code number."""

    name: str
    pattern: re.Pattern[str]
    reasons: dict[int, str | None]
    covers: str
    # (first, last, reason) for codes listed only as ranges.
    ranges: tuple[tuple[int, int, str], ...] = ()

    def find(self, text: str) -> tuple[str, str] | None:
        """Return (reason, matched excerpt) when `text` quotes a code of this table with a known reason."""
        found = self.pattern.search(text)
        if not found:
            return None
        code = int(found.group(1))
        reason = self.reasons.get(code)
        if reason is None:
            reason = next((item for first, last, item in self.ranges if first <= code <= last), None)
        return (reason, found.group(0)) if reason else None


ORANGE_LAPOSTE = CodeTable(
    name="orange-laposte-codes",
    # "OFR_416", "OFR006_102", "LPN007_416", "LPNAAA_101", "OUK_..."; the last three digits are the code.
    pattern=re.compile(r"\b(?:lpn|lpnaaa|ofr|ouk)(?:\d{3})?[-_](\d{3})\b"),
    reasons={
        101: "blocked",  # blocked using Spamhaus
        102: "blocked",  # "Adresse IP source bloquee pour incident de spam"
        103: "blocked",  # "Service refuse"
        104: "toomanyconn",  # "Trop de connexions"
        105: None,  # "Veuillez essayer plus tard"
        107: None,
        108: None,
        109: None,
        201: None,
        305: "securityerror",  # "Code d'authentification invalide"
        401: "blocked",  # SPF: not allowed to send mail
        402: "securityerror",  # "Authentification requise"
        403: "rejected",  # "Emetteur invalide"
        405: "rejected",
        415: "rejected",
        416: "userunknown",  # "Adresse d au moins un destinataire invalide"
        417: "mailboxfull",  # "Boite du destinataire pleine"
        418: "userunknown",
        420: "suspend",
        421: "rejected",
        423: None,
        424: None,
        426: "suspend",
        505: "systemerror",
        506: "spamdetected",  # "Mail rejete"
        510: "blocked",
        513: None,
        514: "mesgtoobig",
        517: "policyviolation",
        630: "policyviolation",
        999: "blocked",
    },
    covers="Orange (wanadoo.fr, orange.fr) and La Poste (laposte.net) replies ending in OFR_nnn or LPNnnn_nnn codes",
)

SPECTRUM = CodeTable(
    name="spectrum-aup-codes",
    pattern=re.compile(r"aup#[a-z-]*(\d{4})"),
    reasons={
        1000: "blocked",  # IP address blocked for suspicious activity
        1010: "rejected",  # sending account blocked
        1090: "systemerror",  # the email cannot be processed now
        1260: "networkerror",  # IPv6 not accepted
        1500: "rejected",  # sender differs from the signed-in address
        1520: "rejected",  # sender domain not hosted there
        1530: "mesgtoobig",  # larger than 20 MB
        1540: "toomanyconn",  # too many messages in one session
        1550: "toomanyconn",  # too many recipients in one message
        1560: "policyviolation",  # too many invalid recipients
    },
    ranges=(
        (1020, 1080, "rejected"),
        (1100, 1150, "blocked"),
        (1160, 1190, "policyviolation"),
        (1200, 1250, "blocked"),
        (1300, 1490, "toomanyconn"),
    ),
    covers="Charter/Spectrum replies with AUP#Innnn or AUP#Onnnn codes",
)

CODE_TABLES = (ORANGE_LAPOSTE, SPECTRUM)
CODE_TABLES_BY_NAME = {table.name: table for table in CODE_TABLES}

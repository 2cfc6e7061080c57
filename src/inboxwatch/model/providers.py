"""Mailbox providers: where a recipient's mailbox lives."""

from __future__ import annotations

import enum


class Provider(str, enum.Enum):
    GMAIL = "gmail"
    MICROSOFT = "microsoft"
    YAHOO = "yahoo"
    APPLE = "apple"
    GMX = "gmx"
    ORANGE = "orange"
    COMCAST = "comcast"
    ATT = "att"
    YANDEX = "yandex"
    MAILRU = "mailru"
    ZOHO = "zoho"
    PROTON = "proton"
    FASTMAIL = "fastmail"
    TENCENT = "tencent"
    NETEASE = "netease"
    NAVER = "naver"
    RAKUTEN = "rakuten"
    OTHER = "other"

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


# Names shown to people for each provider, in reports, summaries and the CLI.
DISPLAY_NAMES: dict[str, str] = {
    Provider.GMAIL.value: "Gmail",
    Provider.MICROSOFT.value: "Microsoft",
    Provider.YAHOO.value: "Yahoo",
    Provider.APPLE.value: "Apple",
    Provider.GMX.value: "GMX",
    Provider.ORANGE.value: "Orange",
    Provider.COMCAST.value: "Comcast",
    Provider.ATT.value: "AT&T",
    Provider.YANDEX.value: "Yandex",
    Provider.MAILRU.value: "Mail.ru",
    Provider.ZOHO.value: "Zoho",
    Provider.PROTON.value: "Proton",
    Provider.FASTMAIL.value: "Fastmail",
    Provider.TENCENT.value: "Tencent",
    Provider.NETEASE.value: "NetEase",
    Provider.NAVER.value: "Naver",
    Provider.RAKUTEN.value: "Rakuten",
    Provider.OTHER.value: "Other providers",
}

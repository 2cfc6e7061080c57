"""Mailbox-provider detection from the recipient domain and, optionally, its MX hosts.

Consumer domains are matched by name. A custom domain hosted by Google
Workspace or Microsoft 365 is only recognisable by its MX hosts, so callers
that have looked them up pass them in. The lookup itself belongs to the DNS
layer.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from inboxwatch.model.providers import Provider

# Consumer mail domains by provider. Sources: each provider's sign-up pages
# and the domain lists that ESPs publish for their provider reports.
PROVIDER_DOMAINS: dict[Provider, tuple[str, ...]] = {
    Provider.GMAIL: ("gmail.com", "googlemail.com", "google.com"),
    Provider.MICROSOFT: (
        "outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com",
        "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.it", "hotmail.es",
        "hotmail.be", "hotmail.nl", "hotmail.ca", "hotmail.com.br", "hotmail.com.ar",
        "hotmail.co.jp", "live.co.uk", "live.fr", "live.de", "live.it", "live.nl",
        "live.ca", "live.com.au", "live.com.mx", "live.jp", "outlook.fr", "outlook.de",
        "outlook.it", "outlook.es", "outlook.co.uk", "outlook.jp", "outlook.com.br",
        "windowslive.com",
    ),
    Provider.YAHOO: (
        "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.it", "yahoo.es",
        "yahoo.ca", "yahoo.com.br", "yahoo.com.ar", "yahoo.com.mx", "yahoo.co.in",
        "yahoo.in", "yahoo.com.au", "yahoo.co.id", "yahoo.com.sg", "yahoo.com.ph",
        "yahoo.co.jp", "ymail.com", "rocketmail.com", "aol.com", "aol.co.uk", "aol.de",
        "aol.fr", "aim.com", "verizon.net", "sbcglobal.net", "frontier.com",
        "frontiernet.net", "bellsouth.net", "rogers.com", "sky.com", "btinternet.com",
    ),
    Provider.APPLE: ("icloud.com", "me.com", "mac.com"),
    Provider.GMX: ("gmx.de", "gmx.net", "gmx.at", "gmx.ch", "gmx.com", "gmx.fr", "web.de", "mail.com", "email.com"),
    Provider.ORANGE: ("orange.fr", "wanadoo.fr", "voila.fr", "orange.com"),
    Provider.COMCAST: ("comcast.net", "xfinity.com"),
    Provider.ATT: ("att.net", "prodigy.net", "pacbell.net", "swbell.net", "ameritech.net", "flash.net", "nvbell.net", "wans.net", "snet.net"),
    Provider.YANDEX: ("yandex.ru", "yandex.com", "ya.ru", "yandex.by", "yandex.kz", "yandex.ua", "narod.ru"),
    Provider.MAILRU: ("mail.ru", "inbox.ru", "list.ru", "bk.ru", "internet.ru"),
    Provider.ZOHO: ("zoho.com", "zohomail.com", "zoho.eu", "zohomail.eu", "zoho.in"),
    Provider.PROTON: ("proton.me", "protonmail.com", "protonmail.ch", "pm.me"),
    Provider.FASTMAIL: ("fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org", "messagingengine.com"),
    Provider.TENCENT: ("qq.com", "foxmail.com", "vip.qq.com"),
    Provider.NETEASE: ("163.com", "126.com", "yeah.net", "vip.163.com", "188.com"),
    Provider.NAVER: ("naver.com",),
    Provider.RAKUTEN: ("rakuten.jp", "rakuten.co.jp", "infoseek.jp", "rakuten.com"),
}

# Distinct (recipient domain, MX host) pairs kept in the provider cache. A
# miss costs one scan of the MX suffixes, so the size only bounds memory.
DELIVERY_CACHE_SIZE = 65536

# MX host suffixes of the hosted platforms, for custom domains.
PROVIDER_MX_SUFFIXES: dict[Provider, tuple[str, ...]] = {
    Provider.GMAIL: ("google.com", "googlemail.com", "smtp.google.com"),
    Provider.MICROSOFT: ("protection.outlook.com", "outlook.com", "hotmail.com", "olc.protection.outlook.com"),
    Provider.YAHOO: ("yahoodns.net", "yahoo.com", "aol.com"),
    Provider.APPLE: ("icloud.com", "mail.icloud.com"),
    Provider.GMX: ("gmx.net", "web.de", "kundenserver.de", "mail.com"),
    Provider.ORANGE: ("orange.fr",),
    Provider.COMCAST: ("comcast.net",),
    Provider.ATT: ("att.net", "prodigy.net"),
    Provider.YANDEX: ("yandex.ru", "yandex.net"),
    Provider.MAILRU: ("mail.ru",),
    Provider.ZOHO: ("zoho.com", "zoho.eu", "zoho.in", "zohomail.com"),
    Provider.PROTON: ("protonmail.ch", "proton.me"),
    Provider.FASTMAIL: ("messagingengine.com",),
    Provider.TENCENT: ("qq.com",),
    Provider.NETEASE: ("163.com", "126.com", "netease.com"),
    Provider.NAVER: ("naver.com",),
    Provider.RAKUTEN: ("rakuten.co.jp", "rakuten.jp"),
}

_DOMAIN_TO_PROVIDER = {domain: provider for provider, domains in PROVIDER_DOMAINS.items() for domain in domains}


def normalise_domain(domain: str) -> str:
    return domain.strip().strip("<>[]").rstrip(".").lower()


def _suffix_match(host: str, suffixes: Iterable[str]) -> bool:
    return any(host == suffix or host.endswith("." + suffix) for suffix in suffixes)


def provider_for_mx(mx_hosts: Sequence[str]) -> Provider | None:
    """Return the provider whose platform the MX hosts belong to, if any."""
    for host in mx_hosts:
        name = normalise_domain(host)
        for provider, suffixes in PROVIDER_MX_SUFFIXES.items():
            if _suffix_match(name, suffixes):
                return provider
    return None


def provider_for(domain: str | None, mx_hosts: Sequence[str] = ()) -> str:
    """Return the mailbox provider (a `Provider` value) for a recipient domain.

    The domain itself decides when it is a known consumer domain; otherwise
    the MX hosts decide, so that Google Workspace and Microsoft 365 custom
    domains count as Google and Microsoft. Unknown domains are `other`.
    """
    if domain:
        name = normalise_domain(domain.rsplit("@", 1)[-1])
        provider = _DOMAIN_TO_PROVIDER.get(name)
        if provider is not None:
            return provider.value
    by_mx = provider_for_mx(mx_hosts)
    return by_mx.value if by_mx else Provider.OTHER.value


def provider_for_relay(relay_host: str | None) -> str | None:
    """Return the provider a delivery went to, judged by the receiving MX host name.

    Logs name the MX that answered, which identifies hosted platforms for
    custom domains without a DNS lookup.
    """
    if not relay_host:
        return None
    provider = provider_for_mx([relay_host])
    return provider.value if provider else None


@functools.lru_cache(maxsize=DELIVERY_CACHE_SIZE)
def provider_for_delivery(recipient_domain: str | None, relay_host: str | None) -> str:
    """Return the provider of one delivery, from the recipient domain and the MX host that took it.

    The recipient's own domain wins when it is a known consumer domain, and
    the MX host decides for custom domains on hosted platforms. Results are
    cached, because ingest calls this for every event and a log repeats the
    same few domains and MX hosts.
    """
    by_domain = provider_for(recipient_domain)
    if by_domain != Provider.OTHER.value or not relay_host:
        return by_domain
    return provider_for_relay(relay_host) or by_domain

import pytest

from inboxwatch.classify.providers import provider_for, provider_for_relay


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("gmail.com", "gmail"),
        ("GoogleMail.com.", "gmail"),
        ("hotmail.co.uk", "microsoft"),
        ("aol.com", "yahoo"),
        ("icloud.com", "apple"),
        ("web.de", "gmx"),
        ("qq.com", "tencent"),
        ("163.com", "netease"),
        ("naver.com", "naver"),
        ("user@yandex.ru", "yandex"),
        ("example.org", "other"),
        (None, "other"),
        ("", "other"),
    ],
)
def test_provider_for_consumer_domains(domain, expected):
    assert provider_for(domain) == expected


@pytest.mark.parametrize(
    ("mx_hosts", "expected"),
    [
        (["aspmx.l.google.com", "alt1.aspmx.l.google.com"], "gmail"),
        (["example-com.mail.protection.outlook.com."], "microsoft"),
        (["mx1.example.net"], "other"),
        (["notgoogle.com"], "other"),
    ],
)
def test_provider_for_custom_domain_by_mx(mx_hosts, expected):
    assert provider_for("example.com", mx_hosts) == expected


def test_provider_for_consumer_domain_ignores_mx():
    assert provider_for("gmail.com", ["mx.example.net"]) == "gmail"


def test_provider_for_relay_names_hosted_platform():
    assert provider_for_relay("gmail-smtp-in.l.google.com") == "gmail"
    assert provider_for_relay(None) is None

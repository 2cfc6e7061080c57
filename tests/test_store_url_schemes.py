"""Store URLs with a scheme the store does not run on are rejected before connecting."""

import pytest

from inboxwatch.errors import StoreError
from inboxwatch.store.db import normalize_url, open_engine


@pytest.mark.parametrize("url", ["mysql://root@127.0.0.1:3306/test", "mariadb+pymysql://root@127.0.0.1/test", "oracle://x@y/z"])
def test_unsupported_scheme_rejected(url):
    with pytest.raises(StoreError) as caught:
        open_engine(url)

    message = str(caught.value)
    assert "unsupported store URL scheme" in message
    assert repr(url.split("://")[0]) in message
    assert "sqlite" in message
    assert "postgresql" in message


def test_unsupported_scheme_hides_password():
    with pytest.raises(StoreError) as caught:
        normalize_url("mysql://root:secret@127.0.0.1/test")

    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    "url, driver",
    [
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
        ("x.db", "sqlite"),
    ],
)
def test_supported_schemes_accepted(url, driver):
    assert normalize_url(url).drivername == driver

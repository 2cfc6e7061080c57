"""Logs of the HTTP service never contain a webhook secret, a password or an API token."""

from __future__ import annotations

import logging

from web_support import basic_auth, bearer, mailgun_body, make_client, postmark_payload

MAILGUN_KEY = "mailgun-secret-key-for-log-test"
POSTMARK_PASSWORD = "postmark-password-for-log-test"


def test_logs_exclude_secrets(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="inboxwatch")
    client = make_client(
        tmp_path,
        {"mailgun": {"secret": MAILGUN_KEY}, "postmark": {"username": "hook", "password": POSTMARK_PASSWORD}},
    )
    token_header = bearer(client, "viewer")
    client.post("/webhooks/mailgun", content=mailgun_body(MAILGUN_KEY))
    client.post("/webhooks/mailgun", content=mailgun_body("wrong-key"))
    client.post("/webhooks/postmark", content=postmark_payload(), headers=basic_auth("hook", POSTMARK_PASSWORD))
    client.post("/webhooks/postmark", content=postmark_payload(), headers=basic_auth("hook", POSTMARK_PASSWORD + "x"))
    client.get("/api/v1/alerts", headers=token_header)
    client.get("/api/v1/alerts", headers={"Authorization": token_header["Authorization"] + "x"})

    assert "rejected" in caplog.text
    assert MAILGUN_KEY not in caplog.text
    assert POSTMARK_PASSWORD not in caplog.text
    assert token_header["Authorization"].split()[1] not in caplog.text

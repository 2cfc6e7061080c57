"""Webhook verifiers, one scheme at a time: good requests, tampered bodies, wrong keys, stale timestamps."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from inboxwatch.web.verify.base import VerificationError, WebhookRequest
from inboxwatch.web.verify.basic import BasicAuthVerifier
from inboxwatch.web.verify.mailgun import MailgunVerifier
from inboxwatch.web.verify.mandrill import MandrillVerifier
from inboxwatch.web.verify.resend import StandardWebhooksVerifier
from inboxwatch.web.verify.sendgrid import SendGridVerifier

from web_support import (
    NOW,
    NOW_SECONDS,
    SendGridSigner,
    basic_auth,
    mailgun_body,
    mandrill_body,
    mandrill_signature,
    new_resend_secret,
    resend_headers,
    resend_payload,
    sendgrid_payload,
)

MAX_AGE = timedelta(minutes=5)


def request(body: bytes, headers: dict[str, str], url: str = "https://hooks.example.com/webhooks/x") -> WebhookRequest:
    return WebhookRequest(url=url, headers={name.lower(): value for name, value in headers.items()}, body=body)


def test_sendgrid_verify_good_signature():
    signer = SendGridSigner()
    body = sendgrid_payload()
    assert SendGridVerifier(signer.public_key_b64, MAX_AGE).verify(request(body, signer.headers(body)), NOW) is None


def test_sendgrid_verify_tampered_body():
    signer = SendGridSigner()
    body = sendgrid_payload()
    tampered = body.replace(b"delivered", b"bounce")
    with pytest.raises(VerificationError) as caught:
        SendGridVerifier(signer.public_key_b64, MAX_AGE).verify(request(tampered, signer.headers(body)), NOW)
    assert caught.value.status == 403


def test_sendgrid_verify_wrong_key():
    body = sendgrid_payload()
    headers = SendGridSigner().headers(body)
    with pytest.raises(VerificationError):
        SendGridVerifier(SendGridSigner().public_key_b64, MAX_AGE).verify(request(body, headers), NOW)


def test_sendgrid_verify_stale_timestamp():
    signer = SendGridSigner()
    body = sendgrid_payload()
    headers = signer.headers(body, timestamp=NOW_SECONDS - 3600)
    with pytest.raises(VerificationError, match="stale"):
        SendGridVerifier(signer.public_key_b64, MAX_AGE).verify(request(body, headers), NOW)


def test_sendgrid_verify_missing_headers():
    signer = SendGridSigner()
    with pytest.raises(VerificationError) as caught:
        SendGridVerifier(signer.public_key_b64, MAX_AGE).verify(request(sendgrid_payload(), {}), NOW)
    assert caught.value.status == 401


def test_sendgrid_verifier_rejects_invalid_key():
    with pytest.raises(ValueError, match="verification key"):
        SendGridVerifier("not a key", MAX_AGE)


def test_mailgun_verify_returns_token():
    body = mailgun_body("key-one", token="a" * 50)
    assert MailgunVerifier("key-one", MAX_AGE).verify(request(body, {}), NOW) == "a" * 50


def test_mailgun_verify_wrong_key():
    body = mailgun_body("key-one")
    with pytest.raises(VerificationError, match="does not match"):
        MailgunVerifier("key-two", MAX_AGE).verify(request(body, {}), NOW)


def test_mailgun_verify_tampered_token():
    body = mailgun_body("key-one", token="a" * 50).replace(b"a" * 50, b"b" * 50)
    with pytest.raises(VerificationError):
        MailgunVerifier("key-one", MAX_AGE).verify(request(body, {}), NOW)


def test_mailgun_verify_stale_timestamp():
    body = mailgun_body("key-one", timestamp=NOW_SECONDS - 600)
    with pytest.raises(VerificationError, match="stale"):
        MailgunVerifier("key-one", MAX_AGE).verify(request(body, {}), NOW)


def test_mailgun_verify_legacy_form_fields():
    form = b"timestamp=%d&token=tok&signature=" % NOW_SECONDS
    signature = hmac.new(b"key-one", b"%dtok" % NOW_SECONDS, hashlib.sha256).hexdigest().encode()
    assert MailgunVerifier("key-one", MAX_AGE).verify(request(form + signature + b"&event=delivered", {}), NOW) == "tok"


def test_mailgun_verify_missing_signature():
    with pytest.raises(VerificationError) as caught:
        MailgunVerifier("key-one", MAX_AGE).verify(request(b'{"event-data": {}}', {}), NOW)
    assert caught.value.status == 401


def test_mandrill_verify_good_signature():
    url = "https://hooks.example.com/webhooks/mandrill"
    body = mandrill_body()
    headers = {"X-Mandrill-Signature": mandrill_signature("mandrill-key", url, body)}
    assert MandrillVerifier("mandrill-key", url).verify(request(body, headers, url="http://10.0.0.5/webhooks/mandrill"), NOW) is None


def test_mandrill_verify_tampered_body():
    url = "https://hooks.example.com/webhooks/mandrill"
    body = mandrill_body()
    headers = {"X-Mandrill-Signature": mandrill_signature("mandrill-key", url, body)}
    with pytest.raises(VerificationError):
        MandrillVerifier("mandrill-key", url).verify(request(mandrill_body("md-2"), headers), NOW)


def test_mandrill_verify_wrong_url():
    body = mandrill_body()
    headers = {"X-Mandrill-Signature": mandrill_signature("mandrill-key", "https://other.example.com/", body)}
    with pytest.raises(VerificationError, match="url"):
        MandrillVerifier("mandrill-key", "https://hooks.example.com/webhooks/mandrill").verify(request(body, headers), NOW)


def test_resend_verify_good_signature():
    secret = new_resend_secret()
    body = resend_payload()
    assert StandardWebhooksVerifier(secret, MAX_AGE).verify(request(body, resend_headers(secret, body)), NOW) is None


def test_resend_verify_svix_header_names():
    secret = new_resend_secret()
    body = resend_payload()
    headers = {name.replace("webhook-", "svix-"): value for name, value in resend_headers(secret, body).items()}
    assert StandardWebhooksVerifier(secret, MAX_AGE).verify(request(body, headers), NOW) is None


def test_resend_verify_tampered_body():
    secret = new_resend_secret()
    body = resend_payload()
    headers = resend_headers(secret, body)
    with pytest.raises(VerificationError):
        StandardWebhooksVerifier(secret, MAX_AGE).verify(request(resend_payload("re-2"), headers), NOW)


def test_resend_verify_missing_headers():
    with pytest.raises(VerificationError) as caught:
        StandardWebhooksVerifier(new_resend_secret(), MAX_AGE).verify(request(resend_payload(), {}), NOW)
    assert caught.value.status == 401


def test_resend_verify_any_listed_signature():
    secret = new_resend_secret()
    body = resend_payload()
    headers = resend_headers(secret, body)
    headers["webhook-signature"] = "v1,c3RhbGU= " + headers["webhook-signature"]
    assert StandardWebhooksVerifier(secret, MAX_AGE).verify(request(body, headers), NOW) is None


def test_resend_verify_wrong_secret():
    body = resend_payload()
    headers = resend_headers(new_resend_secret(), body)
    with pytest.raises(VerificationError):
        StandardWebhooksVerifier(new_resend_secret(), MAX_AGE).verify(request(body, headers), NOW)


def test_resend_verify_stale_timestamp():
    secret = new_resend_secret()
    body = resend_payload()
    headers = resend_headers(secret, body, timestamp=NOW_SECONDS + 3600)
    with pytest.raises(VerificationError, match="stale"):
        StandardWebhooksVerifier(secret, MAX_AGE).verify(request(body, headers), NOW)


def test_basic_auth_verify_credentials():
    verifier = BasicAuthVerifier("postmark", username="hook", password="pw-1", token=None)
    assert verifier.verify(request(b"{}", basic_auth("hook", "pw-1")), NOW) is None


def test_basic_auth_verify_wrong_password():
    verifier = BasicAuthVerifier("postmark", username="hook", password="pw-1", token=None)
    with pytest.raises(VerificationError) as caught:
        verifier.verify(request(b"{}", basic_auth("hook", "pw-2")), NOW)
    assert caught.value.status == 403


def test_basic_auth_verify_bearer_token():
    verifier = BasicAuthVerifier("sparkpost", username=None, password=None, token="tok-1")
    assert verifier.verify(request(b"[]", {"Authorization": "Bearer tok-1"}), NOW) is None
    with pytest.raises(VerificationError):
        verifier.verify(request(b"[]", {"Authorization": "Bearer tok-2"}), NOW)


def test_basic_auth_verify_missing_header():
    verifier = BasicAuthVerifier("postmark", username="hook", password="pw-1", token=None)
    with pytest.raises(VerificationError) as caught:
        verifier.verify(request(b"{}", {}), NOW)
    assert caught.value.status == 401


def test_basic_auth_verify_unconfigured_scheme():
    verifier = BasicAuthVerifier("postmark", username="hook", password="pw-1", token=None)
    with pytest.raises(VerificationError, match="not configured"):
        verifier.verify(request(b"{}", {"Authorization": "Bearer " + base64.b64encode(b"x").decode()}), NOW)


def test_mailgun_verify_parent_signature():
    # A subaccount's event is signed with its own key and, in parent-signature, with the primary account's.
    body = json.loads(mailgun_body("primary-key", token="d" * 50))
    body["signature"]["parent-signature"] = body["signature"]["signature"]
    body["signature"]["signature"] = "0" * 64
    assert MailgunVerifier("primary-key", MAX_AGE).verify(request(json.dumps(body).encode(), {}), NOW) == "d" * 50

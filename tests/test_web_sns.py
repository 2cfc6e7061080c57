"""SES events through SNS: signature versions 1 and 2, certificate URL and topic checks, subscription confirmation."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from inboxwatch.store.schema import events

from sns_support import CERT_PATH, SUBSCRIBE_PATH, FakeSnsHost, ses_notification, subscription_confirmation
from web_support import TOPIC_ARN, make_client


@pytest.fixture(scope="module")
def sns_host():
    # One host for the module, because generating its RSA key is the slowest step.
    with FakeSnsHost() as host:
        yield host


@pytest.fixture
def client(tmp_path, sns_host):
    sns_host.requests.clear()
    return make_client(tmp_path, {"ses": {"topic_arns": [TOPIC_ARN]}}, sns_fetch=sns_host.fetch)


def post(client, envelope: dict):
    return client.post("/webhooks/ses", content=json.dumps(envelope), headers={"Content-Type": "text/plain; charset=UTF-8"})


def stored_message_ids(client) -> list[str]:
    with client.engine.connect() as conn:
        return list(conn.execute(sa.select(events.c.message_id)).scalars())


@pytest.mark.parametrize("version", ["1", "2"], ids=["sha1", "sha256"])
def test_sns_notification_signature_versions(client, sns_host, version):
    response = post(client, sns_host.sign(ses_notification(TOPIC_ARN), version))
    assert response.status_code == 200, response.text
    assert stored_message_ids(client) == ["ses-sns-1"]


def test_sns_certificate_fetched_once(client, sns_host):
    post(client, sns_host.sign(ses_notification(TOPIC_ARN, "sns-1")))
    post(client, sns_host.sign(ses_notification(TOPIC_ARN, "sns-2")))
    assert sns_host.requests == [CERT_PATH]


def test_sns_tampered_message_rejected(client, sns_host):
    envelope = sns_host.sign(ses_notification(TOPIC_ARN))
    envelope["Message"] = envelope["Message"].replace("fa@gmail.com", "other@gmail.com")
    response = post(client, envelope)
    assert response.status_code == 403
    assert stored_message_ids(client) == []


def test_sns_topic_not_allowed(client, sns_host):
    other_topic = "arn:aws:sns:us-east-1:123456789012:someone-else"
    response = post(client, sns_host.sign(ses_notification(other_topic)))
    assert response.status_code == 403
    assert "topic_arns" in response.json()["detail"]


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
        "http://sns.us-east-1.amazonaws.com/cert.pem",
        "https://127.0.0.1/cert.pem",
        "https://user@sns.us-east-1.amazonaws.com/cert.pem",
    ],
    ids=["suffix-host", "plain-http", "ip-address", "userinfo"],
)
def test_sns_certificate_url_outside_sns_rejected(client, sns_host, cert_url):
    envelope = sns_host.sign(dict(ses_notification(TOPIC_ARN), SigningCertURL=cert_url))
    response = post(client, envelope)
    assert response.status_code == 403
    assert sns_host.requests == []


def test_sns_unknown_signature_version_rejected(client, sns_host):
    envelope = sns_host.sign(ses_notification(TOPIC_ARN))
    envelope["SignatureVersion"] = "3"
    assert post(client, envelope).status_code == 403


def test_sns_raw_delivery_rejected(client):
    response = client.post("/webhooks/ses", content=b'{"eventType": "Delivery"}')
    assert response.status_code == 401


def test_sns_subscription_confirmation_visits_url(client, sns_host):
    response = post(client, sns_host.sign(subscription_confirmation(TOPIC_ARN)))
    assert response.status_code == 200, response.text
    assert sns_host.requests == [CERT_PATH, SUBSCRIBE_PATH]


def test_sns_subscription_url_outside_sns_not_visited(client, sns_host):
    envelope = dict(subscription_confirmation(TOPIC_ARN), SubscribeURL="https://attacker.example/confirm")
    response = post(client, sns_host.sign(envelope))
    assert response.status_code == 403
    assert SUBSCRIBE_PATH not in sns_host.requests


def test_sns_subscription_for_other_topic_not_confirmed(client, sns_host):
    other_topic = "arn:aws:sns:us-east-1:123456789012:someone-else"
    response = post(client, sns_host.sign(subscription_confirmation(other_topic)))
    assert response.status_code == 403
    assert sns_host.requests == []


def test_sns_body_not_json_is_401(client):
    response = client.post("/webhooks/ses", content=b"not json", headers={"Content-Type": "text/plain; charset=UTF-8"})
    assert response.status_code == 401
    assert "not valid JSON" in response.json()["detail"]
    assert "cannot be verified" in response.json()["detail"]

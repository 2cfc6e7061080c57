"""A stand-in for the SNS host: a self-signed signing certificate served over HTTP on 127.0.0.1.

The fetcher it provides maps `https://sns.<region>.amazonaws.com/<path>` to
the local server, so the code under test checks the real URL pattern while
every request stays on loopback.
"""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import threading
import urllib.parse

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from inboxwatch.web.verify.sns import canonical_text

CERT_PATH = "/SimpleNotificationService-test.pem"
CERT_URL = "https://sns.us-east-1.amazonaws.com" + CERT_PATH
SUBSCRIBE_PATH = "/?Action=ConfirmSubscription&TopicArn=test&Token=abc"
SUBSCRIBE_URL = "https://sns.us-east-1.amazonaws.com" + SUBSCRIBE_PATH


def signing_certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.us-east-1.amazonaws.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


class FakeSnsHost:
    """Serves the certificate and records every path requested. Use as a context manager."""

    def __init__(self) -> None:
        self.key, self.pem = signing_certificate()
        self.requests: list[str] = []
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests.append(self.path)
                body = host.pem if self.path == CERT_PATH else b"<ConfirmSubscriptionResponse/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeSnsHost":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fetch(self, url: str) -> bytes:
        parts = urllib.parse.urlsplit(url)
        local = "http://127.0.0.1:%d%s" % (self.server.server_port, parts.path + ("?" + parts.query if parts.query else ""))
        response = httpx.get(local, timeout=5)
        response.raise_for_status()
        return response.content

    def sign(self, envelope: dict, version: str = "2") -> dict:
        """Return the envelope with SignatureVersion, SigningCertURL and Signature set."""
        signed = dict(envelope, SignatureVersion=version, SigningCertURL=envelope.get("SigningCertURL", CERT_URL))
        algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()
        signature = self.key.sign(canonical_text(signed), padding.PKCS1v15(), algorithm)
        signed["Signature"] = base64.b64encode(signature).decode()
        return signed


def ses_notification(topic_arn: str, message_id: str = "sns-1") -> dict:
    message = {
        "eventType": "Delivery",
        "mail": {"timestamp": "2026-03-02T11:59:00.000Z", "messageId": "ses-" + message_id, "source": "news@example.com", "destination": ["fa@gmail.com"]},
        "delivery": {"timestamp": "2026-03-02T11:59:01.000Z", "recipients": ["fa@gmail.com"], "smtpResponse": "250 OK"},
    }
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(message),
        "Timestamp": "2026-03-02T11:59:02.000Z",
    }


def subscription_confirmation(topic_arn: str) -> dict:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "sub-1",
        "Token": "abc",
        "TopicArn": topic_arn,
        "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": SUBSCRIBE_URL,
        "Timestamp": "2026-03-02T11:00:00.000Z",
    }

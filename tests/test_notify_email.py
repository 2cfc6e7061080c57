import asyncio
import base64
import logging
import ssl
import subprocess
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from inboxwatch.config.channels import EmailChannelSettings
from inboxwatch.errors import ChannelError
from inboxwatch.notify.email import EmailChannel
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.sender import OutboxSender
from inboxwatch.store.db import open_engine

from notify_support import PAYLOAD, START, FakeClock, free_port, insert_notification, outbox_row

USERNAME = "alerts"
PASSWORD = "smtp-password-91c2"

ACCEPTED = "250 2.0.0 OK"
TRY_LATER = "451 4.3.0 Mail server temporarily unavailable"
NO_SUCH_USER = "550 5.1.1 No such user"

# aiosmtpd warns when AUTH is allowed without TLS; these loopback tests do that on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


class RecordingHandler:
    """An aiosmtpd handler that stores accepted messages and replies to DATA from a queue."""

    def __init__(self, data_replies=(), rcpt_reply=None):
        self.data_replies = list(data_replies)
        self.rcpt_reply = rcpt_reply
        self.messages = []

    async def handle_RCPT(self, server, smtp_session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, smtp_session, envelope):
        reply = self.data_replies.pop(0) if self.data_replies else ACCEPTED
        if reply.startswith("250"):
            self.messages.append(envelope)
        return reply


def check_credentials(server, smtp_session, envelope, mechanism, auth_data):
    accepted = auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=accepted, handled=False)


@pytest.fixture
def smtp_server():
    """Start aiosmtpd on 127.0.0.1; the test passes the handler and controller options."""
    controllers = []

    def start(handler, **options):
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return controller

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def make_settings(port, **overrides):
    values = {
        "name": "ops-email",
        "host": "127.0.0.1",
        "port": port,
        "starttls": False,
        "from_address": "inboxwatch <alerts@example.com>",
        "to": ["oncall@example.com", "postmaster@example.com"],
        "timeout": 5,
    }
    values.update(overrides)
    return EmailChannelSettings(**values)


def make_notification(key="a1b2c3"):
    return Notification(channel="ops-email", reason="firing", idempotency_key=key, payload=PAYLOAD, created_at=START)


def send(settings, password=None, notification=None):
    channel = EmailChannel(settings, password, FakeClock())
    asyncio.run(channel.send(notification or make_notification()))


def send_error(settings, password=None):
    with pytest.raises(ChannelError) as caught:
        send(settings, password)
    return caught.value


def parse(envelope):
    return message_from_bytes(envelope.content, policy=policy.default)


def test_email_plain_relay_delivers_message(smtp_server):
    handler = RecordingHandler()
    controller = smtp_server(handler)
    send(make_settings(controller.port))

    assert len(handler.messages) == 1
    envelope = handler.messages[0]
    assert envelope.mail_from == "alerts@example.com"
    assert envelope.rcpt_tos == ["oncall@example.com", "postmaster@example.com"]
    message = parse(envelope)
    assert message["Subject"] == "[FIRING critical] Microsoft bounce rate 12.5% over 10%"
    assert message["Message-ID"] == "<inboxwatch.a1b2c3@example.com>"
    assert message["X-Inboxwatch-Idempotency-Key"] == "a1b2c3"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "provider_bounce_rate" in text
    assert "microsoft" in text
    assert "<table" in html
    assert "Microsoft bounce rate 12.5% over 10%" in html


def test_email_message_id_same_for_duplicate_send(smtp_server):
    handler = RecordingHandler()
    controller = smtp_server(handler)
    settings = make_settings(controller.port)
    send(settings)
    send(settings)
    first, second = (parse(envelope)["Message-ID"] for envelope in handler.messages)
    assert first == second


def test_email_message_id_hashes_unsafe_key(smtp_server):
    handler = RecordingHandler()
    controller = smtp_server(handler)
    send(make_settings(controller.port), notification=make_notification(key="alert 7/firing@x"))
    message_id = parse(handler.messages[0])["Message-ID"]
    assert " " not in message_id
    assert message_id.endswith("@example.com>")


def test_email_auth_accepted_delivers(smtp_server):
    handler = RecordingHandler()
    controller = smtp_server(handler, authenticator=check_credentials, auth_require_tls=False, auth_required=True)
    send(make_settings(controller.port, username=USERNAME, password=PASSWORD), password=PASSWORD)
    assert len(handler.messages) == 1


def test_email_auth_rejected_is_permanent(smtp_server):
    controller = smtp_server(
        RecordingHandler(), authenticator=check_credentials, auth_require_tls=False, auth_required=True
    )
    error = send_error(make_settings(controller.port, username=USERNAME, password="wrong"), password="wrong")
    assert not error.retryable
    assert "authentication" in str(error)


def test_email_451_retryable_then_250_delivers(smtp_server):
    handler = RecordingHandler(data_replies=[TRY_LATER])
    controller = smtp_server(handler)
    settings = make_settings(controller.port)

    error = send_error(settings)
    assert error.retryable
    assert "451" in str(error)
    assert handler.messages == []

    send(settings)
    assert len(handler.messages) == 1


def test_email_550_data_is_permanent(smtp_server):
    controller = smtp_server(RecordingHandler(data_replies=[NO_SUCH_USER]))
    error = send_error(make_settings(controller.port))
    assert not error.retryable
    assert "550" in str(error)


def test_email_every_recipient_refused_is_permanent(smtp_server):
    controller = smtp_server(RecordingHandler(rcpt_reply=NO_SUCH_USER))
    error = send_error(make_settings(controller.port))
    assert not error.retryable
    assert "oncall@example.com" in str(error)


def test_email_connection_refused_is_retryable():
    error = send_error(make_settings(free_port()))
    assert error.retryable


def test_email_starttls_with_ca_file_delivers(smtp_server, certificate):
    cert, server_context = certificate
    handler = RecordingHandler()
    controller = smtp_server(handler, tls_context=server_context, require_starttls=True)
    send(make_settings(controller.port, starttls=True, ca_file=cert))
    assert len(handler.messages) == 1


def test_email_implicit_tls_delivers(smtp_server, certificate):
    cert, server_context = certificate
    handler = RecordingHandler()
    controller = smtp_server(handler, ssl_context=server_context)
    send(make_settings(controller.port, use_tls=True, starttls=False, ca_file=cert))
    assert len(handler.messages) == 1


def test_email_untrusted_certificate_is_permanent(smtp_server, certificate):
    _cert, server_context = certificate
    controller = smtp_server(RecordingHandler(), tls_context=server_context, require_starttls=True)
    error = send_error(make_settings(controller.port, starttls=True))
    assert not error.retryable
    assert "certificate" in str(error)


def test_email_starttls_missing_on_relay_is_permanent(smtp_server):
    controller = smtp_server(RecordingHandler())
    error = send_error(make_settings(controller.port, starttls=True))
    assert not error.retryable


def test_email_logs_hold_no_password(smtp_server, tmp_path, caplog):
    controller = smtp_server(
        RecordingHandler(), authenticator=check_credentials, auth_require_tls=False, auth_required=True
    )
    wrong_password = "wrong-" + PASSWORD
    settings = make_settings(controller.port, username=USERNAME, password_env="INBOXWATCH_TEST_SMTP_PASSWORD")
    channel = EmailChannel(settings, settings.resolve_password({"INBOXWATCH_TEST_SMTP_PASSWORD": wrong_password}), FakeClock())
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    outbox_id = insert_notification(engine, "k-email", channel="ops-email")
    sender = OutboxSender(engine, {"ops-email": channel}, FakeClock())

    with caplog.at_level(logging.DEBUG):
        summary = asyncio.run(sender.drain_once())

    assert summary.failed == 1
    row = outbox_row(engine, outbox_id)
    encoded = base64.b64encode(wrong_password.encode()).decode()
    for text in (caplog.text, row["last_error"], repr(settings), repr(channel.settings)):
        assert wrong_password not in text
        assert encoded not in text
    assert "outbox %d" % outbox_id in caplog.text
    engine.dispose()

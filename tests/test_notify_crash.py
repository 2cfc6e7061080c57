"""A sender killed mid-send loses nothing: the row is sent again after its lease expires.

Run once per channel type; each receiver is a loopback server (HTTP, or SMTP for email).
"""

import asyncio
import json
import re
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from inboxwatch.store.db import open_engine

from notify_support import START, Receiver, free_port, insert_notification, outbox_row

LEASE_MINUTES = 10

# Drains the outbox once through the channel described by the JSON
# settings on the command line. The clock is fixed at the time given on
# the command line, so the test moves time past the lease instead of
# waiting for it.
SENDER_SCRIPT = """
import asyncio, json, sys
from datetime import datetime, timedelta
from pydantic import TypeAdapter
from inboxwatch.config.channels import ChannelSettings
from inboxwatch.notify.channels import build_channel
from inboxwatch.notify.sender import OutboxSender
from inboxwatch.store.db import open_engine

store_url, settings_json, now_text, lease_minutes = sys.argv[1:5]
now = datetime.fromisoformat(now_text)
clock = lambda: now
settings = TypeAdapter(ChannelSettings).validate_python(json.loads(settings_json))
channel = build_channel(settings, clock, {})
sender = OutboxSender(open_engine(store_url), {"hook": channel}, clock, lease=timedelta(minutes=int(lease_minutes)))
print(asyncio.run(sender.drain_once()))
"""

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2


class SmtpReceiver:
    """An aiosmtpd server on 127.0.0.1 with the recording and stalling interface of `Receiver`.

    The message numbered `stall_on_request` gets no reply to DATA until
    `release` is set. The wait runs in a worker thread, so the server keeps
    accepting other connections meanwhile.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.stall_on_request: int | None = None
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.requests.append({"body": envelope.content})
            stalling = len(self.requests) == self.stall_on_request
        if stalling:
            self.stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        return "250 2.0.0 OK"

    def __enter__(self) -> "SmtpReceiver":
        self.controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release.set()
        self.controller.stop()


def channel_settings(kind: str, receiver) -> dict:
    """Settings of a channel named "hook" of type `kind` that sends to `receiver`.

    Every message carries the idempotency key, so the test can count
    deliveries per notification: in the JSON body (webhook), the context
    block (Slack), custom_details (PagerDuty), the message (Apprise), a Body
    template (Twilio) or the Message-ID (email).
    """
    common = {"name": "hook", "type": kind, "timeout": 60}
    if kind == "email":
        return {
            **common,
            "host": "127.0.0.1",
            "port": receiver.port,
            "starttls": False,
            "from_address": "alerts@example.com",
            "to": ["oncall@example.com"],
        }
    port = receiver.server.server_address[1]
    if kind == "webhook":
        return {**common, "url": receiver.url, "secret": "crash-test-secret"}
    if kind == "slack":
        return {**common, "url": receiver.url}
    if kind == "pagerduty":
        return {**common, "routing_key": "crash-routing-key", "base_url": receiver.origin}
    if kind == "twilio":
        return {
            **common,
            "account_sid": ACCOUNT_SID,
            "auth_token": "crash-token",
            "from_number": "+14155550100",
            "to": ["+14155550111"],
            "base_url": receiver.origin,
            "body_template": "{{ idempotency_key }}",
        }
    if kind == "apprise":
        return {**common, "urls": ["json://127.0.0.1:%d/hooks" % port]}
    raise ValueError("no crash-test settings for channel type %r" % kind)


# Generous bounds for a loaded machine; they only stop a hung test.
STALL_WAIT_SECONDS = 60
EXIT_WAIT_SECONDS = 60

KEY_PATTERN = re.compile(rb"crash-k[0-9]")


def start_sender(store_url, settings, now):
    return subprocess.Popen(
        [sys.executable, "-c", SENDER_SCRIPT, store_url, json.dumps(settings), now.isoformat(), str(LEASE_MINUTES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def received_keys(receiver) -> list[str]:
    with receiver.lock:
        return [KEY_PATTERN.search(request["body"]).group().decode() for request in receiver.requests]


@pytest.mark.parametrize("kind", ["webhook", "email", "slack", "pagerduty", "twilio", "apprise"])
def test_sender_killed_mid_send_loses_nothing(tmp_path, kind):
    store_url = "sqlite:///%s" % (tmp_path / "store.db")
    engine = open_engine(store_url)
    keys = ["crash-k0", "crash-k1", "crash-k2"]
    ids = [insert_notification(engine, key) for key in keys]

    with SmtpReceiver() if kind == "email" else Receiver() as receiver:
        settings = channel_settings(kind, receiver)
        receiver.stall_on_request = 2
        first = start_sender(store_url, settings, START)
        try:
            if not receiver.stalled.wait(STALL_WAIT_SECONDS):
                pytest.fail("sender never reached the second notification: %s" % first.stderr.read())
            first.send_signal(signal.SIGKILL)
        finally:
            first.wait(EXIT_WAIT_SECONDS)
        assert first.returncode == -signal.SIGKILL

        # The killed sender had delivered k0 and was holding the lease on k1.
        assert outbox_row(engine, ids[0])["status"] == "sent"
        assert outbox_row(engine, ids[1])["status"] == "pending"
        assert outbox_row(engine, ids[1])["leased_until"] is not None
        assert outbox_row(engine, ids[2])["status"] == "pending"

        restart_time = START + timedelta(minutes=LEASE_MINUTES, seconds=1)
        second = start_sender(store_url, settings, restart_time)
        _output, errors = second.communicate(timeout=EXIT_WAIT_SECONDS)
        assert second.returncode == 0, errors

    received = received_keys(receiver)
    assert received.count("crash-k0") == 1
    # k1 arrived twice (at least once); a receiver that deduplicates drops the copy by its key.
    assert received.count("crash-k1") == 2
    assert received.count("crash-k2") == 1
    for outbox_id in ids:
        assert outbox_row(engine, outbox_id)["status"] == "sent"
    engine.dispose()

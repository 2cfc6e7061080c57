"""A sender killed mid-send loses nothing: the row is sent again after its lease expires."""

import signal
import subprocess
import sys
from datetime import timedelta

import pytest

from inboxwatch.store.db import open_engine

from notify_support import START, Receiver, insert_notification, outbox_row

LEASE_MINUTES = 10

# Drains the outbox once through a webhook channel. The clock is fixed at
# the time given on the command line, so the test moves time past the
# lease instead of waiting for it.
SENDER_SCRIPT = """
import asyncio, sys
from datetime import datetime, timedelta
from inboxwatch.config.channels import WebhookChannelSettings
from inboxwatch.notify.sender import OutboxSender
from inboxwatch.notify.webhook import WebhookChannel
from inboxwatch.store.db import open_engine

store_url, hook_url, now_text, lease_minutes = sys.argv[1:5]
now = datetime.fromisoformat(now_text)
clock = lambda: now
settings = WebhookChannelSettings(name="hook", url=hook_url, timeout=60)
channel = WebhookChannel(settings, "crash-test-secret", clock)
sender = OutboxSender(open_engine(store_url), {"hook": channel}, clock, lease=timedelta(minutes=int(lease_minutes)))
print(asyncio.run(sender.drain_once()))
"""

# Generous bounds for a loaded machine; they only stop a hung test.
STALL_WAIT_SECONDS = 60
EXIT_WAIT_SECONDS = 60


def start_sender(store_url, hook_url, now):
    return subprocess.Popen(
        [sys.executable, "-c", SENDER_SCRIPT, store_url, hook_url, now.isoformat(), str(LEASE_MINUTES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sender_killed_mid_send_loses_nothing(tmp_path):
    store_url = "sqlite:///%s" % (tmp_path / "store.db")
    engine = open_engine(store_url)
    keys = ["crash-k0", "crash-k1", "crash-k2"]
    ids = [insert_notification(engine, key) for key in keys]

    with Receiver() as receiver:
        receiver.stall_on_request = 2
        first = start_sender(store_url, receiver.url, START)
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
        second = start_sender(store_url, receiver.url, restart_time)
        _output, errors = second.communicate(timeout=EXIT_WAIT_SECONDS)
        assert second.returncode == 0, errors

    received = receiver.keys()
    assert received.count("crash-k0") == 1
    # k1 arrived twice (at least once); a real receiver drops the copy by its Idempotency-Key.
    assert received.count("crash-k1") == 2
    assert received.count("crash-k2") == 1
    for outbox_id in ids:
        assert outbox_row(engine, outbox_id)["status"] == "sent"
    engine.dispose()

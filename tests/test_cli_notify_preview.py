"""`inboxwatch notify preview` and `inboxwatch notify history`."""

import json

from click.testing import CliRunner

from inboxwatch.cli.main import cli
from inboxwatch.store.db import open_engine

from notify_support import Receiver, insert_notification

ROUTING_KEY = "cli-preview-routing-key-4e2a"

CONFIG = """
[store]
url = "{store_url}"

[[channels]]
name = "pager"
type = "pagerduty"
routing_key = "{routing_key}"
base_url = "{origin}"

[[channels]]
name = "chat"
type = "slack"
url = "{hook_url}"
subject_template = "Custom {{{{ alert.rule }}}}"

[[channels]]
name = "hook"
type = "webhook"
url = "{hook_url}"
"""


def write_config(tmp_path, receiver: Receiver):
    store_url = "sqlite:///%s" % (tmp_path / "store.db")
    path = tmp_path / "inboxwatch.toml"
    path.write_text(
        CONFIG.format(store_url=store_url, routing_key=ROUTING_KEY, origin=receiver.origin, hook_url=receiver.url)
    )
    return path, store_url


def test_cli_preview_sample_sends_nothing(tmp_path):
    with Receiver() as receiver:
        config_path, _store_url = write_config(tmp_path, receiver)
        result = CliRunner().invoke(cli, ["notify", "preview", "pager", "--sample", "--config", str(config_path)])

    assert result.exit_code == 0, result.output
    assert receiver.requests == []
    event = json.loads(result.output)
    assert event["event_action"] == "trigger"
    assert ROUTING_KEY not in result.output


def test_cli_preview_uses_channel_templates(tmp_path):
    with Receiver() as receiver:
        config_path, _store_url = write_config(tmp_path, receiver)
        result = CliRunner().invoke(cli, ["notify", "preview", "chat", "--config", str(config_path)])

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["text"] == "Custom provider_bounce_rate"
    assert receiver.requests == []


def test_cli_preview_unknown_alert_fails(tmp_path):
    with Receiver() as receiver:
        config_path, _store_url = write_config(tmp_path, receiver)
        result = CliRunner().invoke(cli, ["notify", "preview", "chat", "--alert", "999", "--config", str(config_path)])
    assert result.exit_code != 0
    assert "alert 999 not found" in result.output


def test_cli_preview_alert_and_sample_exclusive(tmp_path):
    with Receiver() as receiver:
        config_path, _store_url = write_config(tmp_path, receiver)
        result = CliRunner().invoke(
            cli, ["notify", "preview", "chat", "--alert", "1", "--sample", "--config", str(config_path)]
        )
    assert result.exit_code == 2
    assert "exclude each other" in result.output


def test_cli_history_lists_attempts_by_channel(tmp_path):
    with Receiver() as receiver:
        config_path, store_url = write_config(tmp_path, receiver)
        engine = open_engine(store_url)
        insert_notification(engine, "hist-hook", channel="hook")
        insert_notification(engine, "hist-chat", channel="chat")
        receiver.replies.append((400, {}))
        runner = CliRunner()
        drained = runner.invoke(cli, ["notify", "drain", "--config", str(config_path)])
        everything = runner.invoke(cli, ["notify", "history", "--config", str(config_path)])
        only_chat = runner.invoke(cli, ["notify", "history", "--channel", "chat", "--config", str(config_path)])
        engine.dispose()

    assert drained.exit_code == 0, drained.output
    assert everything.exit_code == 0, everything.output
    lines = everything.output.splitlines()
    assert len(lines) == 3
    assert "failed" in lines[1] + lines[2]
    assert "HTTP 400" in everything.output
    chat_lines = only_chat.output.splitlines()[1:]
    assert len(chat_lines) == 1
    assert " chat " in chat_lines[0]


def test_cli_history_empty_store(tmp_path):
    with Receiver() as receiver:
        config_path, _store_url = write_config(tmp_path, receiver)
        result = CliRunner().invoke(cli, ["notify", "history", "--config", str(config_path)])
    assert result.exit_code == 0, result.output
    assert "no notification attempts" in result.output

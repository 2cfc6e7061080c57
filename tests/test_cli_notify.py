import json

from click.testing import CliRunner

from inboxwatch.cli.main import cli
from inboxwatch.store.db import open_engine

from notify_support import Receiver, insert_notification, outbox_row

SECRET_VARIABLE = "INBOXWATCH_TEST_WEBHOOK_SECRET"
SECRET = "cli-webhook-secret-5d1e"

CONFIG = """
[store]
url = "{store_url}"

[[channels]]
name = "hook"
type = "webhook"
url = "{hook_url}"
secret_env = "{variable}"
"""


def write_config(tmp_path, hook_url):
    store_url = "sqlite:///%s" % (tmp_path / "store.db")
    path = tmp_path / "inboxwatch.toml"
    path.write_text(CONFIG.format(store_url=store_url, hook_url=hook_url, variable=SECRET_VARIABLE))
    return path, store_url


def test_cli_notify_drain_sends_due_rows(tmp_path):
    with Receiver() as receiver:
        config_path, store_url = write_config(tmp_path, receiver.url)
        engine = open_engine(store_url)
        outbox_id = insert_notification(engine, "cli-k1")
        result = CliRunner().invoke(cli, ["notify", "drain", "--config", str(config_path)], env={SECRET_VARIABLE: SECRET})

    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert receiver.keys() == ["cli-k1"]
    assert outbox_row(engine, outbox_id)["status"] == "sent"
    engine.dispose()


def test_cli_notify_test_sends_through_channel(tmp_path):
    with Receiver() as receiver:
        config_path, _store_url = write_config(tmp_path, receiver.url)
        result = CliRunner().invoke(cli, ["notify", "test", "hook", "--config", str(config_path)], env={SECRET_VARIABLE: SECRET})

    assert result.exit_code == 0, result.output
    assert len(receiver.requests) == 1
    document = json.loads(receiver.requests[0]["body"])
    assert document["reason"] == "test"
    assert document["subject"].startswith("[TEST info]")


def test_cli_notify_test_reports_failure_kind(tmp_path):
    with Receiver() as receiver:
        receiver.replies.append((400, {}))
        config_path, _store_url = write_config(tmp_path, receiver.url)
        result = CliRunner().invoke(cli, ["notify", "test", "hook", "--config", str(config_path)], env={SECRET_VARIABLE: SECRET})

    assert result.exit_code == 1
    assert "permanent" in result.output
    assert "HTTP 400" in result.output


def test_cli_notify_test_unknown_channel_lists_configured(tmp_path):
    config_path, _store_url = write_config(tmp_path, "http://127.0.0.1:9/unused")
    result = CliRunner().invoke(cli, ["notify", "test", "pager", "--config", str(config_path)], env={SECRET_VARIABLE: SECRET})
    assert result.exit_code == 1
    assert "'pager' is not configured" in result.output
    assert "hook" in result.output


def test_cli_notify_missing_secret_variable_names_it(tmp_path):
    config_path, _store_url = write_config(tmp_path, "http://127.0.0.1:9/unused")
    result = CliRunner().invoke(cli, ["notify", "test", "hook", "--config", str(config_path)], env={SECRET_VARIABLE: ""})
    assert result.exit_code == 1
    assert SECRET_VARIABLE in result.output

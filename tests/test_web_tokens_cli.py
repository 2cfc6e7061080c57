"""`inboxwatch tokens`: the token is printed once and only its hash is stored."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from click.testing import CliRunner

from inboxwatch.cli.main import cli
from inboxwatch.store.db import open_engine
from inboxwatch.store.schema import api_tokens


def run(store: str, *args: str):
    return CliRunner().invoke(cli, ["tokens", *args, "--store", store])


def test_tokens_create_prints_token_once(tmp_path):
    store = "sqlite:///%s" % (tmp_path / "store.db")
    result = run(store, "create", "--role", "operator", "--name", "oncall")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("iwk_")
    with open_engine(store).connect() as conn:
        row = conn.execute(sa.select(api_tokens)).one()
    assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(tuple(row))


def test_tokens_list_and_revoke(tmp_path):
    store = "sqlite:///%s" % (tmp_path / "store.db")
    run(store, "create", "--role", "viewer", "--name", "grafana")
    listed = run(store, "list")
    assert "viewer\tgrafana" in listed.output
    assert run(store, "revoke", "1").exit_code == 0
    assert "grafana" not in run(store, "list").output
    assert "revoked" in run(store, "list", "--all").output


def test_tokens_revoke_unknown_fails(tmp_path):
    store = "sqlite:///%s" % (tmp_path / "store.db")
    result = run(store, "revoke", "42")
    assert result.exit_code != 0
    assert "not found" in result.output


def test_tokens_create_rejects_unknown_role(tmp_path):
    store = "sqlite:///%s" % (tmp_path / "store.db")
    result = run(store, "create", "--role", "root", "--name", "x")
    assert result.exit_code == 2

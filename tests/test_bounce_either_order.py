"""A bounce reported by both the MTA log and a bounce message counts once, in either order."""

import pytest
import sqlalchemy as sa

from inboxwatch.service.ingest import IngestOptions, ingest_paths
from inboxwatch.store.db import open_engine
from inboxwatch.store.schema import events, metadata
from test_service_bounce_events import OPTIONS, POSTFIX_LOG, postfix_dsn, rows, write

ROLLUP_TABLES = [table for name, table in metadata.tables.items() if name.startswith("rollups")]


def rollup_sums(engine, column):
    """Return the sum of `column` in every rollup table, by table name."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.coalesce(sa.func.sum(table.c[column]), 0))).scalar_one()
            for table in ROLLUP_TABLES
        }


def bounced_snapshot(engine):
    """Return the stored bounced events without ids and ingest ids, which depend on the order."""
    ignored = {"id", "ingest_id"}
    return [{key: value for key, value in row.items() if key not in ignored} for row in rows(engine, "bounced")]


@pytest.mark.parametrize("order", ["log first", "bounce message first"])
def test_bounce_counts_once_in_either_order(engine, tmp_path, order):
    log_path = write(tmp_path / "mail.log", POSTFIX_LOG)
    dsn_path = write(tmp_path / "dsn.eml", postfix_dsn())
    paths = [log_path, dsn_path] if order == "log first" else [dsn_path, log_path]

    for path in paths:
        ingest_paths(engine, [path], options=OPTIONS)

    bounced = rows(engine, "bounced")
    assert len(bounced) == 1
    event = bounced[0]
    assert event["source"] == "postfix"
    assert event["queue_id"] == "4ABC1"
    assert event["message_id"] == "m1@example.com"
    details = event["extra"]["bounce_message"]
    assert details["bounce_reason"] == "userunknown"
    assert details["hard"] is True
    assert details["enhanced_status"] == "5.1.1"
    assert "User unknown" in details["diagnostic"]
    assert rollup_sums(engine, "bounced") == {table.name: 1 for table in ROLLUP_TABLES}
    assert rollup_sums(engine, "hard_bounced") == {table.name: 1 for table in ROLLUP_TABLES}


def test_either_order_stores_same_event(tmp_path):
    paths = {"log": write(tmp_path / "mail.log", POSTFIX_LOG), "dsn": write(tmp_path / "dsn.eml", postfix_dsn())}
    snapshots = []
    for name, order in (("log-first", ["log", "dsn"]), ("dsn-first", ["dsn", "log"])):
        engine = open_engine("sqlite:///%s" % (tmp_path / ("%s.db" % name)))
        for kind in order:
            ingest_paths(engine, [paths[kind]], options=OPTIONS)
        snapshots.append(bounced_snapshot(engine))
        engine.dispose()

    assert snapshots[0] == snapshots[1]


def test_log_after_bounce_message_again_counts_once(engine, tmp_path):
    log_path = write(tmp_path / "mail.log", POSTFIX_LOG)
    dsn_path = write(tmp_path / "dsn.eml", postfix_dsn())

    for path in (dsn_path, log_path, dsn_path, log_path):
        ingest_paths(engine, [path], options=OPTIONS)

    assert len(rows(engine, "bounced")) == 1
    assert rollup_sums(engine, "bounced") == {table.name: 1 for table in ROLLUP_TABLES}


def test_log_after_bounce_message_domain_retention(engine, tmp_path):
    options = IngestOptions(recipient_retention="domain", reference_time=OPTIONS.reference_time)
    ingest_paths(engine, [write(tmp_path / "dsn.eml", postfix_dsn())], options=options)

    ingest_paths(engine, [write(tmp_path / "mail.log", POSTFIX_LOG)], options=options)

    bounced = rows(engine, "bounced")
    assert len(bounced) == 1
    assert bounced[0]["source"] == "postfix"
    assert bounced[0]["recipient"] is None
    assert rollup_sums(engine, "bounced") == {table.name: 1 for table in ROLLUP_TABLES}


def test_log_after_bounce_for_other_recipient_counts(engine, tmp_path):
    ingest_paths(engine, [write(tmp_path / "dsn.eml", postfix_dsn(recipient="erin@example.net"))], options=OPTIONS)

    ingest_paths(engine, [write(tmp_path / "mail.log", POSTFIX_LOG)], options=OPTIONS)

    assert sorted(row["recipient"] for row in rows(engine, "bounced")) == ["bob@example.net", "erin@example.net"]
    with engine.connect() as conn:
        sources = conn.execute(sa.select(events.c.source).where(events.c.type == "bounced")).scalars().all()
    assert sorted(sources) == ["bounce", "postfix"]

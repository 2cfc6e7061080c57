"""Job leases in the service: two processes on one database run each scheduled job once per interval.

Two `Service` objects with different lease holders stand for two processes.
Time is simulated: each test moves a clock by whole intervals and calls the
services' steps, or runs two real job loops in lockstep.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest

from inboxwatch.cli.run import selected_roles
from inboxwatch.config.models import Config
from inboxwatch.service import report_checks, runner
from inboxwatch.service.job_leases import JobLease, lease_ttl, new_holder_id
from inboxwatch.service.runner import ROLES, Service

START = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
INTERVAL = timedelta(minutes=1)
TICKS = 8


@pytest.fixture
def runs(monkeypatch):
    """Record (kind, time) for every evaluation the runner starts, then run the real one."""
    recorded: list[tuple[str, datetime]] = []
    real_evaluation, real_catch_up = runner.run_evaluation, runner.catch_up

    def run_evaluation(engine, config, now):
        recorded.append(("evaluate", now))
        return real_evaluation(engine, config, now)

    def catch_up(engine, config, now):
        recorded.append(("catch_up", now))
        return real_catch_up(engine, config, now)

    monkeypatch.setattr(runner, "run_evaluation", run_evaluation)
    monkeypatch.setattr(runner, "catch_up", catch_up)
    return recorded


def two_services(engine) -> tuple[Service, Service]:
    config = Config()
    return Service(engine, config, holder="host-a:1:aaaa"), Service(engine, config, holder="host-b:1:bbbb")


def test_services_evaluate_once_per_interval(engine, runs):
    first, second = two_services(engine)
    for tick in range(TICKS):
        now = START + tick * INTERVAL
        ran = [first.evaluate_once(now), second.evaluate_once(now)]
        assert ran == [True, False], "tick %d" % tick
    assert [at for _, at in runs] == [START + tick * INTERVAL for tick in range(TICKS)]
    assert runs[0][0] == "catch_up"


def test_services_purge_once_per_interval(engine):
    first, second = two_services(engine)
    for tick in range(3):
        now = START + tick * runner.RETENTION_INTERVAL
        assert second.purge_once(now)
        assert not first.purge_once(now)


def test_lease_holder_stopping_loses_job_after_ttl(engine, runs, caplog):
    first, second = two_services(engine)
    for tick in range(3):
        first.evaluate_once(START + tick * INTERVAL)
    last_renewal = START + 2 * INTERVAL
    ttl = lease_ttl(INTERVAL)

    # The first service stops renewing: the second one waits out the TTL.
    now = last_renewal + INTERVAL
    while now < last_renewal + ttl:
        assert not second.evaluate_once(now)
        now += INTERVAL
    runs.clear()
    with caplog.at_level(logging.INFO, logger="inboxwatch.service.job_leases"):
        assert second.evaluate_once(now)
        assert not first.evaluate_once(now)
    assert runs == [("catch_up", now)]
    assert "lease acquired by holder host-b:1:bbbb" in caplog.text
    assert "lease lost by holder host-a:1:aaaa to host-b:1:bbbb" in caplog.text


def test_service_join_releases_leases(engine, runs):
    first, second = two_services(engine)
    assert first.evaluate_once(START)
    first.join()
    assert second.evaluate_once(START + timedelta(seconds=1))


class LockstepTime:
    """Simulated time shared by two job loops: every `wait` meets the other loop's, then the clock moves one step."""

    def __init__(self, step: timedelta, ticks: int) -> None:
        self.now = START
        self.step = step
        self.ticks = ticks
        self.tick = 0
        self.barrier = threading.Barrier(2, action=self.advance)

    def advance(self) -> None:
        self.tick += 1
        self.now += self.step

    def clock(self) -> datetime:
        return self.now

    def is_set(self) -> bool:
        return self.tick >= self.ticks

    def wait(self, _seconds: float) -> bool:
        self.barrier.wait(timeout=60)
        return self.is_set()


def test_report_check_loops_run_once_per_interval(engine, monkeypatch):
    config = Config()
    interval = config.dmarc.check_interval
    runs: list[datetime] = []
    monkeypatch.setattr(report_checks, "run_report_checks", lambda engine, config, now, directory: runs.append(now))
    time = LockstepTime(interval, TICKS)
    ttl = lease_ttl(interval)
    loops = [
        threading.Thread(
            target=report_checks.run_report_checks_loop,
            args=(engine, config, time, time.clock),
            kwargs={"lease": JobLease(engine, "report_checks:default", holder, ttl)},
        )
        for holder in ("host-a:1:aaaa", "host-b:1:bbbb")
    ]
    for loop in loops:
        loop.start()
    for loop in loops:
        loop.join(timeout=120)
    assert not any(loop.is_alive() for loop in loops)
    assert runs == [START + tick * interval for tick in range(TICKS)]


def test_holder_id_names_host_and_pid():
    first, second = new_holder_id(), new_holder_id()
    assert first.split(":")[:2] == second.split(":")[:2]
    assert first != second


def test_lease_ttl_exceeds_interval():
    assert lease_ttl(timedelta(minutes=1)) == timedelta(seconds=90)
    assert lease_ttl(timedelta(hours=6)) == timedelta(hours=7, minutes=30)


def test_service_starts_only_selected_roles(engine):
    service = Service(engine, Config(), roles=("notify",))
    service.start()
    service.stop.set()
    service.join()
    assert [thread.name for thread in service.threads] == ["notify"]


def test_service_failing_worker_recorded(engine):
    def failing_worker(stop):
        raise RuntimeError("cannot open the followed log")

    service = Service(engine, Config(), extra_workers=[("follow mail.log", failing_worker)], roles=("notify",))
    service.start()
    # The failure stops the service by itself.
    assert service.stop.wait(10)
    service.join()
    assert service.failed_workers == ["follow mail.log"]


def test_service_unknown_role_rejected(engine):
    with pytest.raises(ValueError, match="unknown role 'scheduler'"):
        Service(engine, Config(), roles=("scheduler",))


@pytest.mark.parametrize(
    ("options", "http", "expected"),
    [
        pytest.param((), None, list(ROLES), id="default-all"),
        pytest.param(("all",), None, list(ROLES), id="all"),
        pytest.param(("notify", "evaluate"), None, ["evaluate", "notify"], id="two-roles"),
        pytest.param((), False, ["ingest", "evaluate", "notify", "checks"], id="no-http"),
        pytest.param(("checks",), True, ["http", "checks"], id="http-added"),
        pytest.param(("http",), False, [], id="nothing-left"),
    ],
)
def test_run_roles_selection(options, http, expected):
    assert selected_roles(options, http) == expected

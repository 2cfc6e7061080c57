"""The long-running service: log followers, folder and mailbox watchers, rule evaluation, report and DNS checks, and the outbox sender.

Each worker runs in its own thread and checks one shared stop event, so a
SIGTERM or SIGINT lets every worker write what it has buffered before the
process exits. Everything accepted before the stop is in the database.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from inboxwatch.config.models import Config
from inboxwatch.notify.channels import build_channels
from inboxwatch.notify.sender import OutboxSender
from inboxwatch.service.delivery_alerts import DeliveryAlerts
from inboxwatch.service.dns_schedule import run_dns_checks_loop
from inboxwatch.service.evaluate import catch_up, run_evaluation
from inboxwatch.service.folders import FolderWatcher
from inboxwatch.service.follower import LogFollower
from inboxwatch.service.ingest import IngestOptions
from inboxwatch.service.mailbox_watchers import build_mailbox_workers
from inboxwatch.service.report_checks import run_report_checks_loop
from inboxwatch.service.reputation import run_reputation_loop
from inboxwatch.store.retention import apply_retention

log = logging.getLogger(__name__)

RETENTION_INTERVAL = timedelta(hours=6)

# A worker from a higher layer (the HTTP server), run until the stop event is set.
Worker = Callable[[threading.Event], None]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def ingest_options(config: Config, tenant: str | None = None) -> IngestOptions:
    return IngestOptions(
        tenant=tenant or config.tenant,
        recipient_retention=config.store.recipient_retention,
        local_addresses=frozenset(config.sender.local_addresses),
    )


class Service:
    """Runs every configured worker until `stop` is set."""

    def __init__(
        self,
        engine: sa.Engine,
        config: Config,
        *,
        clock: Callable[[], datetime] = utc_now,
        extra_workers: Sequence[tuple[str, Worker]] = (),
    ) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self.extra_workers = tuple(extra_workers)
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        # Built before any worker starts, so a missing maildir or password stops the start cleanly.
        mailbox_workers = build_mailbox_workers(
            self.engine, self.config, lambda tenant: ingest_options(self.config, tenant), stop=self.stop, clock=self.clock
        )
        for source in self.config.sources.logs:
            follower = LogFollower(
                self.engine, source.path, kind=source.kind, options=ingest_options(self.config, source.tenant),
                stop=self.stop, clock=self.clock,
            )
            self._spawn("follow %s" % source.path, follower.run)
        for folder in self.config.sources.folders:
            watcher = FolderWatcher(
                self.engine, folder.path, kind=folder.kind, options=ingest_options(self.config, folder.tenant),
                stop=self.stop, clock=self.clock,
            )
            self._spawn("watch %s" % folder.path, watcher.run)
        for name, run in mailbox_workers:
            self._spawn(name, run)
        self._spawn("report checks", functools.partial(run_report_checks_loop, self.engine, self.config, self.stop, self.clock))
        if self.config.checks is not None:
            self._spawn("dns checks", functools.partial(run_dns_checks_loop, self.engine, self.config, self.stop, self.clock))
        self._spawn("reputation feeds", functools.partial(run_reputation_loop, self.engine, self.config, self.stop, self.clock))
        self._spawn("evaluate", self._evaluate_loop)
        self._spawn("notify", self._notify_loop)
        self._spawn("retention", self._retention_loop)
        for name, worker in self.extra_workers:
            self._spawn(name, functools.partial(worker, self.stop))
        log.info("service started: %d workers", len(self.threads))

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                target()
            except Exception:
                # A worker that dies must not take the others down silently.
                log.exception("worker %r failed; stopping the service", name)
                self.stop.set()

        thread = threading.Thread(target=guarded, name=name, daemon=False)
        thread.start()
        self.threads.append(thread)

    def _evaluate_loop(self) -> None:
        interval = self.config.service.evaluation_interval.total_seconds()
        try:
            catch_up(self.engine, self.config, self.clock())
        except sa.exc.SQLAlchemyError as exc:
            log.error("catching up on missed evaluations failed: %s", exc)
        while not self.stop.wait(interval):
            try:
                run_evaluation(self.engine, self.config, self.clock())
            except sa.exc.SQLAlchemyError as exc:
                log.error("evaluation failed: %s; retrying at the next interval", exc)

    def _notify_loop(self) -> None:
        channels = build_channels(self.config.channels, self.clock)
        sender = OutboxSender(self.engine, channels, self.clock, observer=DeliveryAlerts(self.engine, self.config))
        stop = asyncio.Event()

        async def main() -> None:
            async def relay_stop() -> None:
                while not self.stop.is_set():
                    await asyncio.sleep(0.2)
                stop.set()

            watcher = asyncio.create_task(relay_stop())
            await sender.run(stop)
            await watcher

        asyncio.run(main())

    def _retention_loop(self) -> None:
        while True:
            try:
                with self.engine.begin() as conn:
                    apply_retention(conn, now=self.clock(), event_days=self.config.store.retention_days)
            except sa.exc.SQLAlchemyError as exc:
                log.error("retention purge failed: %s", exc)
            if self.stop.wait(RETENTION_INTERVAL.total_seconds()):
                return

    def join(self) -> None:
        for thread in self.threads:
            thread.join()
        log.info("service stopped")


def run_service(engine: sa.Engine, config: Config, extra_workers: Sequence[tuple[str, Worker]] = ()) -> None:
    """Start the service and block until SIGTERM or SIGINT, then stop cleanly."""
    service = Service(engine, config, extra_workers=extra_workers)

    def request_stop(signum: int, _frame) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        service.stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    service.start()
    while not service.stop.wait(1.0):
        pass
    service.join()

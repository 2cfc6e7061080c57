"""The long-running service: log followers, folder and mailbox watchers, rule evaluation, report and DNS checks, and the outbox sender.

Each worker runs in its own thread and checks one shared stop event, so a
SIGTERM or SIGINT lets every worker write what it has buffered before the
process exits. Everything accepted before the stop is in the database.

The workers are grouped in roles (ROLES), so one process can run all of
them or several processes can share the work. Scheduled jobs that must run
once across processes take a job lease before each run (`job_leases`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import threading
from collections.abc import Callable, Collection, Sequence
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
from inboxwatch.service.job_leases import JobLease, lease_ttl, new_holder_id
from inboxwatch.service.mailbox_watchers import build_mailbox_workers
from inboxwatch.service.report_checks import run_report_checks_loop
from inboxwatch.service.reputation import run_reputation_loop
from inboxwatch.store.retention import apply_retention

log = logging.getLogger(__name__)

RETENTION_INTERVAL = timedelta(hours=6)

# The roles `inboxwatch run --role` selects. ingest: log followers, folder
# and mailbox watchers. evaluate: threshold, anomaly and reputation rules.
# notify: the outbox sender. http: the API, webhooks and /metrics (started
# by the caller as an extra worker). checks: DNS checks, DMARC and TLS
# report checks, reputation feed fetches and the retention purge.
ROLES = ("ingest", "evaluate", "notify", "http", "checks")

# Names of the job leases; the tenant is appended to those of per-tenant jobs.
EVALUATE_JOB = "evaluate"
REPORT_CHECKS_JOB = "report_checks"
DNS_CHECKS_JOB = "dns_checks"
REPUTATION_JOB = "reputation"
RETENTION_JOB = "retention"

# A worker from a higher layer (the HTTP server), run until the stop event is set.
Worker = Callable[[threading.Event], None]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def ingest_options(config: Config, tenant: str | None = None) -> IngestOptions:
    return IngestOptions.from_config(config, tenant)


class Service:
    """Runs the configured workers of the selected `roles` until `stop` is set.

    `holder` names this process in the job leases; by default it is the host
    name, the process id and a random suffix.
    """

    def __init__(
        self,
        engine: sa.Engine,
        config: Config,
        *,
        clock: Callable[[], datetime] = utc_now,
        extra_workers: Sequence[tuple[str, Worker]] = (),
        roles: Collection[str] = ROLES,
        holder: str | None = None,
    ) -> None:
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError("unknown role %r: expected one of %s" % (unknown[0], ", ".join(ROLES)))
        self.engine = engine
        self.config = config
        self.clock = clock
        self.extra_workers = tuple(extra_workers)
        self.roles = frozenset(roles)
        self.holder = holder or new_holder_id()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        # Names of workers that raised, each of which stopped the service.
        self.failed_workers: list[str] = []
        self.leases = self._build_leases()

    def _build_leases(self) -> dict[str, JobLease]:
        """Build the lease of each scheduled job, keyed by job name, with a TTL a little longer than its interval."""
        tenant = self.config.tenant
        intervals = {
            EVALUATE_JOB: ("%s:%s" % (EVALUATE_JOB, tenant), self.config.service.evaluation_interval),
            REPORT_CHECKS_JOB: ("%s:%s" % (REPORT_CHECKS_JOB, tenant), self.config.dmarc.check_interval),
            REPUTATION_JOB: ("%s:%s" % (REPUTATION_JOB, tenant), self.config.reputation.fetch_interval),
            # Retention purges every tenant's old events, so one process does it for all.
            RETENTION_JOB: (RETENTION_JOB, RETENTION_INTERVAL),
        }
        checks = self.config.checks
        if checks is not None:
            # The DNS loop renews the lease at every look at its schedule, but one
            # blocklist run can take minutes, so the TTL follows the shorter check interval.
            shortest = min(checks.blocklist_interval, checks.auth_interval)
            intervals[DNS_CHECKS_JOB] = ("%s:%s" % (DNS_CHECKS_JOB, tenant), shortest)
        return {
            job: JobLease(self.engine, name, self.holder, lease_ttl(interval)) for job, (name, interval) in intervals.items()
        }

    def start(self) -> None:
        if "ingest" in self.roles:
            self._start_ingest()
        if "checks" in self.roles:
            self._start_checks()
        if "evaluate" in self.roles:
            self._spawn("evaluate", self._evaluate_loop)
        if "notify" in self.roles:
            self._spawn("notify", self._notify_loop)
        for name, worker in self.extra_workers:
            self._spawn(name, functools.partial(worker, self.stop))
        log.info(
            "service started: roles %s, %d workers, lease holder %s",
            ", ".join(role for role in ROLES if role in self.roles), len(self.threads), self.holder,
        )

    def _start_ingest(self) -> None:
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

    def _start_checks(self) -> None:
        loop_arguments = (self.engine, self.config, self.stop, self.clock)
        self._spawn(
            "report checks", functools.partial(run_report_checks_loop, *loop_arguments, lease=self.leases[REPORT_CHECKS_JOB])
        )
        if self.config.checks is not None:
            self._spawn("dns checks", functools.partial(run_dns_checks_loop, *loop_arguments, lease=self.leases[DNS_CHECKS_JOB]))
        self._spawn(
            "reputation feeds", functools.partial(run_reputation_loop, *loop_arguments, lease=self.leases[REPUTATION_JOB])
        )
        self._spawn("retention", self._retention_loop)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                target()
            except Exception:
                # A worker that dies must not take the others down silently.
                log.exception("worker %r failed; stopping the service", name)
                self.failed_workers.append(name)
                self.stop.set()

        thread = threading.Thread(target=guarded, name=name, daemon=False)
        thread.start()
        self.threads.append(thread)

    def _evaluate_loop(self) -> None:
        interval = self.config.service.evaluation_interval.total_seconds()
        self.evaluate_once(self.clock())
        while not self.stop.wait(interval):
            self.evaluate_once(self.clock())

    def evaluate_once(self, now: datetime) -> bool:
        """Evaluate the rules at `now` if this process holds the evaluation lease; return whether it did.

        A process that has just taken the lease, at start or from a holder
        that stopped, first replays the intervals missed since the last
        stored evaluation.
        """
        lease = self.leases[EVALUATE_JOB]
        newly_held = not lease.held
        if not lease.acquire(now):
            return False
        if newly_held:
            try:
                catch_up(self.engine, self.config, now)
            except sa.exc.SQLAlchemyError as exc:
                log.error("catching up on missed evaluations failed: %s", exc)
            return True
        try:
            run_evaluation(self.engine, self.config, now)
        except sa.exc.SQLAlchemyError as exc:
            log.error("evaluation failed: %s; retrying at the next interval", exc)
        return True

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
            self.purge_once(self.clock())
            if self.stop.wait(RETENTION_INTERVAL.total_seconds()):
                return

    def purge_once(self, now: datetime) -> bool:
        """Apply the retention settings at `now` if this process holds the retention lease; return whether it did."""
        if not self.leases[RETENTION_JOB].acquire(now):
            return False
        try:
            with self.engine.begin() as conn:
                apply_retention(conn, now=now, event_days=self.config.store.retention_days)
        except sa.exc.SQLAlchemyError as exc:
            log.error("retention purge failed: %s", exc)
        return True

    def join(self) -> None:
        for thread in self.threads:
            thread.join()
        # Released only once every worker has ended, so no job runs without its lease.
        for lease in self.leases.values():
            lease.release()
        log.info("service stopped")


def run_service(
    engine: sa.Engine, config: Config, extra_workers: Sequence[tuple[str, Worker]] = (), roles: Collection[str] = ROLES
) -> list[str]:
    """Start the workers of `roles` and block until SIGTERM or SIGINT, then stop cleanly.

    Returns the names of the workers that failed and so stopped the service
    (empty after a requested stop), for the exit status.
    """
    service = Service(engine, config, extra_workers=extra_workers, roles=roles)

    def request_stop(signum: int, _frame) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        service.stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    service.start()
    while not service.stop.wait(1.0):
        pass
    service.join()
    return list(service.failed_workers)

"""Leases for the scheduled jobs of `inboxwatch run`, so several processes on one database run each job once.

Before each run a job loop calls `JobLease.acquire`. The lease lasts a
little longer than the loop's interval (`lease_ttl`), so a holder that runs
on time always renews it before it expires. A holder that stops renewing
loses the lease after the TTL, and another process takes the job over then.
Followers of local log files and folder watchers read this machine's files,
so they take no lease.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.store import leases as lease_store

log = logging.getLogger(__name__)

# The margin added to a loop's interval: a quarter of it, and at least this
# much, so a slow database or a long garbage collection does not cost the lease.
MIN_LEASE_MARGIN = timedelta(seconds=30)


def new_holder_id() -> str:
    """Return a holder id for this process: host name, process id and a random suffix.

    The suffix distinguishes two processes that reuse one pid, as containers
    started from the same image often do.
    """
    return "%s:%d:%s" % (socket.gethostname(), os.getpid(), secrets.token_hex(4))


def lease_ttl(interval: timedelta) -> timedelta:
    """Return the lease TTL of a job run every `interval`: the interval plus max(interval / 4, 30 s)."""
    return interval + max(interval / 4, MIN_LEASE_MARGIN)


class JobLease:
    """The lease of one named job for one holder, which logs when it is acquired, lost or cannot be renewed."""

    def __init__(self, engine: sa.Engine, name: str, holder: str, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            raise ValueError("invalid lease TTL %s for job %r: expected a positive duration" % (ttl, name))
        self.engine = engine
        self.name = name
        self.holder = holder
        self.ttl = ttl
        # Whether the last acquire succeeded, so a change is logged once.
        self.held = False

    def acquire(self, now: datetime) -> bool:
        """Take or renew the lease at `now`; return whether this holder may run the job.

        A database error counts as not holding the lease, so the run is
        skipped rather than run twice.
        """
        try:
            with self.engine.begin() as conn:
                acquired = lease_store.acquire(conn, self.name, self.holder, now, self.ttl)
                current = None if acquired else lease_store.get_lease(conn, self.name)
        except sa.exc.SQLAlchemyError as exc:
            log.error(
                "%s lease of job %s for holder %s failed: %s; skipping this run",
                "renewing the" if self.held else "acquiring the", self.name, self.holder, exc,
            )
            self.held = False
            return False

        if acquired and not self.held:
            log.info("job %s: lease acquired by holder %s until %s", self.name, self.holder, (now + self.ttl).isoformat())
        elif not acquired and self.held:
            log.warning(
                "job %s: lease lost by holder %s to %s; it was not renewed within %s",
                self.name, self.holder, current.holder if current else "no holder", self.ttl,
            )
        elif not acquired:
            log.debug(
                "job %s: skipped by holder %s, lease held by %s until %s",
                self.name, self.holder,
                current.holder if current else "another holder",
                current.expires_at.isoformat() if current else "unknown",
            )
        self.held = acquired
        return acquired

    def release(self) -> None:
        """Give up the lease if this holder has it, so another process takes the job over at once."""
        if not self.held:
            return
        try:
            with self.engine.begin() as conn:
                released = lease_store.release(conn, self.name, self.holder)
        except sa.exc.SQLAlchemyError as exc:
            log.error("releasing the lease of job %s for holder %s failed: %s; it expires on its own", self.name, self.holder, exc)
            return
        finally:
            self.held = False
        if released:
            log.info("job %s: lease released by holder %s", self.name, self.holder)

"""Ingesting a followed log file as it grows."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.parsers.base import SNIFF_BYTES, ParseContext, ParserSpec
from inboxwatch.parsers.registry import detect, get_parser
from inboxwatch.service.ingest import IngestOptions, new_writer, start_input
from inboxwatch.sources.follow import FollowedFile
from inboxwatch.store.positions import load_position, save_position

log = logging.getLogger(__name__)

# Seconds between writes of a partial batch while lines keep arriving.
FLUSH_INTERVAL = 2.0


def parser_for_log(path: str, kind: str | None) -> ParserSpec | None:
    """Return the parser for a followed file: the configured kind, or the one its first bytes match."""
    if kind:
        return get_parser(kind)
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return None
    return detect(head, path) if head.strip() else None


class LogFollower:
    """Follows one log file, writing its events in batches and storing the read position after each.

    The position is stored after the batch has committed. A crash between
    the two makes the next start read a few lines again, and the store
    skips the events it already has, so nothing is lost and nothing is
    counted twice.
    """

    def __init__(
        self,
        engine: sa.Engine,
        path: str,
        *,
        kind: str | None,
        options: IngestOptions,
        stop: threading.Event,
        clock: Callable[[], datetime],
        poll_interval: float = 1.0,
    ) -> None:
        self.engine = engine
        self.path = path
        self.kind = kind
        self.options = options
        self.stop = stop
        self.clock = clock
        self.poll_interval = poll_interval
        self._writer = None
        self._followed: FollowedFile | None = None
        self._last_flush = time.monotonic()

    def run(self) -> None:
        spec = self._wait_for_parser()
        if spec is None:
            return
        with self.engine.connect() as conn:
            start = load_position(conn, self.path)
        summary = start_input(self.engine, self.path, spec.kind, self.clock)
        self._writer = new_writer(self.engine, summary, self.options, self.clock)
        self._followed = FollowedFile(
            self.path, start=start, stop=self.stop, poll_interval=self.poll_interval, on_idle=self.flush
        )
        context = ParseContext(
            source=self.path,
            reference_time=self.clock(),
            tenant=self.options.tenant,
            local_addresses=self.options.local_addresses,
        )
        log.info("following %s as %s", self.path, spec.kind)
        try:
            for item in spec.parse(self._followed, context):
                self._writer.add(item)
                if time.monotonic() - self._last_flush >= FLUSH_INTERVAL:
                    self.flush()
        finally:
            self.flush()
            self._followed.close()
            log.info("stopped following %s: %d events stored", self.path, summary.events_stored)

    def _wait_for_parser(self) -> ParserSpec | None:
        warned = False
        while not self.stop.is_set():
            spec = parser_for_log(self.path, self.kind)
            if spec is not None:
                return spec
            if not warned:
                log.warning("log %s is missing, empty or not a known format yet; waiting for it", self.path)
                warned = True
            self.stop.wait(self.poll_interval)
        return None

    def flush(self) -> None:
        if self._writer is None or self._followed is None:
            return
        self._writer.flush()
        position = self._followed.safe_position()
        if position is not None:
            with self.engine.begin() as conn:
                save_position(conn, position, self.clock())
        self._last_flush = time.monotonic()

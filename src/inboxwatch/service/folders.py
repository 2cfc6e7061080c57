"""Ingesting files dropped into watched folders."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.service.ingest import IngestOptions, ingest_paths

log = logging.getLogger(__name__)

DONE_FOLDER = "done"
FAILED_FOLDER = "failed"


class FolderWatcher:
    """Ingests each file that appears in a folder, then moves it to `done/` (or `failed/`).

    A file is taken only once its size and modification time stayed the same
    over one scan, so a file still being copied in is left alone. Files that
    could not be read at all go to `failed/`; their reasons are in the
    quarantine. A crash after ingest but before the move ingests the file
    again on restart, which stores nothing twice.
    """

    def __init__(
        self,
        engine: sa.Engine,
        folder: str,
        *,
        kind: str | None,
        options: IngestOptions,
        stop: threading.Event,
        clock: Callable[[], datetime],
        scan_interval: float = 5.0,
    ) -> None:
        self.engine = engine
        self.folder = folder
        self.kind = kind
        self.options = options
        self.stop = stop
        self.clock = clock
        self.scan_interval = scan_interval
        self._seen: dict[str, tuple[int, float]] = {}

    def run(self) -> None:
        log.info("watching folder %s", self.folder)
        while not self.stop.is_set():
            self.scan_once()
            self.stop.wait(self.scan_interval)
        log.info("stopped watching folder %s", self.folder)

    def scan_once(self) -> int:
        """Ingest the files that are ready; return how many were taken."""
        try:
            names = sorted(os.listdir(self.folder))
        except OSError as exc:
            log.error("cannot list watched folder %s: %s", self.folder, exc)
            return 0
        taken = 0
        current: dict[str, tuple[int, float]] = {}
        for name in names:
            path = os.path.join(self.folder, name)
            if name.startswith(".") or not os.path.isfile(path):
                continue
            stat = os.stat(path)
            current[path] = (stat.st_size, stat.st_mtime)
            if self._seen.get(path) == current[path]:
                self._take(path)
                current.pop(path)
                taken += 1
        self._seen = current
        return taken

    def _take(self, path: str) -> None:
        summary = ingest_paths(self.engine, [path], kind=self.kind, options=self.options, clock=self.clock)
        result = summary.inputs[0] if summary.inputs else None
        failed = result is None or not result.was_read
        target_folder = os.path.join(self.folder, FAILED_FOLDER if failed else DONE_FOLDER)
        os.makedirs(target_folder, exist_ok=True)
        target = os.path.join(target_folder, os.path.basename(path))
        os.replace(path, target)
        if failed:
            log.warning("dropped file %s could not be read (%s); moved to %s", path, result.error if result else "no result", target)
        else:
            log.info("dropped file %s ingested: %d events stored; moved to %s", path, result.events_stored, target)

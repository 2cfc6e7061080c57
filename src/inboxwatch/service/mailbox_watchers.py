"""Workers of `inboxwatch run` that poll maildirs and IMAP mailboxes for new messages.

Each poll reads the waiting messages, stores what they contain, and only
then files them away, so a crash in between means a message is read again,
which stores nothing twice. Failures to reach a mailbox are logged and
retried at the next poll.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.config.models import Config, ImapSource
from inboxwatch.errors import ConfigError
from inboxwatch.service.ingest import IngestOptions
from inboxwatch.service.mail_ingest import ingest_messages
from inboxwatch.sources.imap import ImapAccount, ImapError, ImapMailbox
from inboxwatch.sources.mailboxes import MaildirPoller

log = logging.getLogger(__name__)

# Messages ingested per round, so a full mailbox is read in bounded memory.
MESSAGES_PER_ROUND = 50


class MaildirWatcher:
    """Ingests new messages of a maildir and moves them to its processed or failed subfolder."""

    def __init__(
        self,
        engine: sa.Engine,
        poller: MaildirPoller,
        *,
        kind: str | None,
        options: IngestOptions,
        stop: threading.Event,
        clock: Callable[[], datetime],
        poll_interval: float = 60.0,
    ) -> None:
        self.engine = engine
        self.poller = poller
        self.kind = kind
        self.options = options
        self.stop = stop
        self.clock = clock
        self.poll_interval = poll_interval

    def run(self) -> None:
        log.info("watching maildir %s", self.poller.path)
        while not self.stop.is_set():
            try:
                self.poll_once()
            except OSError as exc:
                log.error("reading maildir %s failed: %s; retrying in %.0f s", self.poller.path, exc, self.poll_interval)
            self.stop.wait(self.poll_interval)
        log.info("stopped watching maildir %s", self.poller.path)

    def poll_once(self) -> int:
        """Ingest the waiting messages; return how many were ingested."""
        ingested = 0
        while not self.stop.is_set():
            messages = self.poller.messages(MESSAGES_PER_ROUND)
            if not messages:
                break
            ingest_messages(
                self.engine, self.poller.path, "maildir", messages,
                kind=self.kind, options=self.options, clock=self.clock, on_commit=self._file_away,
            )
            ingested += len(messages)
        return ingested

    def _file_away(self, processed: list[str], failed: list[str]) -> None:
        self.poller.mark_processed(processed)
        self.poller.mark_failed(failed)
        if failed:
            log.warning("maildir %s: %d messages could not be parsed; moved to %s", self.poller.path, len(failed), self.poller.failed_folder)


class ImapWatcher:
    """Ingests the messages of an IMAP mailbox that match its search key, then moves or flags them."""

    def __init__(
        self,
        engine: sa.Engine,
        account: ImapAccount,
        *,
        kind: str | None,
        options: IngestOptions,
        stop: threading.Event,
        clock: Callable[[], datetime],
        poll_interval: float = 60.0,
    ) -> None:
        self.engine = engine
        self.account = account
        self.kind = kind
        self.options = options
        self.stop = stop
        self.clock = clock
        self.poll_interval = poll_interval

    def run(self) -> None:
        log.info("watching %s", self.account.describe())
        while not self.stop.is_set():
            try:
                self.poll_once()
            except ImapError as exc:
                log.error("%s; retrying in %.0f s", exc, self.poll_interval)
            self.stop.wait(self.poll_interval)
        log.info("stopped watching %s", self.account.describe())

    def poll_once(self) -> int:
        """Open a session, ingest every matching message in rounds, and close it; return how many were ingested."""
        ingested = 0
        with ImapMailbox(self.account) as mailbox:
            uids = mailbox.search()
            for start in range(0, len(uids), MESSAGES_PER_ROUND):
                if self.stop.is_set():
                    break
                messages = mailbox.fetch(uids[start : start + MESSAGES_PER_ROUND])

                def file_away(processed: list[str], failed: list[str]) -> None:
                    mailbox.mark_processed(processed)
                    mailbox.mark_failed(failed)
                    if failed:
                        log.warning("%s: %d messages could not be parsed: UIDs %s", self.account.describe(), len(failed), ",".join(failed))

                ingest_messages(
                    self.engine, self.account.describe(), "imap", messages,
                    kind=self.kind, options=self.options, clock=self.clock, on_commit=file_away,
                )
                ingested += len(messages)
        return ingested


def imap_account(source: ImapSource, environ: Mapping[str, str] = os.environ) -> ImapAccount:
    """Build the account of a `[[sources.imap]]` entry, reading its password from the environment.

    Raises `ConfigError` naming the variable when it is unset or empty.
    """
    password = environ.get(source.password_env)
    if not password:
        raise ConfigError(
            "sources.imap (%s@%s): environment variable %s named by password_env is not set; "
            "export it before starting inboxwatch" % (source.username, source.host, source.password_env)
        )
    return ImapAccount(
        host=source.host,
        port=source.port,
        username=source.username,
        password=password,
        tls=source.tls,
        mailbox=source.mailbox,
        search=source.search,
        processed_folder=source.processed_folder,
        failed_folder=source.failed_folder,
        ca_file=source.ca_file,
    )


def build_mailbox_workers(
    engine: sa.Engine,
    config: Config,
    options_for: Callable[[str | None], IngestOptions],
    *,
    stop: threading.Event,
    clock: Callable[[], datetime],
) -> list[tuple[str, Callable[[], None]]]:
    """Build a named worker for each `[[sources.maildirs]]` and `[[sources.imap]]` entry.

    Raises `MailboxError` for a path that is not a maildir and `ConfigError`
    for an unset password variable, before anything runs.
    """
    workers: list[tuple[str, Callable[[], None]]] = []
    for maildir in config.sources.maildirs:
        poller = MaildirPoller(maildir.path, processed_folder=maildir.processed_folder, failed_folder=maildir.failed_folder)
        maildir_watcher = MaildirWatcher(
            engine, poller, kind=maildir.kind, options=options_for(maildir.tenant),
            stop=stop, clock=clock, poll_interval=maildir.poll_interval.total_seconds(),
        )
        workers.append(("maildir %s" % maildir.path, maildir_watcher.run))
    for imap in config.sources.imap:
        imap_watcher = ImapWatcher(
            engine, imap_account(imap), kind=imap.kind, options=options_for(imap.tenant),
            stop=stop, clock=clock, poll_interval=imap.poll_interval.total_seconds(),
        )
        workers.append(("imap %s@%s" % (imap.username, imap.host), imap_watcher.run))
    return workers

"""Local mailboxes: maildir folders and mbox files, read one message at a time.

Each message comes out as its raw bytes with a key that names it inside
its mailbox (the maildir unique name, or the mbox position), so a failure
can be traced back to one message. Reading changes nothing: `ingest`
leaves the mailbox as it was. `MaildirPoller` moves a message to a
processed or failed Maildir++ subfolder, but only when the caller has
stored what the message produced.
"""

from __future__ import annotations

import dataclasses
import logging
import mailbox
import os
from collections.abc import Iterator

from inboxwatch.errors import InboxwatchError

log = logging.getLogger(__name__)

MAILDIR_SUBFOLDERS = ("cur", "new", "tmp")
MBOX_SEPARATOR = b"From "


class MailboxError(InboxwatchError):
    """A mailbox could not be opened or read."""


@dataclasses.dataclass(frozen=True, slots=True)
class MailMessage:
    """One message taken from a mailbox: its key in that mailbox and its raw bytes."""

    key: str
    data: bytes


def is_maildir(path: str) -> bool:
    """Tell whether `path` is a maildir: a folder with `cur`, `new` and `tmp` in it."""
    return os.path.isdir(path) and all(os.path.isdir(os.path.join(path, name)) for name in MAILDIR_SUBFOLDERS)


def is_mbox(path: str) -> bool:
    """Tell whether `path` is an mbox file: a regular file whose first line is a `From ` separator."""
    if not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as stream:
            return stream.read(len(MBOX_SEPARATOR)) == MBOX_SEPARATOR
    except OSError:
        return False


def maildir_messages(path: str) -> Iterator[MailMessage]:
    """Yield every message in the maildir at `path` (`new` and `cur`) in name order.

    Maildir names start with the delivery time, so name order is about delivery order.

    Maildir++ subfolders (`.processed`, `.failed`) are separate mailboxes
    and are not read.
    """
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.iterkeys()):
        try:
            data = box.get_bytes(key)
        except KeyError:
            # Another reader moved it between listing and reading.
            log.info("maildir %s: message %s disappeared while reading", path, key)
            continue
        yield MailMessage(key, data)


def mbox_messages(path: str) -> Iterator[MailMessage]:
    """Yield every message in the mbox file at `path`, keyed by its position from 1.

    The `From ` separator line is not part of the yielded bytes.
    """
    box = mailbox.mbox(path, factory=None, create=False)
    try:
        for position, key in enumerate(box.iterkeys(), start=1):
            yield MailMessage(str(position), box.get_bytes(key))
    finally:
        box.close()


class MaildirPoller:
    """Hands out a maildir's new messages and files each one away once it is stored.

    Messages stay in the inbox until `mark_processed` or `mark_failed` moves
    them into the Maildir++ subfolder `processed_folder` or `failed_folder`,
    created on first use. A crash before the move only means that the
    message is read again, which stores nothing twice.
    """

    def __init__(self, path: str, *, processed_folder: str = "processed", failed_folder: str = "failed") -> None:
        if not is_maildir(path):
            raise MailboxError("cannot watch maildir %s: not a folder with cur/, new/ and tmp/ in it" % path)
        self.path = path
        self.box = mailbox.Maildir(path, factory=None, create=False)
        self.processed_folder = processed_folder
        self.failed_folder = failed_folder

    def messages(self, limit: int) -> list[MailMessage]:
        """Return up to `limit` messages waiting in the inbox, in name (about delivery) order."""
        waiting = []
        for key in sorted(self.box.iterkeys()):
            if len(waiting) >= limit:
                break
            try:
                waiting.append(MailMessage(key, self.box.get_bytes(key)))
            except KeyError:
                continue
        return waiting

    def mark_processed(self, keys: list[str]) -> None:
        self._move(keys, self.processed_folder)

    def mark_failed(self, keys: list[str]) -> None:
        self._move(keys, self.failed_folder)

    def _move(self, keys: list[str], folder_name: str) -> None:
        if not keys:
            return
        try:
            target = self.box.get_folder(folder_name)
        except mailbox.NoSuchMailboxError:
            target = self.box.add_folder(folder_name)
        for key in keys:
            try:
                # Bytes are copied as they are, so the filed message is the one received.
                target.add(self.box.get_bytes(key))
                self.box.remove(key)
            except KeyError:
                log.info("maildir %s: message %s was already moved", self.path, key)

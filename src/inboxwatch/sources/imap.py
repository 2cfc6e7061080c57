"""An IMAP mailbox over TLS as a source of report, bounce and complaint messages.

Messages are addressed by UID (RFC 9051 section 2.3.1.1), which stays valid
across sessions, and fetched with `BODY.PEEK[]` so that reading them sets
no flag. Only `mark_processed` and `mark_failed` change the mailbox, and
the caller calls them after the store committed what the messages
produced. A message is then moved to a folder (UID MOVE, RFC 6851, or
COPY, STORE \\Deleted and EXPUNGE on servers without MOVE) or, when no
folder is configured, flagged `\\Seen`.
"""

from __future__ import annotations

import dataclasses
import imaplib
import logging
import re
import ssl
from collections.abc import Sequence
from typing import Literal

from inboxwatch.sources.mailboxes import MailboxError, MailMessage

log = logging.getLogger(__name__)

IMPLICIT_TLS_PORT = 993
STARTTLS_PORT = 143

UID_IN_RESPONSE = re.compile(rb"\bUID (\d+)")


class ImapError(MailboxError):
    """An IMAP server could not be reached, or it rejected the login or a command."""


@dataclasses.dataclass(frozen=True)
class ImapAccount:
    """Where and how to read one IMAP mailbox.

    `tls` is "implicit" (TLS from the first byte, port 993) or "starttls"
    (RFC 9051 section 6.2.1, port 143). There is no plaintext mode, because
    the login sends the password. `ca_file` adds a PEM file of trusted
    certificates, for servers with a private or self-signed certificate.
    `search` is an IMAP search key such as `UNSEEN` or `ALL`.
    """

    host: str
    username: str
    password: str = dataclasses.field(repr=False)
    port: int | None = None
    tls: Literal["implicit", "starttls"] = "implicit"
    mailbox: str = "INBOX"
    search: str = "UNSEEN"
    processed_folder: str | None = None
    failed_folder: str | None = None
    ca_file: str | None = None
    timeout: float = 60.0

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return IMPLICIT_TLS_PORT if self.tls == "implicit" else STARTTLS_PORT

    def describe(self) -> str:
        """Name the mailbox for logs and ingest records: user, host, port and mailbox, never the password."""
        return "imap://%s@%s:%d/%s" % (self.username, self.host, self.effective_port, self.mailbox)


def quote_mailbox(name: str) -> str:
    """Quote a mailbox name as an IMAP quoted string (RFC 9051 section 4.3).

    NOTE: names outside ASCII need modified UTF-7 (RFC 3501 section 5.1.3)
    or UTF8=ACCEPT, and neither is done here.
    """
    return '"%s"' % name.replace("\\", "\\\\").replace('"', '\\"')


class ImapMailbox:
    """One logged-in IMAP session with the account's mailbox selected. Use as a context manager."""

    def __init__(self, account: ImapAccount) -> None:
        self.account = account
        self.connection: imaplib.IMAP4 | None = None
        self.capabilities: frozenset[str] = frozenset()

    def __enter__(self) -> ImapMailbox:
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> None:
        account = self.account
        context = ssl.create_default_context(cafile=account.ca_file)
        try:
            if account.tls == "implicit":
                connection = imaplib.IMAP4_SSL(
                    account.host, account.effective_port, ssl_context=context, timeout=account.timeout
                )
            else:
                connection = imaplib.IMAP4(account.host, account.effective_port, timeout=account.timeout)
                connection.starttls(ssl_context=context)
            connection.login(account.username, account.password)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError("IMAP login to %s failed: %s" % (account.describe(), exc)) from exc
        self.connection = connection
        self.capabilities = frozenset(capability.upper() for capability in connection.capabilities)
        try:
            self._run("SELECT %s" % account.mailbox, connection.select, quote_mailbox(account.mailbox))
            for folder in (account.processed_folder, account.failed_folder):
                if folder:
                    self._ensure_folder(folder)
        except ImapError:
            self.close()
            raise
        log.info("opened %s", account.describe())

    def close(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.logout()
        except (OSError, imaplib.IMAP4.error) as exc:
            log.info("IMAP logout from %s failed: %s", self.account.describe(), exc)
        self.connection = None

    def search(self) -> list[str]:
        """Return the UIDs that match the account's search key, lowest (oldest) first."""
        data = self._command("SEARCH", self.account.search)
        uids = b" ".join(part for part in data if part).split()
        return [uid.decode("ascii") for uid in sorted(uids, key=int)]

    def fetch(self, uids: Sequence[str]) -> list[MailMessage]:
        """Fetch the whole messages with these UIDs without setting `\\Seen`; UIDs expunged meanwhile are left out."""
        if not uids:
            return []
        data = self._command("FETCH", ",".join(uids), "(UID BODY.PEEK[])")
        messages = []
        for item in data:
            # imaplib returns each literal as (response text, literal bytes).
            if not isinstance(item, tuple):
                continue
            match = UID_IN_RESPONSE.search(item[0])
            if match:
                messages.append(MailMessage(match.group(1).decode("ascii"), item[1]))
        return messages

    def mark_processed(self, uids: Sequence[str]) -> None:
        self._file_away(uids, self.account.processed_folder)

    def mark_failed(self, uids: Sequence[str]) -> None:
        self._file_away(uids, self.account.failed_folder)

    def _file_away(self, uids: Sequence[str], folder: str | None) -> None:
        if not uids:
            return
        uid_set = ",".join(uids)
        if not folder:
            self._command("STORE", uid_set, "+FLAGS.SILENT", "(\\Seen)")
            return
        if "MOVE" in self.capabilities:
            self._command("MOVE", uid_set, quote_mailbox(folder))
            return
        self._command("COPY", uid_set, quote_mailbox(folder))
        self._command("STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)")
        if "UIDPLUS" in self.capabilities:
            # RFC 4315 section 2.1: expunge only these UIDs, not other \Deleted messages.
            self._command("EXPUNGE", uid_set)
        else:
            # NOTE: a plain EXPUNGE also removes messages someone else flagged \Deleted.
            self._run("EXPUNGE", self._connection().expunge)

    def _ensure_folder(self, folder: str) -> None:
        try:
            status, data = self._connection().create(quote_mailbox(folder))
        except imaplib.IMAP4.error as exc:
            status, data = "BAD", [str(exc).encode()]
        if status != "OK":
            # Usually "already exists"; a real problem shows when messages are moved.
            log.debug("IMAP CREATE %s on %s: %s %s", folder, self.account.describe(), status, data)

    def _command(self, name: str, *arguments: str) -> list:
        return self._run("UID %s" % name, self._connection().uid, name, *arguments)

    def _run(self, command: str, method, *arguments: str) -> list:
        """Call an imaplib method and return its data; a NO or BAD reply or a lost connection raises `ImapError`."""
        try:
            status, data = method(*arguments)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError("IMAP %s on %s failed: %s" % (command, self.account.describe(), exc)) from exc
        if status != "OK":
            detail = b" ".join(part for part in data if isinstance(part, bytes)).decode("utf-8", "replace")
            raise ImapError("IMAP %s on %s failed: %s %s" % (command, self.account.describe(), status, detail))
        return data

    def _connection(self) -> imaplib.IMAP4:
        if self.connection is None:
            raise ImapError("IMAP mailbox %s is not open: call open() first" % self.account.describe())
        return self.connection

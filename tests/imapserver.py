"""A small IMAP4rev1 server over TLS on 127.0.0.1, for the IMAP source tests.

It implements only what `inboxwatch.sources.imap` sends: CAPABILITY, LOGIN,
SELECT, CREATE, UID SEARCH (ALL, UNSEEN), UID FETCH (BODY.PEEK[]), UID STORE,
UID COPY, UID MOVE, UID EXPUNGE, EXPUNGE, NOOP and LOGOUT, with one account.
Folders are lists of `StoredMessage` that tests can inspect. `MOVE` and
`UIDPLUS` can be left out of the capabilities to exercise the fallbacks.
"""

from __future__ import annotations

import dataclasses
import re
import socketserver
import ssl
import threading

from httpsserver import self_signed_certificate

TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\([^)]*\))|(\S+)')


@dataclasses.dataclass
class StoredMessage:
    uid: int
    data: bytes
    flags: set[str] = dataclasses.field(default_factory=set)


def parse_arguments(text: str) -> list[str]:
    arguments = []
    for quoted, group, atom in TOKEN.findall(text):
        if quoted or (not group and not atom):
            arguments.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            arguments.append(group or atom)
    return arguments


def uid_set(text: str, highest: int) -> set[int]:
    uids: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition(":")
        first = highest if low == "*" else int(low)
        last = first
        if high:
            last = highest if high == "*" else int(high)
        uids.update(range(min(first, last), max(first, last) + 1))
    return uids


class ImapState:
    """The account and its folders, shared by every connection."""

    def __init__(self, username: str, password: str, capabilities: tuple[str, ...]) -> None:
        self.username = username
        self.password = password
        self.capabilities = capabilities
        self.folders: dict[str, list[StoredMessage]] = {"INBOX": []}
        self.next_uid = 1
        self.lock = threading.Lock()
        self.commands: list[str] = []

    def deliver(self, data: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> int:
        with self.lock:
            uid = self.next_uid
            self.next_uid += 1
            self.folders.setdefault(folder, []).append(StoredMessage(uid, data, set(flags)))
            return uid


class Handler(socketserver.StreamRequestHandler):
    server: ImapServer

    def handle(self) -> None:
        self.state = self.server.state
        self.selected: str | None = None
        self.send("* OK IMAP4rev1 test server ready")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            tag, _, rest = line.decode("utf-8").rstrip("\r\n").partition(" ")
            command, _, argument_text = rest.partition(" ")
            command = command.upper()
            with self.state.lock:
                self.state.commands.append(rest if command != "LOGIN" else "LOGIN")
                if command == "LOGOUT":
                    self.send("* BYE logging out")
                    self.send("%s OK LOGOUT completed" % tag)
                    return
                self.dispatch(tag, command, parse_arguments(argument_text))

    def send(self, text: str) -> None:
        self.wfile.write(text.encode("utf-8") + b"\r\n")

    def dispatch(self, tag: str, command: str, arguments: list[str]) -> None:
        if command == "CAPABILITY":
            self.send("* CAPABILITY %s" % " ".join(self.state.capabilities))
        elif command == "NOOP":
            pass
        elif command == "LOGIN":
            if arguments != [self.state.username, self.state.password]:
                self.send("%s NO [AUTHENTICATIONFAILED] invalid credentials" % tag)
                return
        elif command == "SELECT":
            if arguments[0] not in self.state.folders:
                self.send("%s NO no such mailbox" % tag)
                return
            self.selected = arguments[0]
            self.send("* %d EXISTS" % len(self.state.folders[self.selected]))
            self.send("* OK [UIDVALIDITY 1] UIDs valid")
            self.send("%s OK [READ-WRITE] SELECT completed" % tag)
            return
        elif command == "CREATE":
            if arguments[0] in self.state.folders:
                self.send("%s NO [ALREADYEXISTS] mailbox exists" % tag)
                return
            self.state.folders[arguments[0]] = []
        elif command == "EXPUNGE":
            self.expunge(None)
        elif command == "UID":
            if not self.uid_command(tag, arguments[0].upper(), arguments[1:]):
                return
        else:
            self.send("%s BAD unknown command %s" % (tag, command))
            return
        self.send("%s OK %s completed" % (tag, command))

    def uid_command(self, tag: str, name: str, arguments: list[str]) -> bool:
        messages = self.state.folders[self.selected]
        highest = max((message.uid for message in messages), default=0)
        if name == "SEARCH":
            key = arguments[0].upper()
            found = [message.uid for message in messages if key == "ALL" or "\\Seen" not in message.flags]
            self.send("* SEARCH%s" % "".join(" %d" % uid for uid in found))
            return True
        wanted = uid_set(arguments[0], highest)
        chosen = [(number, message) for number, message in enumerate(messages, start=1) if message.uid in wanted]
        if name == "FETCH":
            for number, message in chosen:
                head = "* %d FETCH (UID %d BODY[] {%d}\r\n" % (number, message.uid, len(message.data))
                self.wfile.write(head.encode("ascii") + message.data + b")\r\n")
        elif name == "STORE":
            flags = arguments[2].strip("()").split()
            for _, message in chosen:
                message.flags.update(flags)
        elif name in ("COPY", "MOVE"):
            if arguments[1] not in self.state.folders:
                self.send("%s NO [TRYCREATE] no such mailbox" % tag)
                return False
            for _, message in chosen:
                self.state.folders[arguments[1]].append(StoredMessage(self.state.next_uid, message.data, set(message.flags)))
                self.state.next_uid += 1
            if name == "MOVE":
                for _, message in chosen:
                    message.flags.add("\\Deleted")
                self.expunge(wanted)
        elif name == "EXPUNGE":
            self.expunge(wanted)
        else:
            self.send("%s BAD unknown UID command %s" % (tag, name))
            return False
        return True

    def expunge(self, only: set[int] | None) -> None:
        messages = self.state.folders[self.selected]
        for number in range(len(messages), 0, -1):
            message = messages[number - 1]
            if "\\Deleted" in message.flags and (only is None or message.uid in only):
                del messages[number - 1]
                self.send("* %d EXPUNGE" % number)


class ImapServer(socketserver.ThreadingTCPServer):
    """Serves one account over implicit TLS on 127.0.0.1; use as a context manager."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, directory, *, username: str = "reports", password: str = "s3cret-imap",
                 capabilities: tuple[str, ...] = ("IMAP4rev1", "MOVE", "UIDPLUS")) -> None:
        self.cert_path, key_path = self_signed_certificate(directory)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.cert_path, key_path)
        self.state = ImapState(username, password, capabilities)
        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]

    def get_request(self):
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True), address

    def __enter__(self) -> ImapServer:
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown()
        self.server_close()

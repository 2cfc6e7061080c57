"""Following a growing log file across rotation, with a resumable position.

`FollowedFile` hands out complete lines only and remembers the byte offset
after each, so the caller can store how far it got and resume after a
restart. Rotation by rename (logrotate's default) is noticed when the path
names a new inode: the old file is read to its end first, then the new one
from its start. After a restart, the stored position names the inode of the
file last read. When the path now names another inode, the file in the same
directory that still has the stored inode (`mail.log.1`, say) is read from the
stored offset to its end before the new file. Truncation in place
(`copytruncate`) is noticed when the file becomes shorter than the offset, and
reading starts again at zero.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from stat import S_ISREG
from typing import BinaryIO

from inboxwatch.model.records import FilePosition

log = logging.getLogger(__name__)

# Bytes of a file's start hashed to recognise it again after a restart.
HEAD_DIGEST_BYTES = 1024

# Lines longer than this are cut; syslog relays cut far earlier.
MAX_LINE_BYTES = 1024 * 1024


def head_digest(handle: BinaryIO) -> str:
    position = handle.tell()
    handle.seek(0)
    digest = hashlib.sha256(handle.read(HEAD_DIGEST_BYTES)).hexdigest()
    handle.seek(position)
    return digest


def head_matches(handle: BinaryIO, start: FilePosition) -> bool:
    """Return True when the file's head is the one `start` was stored for.

    The stored digest covers the first `HEAD_DIGEST_BYTES` bytes the file had
    then. A file shorter than that may have grown since, so every head length
    from the stored offset up to the current head length is tried.
    """
    position = handle.tell()
    handle.seek(0)
    head = handle.read(HEAD_DIGEST_BYTES)
    handle.seek(position)
    for length in range(min(start.offset, len(head)), len(head) + 1):
        if hashlib.sha256(head[:length]).hexdigest() == start.head_digest:
            return True
    return False


def find_by_inode(directory: str, device: int, inode: int) -> str | None:
    """Return the path of the regular file in `directory` with this device and inode, or None."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return None
    for entry in entries:
        # lstat, not the directory entry's inode: on overlayfs the two can differ.
        try:
            status = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if (status.st_dev, status.st_ino) == (device, inode) and S_ISREG(status.st_mode):
            return entry.path
    return None


class FollowedFile(io.BufferedIOBase):
    """A read-only stream over a followed log file that returns one line per read.

    `read1` blocks, polling every `poll_interval` seconds, until a complete
    line is available or `stop` is set; then it returns b"" (end of stream).
    `on_idle`, when given, is called before each wait, so the caller can
    flush what it has buffered while no new lines arrive. `safe_position()` is the position after the line read `lag` lines ago:
    a parser may read ahead of the records it has yielded, so storing an
    older position never skips a line that was not processed. Lines read
    again after a restart produce the same event ids and are deduplicated by
    the store.
    """

    def __init__(
        self,
        path: str,
        *,
        start: FilePosition | None = None,
        stop: threading.Event | None = None,
        poll_interval: float = 1.0,
        lag: int = 8,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.path = path
        self.stop = stop or threading.Event()
        self.poll_interval = poll_interval
        self.on_idle = on_idle
        self._handle: BinaryIO | None = None
        self._stat: os.stat_result | None = None
        self._partial = b""
        self._recent: deque[FilePosition] = deque(maxlen=lag + 1)
        self._open(start)

    def readable(self) -> bool:
        return True

    def _open(self, start: FilePosition | None) -> None:
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            if start is None or not self._resume_rotated(start):
                log.warning("followed file %s does not exist yet; waiting for it", self.path)
            return
        stat = os.fstat(handle.fileno())
        offset = 0
        if start is not None and (start.device, start.inode) == (stat.st_dev, stat.st_ino):
            offset = self._resume_offset(handle, stat, start)
        elif start is not None and self._resume_rotated(start):
            # The new file is opened by `_check_rotation` once the rotated one is read to its end.
            handle.close()
            return
        handle.seek(offset)
        self._handle, self._stat = handle, stat
        self._remember(offset)
        log.info("following %s from byte %d", self.path, offset)

    def _resume_offset(self, handle: BinaryIO, stat: os.stat_result, start: FilePosition) -> int:
        """Return the stored offset, or 0 when the file was truncated or rewritten under the same inode."""
        if stat.st_size < start.offset:
            log.warning(
                "followed file %s is %d bytes, shorter than the stored position (byte %d), so it was truncated; "
                "reading it from the start",
                self.path, stat.st_size, start.offset,
            )
            return 0
        if not head_matches(handle, start):
            log.warning(
                "followed file %s has the stored inode %d but other content (rewritten, or a new file reusing "
                "the inode); reading it from the start, and the rest of the earlier file after byte %d "
                "could not be read",
                self.path, start.inode, start.offset,
            )
            return 0
        return start.offset

    def _resume_rotated(self, start: FilePosition) -> bool:
        """Open the renamed file that still has the stored inode at the stored offset; return whether it was found.

        Logrotate renames the followed file and creates a new one. Lines
        written to the old file after the stored position, and before the
        rename, are only in the renamed file.
        """
        directory = os.path.dirname(self.path) or "."
        rotated = find_by_inode(directory, start.device, start.inode)
        if rotated is None:
            log.warning(
                "followed file %s was rotated while not followed, and no file in %s has its stored inode %d "
                "(compressed or deleted?); the rest of the rotated file after byte %d could not be read",
                self.path, directory, start.inode, start.offset,
            )
            return False
        try:
            handle = open(rotated, "rb")
        except OSError as exc:
            log.warning(
                "rotated file %s of %s could not be opened (%s); the rest of it after byte %d could not be read",
                rotated, self.path, exc, start.offset,
            )
            return False
        stat = os.fstat(handle.fileno())
        if stat.st_size < start.offset or not head_matches(handle, start):
            log.warning(
                "file %s has the stored inode %d of %s but not its content (inode reused or file rewritten); "
                "the rest of the rotated file after byte %d could not be read",
                rotated, start.inode, self.path, start.offset,
            )
            handle.close()
            return False
        handle.seek(start.offset)
        self._handle, self._stat = handle, stat
        self._remember(start.offset)
        log.info(
            "followed file %s was rotated while not followed; reading the rest of %s from byte %d first",
            self.path, rotated, start.offset,
        )
        return True

    def _remember(self, offset: int) -> None:
        assert self._handle is not None and self._stat is not None
        self._recent.append(
            FilePosition(self.path, self._stat.st_dev, self._stat.st_ino, offset, head_digest(self._handle))
        )

    def safe_position(self) -> FilePosition | None:
        return self._recent[0] if self._recent else None

    def read1(self, size: int = -1) -> bytes:
        while True:
            line = self._next_line()
            if line:
                return line
            if self.stop.is_set():
                return b""
            self._check_rotation()
            if not self._handle_has_data():
                if self.on_idle is not None:
                    self.on_idle()
                self.stop.wait(self.poll_interval)

    def read(self, size: int | None = -1) -> bytes:
        return self.read1(-1 if size is None else size)

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _next_line(self) -> bytes:
        if self._handle is None:
            return b""
        chunk = self._handle.readline(MAX_LINE_BYTES)
        if not chunk:
            return b""
        if not chunk.endswith(b"\n") and len(chunk) < MAX_LINE_BYTES:
            # An incomplete last line: keep it until the writer finishes it.
            self._partial += chunk
            return b""
        line = self._partial + chunk
        self._partial = b""
        self._remember(self._handle.tell())
        return line

    def _handle_has_data(self) -> bool:
        if self._handle is None:
            return False
        return os.fstat(self._handle.fileno()).st_size > self._handle.tell()

    def _check_rotation(self) -> None:
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return
        if self._handle is None or self._stat is None:
            self._open(None)
            return
        if (current.st_dev, current.st_ino) != (self._stat.st_dev, self._stat.st_ino):
            if self._handle_has_data():
                return
            log.info("followed file %s was rotated; reading the new file from the start", self.path)
            if self._partial:
                log.warning("followed file %s ended with an incomplete line of %d bytes", self.path, len(self._partial))
                self._partial = b""
            self._handle.close()
            self._handle = None
            self._open(None)
        elif current.st_size < self._handle.tell():
            log.info("followed file %s was truncated; reading it from the start", self.path)
            self._handle.seek(0)
            self._partial = b""
            self._remember(0)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        super().close()

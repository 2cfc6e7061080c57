"""A binary stream that hands out one line per read, as a followed log does."""

from __future__ import annotations

import io


class LineStream(io.BufferedIOBase):
    """Return one line per `read1`, and fail a read past the lines given.

    `FollowedFile.read1` blocks until the next line is written. Here a read
    past the given lines raises instead, so a parser that requests more
    input before it yields what it already has fails the test rather than
    hanging.
    `reads` counts the `read1` calls made.
    """

    def __init__(self, lines: list[bytes]) -> None:
        super().__init__()
        self.lines = list(lines)
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        if not self.lines:
            raise AssertionError("read past the lines written so far: a followed log would block here")
        self.reads += 1
        return self.lines.pop(0)

    def read(self, size: int | None = -1) -> bytes:
        return self.read1()

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

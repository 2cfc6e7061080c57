"""Parsing a large log in a child process while this process writes what it parsed.

On a multi-core machine, reading and correlating a log and writing its
events to the store take about the same time, so doing them side by side
nearly halves an ingest. The child parses the input and builds each batch's
insert rows (`batches.Batch`). The parent receives whole batches through a
pipe and writes them in order, each in its own transaction, as it does when
it parses the input itself. The pipe holds about one batch, so the child
runs at most a batch or two ahead and memory stays flat.

The child is forked, so it starts at once with the parser, the open input
and the writer's settings; it never touches the parent's database
connections, and it ends with `os._exit`, which runs no clean-up that could.
"""

from __future__ import annotations

import gzip
import io
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from inboxwatch.errors import ParseError
from inboxwatch.parsers.base import ParseContext, ParserSpec
from inboxwatch.service.batches import Batch

log = logging.getLogger(__name__)

# Inputs smaller than this are parsed in the writing process: forking and
# passing batches cost more than they save on a small file.
MIN_PARALLEL_BYTES = 16 * 1024 * 1024

# Message tags on the pipe from the child.
BATCH = "batch"
DONE = "done"
PARSE_ERROR = "parse-error"
READ_ERROR = "read-error"
FAILED = "failed"

# Errors that mean the input could not be read to its end, as in `ingest_path`.
READ_ERRORS = (OSError, EOFError, gzip.BadGzipFile, UnicodeError)


def can_parse_in_child(spec: ParserSpec, size: int | None) -> bool:
    """Return whether an input is worth parsing in a child: a line log of known, large size, where fork is safe.

    Only a single-threaded process forks (the `ingest` command, not the
    service), because a lock that another thread holds at the fork stays
    locked forever in the child.
    """
    return (
        spec.yields_events_only
        and size is not None
        and size >= MIN_PARALLEL_BYTES
        and (os.cpu_count() or 1) > 1
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )


class ChildParse:
    """Batches parsed by a child process, in input order; iterate once.

    `bytes_read` is how far the child had read when it sent the last batch
    received. A whole-input error in the child is raised here as the
    `ParseError` (or read error) it was, so the caller handles it as if it
    had parsed the input itself.
    """

    def __init__(
        self,
        spec: ParserSpec,
        stream: BinaryIO,
        context: ParseContext,
        new_batch: Callable[[], Batch],
        batch_size: int,
        counting_reader: Callable[[BinaryIO], Any],
    ) -> None:
        self.bytes_read = 0
        receiver, sender = multiprocessing.Pipe(duplex=False)
        fork = multiprocessing.get_context("fork")
        self.process = fork.Process(
            target=run_child,
            args=(spec, stream, context, new_batch, batch_size, counting_reader, sender),
            name="inboxwatch-parse",
            daemon=True,
        )
        self.process.start()
        sender.close()
        self.receiver = receiver
        log.debug("%s: parsing in child process %s", context.source, self.process.pid)

    def __iter__(self) -> Iterator[Batch]:
        try:
            while True:
                try:
                    tag, payload, bytes_read = self.receiver.recv()
                except EOFError:
                    self.process.join()
                    raise ParseError(
                        "the parser process ended without finishing (exit code %s)" % self.process.exitcode
                    ) from None
                self.bytes_read = bytes_read
                if tag == BATCH:
                    yield payload
                elif tag == DONE:
                    return
                elif tag == PARSE_ERROR:
                    message, source, line, offset, field = payload
                    raise ParseError(message, source=source, line=line, offset=offset, field=field)
                elif tag == READ_ERROR:
                    raise OSError(payload)
                else:
                    raise ParseError("the parser failed: %s" % payload)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child if it is still running (the consumer stopped early) and release the pipe."""
        self.receiver.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()


def run_child(
    spec: ParserSpec,
    stream: BinaryIO,
    context: ParseContext,
    new_batch: Callable[[], Batch],
    batch_size: int,
    counting_reader: Callable[[BinaryIO], Any],
    sender: multiprocessing.connection.Connection,
) -> None:
    """Parse the input into batches and send them; always ends the process with `os._exit`.

    On a whole-input error, the batch in progress is sent before the error,
    so the parent keeps every item parsed before it, as in-place parsing does.
    """
    # Ctrl-C reaches the whole process group. The parent decides when to
    # stop, and closes the pipe, which ends this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    code = 0
    counter = counting_reader(stream)
    batch = new_batch()
    try:
        try:
            with io.BufferedReader(counter) as reader:
                for item in spec.parse(reader, context):
                    batch.add(item)
                    if batch.size >= batch_size:
                        sender.send((BATCH, batch, counter.count))
                        batch = new_batch()
            ending = (DONE, None)
        except ParseError as exc:
            ending = (PARSE_ERROR, (exc.message, exc.source, exc.line, exc.offset, exc.field))
        except READ_ERRORS as exc:
            ending = (READ_ERROR, str(exc))
        except Exception as exc:
            code = 1
            ending = (FAILED, "%s: %s" % (type(exc).__name__, exc))
        sender.send((BATCH, batch, counter.count))
        sender.send(ending + (counter.count,))
    except OSError:
        # The parent stopped reading (BrokenPipeError); nothing is left to tell it.
        code = 1
    finally:
        sender.close()
        os._exit(code)

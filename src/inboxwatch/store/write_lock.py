"""Serializing one process's SQLite write transactions on an engine, so that writers queue instead of polling.

SQLite allows one writer at a time. A connection that finds the database
locked waits in SQLite's busy handler, which sleeps between attempts: 1, 2,
5 and 10 ms, then longer, up to 100 ms (`sqliteDefaultBusyCallback` in
SQLite's main.c). So under concurrent writes the lock often sits free while
every waiter sleeps. A thread waiting on a `threading.Lock` instead runs as
soon as the previous writer commits, and holds no pooled connection while
it waits, as long as it takes the lock before it connects. Writers in other processes, and writers in this one that
do not take the lock, still wait in the busy handler (`SQLITE_BUSY_TIMEOUT_MS`).
"""

from __future__ import annotations

import contextlib
import threading
import weakref

import sqlalchemy as sa

_locks: weakref.WeakKeyDictionary[sa.Engine, threading.Lock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def write_lock(engine: sa.Engine) -> contextlib.AbstractContextManager:
    """Return the process-wide lock for write transactions on an SQLite engine, or a no-op for other backends.

    PostgreSQL locks rows, so its writers need no queue.
    """
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _locks_guard:
        lock = _locks.get(engine)
        if lock is None:
            lock = _locks[engine] = threading.Lock()
    return lock

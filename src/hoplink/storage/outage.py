"""Telling a database outage from a bug, for the adapters that answer people.

The API, the Shlink-compatible API and the dashboard answer an outage with
``503 unavailable`` and ``Retry-After`` (``ServiceUnavailable``) instead of a 500; a bug
stays a 500. Only storage knows the drivers, so the line is drawn here:

    sqlalchemy TimeoutError     no pooled connection came free within the pool timeout
    DBAPIError                  the connection broke during a statement (invalidated);
                                PostgreSQL SQLSTATE class 08 (connection), 53 (too many
                                connections, out of memory or disk), 57P (shut down,
                                cannot connect now); SQLite busy or locked past the busy
                                timeout, or the file cannot be opened, read or written
                                (I/O error, disk full, read-only, not a database)
    OSError, TimeoutError       raised inside the driver while connecting: refused,
                                reset, unreachable, asyncpg's connect timeout — only when
                                a driver frame raised it (a file error of our own is a bug)

Everything else — a constraint, a syntax error, a value the database refuses — is not
an outage. ``ADAPTER_TYPES`` are the classes an adapter registers its handler for; the
handler asks ``unavailable(exc)`` and re-raises what it returns None for.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import traceback

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from hoplink.errors import ServiceUnavailable

log = logging.getLogger("hoplink.storage")

RETRY_AFTER = 5  # seconds; what a redirect that misses during an outage says too
MESSAGE = "the database is unavailable right now; try again in a few seconds"
ADAPTER_TYPES: tuple[type[Exception], ...] = (DBAPIError, PoolTimeout, OSError)

_PG_CLASSES = ("08", "53", "57P")
# SQLite primary result codes (the low byte of the extended code).
_SQLITE_CODES = {
    5,  # SQLITE_BUSY: another connection holds the lock past the busy timeout
    6,  # SQLITE_LOCKED
    8,  # SQLITE_READONLY: the file or its directory is not writable
    10,  # SQLITE_IOERR
    11,  # SQLITE_CORRUPT
    13,  # SQLITE_FULL: disk full
    14,  # SQLITE_CANTOPEN: the file or its directory is gone or unreadable
    26,  # SQLITE_NOTADB
}
_DRIVERS = ("asyncpg", "aiosqlite", "sqlite3", "sqlalchemy")
_LOG_TRACE_EVERY = 100
_failures = itertools.count(1)


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None)
        if isinstance(sqlstate, str):
            return sqlstate.startswith(_PG_CLASSES)
        if isinstance(orig, sqlite3.Error):
            return (getattr(orig, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_CODES
        return isinstance(orig, OSError)
    if isinstance(exc, OSError):  # TimeoutError and ConnectionError are OSErrors
        return _raised_by_driver(exc)
    return False


def _raised_by_driver(exc: BaseException) -> bool:
    for frame, _line in traceback.walk_tb(exc.__traceback__):
        module = frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.split(".", 1)[0] in _DRIVERS:
            return True
    return False


def unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 for ``exc`` if it is a database outage (logged), else None."""
    if not is_outage(exc):
        return None
    n = next(_failures)
    # Every failed request is logged with its cause (the driver's error: not SQLAlchemy's
    # text, which carries the statement's parameters); the traceback once per 100 of them,
    # so an outage under load does not flood the log.
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    log.error(
        "database unavailable, answered 503 (%d so far): %s: %s",
        n,
        type(cause).__name__,
        cause,
        exc_info=exc if n % _LOG_TRACE_EVERY == 1 else None,
    )
    return ServiceUnavailable(MESSAGE, retry_after=RETRY_AFTER)

"""Connections the server dropped: found without a ping, and a unit re-run only when that is safe.

``pool_pre_ping`` sends a round trip before every checkout to learn what is
almost always true. This module learns it for free instead:

* **At checkout** (PostgreSQL, MariaDB): an idle pooled connection is never
  spoken to by the server except to end it (PostgreSQL's ``FATAL`` on
  ``pg_terminate_backend``, end-of-file on a restart, a ``KILL`` or an idle
  timeout). So a socket with something to read is a dead connection (or,
  rarely, one the server sent a notice: replacing it costs a reconnect);
  asking the operating system is one system call, no round trip. The pool
  replaces it, and every idle connection as old (a server that dropped one
  probably dropped all), through SQLAlchemy's own ``DisconnectionError``
  (``InvalidatePoolError``).
* **At the first statement**: a connection whose end is still on its way
  passes that check, and the unit's first statement fails. SQLAlchemy sees a
  disconnect (the dialect's ``is_disconnect``), invalidates the connection and
  the pool. Nothing of the unit took effect (no statement of it had
  completed; its transaction never reached the server, or died there
  uncommitted), so :func:`found_dead_at_first_statement` says so, and
  :func:`retrying_a_stale_connection` runs the unit once more on a fresh
  connection: ``Database.transaction()``, the web request and
  ``Database.ping()`` do. Whether a statement has completed is a flag per
  unit, set as each statement returns (:mod:`~alchemy_patterns.db.cursors`
  reports it): nothing is sent for it.
* **Later** (a statement had completed, or COMMIT was sent): whether the
  unit took effect is unknown. It is never re-run here; it fails as
  ``Unavailable``, and only a client that can make its retry safe (an
  idempotency key) retries it.
"""

from __future__ import annotations

import logging
import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy import exc as sa_exc

__all__ = [
    "found_dead_at_first_statement",
    "install_disconnect_handling",
    "outside_the_unit",
    "retrying_a_stale_connection",
    "statement_completed",
    "statement_failed",
]

T = TypeVar("T")

logger = logging.getLogger("alchemy_patterns.db")

#: Set on the error SQLAlchemy raises when a unit's first statement found its connection dead.
_FIRST_STATEMENT = "alchemy_patterns_found_at_first_statement"

SocketOf = Callable[[Any], int | None]


@dataclass
class _Unit:
    """What one unit of work (one web request, one ``transaction()``) has done so far."""

    statement_done: bool = False
    rerun: bool = False


_unit: ContextVar[_Unit | None] = ContextVar("alchemy_patterns_unit", default=None)


def install_disconnect_handling(engine: Engine, *, socket_of: SocketOf | None) -> None:
    """Find dead connections on ``engine`` without a round trip.

    ``socket_of(dbapi_connection)`` is the driver's socket (``None``: closed);
    given, a pooled connection whose socket is gone or has something to read
    is replaced at checkout. (A disconnect found by the first statement of a
    unit is marked through :func:`statement_failed`, whatever the driver.)
    """
    if socket_of is not None:
        event.listen(engine, "checkout", _refuse_closed(socket_of))


def found_dead_at_first_statement(error: BaseException) -> bool:
    """Whether ``error`` is a dead connection found by the first statement of its unit of work.

    Then nothing of the unit took effect, and running it again whole on a
    fresh connection is safe. Looks through ``raise AppError(...) from``.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, sa_exc.DBAPIError):
            # A disconnect (SQLAlchemy invalidated the connection) raised by a first statement.
            return seen.connection_invalidated and bool(getattr(seen.orig, _FIRST_STATEMENT, False))
        seen = seen.__cause__
    return False


def retrying_a_stale_connection(
    unit: Callable[[], T], *, fresh_start: Callable[[], None] = lambda: None
) -> T:
    """Run the unit of work ``unit()``; if its first statement found a dead connection, once more.

    ``fresh_start()`` runs between the two (e.g. discarding the failed
    session). The failure invalidated the pool, so the second run gets a new
    connection; if that one fails too, its error is raised. Any other error,
    a connection lost after a statement of the unit completed included, is
    raised at once: the unit may have taken effect. Called inside another
    unit, it is part of that one: it re-runs only while neither has
    completed a statement, and the two re-run once in all.
    """
    with _tracking() as progress:
        try:
            return unit()
        except Exception as error:
            if progress.rerun or progress.statement_done:
                raise
            if not found_dead_at_first_statement(error):
                raise
            progress.rerun = True
            logger.warning("the unit's first statement found its connection dead; again: %s", error)
        fresh_start()
        return unit()


@contextmanager
def outside_the_unit() -> Iterator[None]:
    """Statements in the block are no part of the current unit of work (a replica's probe).

    They neither count as its completed statements (which would stop its
    re-run) nor mark a dead connection as found by its first statement.
    """
    token = _unit.set(None)
    try:
        yield
    finally:
        _unit.reset(token)


@contextmanager
def _tracking() -> Iterator[_Unit]:
    outer = _unit.get()
    if outer is not None:
        yield outer
        return
    progress = _Unit()
    token = _unit.set(progress)
    try:
        yield progress
    finally:
        _unit.reset(token)


# --- what the unit has done: told by alchemy_patterns.db.cursors -------------------------------


def statement_completed() -> None:
    """A statement of the current unit of work (if any) completed: it may have taken effect."""
    progress = _unit.get()
    if progress is not None:
        progress.statement_done = True


def statement_failed(error: BaseException) -> None:
    """A statement inside a transaction raised the driver's ``error``.

    If it was the first of the unit, nothing of the unit can have taken effect
    (its transaction never committed): the error is marked so, and
    :func:`found_dead_at_first_statement` answers yes if SQLAlchemy found
    the connection dead.
    """
    progress = _unit.get()
    if progress is not None and not progress.statement_done:
        setattr(error, _FIRST_STATEMENT, True)


def _refuse_closed(socket_of: SocketOf) -> Callable[[Any, Any, Any], None]:
    def check(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if _closed_by_server(socket_of(dbapi_connection)):
            # The DisconnectionError that invalidates the pool too.
            raise sa_exc.InvalidatePoolError("the server closed this pooled connection")

    return check


def _closed_by_server(fd: int | None) -> bool:
    """Whether an idle connection's socket is gone or has something to read (its end)."""
    if fd is None or fd < 0:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)  # Windows: sockets only, which these are
    return bool(readable)


def psycopg_socket(dbapi_connection: Any) -> int | None:
    """The socket of a psycopg connection, or ``None`` once it is closed."""
    if dbapi_connection.closed:
        return None
    fd: int = dbapi_connection.fileno()
    return fd


def pymysql_socket(dbapi_connection: Any) -> int | None:
    """The socket of a PyMySQL connection, or ``None`` once it is closed.

    PyMySQL keeps it in ``_sock`` (it has no public accessor).
    """
    sock = getattr(dbapi_connection, "_sock", None)
    return None if sock is None else int(sock.fileno())

"""Connections ended from outside, as a server restart, a failover or an administrator would.

``kill()`` ends one connection of the engine under test and returns once it
is gone. On a server it is killed by another connection, made with the
driver alone: no SQLAlchemy event sees it, so it is no statement of the unit
under test. SQLite has no server: the connection is closed under the pool,
which SQLAlchemy also reads as a disconnect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from alchemy_patterns.db import Database

#: How long PostgreSQL may take to end the backend before ``kill()`` gives up, in milliseconds.
TERMINATE_WAIT_MS = 5000


def dbapi_connection(session: Session) -> Any:
    """The driver's connection under the session's transaction (checked out, nothing sent)."""
    return session.connection().connection.dbapi_connection


def pooled(db: Database, how_many: int) -> list[Any]:
    """Fill the pool with ``how_many`` connections, and return the driver's connections."""
    connections = [db.engine.connect() for _ in range(how_many)]
    drivers = [connection.connection.dbapi_connection for connection in connections]
    for connection in connections:
        connection.close()
    return drivers


def counted_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The pings ``engine`` sends from now on (``pool_pre_ping`` sends one per checkout)."""
    pings: list[Any] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def server_id(dbapi_connection: Any) -> int:
    """The server's id of a connection (backend pid, thread id), known without a round trip."""
    info = getattr(dbapi_connection, "info", None)
    if info is not None and hasattr(info, "backend_pid"):  # psycopg
        return int(info.backend_pid)
    return int(dbapi_connection.thread_id())  # PyMySQL


def kill(engine: Engine, dbapi_connection: Any) -> None:
    """End ``dbapi_connection``, a connection of ``engine``, from outside; it is gone on return."""
    if engine.dialect.name == "sqlite":
        dbapi_connection.close()
        return
    victim = server_id(dbapi_connection)
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    admin = engine.dialect.connect(*args, **kwargs)
    try:
        cursor = admin.cursor()
        if engine.dialect.name == "postgresql":  # waits until the backend has exited
            cursor.execute("SELECT pg_terminate_backend(%s, %s)", (victim, TERMINATE_WAIT_MS))
            assert cursor.fetchone() == (True,), f"backend {victim} did not end"
        else:
            cursor.execute(f"KILL CONNECTION {int(victim)}")
    finally:
        admin.close()


@contextmanager
def killing_before(engine: Engine, should_kill: Callable[[int, str], bool]) -> Iterator[list[str]]:
    """Kill the connection about to run a statement whenever ``should_kill(number, sql)`` says so.

    ``number`` counts the statements run on ``engine`` in the block, from 1,
    leaving out the BEGIN that SQLite's transactions send (it does nothing a
    retry could repeat). Yields the statements seen, each as it was about to run.
    """
    seen: list[str] = []

    def before(connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("BEGIN"):
            return
        seen.append(statement)
        if should_kill(len(seen), statement):
            kill(engine, connection.connection.dbapi_connection)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)

"""The pool survives connections the server killed, and fails fast when it has none to give."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, text

from alchemy_patterns.db import Database, EngineOptions, Unavailable, observers


def server_pids(db: Database, sessions: int) -> list[int]:
    """Open ``sessions`` connections at once (so the pool holds that many) and return their ids."""
    opened = [db.sessionmaker() for _ in range(sessions)]
    try:
        pid_sql = (
            "SELECT pg_backend_pid()" if db.backend == "postgresql" else "SELECT CONNECTION_ID()"
        )
        return [int(s.execute(text(pid_sql)).scalar_one()) for s in opened]
    finally:
        for session in opened:
            session.close()


def kill(url: str, backend: str, pids: list[int]) -> None:
    """Kill server connections from outside the pool, as a failover or an admin would.

    They are gone when this returns: PostgreSQL waits for each backend to exit
    (MariaDB's KILL closes the socket at once). One still ending would be found
    by the next unit's first statement, which ``transaction()`` runs again and a
    ``with`` block cannot (tests/db/test_disconnects.py).
    """
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for pid in pids:
                if backend == "postgresql":
                    connection.execute(
                        text("SELECT pg_terminate_backend(:pid, :wait_ms)"),
                        {"pid": pid, "wait_ms": 5000},
                    )
                else:
                    connection.exec_driver_sql(f"KILL CONNECTION {int(pid)}")
    finally:
        admin.dispose()


@pytest.mark.backends("postgresql", "mariadb")
def test_the_next_scope_succeeds_after_every_pooled_connection_was_killed(
    make_db: Callable[..., Database], database_url: str, backend: str
) -> None:
    name = f"ap-test-{uuid.uuid4().hex[:8]}"
    db = make_db(engine_options=EngineOptions(pool_size=3, application_name=name))
    killed = server_pids(db, 3)

    kill(database_url, backend, killed)

    with db.session_scope() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1
    assert not set(server_pids(db, 3)) & set(killed)


def test_an_exhausted_pool_raises_unavailable_after_its_timeout(
    make_db: Callable[..., Database],
) -> None:
    options = EngineOptions(pool_size=2, max_overflow=0, pool_timeout=1.0, node="reports")
    db = make_db(engine_options=options)
    timed_out: list[str] = []

    class Exhaustion(observers.Watcher):
        def checkout_timed_out(self, node: str) -> None:
            timed_out.append(node)

    stop_watching = observers.watch(Exhaustion())
    held = [db.engine.connect(), db.engine.connect()]
    try:
        started = time.monotonic()
        with (
            pytest.raises(Unavailable, match="no database connection free"),
            db.session_scope(read_only=True) as session,
        ):
            session.execute(text("SELECT 1"))
        waited = time.monotonic() - started
    finally:
        stop_watching()
        for connection in held:
            connection.close()

    assert 0.9 <= waited < 5.0  # about the pool timeout, not a hang
    assert timed_out == ["reports"]  # the metrics' db_pool_checkout_timeouts_total{node}
    with db.session_scope(read_only=True) as session:  # the pool recovers once freed
        assert session.execute(text("SELECT 1")).scalar_one() == 1


@pytest.mark.backends("postgresql", "mariadb")
def test_an_unreachable_database_is_unavailable_and_ping_says_so(
    make_db: Callable[..., Database], backend: str
) -> None:
    url = (
        "postgresql+psycopg://nobody@127.0.0.1:1/none"
        if backend == "postgresql"
        else "mysql+pymysql://nobody@127.0.0.1:1/none"
    )
    db = Database(url, engine_options=EngineOptions(pool_timeout=1.0))
    try:
        with pytest.raises(Unavailable, match="unavailable"), db.session_scope() as session:
            session.execute(text("SELECT 1"))
        assert db.ping() is False
    finally:
        db.dispose()


@pytest.mark.backends("postgresql")  # PyMySQL waits for a greeting with no timeout
def test_a_database_that_never_answers_is_unavailable_within_the_connect_timeout(
    make_db: Callable[..., Database],
) -> None:
    with socket.create_server(("127.0.0.1", 0), backlog=8) as silent:  # listens, never answers
        port = silent.getsockname()[1]
        db = Database(
            f"postgresql+psycopg://nobody@127.0.0.1:{port}/none",
            engine_options=EngineOptions(connect_timeout=1, pool_timeout=1.0),
        )
        try:
            started = time.monotonic()
            with pytest.raises(Unavailable), db.session_scope() as session:
                session.execute(text("SELECT 1"))
            waited = time.monotonic() - started
        finally:
            db.dispose()

    assert waited < 5.0  # the connect timeout, not the operating system's minutes


def test_ping_is_true_when_the_database_answers(db: Database) -> None:
    assert db.ping() is True

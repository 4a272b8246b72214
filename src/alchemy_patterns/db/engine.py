"""Engines with per-backend defaults: the guide's ``DatabaseManager`` settings, made right.

One ``QueuePool`` setting does not fit every backend:

* **SQLite file**: WAL (readers never block the writer), foreign keys ON
  (SQLite ignores them otherwise), a busy timeout, and a transaction that takes
  the write lock when it *begins* (``BEGIN IMMEDIATE``). With pysqlite's default
  deferred BEGIN, two transactions that both read and then write deadlock on the
  lock upgrade and one fails at once with "database is locked", whatever the
  timeout; taking the lock up front makes the second writer wait its turn.
* **SQLite ``:memory:``**: every connection would get its own empty database,
  so the engine keeps exactly one (``StaticPool``).
* **PostgreSQL / MariaDB**: ``QueuePool`` with size, overflow and timeout;
  ``pool_recycle`` below MariaDB's ``wait_timeout``; UTC and strict SQL mode on
  MariaDB.

No ``pool_pre_ping``: it costs a round trip at every checkout (four per
``GET /me`` where three do the work) to learn what is almost always true. A
connection the server dropped is found for free instead
(:mod:`alchemy_patterns.db.disconnects`): at checkout, when its socket already
says so; otherwise by the unit's first statement, after which SQLAlchemy
invalidates the pool and the unit runs once more on a fresh connection,
since nothing of it can have taken effect. A connection lost later fails the
unit as ``Unavailable``, never retried by the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import AsyncAdaptedQueuePool, PoolProxiedConnection, QueuePool, StaticPool

from alchemy_patterns.db import observers
from alchemy_patterns.db.cursors import observe_statements
from alchemy_patterns.db.disconnects import (
    SocketOf,
    install_disconnect_handling,
    psycopg_socket,
    pymysql_socket,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = [
    "Backend",
    "EngineOptions",
    "async_url",
    "backend_of",
    "make_async_engine",
    "make_engine",
]

Backend = Literal["sqlite", "postgresql", "mariadb"]

#: The execution option a read-only unit of work sets so SQLite begins DEFERRED.
SQLITE_BEGIN = "alchemy_patterns_sqlite_begin"


@dataclass(frozen=True)
class EngineOptions:
    """Pool and logging options; each backend uses the ones that apply to it."""

    echo: bool = False
    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 30.0
    pool_recycle: int = 1800  # below MariaDB's default wait_timeout of 8 hours
    sqlite_busy_timeout_ms: int = 5000
    application_name: str = "alchemy-patterns"
    #: Seconds to wait for a new connection: a host that swallows packets then
    #: fails in this time instead of the operating system's minutes. (PyMySQL
    #: bounds the TCP connect only, not the wait for the server's greeting.)
    connect_timeout: int = 10
    #: PostgreSQL behind PgBouncer in transaction pooling mode: each transaction may
    #: run on another server connection, so nothing may outlive one. psycopg's
    #: server-side prepared statements would ("prepared statement "_pg3_0" does
    #: not exist"): they are turned off. (The layer sets no session state: its
    #: read-only and isolation settings go with each BEGIN.)
    pgbouncer: bool = False
    #: The name of the server this engine reaches ("primary", a replica's), in
    #: the pool's log lines and in what the pool tells :mod:`~alchemy_patterns.db.observers`.
    node: str = "primary"


class ObservedQueuePool(QueuePool):
    """SQLAlchemy's ``QueuePool``, which also reports a checkout that timed out.

    The timeout reaches the caller as ``Unavailable`` (503) either way; the
    watchers (metrics) learn which node's pool was exhausted: its
    ``logging_name``, the engine's ``EngineOptions.node``.
    """

    def connect(self) -> PoolProxiedConnection:
        try:
            return super().connect()
        except sa_exc.TimeoutError:
            observers.checkout_timed_out(self.logging_name or "primary")
            raise


class ObservedAsyncQueuePool(ObservedQueuePool, AsyncAdaptedQueuePool):
    """The same, for an asyncio engine (whose pool must wait with asyncio's queue)."""


def _queue_pool(extra: dict[str, Any]) -> type[QueuePool]:
    # ``_is_async`` is what create_async_engine() passes create_engine(): the one flag we follow.
    return ObservedAsyncQueuePool if extra.get("_is_async") else ObservedQueuePool


def backend_of(url: str | URL) -> Backend:
    """The backend family of a URL: ``sqlite``, ``postgresql`` or ``mariadb``."""
    backend = make_url(url).get_backend_name()
    if backend in ("mysql", "mariadb"):
        return "mariadb"
    if backend in ("sqlite", "postgresql"):
        return backend  # type: ignore[return-value]
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite, postgresql or mariadb")


def make_engine(url: str | URL, options: EngineOptions | None = None, **extra: Any) -> Engine:
    """Create an engine for ``url`` with the defaults its backend needs.

    ``extra`` is passed to :func:`sqlalchemy.create_engine` last, so any default
    can still be overridden.
    """
    options = options or EngineOptions()
    url = make_url(url)
    backend = backend_of(url)
    if backend == "sqlite":
        engine = _sqlite_engine(url, options, extra)
    elif backend == "postgresql":
        engine = _postgresql_engine(url, options, extra)
    else:
        engine = _mariadb_engine(url, options, extra)
    install_disconnect_handling(engine, socket_of=_socket_reader(engine))
    observe_statements(engine)
    return engine


def _socket_reader(engine: Engine) -> SocketOf | None:
    """How to find a pooled connection's socket, for the drivers we know."""
    reader = {"psycopg": psycopg_socket, "pymysql": pymysql_socket}.get(engine.driver)
    if reader is None or not engine.dialect.is_async:
        return reader
    # An asyncio driver's connection sits behind SQLAlchemy's adapter (psycopg's async class).
    return lambda adapted: reader(adapted.driver_connection)


#: The asyncio driver of each backend (see :mod:`alchemy_patterns.db.asyncio` for why these).
ASYNC_DRIVERS: dict[Backend, str] = {
    "sqlite": "sqlite+aiosqlite",
    # The same dialect name: SQLAlchemy picks psycopg's async class for an async engine.
    "postgresql": "postgresql+psycopg",
    "mariadb": "mysql+asyncmy",
}
_ASYNC_DRIVER_NAMES = frozenset(
    {"aiosqlite", "psycopg", "psycopg_async", "asyncpg", "asyncmy", "aiomysql"}
)


def async_url(url: str | URL) -> URL:
    """``url`` with its backend's asyncio driver, unless it already names one.

    So one URL (``sqlite:///app.db``, ``mysql+pymysql://…``) serves both
    :class:`~alchemy_patterns.db.Database` and its asyncio twin.
    """
    url = make_url(url)
    if url.get_driver_name() in _ASYNC_DRIVER_NAMES and "+" in url.drivername:
        return url
    return url.set(drivername=ASYNC_DRIVERS[backend_of(url)])


def make_async_engine(
    url: str | URL, options: EngineOptions | None = None, **extra: Any
) -> AsyncEngine:
    """The asyncio twin of :func:`make_engine`: the same defaults, on :func:`async_url`'s driver.

    Built by :func:`make_engine` itself, as ``create_async_engine()`` builds
    its engine: a sync ``Engine`` made with ``_is_async``, wrapped. So every
    per-backend default and listener is the one the sync engine has.
    """
    from sqlalchemy.ext.asyncio import AsyncEngine  # needs greenlet: the async extra

    return AsyncEngine(make_engine(async_url(url), options, _is_async=True, **extra))


def _postgresql_engine(url: URL, options: EngineOptions, extra: dict[str, Any]) -> Engine:
    connect_args: dict[str, Any] = {
        "application_name": options.application_name,
        "connect_timeout": options.connect_timeout,
    }
    if options.pgbouncer:
        connect_args["prepare_threshold"] = None
    return _server_engine(
        url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url,
        options,
        {"connect_args": connect_args} | extra,
    )


def _mariadb_engine(url: URL, options: EngineOptions, extra: dict[str, Any]) -> Engine:
    if url.drivername in ("mysql", "mariadb"):
        url = url.set(drivername="mysql+pymysql")
    if "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    init = "SET SESSION time_zone = '+00:00', sql_mode = 'TRADITIONAL,NO_ENGINE_SUBSTITUTION'"
    connect_args = {"init_command": init, "connect_timeout": options.connect_timeout}
    return _server_engine(url, options, {"connect_args": connect_args} | extra)


def _server_engine(url: URL, options: EngineOptions, extra: dict[str, Any]) -> Engine:
    return create_engine(
        url,
        echo=options.echo,
        poolclass=_queue_pool(extra),
        pool_logging_name=options.node,
        pool_size=options.pool_size,
        max_overflow=options.max_overflow,
        pool_timeout=options.pool_timeout,
        pool_recycle=options.pool_recycle,
        **extra,
    )


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


def _sqlite_engine(url: URL, options: EngineOptions, extra: dict[str, Any]) -> Engine:
    memory = _is_memory(url)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool
    else:
        assert url.database is not None
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs |= {
            "poolclass": _queue_pool(extra),
            "pool_logging_name": options.node,
            "pool_size": options.pool_size,
            "max_overflow": options.max_overflow,
            "pool_timeout": options.pool_timeout,
        }
    engine = create_engine(url, echo=options.echo, **(kwargs | extra))
    _install_sqlite_transactions(engine, wal=not memory, busy_ms=options.sqlite_busy_timeout_ms)
    return engine


def _install_sqlite_transactions(engine: Engine, *, wal: bool, busy_ms: int) -> None:
    """The pysqlite recipe from SQLAlchemy's docs: we emit BEGIN, not the driver.

    pysqlite's own transaction handling begins late (at the first write) and
    commits on its own before DDL, which breaks SAVEPOINT and SERIALIZABLE
    reads. Turning it off and emitting BEGIN ourselves fixes both, and lets us
    choose IMMEDIATE for units of work that will write.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

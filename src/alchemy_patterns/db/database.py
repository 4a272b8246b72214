"""``Database``: one object that owns an engine, its sessions and its transactions."""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine, MetaData, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from alchemy_patterns.db import observers
from alchemy_patterns.db.disconnects import outside_the_unit, retrying_a_stale_connection
from alchemy_patterns.db.engine import SQLITE_BEGIN, Backend, EngineOptions, backend_of, make_engine
from alchemy_patterns.db.profiling import detect_n_plus_one, install_slow_query_log
from alchemy_patterns.db.replicas import (
    NODE,
    PRIMARY,
    Replica,
    ReplicaSet,
    ReplicaStatus,
    format_position,
    parse_token,
    read_position,
    run_read_only,
)
from alchemy_patterns.db.retry import (
    OnRetry,
    RetryPolicy,
    joined,
    run_transaction,
)
from alchemy_patterns.db.session import session_scope, translate_with
from alchemy_patterns.db.softdelete import hide_deleted

__all__ = ["Database"]

T = TypeVar("T")

logger = logging.getLogger("alchemy_patterns.db")

NPlusOneAction = Literal["off", "warn", "raise"]


def _node_name(url: URL) -> str:
    """A replica's name for logs and readiness: where it is, no credentials."""
    hosts = url.query.get("host")
    if hosts:
        return ",".join([hosts] if isinstance(hosts, str) else hosts)
    return f"{url.host or 'localhost'}:{url.port or 5432}"


class Database:
    """An engine with the right defaults for its backend, and the ways to use it.

    >>> db = Database("sqlite:///instance/app.sqlite3")
    >>> with db.session_scope() as session:
    ...     session.add(User(name="ada"))

    Sessions are made with ``expire_on_commit=False``: an object returned from
    a finished unit of work keeps the values it was loaded with instead of
    raising ``DetachedInstanceError`` on the next attribute read. Their ORM
    reads leave out soft-deleted rows (:mod:`alchemy_patterns.db.softdelete`).

    Args:
        url: any SQLAlchemy URL for SQLite, PostgreSQL (psycopg) or MariaDB (PyMySQL).
        metadata: used to name the columns behind a violated constraint in errors.
        slow_query_ms: log statements slower than this (``None``: never).
        n_plus_one: what a unit of work does when the same SELECT repeats
            ``n_plus_one_threshold`` times: ``warn`` (log), ``raise`` (tests) or ``off``.
        retry: the default retry policy of :meth:`transaction`.
        engine_options: pool sizes and timeouts (:class:`EngineOptions`).
        replicas: URLs of PostgreSQL hot standbys of ``url``: read-only units run
            there (:mod:`alchemy_patterns.db.replicas`). Other backends refuse them.
        max_replica_lag: seconds behind the primary past which a replica is skipped.
        replica_check_interval: seconds a replica's measured health and lag are trusted.
        consistency_wait: seconds a read given a consistency token waits for a
            replica to replay it before it runs on the primary.
        pgbouncer: the server is reached through PgBouncer in transaction
            pooling mode (see :attr:`EngineOptions.pgbouncer`).
        **engine_kwargs: passed on to :func:`sqlalchemy.create_engine`.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        metadata: MetaData | None = None,
        slow_query_ms: float | None = 200.0,
        n_plus_one: NPlusOneAction = "warn",
        n_plus_one_threshold: int = 5,
        retry: RetryPolicy | None = None,
        engine_options: EngineOptions | None = None,
        replicas: Sequence[str | URL] = (),
        max_replica_lag: float = 2.0,
        replica_check_interval: float = 0.5,
        consistency_wait: float = 0.2,
        pgbouncer: bool = False,
        **engine_kwargs: Any,
    ) -> None:
        self.backend: Backend = backend_of(url)
        engine_options = engine_options or EngineOptions()
        if pgbouncer:
            engine_options = dataclasses.replace(engine_options, pgbouncer=True)
        self.engine: Engine = make_engine(url, engine_options, **engine_kwargs)
        self.metadata = metadata
        self.n_plus_one: NPlusOneAction = n_plus_one
        self.n_plus_one_threshold = n_plus_one_threshold
        self.retry_policy = retry or RetryPolicy()
        self._slow_query_ms = slow_query_ms
        install_slow_query_log(self.engine, slow_query_ms)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessionmaker: sessionmaker[Session] = sessionmaker(
            self.engine.execution_options(**self._read_only_options()),
            expire_on_commit=False,
            info={NODE: PRIMARY},
        )
        # Soft-deleted rows are left out of every ORM read of these sessions.
        hide_deleted(self.sessionmaker)
        hide_deleted(self._read_sessionmaker)
        # ``savepoint(session)`` names a violated constraint's columns as the scope does.
        translate_with(self.sessionmaker, metadata)
        translate_with(self._read_sessionmaker, metadata)
        self.replicas: ReplicaSet | None = self._replica_set(
            replicas,
            engine_options,
            engine_kwargs,
            max_lag=max_replica_lag,
            check_interval=replica_check_interval,
            wait=consistency_wait,
        )
        #: Thread-local sessions for frameworks that want one per request/thread;
        #: call :meth:`remove` when the request ends.
        self.scoped_session: scoped_session[Session] = scoped_session(self.sessionmaker)

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def url(self) -> URL:
        return self.engine.url

    def _read_only_options(self) -> dict[str, Any]:
        # SQLite: a reader need not take the write lock. PostgreSQL: a READ ONLY
        # transaction, as on a replica, so a write is the same error wherever it runs.
        if self.backend == "postgresql":
            return {"postgresql_readonly": True}
        return {SQLITE_BEGIN: "DEFERRED"}

    def _replica_set(
        self,
        urls: Sequence[str | URL],
        options: EngineOptions,
        engine_kwargs: dict[str, Any],
        **choice: float,
    ) -> ReplicaSet | None:
        if not urls:
            return None
        if self.backend != "postgresql":
            raise ValueError(f"read replicas are a PostgreSQL feature; this is {self.backend}")
        engines = []
        for url in urls:
            name = _node_name(make_url(url))
            # Named for the pool's log lines and the metrics (``node``).
            engine = make_engine(url, dataclasses.replace(options, node=name), **engine_kwargs)
            install_slow_query_log(engine, self._slow_query_ms)
            engines.append((name, engine))
        return ReplicaSet(engines, **choice)

    # --- units of work -----------------------------------------------------

    @contextmanager
    def session_scope(
        self, *, read_only: bool = False, consistency: str | None = None, on_replica: bool = True
    ) -> Iterator[Session]:
        """One transaction: commit on success, roll back and re-raise on error, always close.

        Errors leave as application errors (``Conflict``, ``Unavailable``…).
        ``read_only``: a read-only transaction where the backend has one
        (PostgreSQL: a write in it is an error; SQLite begins without the
        write lock), on a usable replica when there are replicas (unless
        ``on_replica`` is false: a read that must be current, a password
        check), else on the primary. ``consistency``: a token from
        :meth:`consistency_token`; the unit then runs only where that write
        is visible. The N+1 detector watches the unit.

        A pooled connection the server closed while idle is replaced at
        checkout; a replica that cannot be reached is skipped before the
        block runs. One that dies unnoticed until the block's first statement
        is invalidated with the rest of the pool, and the scope raises
        ``Unavailable``: a ``with`` block cannot be run again.
        :meth:`transaction` can, and does: prefer it for units of work.
        """
        if read_only:
            factory = self._sessions_on(self.on_node(self.reached, consistency, on_replica))
        else:
            factory = self.sessionmaker
        # The detector sits inside the scope, so in "raise" mode the unit rolls back.
        with session_scope(factory, self.metadata) as session, joined(session), self.watch_unit():
            yield session

    @staticmethod
    def reached(replica: Replica | None) -> Replica | None:
        """``replica``, once a connection to it was made (for a block, which cannot run again)."""
        if replica is not None:
            with outside_the_unit(), replica.engine.connect():
                pass  # pooled: the block's session gets this connection back
        return replica

    def transaction(
        self,
        work: Callable[[Session], T],
        *,
        read_only: bool = False,
        consistency: str | None = None,
        on_replica: bool = True,
        isolation_level: str | None = None,
        retry: RetryPolicy | None = None,
        on_retry: OnRetry | None = None,
    ) -> T:
        """Run ``work(session)`` in its own transaction, retried whole on a retryable failure.

        See :func:`alchemy_patterns.db.retry.run_transaction`. ``isolation_level``
        (e.g. ``"SERIALIZABLE"``) applies to this transaction only; SQLite is
        always serializable and ignores it. ``read_only``, ``consistency`` and
        ``on_replica`` choose the node as in :meth:`session_scope`; a replica
        that fails a read-only unit is skipped and the unit runs on the next
        node, the primary last.
        """

        def run(factory: sessionmaker[Session]) -> T:
            return run_transaction(
                factory,
                work,
                policy=retry or self.retry_policy,
                isolation_level=self._isolation(isolation_level),
                on_retry=on_retry,
                metadata=self.metadata,
                watch=self.watch_unit,
            )

        if not read_only:
            return run(self.sessionmaker)
        return self.routed(run, consistency, on_replica)

    def routed(
        self,
        unit: Callable[[sessionmaker[Session]], T],
        consistency: str | None = None,
        on_replica: bool = True,
    ) -> T:
        """Run the read-only ``unit(sessions)`` with the read-only sessions of a node chosen for it.

        The node is a usable replica that has replayed ``consistency``, else
        the primary (always the primary without replicas, or when
        ``on_replica`` is false). If the replica fails the unit because it
        is unavailable, the unit runs again with the next node's sessions,
        the primary's last: the unit must be read-only (its sessions'
        transactions are), so that is safe whatever it had done.
        """
        return self.on_node(lambda node: unit(self._sessions_on(node)), consistency, on_replica)

    def on_node(
        self,
        unit: Callable[[Replica | None], T],
        consistency: str | None = None,
        on_replica: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        """Run the read-only ``unit(node)`` on the node chosen for it (``None``: the primary).

        The routing of :meth:`routed`, by node rather than by its sessions, so
        the asyncio twin runs it (in SQLAlchemy's greenlet, with a ``sleep``
        that yields to the event loop) and makes the node's sessions its own way.
        """
        replicas = self._replicas_for(consistency, on_replica)
        if replicas is None:
            return unit(None)
        return run_read_only(replicas, self._position(consistency), unit, sleep)

    def _sessions_on(self, replica: Replica | None) -> sessionmaker[Session]:
        return self._read_sessionmaker if replica is None else replica.sessionmaker

    def _replicas_for(self, consistency: str | None, on_replica: bool) -> ReplicaSet | None:
        """The replicas a read-only unit may run on (``None``: the primary only).

        A token that is not one of ours names no position a replica could be
        checked against: the primary, the one node sure to have every write.
        """
        if not on_replica:
            return None
        if consistency is not None and parse_token(consistency) is None:
            if self.replicas is not None:
                observers.replica_fallback("unknown_token")
            return None
        return self.replicas

    def _position(self, consistency: str | None) -> int | None:
        return None if consistency is None else parse_token(consistency)

    def consistency_token(self) -> str | None:
        """A token for every write committed so far, for a later read to pass as ``consistency``.

        The primary's WAL insert position (PostgreSQL with replicas; ``None``
        otherwise, and when the primary does not answer: the write stands,
        the client just cannot ask for it to be seen). Call it after the
        writing unit committed.
        """
        if self.replicas is None:
            return None
        try:
            with outside_the_unit(), self.engine.connect() as connection:
                return format_position(read_position(connection))
        except (sa_exc.DBAPIError, sa_exc.TimeoutError) as error:
            logger.warning("no consistency token: the primary did not answer: %s", error)
            return None

    def transactional(self, **options: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator form of :meth:`transaction`: the function's first argument is the session.

        ``fn(session, *args)`` becomes ``fn(*args)``, run by :meth:`transaction`
        with ``options`` (``read_only``, ``isolation_level``, ``retry``,
        ``on_retry``…) at every call; the asyncio twin's takes the same.
        """

        def decorate(fn: Callable[..., T]) -> Callable[..., T]:
            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> T:
                return self.transaction(lambda session: fn(session, *args, **kwargs), **options)

            return wrapper

        return decorate

    def _isolation(self, level: str | None) -> str | None:
        # SQLite is always serializable, and setting a level re-enables the
        # driver's own BEGIN, which our IMMEDIATE/DEFERRED handling replaces.
        return None if self.backend == "sqlite" else level

    def watch_unit(self) -> AbstractContextManager[object]:
        """The N+1 detector for one unit of work (one attempt, when retried; one web request)."""
        return detect_n_plus_one(self.n_plus_one_threshold, self.n_plus_one)

    def remove(self) -> None:
        """End the current thread's scoped session (the end of a web request)."""
        self.scoped_session.remove()

    # --- operations --------------------------------------------------------

    def ping(self) -> bool:
        """Whether the database answers ``SELECT 1`` now (for readiness checks).

        A stale pooled connection is no answer: the ping then runs on a fresh one.
        """
        try:
            retrying_a_stale_connection(self._select_one)
        except (sa_exc.DBAPIError, sa_exc.TimeoutError) as error:
            logger.warning("database ping failed: %s", error)
            return False
        return True

    def _select_one(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def engines(self) -> dict[str, Engine]:
        """Every node's engine by name: ``primary``, then each replica (for pool metrics)."""
        replicas = [] if self.replicas is None else self.replicas.replicas
        return {PRIMARY: self.engine} | {replica.name: replica.engine for replica in replicas}

    def replica_statuses(self) -> list[ReplicaStatus]:
        """Each replica as it answers now: up, lag, position (empty without replicas)."""
        return [] if self.replicas is None else self.replicas.statuses()

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown, or after a fork)."""
        self.scoped_session.remove()
        self.engine.dispose()
        if self.replicas is not None:
            self.replicas.dispose()

    # --- tests only --------------------------------------------------------

    def create_all(self, metadata: MetaData | None = None) -> None:
        """Create the tables of ``metadata``. For tests: the app's schema comes from Alembic."""
        self._metadata(metadata).create_all(self.engine)

    def drop_all(self, metadata: MetaData | None = None) -> None:
        """Drop the tables of ``metadata``. For tests only."""
        self._metadata(metadata).drop_all(self.engine)

    def _metadata(self, metadata: MetaData | None) -> MetaData:
        chosen = metadata or self.metadata
        if chosen is None:
            raise ValueError("no metadata given, and the Database was made without one")
        return chosen

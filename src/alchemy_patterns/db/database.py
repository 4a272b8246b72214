"""``Database``: one object that owns an engine, its sessions and its transactions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine, MetaData, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from alchemy_patterns.db.disconnects import retrying_a_stale_connection
from alchemy_patterns.db.engine import SQLITE_BEGIN, Backend, EngineOptions, backend_of, make_engine
from alchemy_patterns.db.profiling import detect_n_plus_one, install_slow_query_log
from alchemy_patterns.db.retry import (
    OnRetry,
    RetryPolicy,
    joined,
    run_transaction,
    transactional,
)
from alchemy_patterns.db.session import session_scope

__all__ = ["Database"]

T = TypeVar("T")

logger = logging.getLogger("alchemy_patterns.db")

NPlusOneAction = Literal["off", "warn", "raise"]


class Database:
    """An engine with the right defaults for its backend, and the ways to use it.

    >>> db = Database("sqlite:///instance/app.sqlite3")
    >>> with db.session_scope() as session:
    ...     session.add(User(name="ada"))

    Sessions are made with ``expire_on_commit=False``: an object returned from
    a finished unit of work keeps the values it was loaded with instead of
    raising ``DetachedInstanceError`` on the next attribute read.

    Args:
        url: any SQLAlchemy URL for SQLite, PostgreSQL (psycopg) or MariaDB (PyMySQL).
        metadata: used to name the columns behind a violated constraint in errors.
        slow_query_ms: log statements slower than this (``None``: never).
        n_plus_one: what a unit of work does when the same SELECT repeats
            ``n_plus_one_threshold`` times: ``warn`` (log), ``raise`` (tests) or ``off``.
        retry: the default retry policy of :meth:`transaction`.
        engine_options: pool sizes and timeouts (:class:`EngineOptions`).
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
        **engine_kwargs: Any,
    ) -> None:
        self.backend: Backend = backend_of(url)
        self.engine: Engine = make_engine(url, engine_options, **engine_kwargs)
        self.metadata = metadata
        self.n_plus_one: NPlusOneAction = n_plus_one
        self.n_plus_one_threshold = n_plus_one_threshold
        self.retry_policy = retry or RetryPolicy()
        install_slow_query_log(self.engine, slow_query_ms)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessionmaker: sessionmaker[Session] = sessionmaker(
            self.engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"}), expire_on_commit=False
        )
        #: Thread-local sessions for frameworks that want one per request/thread;
        #: call :meth:`remove` when the request ends.
        self.scoped_session: scoped_session[Session] = scoped_session(self.sessionmaker)

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def url(self) -> URL:
        return self.engine.url

    # --- units of work -----------------------------------------------------

    @contextmanager
    def session_scope(self, *, read_only: bool = False) -> Iterator[Session]:
        """One transaction: commit on success, roll back and re-raise on error, always close.

        Errors leave as application errors (``Conflict``, ``Unavailable``…).
        ``read_only`` lets SQLite begin without the write lock; on other
        backends it changes nothing. The N+1 detector watches the unit.

        A pooled connection the server closed while idle is replaced at
        checkout. One that dies unnoticed until the block's first statement
        is invalidated with the rest of the pool, and the scope raises
        ``Unavailable``: a ``with`` block cannot be run again.
        :meth:`transaction` can, and does: prefer it for units of work.
        """
        factory = self._read_sessionmaker if read_only else self.sessionmaker
        # The detector sits inside the scope, so in "raise" mode the unit rolls back.
        with session_scope(factory, self.metadata) as session, joined(session), self.watch_unit():
            yield session

    def transaction(
        self,
        work: Callable[[Session], T],
        *,
        isolation_level: str | None = None,
        retry: RetryPolicy | None = None,
        on_retry: OnRetry | None = None,
    ) -> T:
        """Run ``work(session)`` in its own transaction, retried whole on a retryable failure.

        See :func:`alchemy_patterns.db.retry.run_transaction`. ``isolation_level``
        (e.g. ``"SERIALIZABLE"``) applies to this transaction only; SQLite is
        always serializable and ignores it.
        """
        return run_transaction(
            self.sessionmaker,
            work,
            policy=retry or self.retry_policy,
            isolation_level=self._isolation(isolation_level),
            on_retry=on_retry,
            metadata=self.metadata,
            watch=self.watch_unit,
        )

    def transactional(self, **options: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator form of :meth:`transaction`: the function's first argument is the session."""
        options["isolation_level"] = self._isolation(options.get("isolation_level"))
        options.setdefault("policy", self.retry_policy)
        return transactional(
            self.sessionmaker, metadata=self.metadata, watch=self.watch_unit, **options
        )

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

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown, or after a fork)."""
        self.scoped_session.remove()
        self.engine.dispose()

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

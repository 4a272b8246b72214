"""``AsyncDatabase``: the data layer for asyncio applications, built on the sync one.

SQLAlchemy's asyncio extension is not a second ORM: an ``AsyncSession`` runs
the sync ``Session`` inside a greenlet, and each time the driver has to wait
the greenlet hands an awaitable to the event loop. ``AsyncSession.run_sync(fn)``
runs any sync code that way, on the async connection. So this module holds no
second copy of the data layer: every guarantee is the sync code's, run in
that greenlet.

* ``session_scope()`` enters and leaves :func:`alchemy_patterns.db.session.session_scope`
  itself (commit, roll back and re-raise, always close, errors translated)
  around the ``async with`` block.
* ``transaction()`` is :func:`alchemy_patterns.db.retry.run_transaction`: the
  same retry policy, the same re-run of a unit whose first statement found a
  dead connection, the same rule that only the owner of a transaction retries
  it. It runs in the greenlet, awaits the async ``work`` from there, and waits
  between attempts with ``asyncio.sleep``.
* ``transactional()`` is its decorator form, with ``transaction()``'s options,
  as the sync one.
* **Read replicas** (``replicas=[...]``, PostgreSQL) are the sync router's:
  :meth:`Database.on_node <alchemy_patterns.db.Database.on_node>` runs in the
  greenlet (probes, lag limit, round robin, consistency tokens, a replica
  failing mid-unit skipped for the next node, the primary last; its waits for
  a replica to replay a token yield to the event loop). Only the sessions it
  hands out differ: each node's sync ``sessionmaker`` has an async twin made
  from its options (:func:`async_sessions`).
* ``paginate``, ``keyset_paginate``, ``count``, ``exists``, ``get_or_raise``,
  ``bulk_insert``, ``upsert``, ``update_where``, ``bulk_update`` and
  ``copy_insert`` are the sync functions through ``run_sync``.
* Profiling (``count_queries``, ``assert_max_queries``, the N+1 detector, the
  slow-query log) is the sync module's: it keeps its state in ``ContextVar``\\ s,
  which SQLAlchemy's greenlet shares with the asyncio task that runs it, and
  every task has a context of its own: a counter sees its own task's
  statements, not another's.

Drivers (the engine is :func:`~alchemy_patterns.db.engine.make_async_engine`,
with every default of the sync engine), measured with
``benchmarks/async_vs_threads.py --drivers``: 1,000 short read units (a
retried ``transaction()`` reading one row by its key) through this class:

* **PostgreSQL: psycopg 3 in its async mode**, not asyncpg. The two are even
  behind the ORM and the greenlet for units this short (asyncpg 0.94x
  psycopg's throughput with a pool of 1, 1.03x with 10, on a 2-core
  machine). psycopg is
  also the sync driver: one URL, the same connection arguments
  (``application_name``, ``connect_timeout``: asyncpg takes neither), and
  the same exceptions with the same SQLSTATE and ``diag``, which
  :mod:`~alchemy_patterns.db.errors` translates. asyncpg's exceptions would
  need a translation of their own.
* **SQLite: aiosqlite**, the asyncio driver SQLAlchemy supports for it (a
  thread per connection around the standard ``sqlite3``: the same error
  codes as the sync driver).
* **MariaDB: asyncmy**, not aiomysql. Both are maintained and both carry
  PyMySQL's errnos; their throughput was within the noise of this shared
  machine (aiomysql 1.30x asyncmy's with a pool of 1, 0.97x with 10; on
  bare ``AsyncSession`` units in an earlier run asyncmy was ahead). asyncmy
  logs the server's warnings where aiomysql raises them as Python warnings,
  which an application (or a test suite) that turns warnings into errors
  then fails on: MariaDB warns about harmless things such as a named
  PRIMARY KEY in DDL.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar, Unpack

from sqlalchemy import Engine, MetaData
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.util import await_, greenlet_spawn

from alchemy_patterns.db import bulk, pagination
from alchemy_patterns.db import session as units
from alchemy_patterns.db.database import Database
from alchemy_patterns.db.engine import async_url
from alchemy_patterns.db.greenlet import greenlet_scope
from alchemy_patterns.db.replicas import Replica, ReplicaSet, ReplicaStatus
from alchemy_patterns.db.retry import OnRetry, RetryPolicy, joined, run_transaction

__all__ = [
    "AsyncDatabase",
    "async_sessions",
    "bulk_insert",
    "bulk_update",
    "copy_insert",
    "count",
    "exists",
    "get_or_raise",
    "keyset_paginate",
    "paginate",
    "savepoint",
    "stream",
    "update_where",
    "upsert",
]

T = TypeVar("T")
M = TypeVar("M")
P = ParamSpec("P")

#: Where a sync ``Session`` made for an ``AsyncSession`` keeps it (the proxy map is weak).
_FACE = "alchemy_patterns_async_session"


def _async_face(session: Session) -> AsyncSession:
    face: AsyncSession = session.info[_FACE]
    return face


def _sleep_in_greenlet(seconds: float) -> None:
    await_(asyncio.sleep(seconds))


class AsyncDatabase:
    """The asyncio twin of :class:`~alchemy_patterns.db.Database`: the same contract, awaited.

    >>> db = AsyncDatabase("postgresql+psycopg://app@localhost/app", metadata=Base.metadata)
    >>> async with db.session_scope() as session:
    ...     session.add(User(name="ada"))
    >>> await db.transaction(lambda session: session.run_sync(transfer, 1, 2))

    ``url`` (and each of ``replicas``) may name the sync driver
    (``sqlite:///…``, ``mysql+pymysql://…``): it is switched to the backend's
    asyncio driver (see the module's notes). Every other argument is
    :class:`~alchemy_patterns.db.Database`'s: the configuration lives in the
    sync ``Database`` at :attr:`sync`, made on the same engines, whose
    ``engine`` is the sync face of :attr:`engine`. Sessions are the sync
    ones' twins (:func:`async_sessions`): made with ``expire_on_commit=False``,
    so an object returned from a unit of work never lazy-loads an expired
    attribute (which fails under asyncio with ``MissingGreenlet``).

    With ``replicas`` the routing is the sync one (:meth:`Database.on_node
    <alchemy_patterns.db.Database.on_node>`), run in the greenlet: the same
    probes, lag limit, round robin, consistency tokens and fallback to the
    primary; only the sessions it hands out are ``AsyncSession``\\ s.
    """

    def __init__(self, url: str | URL, **options: Any) -> None:
        if options.get("replicas"):
            options["replicas"] = [async_url(replica) for replica in options["replicas"]]
        # ``_is_async`` is what create_async_engine() passes create_engine(); the replicas'
        # engines get it too.
        self.sync = Database(async_url(url), _is_async=True, **options)
        self.engine = AsyncEngine(self.sync.engine)
        self.backend = self.sync.backend
        self.metadata: MetaData | None = self.sync.metadata
        self.sessionmaker = async_sessions(self.sync.sessionmaker)
        # As the sync twin: READ ONLY transactions on PostgreSQL, DEFERRED on SQLite.
        self._read_sessionmaker = async_sessions(self.sync._read_sessionmaker)
        replicas = [] if self.sync.replicas is None else self.sync.replicas.replicas
        # By the replica itself, not its name: the same server given twice is two pools.
        self._replica_sessions = {id(r): async_sessions(r.sessionmaker) for r in replicas}

    def __repr__(self) -> str:
        return f"AsyncDatabase({self.url.render_as_string(hide_password=True)!r})"

    @property
    def url(self) -> URL:
        return self.engine.url

    @property
    def replicas(self) -> ReplicaSet | None:
        """The sync ``Database``'s replicas (their engines are the sync faces of async ones)."""
        return self.sync.replicas

    # --- units of work -----------------------------------------------------

    def _new_session(self, factory: async_sessionmaker[AsyncSession]) -> Session:
        """A new ``AsyncSession``'s sync session, which keeps the async one alive."""
        face = factory()
        face.sync_session.info[_FACE] = face
        return face.sync_session

    def _sessions_on(self, replica: Replica | None) -> async_sessionmaker[AsyncSession]:
        return self._read_sessionmaker if replica is None else self._replica_sessions[id(replica)]

    @asynccontextmanager
    async def session_scope(
        self, *, read_only: bool = False, consistency: str | None = None, on_replica: bool = True
    ) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success, roll back and re-raise on error, always close.

        :meth:`Database.session_scope <alchemy_patterns.db.Database.session_scope>`,
        awaited: the same sync scope runs around the block, on the node the
        sync router chose (``read_only``, ``consistency``, ``on_replica``).
        """
        factory = self.sessionmaker
        if read_only:
            node = await greenlet_spawn(
                self.sync.on_node, self.sync.reached, consistency, on_replica, _sleep_in_greenlet
            )
            factory = self._sessions_on(node)
        scope = units.session_scope(lambda: self._new_session(factory), self.metadata)
        async with greenlet_scope(scope) as session:
            with joined(session), self.sync.watch_unit():
                yield _async_face(session)

    async def transaction(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        read_only: bool = False,
        consistency: str | None = None,
        on_replica: bool = True,
        isolation_level: str | None = None,
        retry: RetryPolicy | None = None,
        on_retry: OnRetry | None = None,
    ) -> T:
        """Run ``await work(session)`` in its own transaction, retried whole on a retryable failure.

        The sync :func:`~alchemy_patterns.db.retry.run_transaction`, run in the
        greenlet; ``read_only``, ``consistency`` and ``on_replica`` choose the
        node as :meth:`Database.transaction <alchemy_patterns.db.Database.transaction>`
        does (a replica that fails the unit: the next node, the primary last).
        A sync service runs unchanged through ``run_sync``::

            await db.transaction(lambda s: s.run_sync(shop.add_to_cart, user_id, product_id, 1))
        """

        def sync_work(session: Session) -> T:
            return await_(work(_async_face(session)))

        def run(factory: async_sessionmaker[AsyncSession]) -> T:
            return run_transaction(
                lambda: self._new_session(factory),
                sync_work,
                policy=retry or self.sync.retry_policy,
                isolation_level=self.sync._isolation(isolation_level),
                on_retry=on_retry,
                metadata=self.metadata,
                watch=self.sync.watch_unit,
                sleep=_sleep_in_greenlet,
            )

        if not read_only:
            return await greenlet_spawn(run, self.sessionmaker)
        return await self._routed(run, consistency, on_replica)

    async def routed(
        self,
        unit: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]],
        consistency: str | None = None,
        on_replica: bool = True,
    ) -> T:
        """``await unit(sessions)`` with the read-only sessions of a node chosen for it.

        :meth:`Database.routed <alchemy_patterns.db.Database.routed>`, awaited
        (for a request that is one read-only unit, in an asyncio web app).
        """
        return await self._routed(lambda sessions: await_(unit(sessions)), consistency, on_replica)

    async def _routed(
        self,
        unit: Callable[[async_sessionmaker[AsyncSession]], T],
        consistency: str | None,
        on_replica: bool,
    ) -> T:
        return await greenlet_spawn(
            self.sync.on_node,
            lambda node: unit(self._sessions_on(node)),
            consistency,
            on_replica,
            _sleep_in_greenlet,
        )

    async def run_sync(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``await db.transaction(...)`` of the sync ``fn(session, *args, **kwargs)``: a service."""
        return await self.transaction(lambda session: session.run_sync(fn, *args, **kwargs))

    def transactional(
        self, **options: Any
    ) -> Callable[
        [Callable[Concatenate[AsyncSession, P], Awaitable[T]]], Callable[P, Awaitable[T]]
    ]:
        """Decorator form of :meth:`transaction`: the function's first argument is the session.

        ``async def fn(session, *args)`` becomes ``await fn(*args)``, run by
        :meth:`transaction` with ``options`` (``read_only``, ``isolation_level``,
        ``retry``, ``on_retry``…) at every call, as
        :meth:`Database.transactional <alchemy_patterns.db.Database.transactional>`.
        """

        def decorate(
            fn: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        ) -> Callable[P, Awaitable[T]]:
            @functools.wraps(fn)
            async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
                return await self.transaction(lambda s: fn(s, *args, **kwargs), **options)

            return wrapper

        return decorate

    # --- replicas ----------------------------------------------------------

    async def consistency_token(self) -> str | None:
        """A token for the writes committed so far (:meth:`Database.consistency_token`, awaited)."""
        return await greenlet_spawn(self.sync.consistency_token)

    async def replica_statuses(self) -> list[ReplicaStatus]:
        """Each replica as it answers a probe now (empty without replicas)."""
        return await greenlet_spawn(self.sync.replica_statuses)

    def engines(self) -> dict[str, Engine]:
        """Every node's engine by name (the sync faces: their pools are the async engines')."""
        return self.sync.engines()

    # --- operations --------------------------------------------------------

    async def ping(self) -> bool:
        """Whether the database answers ``SELECT 1`` now (:meth:`Database.ping`, awaited)."""
        return await greenlet_spawn(self.sync.ping)

    async def dispose(self) -> None:
        """Close every pooled connection, the replicas' too (at shutdown)."""
        await greenlet_spawn(self.sync.dispose)

    async def create_all(self, metadata: MetaData | None = None) -> None:
        """Create the tables of ``metadata``. For tests: the app's schema comes from Alembic."""
        await greenlet_spawn(self.sync.create_all, metadata)

    async def drop_all(self, metadata: MetaData | None = None) -> None:
        """Drop the tables of ``metadata``. For tests only."""
        await greenlet_spawn(self.sync.drop_all, metadata)


def async_sessions(sessions: sessionmaker[Session]) -> async_sessionmaker[AsyncSession]:
    """An ``AsyncSession`` factory with the options of the sync ``sessions``, on its engine wrapped.

    So the sync ``Database`` alone says how a node's sessions are made
    (``expire_on_commit``, READ ONLY execution options, the node's name in
    ``info``), and the asyncio twin's follow.
    """
    options = dict(sessions.kw)
    # The sync Session class too: it carries the listeners (soft-deleted rows hidden).
    return async_sessionmaker(
        AsyncEngine(options.pop("bind")), sync_session_class=sessions.class_, **options
    )


@asynccontextmanager
async def savepoint(
    session: AsyncSession, metadata: MetaData | None = None
) -> AsyncIterator[AsyncSession]:
    """:func:`alchemy_patterns.db.savepoint`, awaited: flushed inside, rolled back alone.

    ``metadata`` defaults to the session's, as the sync one's does: an
    ``AsyncDatabase``'s sessions share the info of its sync ``Database``'s.
    """
    async with greenlet_scope(units.savepoint(session.sync_session, metadata)):
        yield session


def _through_run_sync(
    fn: Callable[Concatenate[Session, P], T],
) -> Callable[Concatenate[AsyncSession, P], Awaitable[T]]:
    """``fn(session, ...)`` of the sync data layer as ``await f(async_session, ...)``."""

    async def run(session: AsyncSession, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await session.run_sync(fn, *args, **kwargs)

    run.__name__, run.__doc__ = fn.__name__, fn.__doc__
    return run


paginate = _through_run_sync(pagination.paginate)
keyset_paginate = _through_run_sync(pagination.keyset_paginate)
count = _through_run_sync(pagination.count)
exists = _through_run_sync(pagination.exists)
bulk_insert = _through_run_sync(bulk.bulk_insert)
bulk_update = _through_run_sync(bulk.bulk_update)
upsert = _through_run_sync(bulk.upsert)
update_where = _through_run_sync(bulk.update_where)
copy_insert = _through_run_sync(bulk.copy_insert)


async def get_or_raise(
    session: AsyncSession, model: type[M], ident: Any, **options: Unpack[pagination.GetOptions]
) -> M:
    """``await session.get(model, ident, **options)``, or :class:`~alchemy_patterns.db.NotFound`.

    The sync function's, run in the session's greenlet: the same options, the same name.
    """
    return await session.run_sync(
        lambda sync: pagination.get_or_raise(sync, model, ident, **options)
    )


async def stream(
    session: AsyncSession, stmt: pagination.AnySelect, *, batch_size: int = 1000
) -> AsyncIterator[Any]:
    """:func:`alchemy_patterns.db.stream`, awaited: ``async for`` over a server-side cursor.

    The statement and its rows' shape are the sync function's
    (:func:`~alchemy_patterns.db.pagination.streamed`); the rows arrive
    ``batch_size`` at a time through ``AsyncSession.stream()``.
    """
    statement, one_column = pagination.streamed(stmt, batch_size)
    result = await session.stream(statement)
    try:
        async for row in result.scalars() if one_column else result:
            yield row
    finally:
        await result.close()

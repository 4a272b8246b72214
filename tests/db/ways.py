"""The two ways to run the data layer's units of work, behind one shape, for one contract suite.

Each test of the contract modules runs twice: with ``db`` the sync
:class:`~alchemy_patterns.db.Database`, and with ``db`` an :class:`AsyncWay`:
the same shape, whose ``session_scope()``, ``transaction()``,
``transactional()`` and coroutine methods are
:class:`~alchemy_patterns.db.AsyncDatabase`'s, awaited. The async run calls the
test function itself in SQLAlchemy's greenlet on the suite's event loop (as
``AsyncSession.run_sync`` runs sync code), so its sync body, and the sync data
layer functions it calls on the yielded session, run on the asyncio driver.

This module is a plugin of the suite (its hook and fixtures apply to the
async way only); a ``conftest.py`` opts its modules in with
:func:`parametrize_ways` (``tests/db/`` for the contract suite,
``tests/replicas/`` for the router).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession, async_session
from sqlalchemy.orm import Session
from sqlalchemy.util import await_, greenlet_spawn
from sqlalchemy.util.concurrency import in_greenlet

from alchemy_patterns.db import AsyncDatabase, Database
from alchemy_patterns.db import asyncio as adb
from alchemy_patterns.db import savepoint as sync_savepoint
from alchemy_patterns.db.greenlet import awaited

T = TypeVar("T")

WAYS = ("sync", "async")


class AsyncWay:
    """An :class:`AsyncDatabase` with :class:`Database`'s sync shape, for the contract suite.

    Inside the test (run in the greenlet) ``session_scope()``,
    ``transaction()``, ``transactional()`` and every coroutine method
    (``consistency_token()``, ``replica_statuses()``, ``dispose()``…) await the
    async database's; anything else is its sync ``Database`` on the same
    async engines. Outside it (fixtures that set data up) everything is
    ``fallback``, the sync test database.
    """

    def __init__(
        self, database: AsyncDatabase, loop: asyncio.AbstractEventLoop, fallback: Database
    ):
        self.async_database = database
        self.loop = loop
        self.fallback = fallback

    def __getattr__(self, name: str) -> Any:
        if not in_greenlet():
            return getattr(self.fallback, name)
        twin = getattr(self.async_database, name, None)
        if inspect.iscoroutinefunction(twin):
            return lambda *args, **kwargs: await_(twin(*args, **kwargs))
        return getattr(self.async_database.sync, name)

    def run(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` from the greenlet, or run it on the loop from outside."""
        if in_greenlet():
            return await_(awaitable)
        return self.loop.run_until_complete(awaitable)  # type: ignore[arg-type]

    @contextmanager
    def session_scope(self, **options: Any) -> Iterator[Session]:
        if not in_greenlet():
            with self.fallback.session_scope(**options) as session:
                yield session
            return
        with awaited(self.async_database.session_scope(**options)) as face:
            yield face.sync_session

    def transaction(self, work: Callable[[Session], T], **options: Any) -> T:
        if not in_greenlet():
            return self.fallback.transaction(work, **options)
        return await_(self.async_database.transaction(lambda s: s.run_sync(work), **options))

    def transactional(self, **options: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        if not in_greenlet():
            return self.fallback.transactional(**options)

        def decorate(fn: Callable[..., T]) -> Callable[..., T]:
            @self.async_database.transactional(**options)
            async def unit(session: AsyncSession, *args: Any, **kwargs: Any) -> T:
                return await session.run_sync(fn, *args, **kwargs)

            @functools.wraps(fn)
            def call(*args: Any, **kwargs: Any) -> T:
                return await_(unit(*args, **kwargs))

            return call

        return decorate

    def routed(self, unit: Callable[[Callable[[], Session]], T], *args: Any) -> T:
        """``unit(sessions)`` on the node the async router chose (``sessions()``: sync faces)."""
        if not in_greenlet():
            return self.fallback.routed(unit, *args)

        async def on(sessions: Callable[[], AsyncSession]) -> T:
            return await greenlet_spawn(unit, lambda: sessions().sync_session)

        return await_(self.async_database.routed(on, *args))

    def dispose_all(self) -> None:
        """Dispose of the async database and the fallback (from outside the test)."""
        self.loop.run_until_complete(self.async_database.dispose())
        self.fallback.dispose()


def parametrize_ways(metafunc: pytest.Metafunc, modules: frozenset[str]) -> None:
    """Run the tests of ``modules`` that use ``way`` both ways; the rest and ``sync_only`` sync."""
    if "way" not in metafunc.fixturenames:
        return
    both = metafunc.module.__name__ in modules
    sync_only = metafunc.definition.get_closest_marker("sync_only") is not None
    metafunc.parametrize("way", WAYS if both and not sync_only else ("sync",), indirect=True)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """The async way calls the test in SQLAlchemy's greenlet, on the suite's event loop."""
    callspec = getattr(pyfuncitem, "callspec", None)
    if callspec is None or callspec.params.get("way") != "async":
        return None
    loop: asyncio.AbstractEventLoop = pyfuncitem.funcargs["event_loop_for_db"]  # type: ignore[assignment]
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    loop.run_until_complete(greenlet_spawn(pyfuncitem.obj, **arguments))
    return True


@pytest.fixture(scope="session")
def event_loop_for_db() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for every async-way test: an async engine's pool belongs to its loop."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def way(request: pytest.FixtureRequest, event_loop_for_db: asyncio.AbstractEventLoop) -> str:
    """``sync`` or ``async``: how the test's databases run their units (the loop, for the hook)."""
    chosen: str = getattr(request, "param", "sync")
    return chosen


def savepoint_of(way: str) -> Callable[..., Any]:
    """``savepoint(session, metadata)`` as the way's tests call it: the sync or the async one."""
    if way == "sync":
        return sync_savepoint

    @contextmanager
    def async_savepoint(session: Session, metadata: MetaData | None = None) -> Iterator[Session]:
        face = async_session(session)
        assert face is not None, "a session of the async way has its AsyncSession"
        with awaited(adb.savepoint(face, metadata)):
            yield session

    return async_savepoint

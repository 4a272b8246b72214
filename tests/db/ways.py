"""The two ways to run the data layer's units of work, behind one shape, for one contract suite.

Each test of the contract modules runs twice: with ``db`` the sync
:class:`~alchemy_patterns.db.Database`, and with ``db`` an :class:`AsyncWay`:
the same shape, whose ``session_scope()`` and ``transaction()`` are
:class:`~alchemy_patterns.db.AsyncDatabase`'s, awaited. The async run calls the
test function itself in SQLAlchemy's greenlet on the suite's event loop (as
``AsyncSession.run_sync`` runs sync code), so its sync body, and the sync data
layer functions it calls on the yielded session, run on the asyncio driver.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import async_session
from sqlalchemy.orm import Session
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

from alchemy_patterns.db import AsyncDatabase, Database
from alchemy_patterns.db import asyncio as adb
from alchemy_patterns.db import savepoint as sync_savepoint
from alchemy_patterns.db.greenlet import awaited

T = TypeVar("T")

WAYS = ("sync", "async")


class AsyncWay:
    """An :class:`AsyncDatabase` with :class:`Database`'s sync shape, for the contract suite.

    Inside the test (run in the greenlet) ``session_scope()`` and
    ``transaction()`` await the async database's; anything else is its sync
    ``Database`` on the same async engine. Outside it (fixtures that set data
    up) everything is ``fallback``, the sync test database.
    """

    def __init__(
        self, database: AsyncDatabase, loop: asyncio.AbstractEventLoop, fallback: Database
    ):
        self.async_database = database
        self.loop = loop
        self.fallback = fallback

    def __getattr__(self, name: str) -> Any:
        return getattr(self.async_database.sync if in_greenlet() else self.fallback, name)

    def run(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` from the greenlet, or run it on the loop from outside."""
        if in_greenlet():
            return await_(awaitable)
        return self.loop.run_until_complete(awaitable)  # type: ignore[arg-type]

    @contextmanager
    def session_scope(self, *, read_only: bool = False) -> Iterator[Session]:
        if not in_greenlet():
            with self.fallback.session_scope(read_only=read_only) as session:
                yield session
            return
        with awaited(self.async_database.session_scope(read_only=read_only)) as face:
            yield face.sync_session

    def transaction(self, work: Callable[[Session], T], **options: Any) -> T:
        if not in_greenlet():
            return self.fallback.transaction(work, **options)
        return await_(self.async_database.transaction(lambda s: s.run_sync(work), **options))


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

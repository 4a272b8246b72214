"""Between sync and async code, in SQLAlchemy's greenlet: the bridges the asyncio twin is built on.

``greenlet_spawn(fn)`` (what ``AsyncSession.run_sync`` is made of) runs sync
code from async code; inside it, ``await_(awaitable)`` waits for async code
from sync code. These wrap context managers and psycopg's async cursor the
same two ways, so the sync data layer runs unchanged on an asyncio driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from typing import Any, TypeVar

from sqlalchemy.util import await_, greenlet_spawn

__all__ = ["AwaitedCursor", "awaited", "greenlet_scope"]

T = TypeVar("T")


@asynccontextmanager
async def greenlet_scope(scope: AbstractContextManager[T]) -> AsyncIterator[T]:
    """Enter and leave the sync context manager ``scope`` in the greenlet, around an async block.

    What the block raises is handed to ``scope.__exit__`` as a ``with`` block
    would hand it, so the sync scope's commit, rollback and error translation
    apply unchanged.
    """
    value = await greenlet_spawn(scope.__enter__)
    try:
        yield value
    except BaseException as error:
        if not await greenlet_spawn(scope.__exit__, type(error), error, error.__traceback__):
            raise
    else:
        await greenlet_spawn(scope.__exit__, None, None, None)


@contextmanager
def awaited(scope: AbstractAsyncContextManager[T]) -> Iterator[T]:
    """Enter and leave the async context manager ``scope`` from sync code in the greenlet."""
    value = await_(scope.__aenter__())
    try:
        yield value
    except BaseException as error:
        if not await_(scope.__aexit__(type(error), error, error.__traceback__)):
            raise
    else:
        await_(scope.__aexit__(None, None, None))


class AwaitedCursor:
    """A psycopg ``AsyncCursor`` with the sync cursor's shape, for COPY run in the greenlet."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def __enter__(self) -> AwaitedCursor:
        return self

    def __exit__(self, *_: object) -> None:
        await_(self._cursor.close())

    @contextmanager
    def copy(self, sql: str) -> Iterator[_AwaitedCopy]:
        with awaited(self._cursor.copy(sql)) as copy:
            yield _AwaitedCopy(copy)


class _AwaitedCopy:
    def __init__(self, copy: Any) -> None:
        self._copy = copy

    def write_row(self, row: Sequence[Any]) -> None:
        await_(self._copy.write_row(row))

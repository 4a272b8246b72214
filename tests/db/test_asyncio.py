"""What only the async way has: its awaitable API, tasks counted apart, units raced in tasks.

The contract itself (scopes, retries, errors, pages, bulk, profiling) runs the
async way in the contract modules (see :mod:`tests.db.ways`); these tests call
:class:`AsyncDatabase` and :mod:`alchemy_patterns.db.asyncio` as an async
application does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alchemy_patterns.db import (
    AsyncDatabase,
    NotFound,
    RetryPolicy,
    ValidationFailed,
    async_url,
    count_queries,
)
from alchemy_patterns.db import asyncio as adb
from alchemy_patterns.db.replicas import NODE, PRIMARY
from tests.db.models import Author, AuthorProfile, Counter, Item, Measurement
from tests.db.ways import AsyncWay

T = TypeVar("T")

Run = Callable[[Coroutine[Any, Any, T]], T]


@pytest.fixture
def database(_async_schema: AsyncWay, db: Any) -> AsyncDatabase:
    """The backend's ``AsyncDatabase`` (``db`` empties the tables after the test)."""
    return _async_schema.async_database


@pytest.fixture
def run(_async_schema: AsyncWay) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """Run a coroutine on the suite's event loop (the loop the async engine's pool belongs to)."""
    return _async_schema.loop.run_until_complete


async def add_authors(database: AsyncDatabase, *names: str) -> None:
    async with database.session_scope() as session:
        session.add_all(Author(name=name) for name in names)


def test_the_url_of_a_sync_driver_gets_its_backends_asyncio_driver() -> None:
    assert async_url("sqlite:///app.db").drivername == "sqlite+aiosqlite"
    assert async_url("mysql+pymysql://u@h/d").drivername == "mysql+asyncmy"
    assert async_url("postgresql://u@h/d").drivername == "postgresql+psycopg"
    assert async_url("postgresql+asyncpg://u@h/d").drivername == "postgresql+asyncpg"


def test_two_tasks_each_count_only_their_own_statements(database: AsyncDatabase, run: Run) -> None:
    async def reads(times: int) -> int:
        with count_queries() as counter:
            for _ in range(times):
                async with database.session_scope(read_only=True) as session:
                    await session.scalar(select(func.count()).select_from(Author))
                await asyncio.sleep(0)  # let the other task run between our statements
        return counter.count

    async def both() -> list[int]:
        return await asyncio.gather(reads(2), reads(7))

    assert run(both()) == [2, 7]


def test_a_savepoint_keeps_the_outer_row_when_the_inner_unit_fails(
    database: AsyncDatabase, run: Run
) -> None:
    async def unit() -> None:
        async with database.session_scope() as session:
            author = Author(name="ada")
            session.add(author)
            with pytest.raises(ValidationFailed):
                async with adb.savepoint(session):
                    session.add(AuthorProfile(author=author, bio=None))

    async def authors() -> int:
        async with database.session_scope() as session:
            return await adb.count(session, select(Author))

    run(unit())

    assert run(authors()) == 1


def test_the_read_helpers_await_the_sync_ones(database: AsyncDatabase, run: Run) -> None:
    async def reads() -> tuple[Any, ...]:
        await add_authors(database, *(f"author{i:02}" for i in range(25)))
        async with database.session_scope(read_only=True) as session:
            by_name = select(Author).order_by(Author.name)
            page = await adb.paginate(session, by_name, page=2, per_page=10)
            first = await adb.keyset_paginate(session, select(Author.name), [Author.name])
            names = [name async for name in adb.stream(session, select(Author.name), batch_size=7)]
            found = await adb.exists(session, select(Author).where(Author.name == "author03"))
            author = await adb.get_or_raise(session, Author, page.items[0].id)
            with pytest.raises(NotFound):
                await adb.get_or_raise(session, Author, -1)
        return page, first, names, found, author

    page, first, names, found, author = run(reads())

    assert (page.total, [a.name for a in page.items][:2]) == (25, ["author10", "author11"])
    assert first.items[:2] == ["author00", "author01"]
    assert first.next_cursor is not None  # 25 rows, 20 a page
    assert sorted(names) == [f"author{i:02}" for i in range(25)]
    assert found is True
    assert author.name == "author10"


def test_the_bulk_helpers_await_the_sync_ones(database: AsyncDatabase, run: Run) -> None:
    rows = [{"sensor": "s1", "reading": i, "note": None} for i in range(50)]

    async def writes() -> tuple[int, int, int]:
        async with database.session_scope() as session:
            await adb.bulk_insert(session, Measurement, rows)
            copied = await adb.copy_insert(session, Measurement, rows)  # COPY on PostgreSQL
            await adb.upsert(session, Item, [{"sku": "a", "quantity": 1}], conflict=["sku"])
            changed = await adb.update_where(
                session, Measurement, Measurement.reading < 10, values={"note": "low"}
            )
        async with database.session_scope(read_only=True) as session:
            stored = await adb.count(session, select(Measurement))
        return copied, changed, stored

    assert run(writes()) == (50, 20, 100)


def test_a_sync_service_runs_unchanged_in_a_retried_transaction(
    database: AsyncDatabase, run: Run
) -> None:
    async def setup() -> int:
        async with database.session_scope() as session:
            counter = Counter(value=0)
            session.add(counter)
            await session.flush()
            return counter.id

    counter_id = run(setup())

    def increment(session: Any, by: int) -> int:  # a sync service: takes a Session
        counter = session.get_one(Counter, counter_id, with_for_update=True)
        counter.value += by
        return int(counter.value)

    async def ten_at_once() -> list[int]:
        policy = RetryPolicy(max_attempts=50, base_delay=0.001, max_delay=0.05)
        units = [
            database.transaction(lambda s: s.run_sync(increment, 1), retry=policy)
            for _ in range(10)
        ]
        return await asyncio.gather(*units)

    assert sorted(run(ten_at_once())) == list(range(1, 11))
    assert run(database.run_sync(lambda s: s.get_one(Counter, counter_id).value)) == 10


def test_the_decorator_form_retries_each_call_and_passes_its_options(
    database: AsyncDatabase, run: Run
) -> None:
    policy = RetryPolicy(max_attempts=50, base_delay=0.001, max_delay=0.05)
    attempts: list[int] = []

    @database.transactional(retry=policy)
    async def increment(session: AsyncSession, counter_id: int, by: int = 1) -> int:
        attempts.append(counter_id)
        counter = await session.get_one(Counter, counter_id, with_for_update=True)
        counter.value += by
        return counter.value

    @database.transactional(read_only=True)
    async def node_and_value(session: AsyncSession, counter_id: int) -> tuple[str, int]:
        counter = await session.get_one(Counter, counter_id)
        return session.info[NODE], counter.value

    async def scenario() -> tuple[list[int], tuple[str, int]]:
        async with database.session_scope() as session:
            counter = Counter(value=0)
            session.add(counter)
            await session.flush()
        values = await asyncio.gather(*(increment(counter.id, by=1) for _ in range(10)))
        return sorted(values), await node_and_value(counter.id)

    values, read = run(scenario())

    assert values == list(range(1, 11))  # every call committed once, retried if it had to be
    assert len(attempts) >= 10
    assert read == (PRIMARY, 10)  # read_only reached the unit: a read session (the primary's)
    assert increment.__name__ == "increment"


def test_a_transaction_nested_in_a_scope_joins_it(database: AsyncDatabase, run: Run) -> None:
    async def add(session: AsyncSession) -> None:
        session.add(Author(name="inner"))

    async def unit() -> None:
        async with database.session_scope() as session:
            session.add(Author(name="outer"))
            await database.transaction(add)
            raise RuntimeError("abandon both")

    async def authors() -> int:
        async with database.session_scope() as session:
            return await adb.count(session, select(Author))

    with pytest.raises(RuntimeError):
        run(unit())

    assert run(authors()) == 0


def test_ping_answers(database: AsyncDatabase, run: Run) -> None:
    assert run(database.ping()) is True

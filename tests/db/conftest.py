"""Fixtures for the data layer's tests: a ``Database`` per backend, emptied after each test.

The contract modules (``CONTRACT``) run each test that takes ``db`` twice, the
sync way and the async way (:mod:`tests.db.ways`); a test that cannot run the
async way (it starts threads of its own) says so with ``@pytest.mark.sync_only``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from alchemy_patterns.db import AsyncDatabase, Database
from tests.cleanup import empty_tables
from tests.db.models import metadata
from tests.db.ways import AsyncWay, parametrize_ways, savepoint_of

CONTRACT = frozenset(
    f"tests.db.test_{name}"
    for name in (
        "session",
        "errors",
        "retry",
        "pagination",
        "bulk",
        "profiling",
        "stream",
        "softdelete",
        "direct",
    )
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_ways(metafunc, CONTRACT)


@pytest.fixture
def savepoint(way: str) -> Callable[..., Any]:
    """The way's ``savepoint(session, metadata)``: the sync one or the async one, awaited."""
    return savepoint_of(way)


@pytest.fixture(scope="session")
def _schema(database_url: str) -> Iterator[Database]:
    database = Database(database_url, metadata=metadata, n_plus_one="raise")
    database.drop_all()
    database.create_all()
    yield database
    database.drop_all()
    database.dispose()


@pytest.fixture(scope="session")
def _async_schema(
    _schema: Database, event_loop_for_db: asyncio.AbstractEventLoop
) -> Iterator[AsyncWay]:
    database = AsyncDatabase(_schema.url, metadata=metadata, n_plus_one="raise")
    yield AsyncWay(database, event_loop_for_db, _schema)
    event_loop_for_db.run_until_complete(database.dispose())


@pytest.fixture
def db(way: str, _schema: Database, request: pytest.FixtureRequest) -> Iterator[Database]:
    """The backend's test ``Database`` (or, the async way, its twin); tables emptied after."""
    if way == "sync":
        yield _schema
    else:
        yield request.getfixturevalue("_async_schema")
    empty_tables(_schema, metadata)


@pytest.fixture
def make_db(db: Database, way: str) -> Iterator[Callable[..., Database]]:
    """Build extra databases of the test's way on the same test database (disposed afterwards)."""
    made: list[Database | AsyncWay] = []

    def make(**options: Any) -> Database:
        options.setdefault("metadata", metadata)
        if way == "sync":
            made.append(Database(db.url, **options))
        else:
            assert isinstance(db, AsyncWay)
            made.append(AsyncWay(AsyncDatabase(db.fallback.url, **options), db.loop, db.fallback))
        return made[-1]  # type: ignore[return-value]

    yield make
    for database in made:
        if isinstance(database, AsyncWay):
            database.loop.run_until_complete(database.async_database.dispose())
        else:
            database.dispose()

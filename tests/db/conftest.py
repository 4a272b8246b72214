"""Fixtures for the data layer's tests: a ``Database`` per backend, emptied after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from alchemy_patterns.db import Database
from tests.cleanup import empty_tables
from tests.db.models import metadata


@pytest.fixture(scope="session")
def _schema(database_url: str) -> Iterator[Database]:
    database = Database(database_url, metadata=metadata, n_plus_one="raise")
    database.drop_all()
    database.create_all()
    yield database
    database.drop_all()
    database.dispose()


@pytest.fixture
def db(_schema: Database) -> Iterator[Database]:
    """The backend's test ``Database``; every table is emptied after the test."""
    yield _schema
    empty_tables(_schema, metadata)


@pytest.fixture
def make_db(db: Database) -> Iterator[Callable[..., Database]]:
    """Build extra ``Database`` objects on the same test database (disposed afterwards)."""
    made: list[Database] = []

    def make(**options: Any) -> Database:
        options.setdefault("metadata", metadata)
        database = Database(db.url, **options)
        made.append(database)
        return database

    yield make
    for database in made:
        database.dispose()

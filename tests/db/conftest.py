"""Fixtures for the data layer's tests: a ``Database`` per backend, emptied after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, delete

from alchemy_patterns.db import Database
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
    _schema.remove()
    with _schema.engine.begin() as connection:
        _fail_rather_than_hang(connection)
        for table in reversed(metadata.sorted_tables):
            connection.execute(delete(table))
        if _schema.backend == "mariadb":
            connection.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = DEFAULT")


def _fail_rather_than_hang(connection: Connection) -> None:
    """A test that leaked a transaction holding locks makes clean-up fail, not wait forever."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
    elif connection.dialect.name in ("mysql", "mariadb"):
        connection.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 10")


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

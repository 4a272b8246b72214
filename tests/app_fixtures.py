"""Fixtures for the application's tests: its schema, built by the migrations, on each backend.

The schema is made once per run by Alembic (so every run also proves the
migrations apply), and every table is emptied after each test. Tests that race
real threads commit for real, so emptying is the clean-up, not a rollback.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, MetaData, Table, inspect

from alchemy_patterns import migrations
from alchemy_patterns.db import Database, EngineOptions
from alchemy_patterns.domains import metadata
from tests.cleanup import empty_tables


def _drop_everything(engine: Engine) -> None:
    metadata.drop_all(engine)
    if inspect(engine).has_table("alembic_version"):
        with engine.begin() as connection:
            Table("alembic_version", MetaData()).drop(connection)


@pytest.fixture(scope="session")
def _app_schema(database_url: str) -> Iterator[Database]:
    # Room for the concurrency tests' threads, each with its own connection.
    options = EngineOptions(pool_size=40, max_overflow=0)
    database = Database(database_url, metadata=metadata, n_plus_one="raise", engine_options=options)
    _drop_everything(database.engine)
    migrations.upgrade(database_url)
    yield database
    database.dispose()
    _drop_everything(database.engine)
    database.dispose()


@pytest.fixture
def app_db(_app_schema: Database) -> Iterator[Database]:
    """The application's ``Database`` on the chosen backend; emptied after each test."""
    yield _app_schema
    empty_tables(_app_schema, metadata)

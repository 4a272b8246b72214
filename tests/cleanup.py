"""Emptying a test database between tests."""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, delete

from alchemy_patterns.db import Database


def empty_tables(database: Database, metadata: MetaData) -> None:
    """Delete every row of ``metadata``'s tables, children first."""
    database.remove()
    with database.engine.begin() as connection:
        _fail_rather_than_hang(connection)
        for table in reversed(metadata.sorted_tables):
            connection.execute(delete(table))
        if database.backend == "mariadb":
            connection.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = DEFAULT")


def _fail_rather_than_hang(connection: Connection) -> None:
    """A test that leaked a transaction holding locks makes clean-up fail, not wait forever."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
    elif connection.dialect.name in ("mysql", "mariadb"):
        connection.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 10")

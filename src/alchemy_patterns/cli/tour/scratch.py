"""The scratch database the tour runs on: never the application's, never a user's tables.

* Without a URL, or with an SQLite one, an SQLite file in a new temporary
  directory, removed afterwards (the tour's threads need a file, not ``:memory:``).
* With a PostgreSQL or MariaDB URL, a database of its own on that server,
  named after the one in the URL with ``_tour`` appended (``app`` → ``app_tour``).
  The tour creates it when missing and drops it afterwards. If it exists
  already, it must be empty: the tour then creates its tables there and drops
  only those. A database holding tables is refused, never dropped.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import URL, make_url

from alchemy_patterns.db import Database, EngineOptions, backend_of, make_engine
from alchemy_patterns.domains import metadata

#: Room for the cart chapter's threads, each holding a connection at once.
POOL = EngineOptions(pool_size=12, max_overflow=8)
CONNECT_TIMEOUT_S = 10


class ScratchNotEmpty(ValueError):
    """The scratch database exists and holds tables the tour did not make."""


def scratch_url(url: str) -> URL:
    """Where the tour runs for a server URL: the same server, database ``<name>_tour``."""
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database or 'alchemy_patterns'}_tour")


@contextmanager
def scratch_database(url: str | None) -> Iterator[Database]:
    """The application's schema, new, on a scratch database for ``url``; removed afterwards."""
    if url is None or backend_of(url) == "sqlite":
        with (
            tempfile.TemporaryDirectory(prefix="alchemy-patterns-tour-") as workdir,
            _schema(f"sqlite:///{Path(workdir) / 'tour.sqlite3'}") as db,
        ):
            yield db
        return
    target = scratch_url(url)
    created = _create_if_missing(target)
    try:
        with _schema(target, found=not created) as db:
            yield db
    finally:
        if created:
            _drop_database(target)


@contextmanager
def _schema(url: str | URL, *, found: bool = False) -> Iterator[Database]:
    """The app's tables on ``url`` for the block, dropped after it.

    A database that was ``found`` rather than created must hold no table yet.
    """
    db = Database(url, metadata=metadata, slow_query_ms=None, n_plus_one="off", engine_options=POOL)
    try:
        if found:
            _check_empty(db)
        metadata.create_all(db.engine)
        try:
            yield db
        except BaseException:
            with suppress(Exception):  # the first error is the one worth showing
                metadata.drop_all(db.engine)
            raise
        metadata.drop_all(db.engine)
    finally:
        db.dispose()


@contextmanager
def _server(url: URL) -> Iterator[Connection]:
    """An autocommit connection to the server of ``url``, outside the database it names."""
    postgresql = url.get_backend_name() == "postgresql"
    admin = url.set(database="postgres" if postgresql else "")
    engine = make_engine(
        admin,
        EngineOptions(pool_size=1, max_overflow=0),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _create_if_missing(url: URL) -> bool:
    """Create the scratch database unless it exists; whether it was created."""
    with _server(url) as connection:
        if _exists(connection, url):
            return False
        name = connection.dialect.identifier_preparer.quote(url.database or "")
        suffix = "" if url.get_backend_name() == "postgresql" else " CHARACTER SET utf8mb4"
        connection.exec_driver_sql(f"CREATE DATABASE {name}{suffix}")
        return True


def _exists(connection: Connection, url: URL) -> bool:
    if url.get_backend_name() == "postgresql":
        query = "SELECT 1 FROM pg_database WHERE datname = :name"
    else:
        query = "SELECT 1 FROM information_schema.schemata WHERE schema_name = :name"
    return connection.scalar(text(query), {"name": url.database}) is not None


def _check_empty(db: Database) -> None:
    tables = inspect(db.engine).get_table_names()
    if tables:
        raise ScratchNotEmpty(
            f"the tour's scratch database {db.url.database!r} on {db.url.host} already holds "
            f"{len(tables)} table(s); the tour never drops tables it did not make: "
            "drop that database, or point --database-url at another"
        )


def _drop_database(url: URL) -> None:
    with _server(url) as connection:
        name = connection.dialect.identifier_preparer.quote(url.database or "")
        force = " WITH (FORCE)" if url.get_backend_name() == "postgresql" else ""
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")


def where(db: Database) -> str:
    """Where the tour is running, for its first line."""
    if db.backend == "sqlite":
        return "a scratch SQLite file in a temporary directory (removed afterwards)"
    url = db.url.render_as_string(hide_password=True)
    return f"{url} (a scratch database: the tour's tables go when it ends)"

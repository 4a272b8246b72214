"""Statements seen at the driver's cursor: counted once each, and off SQLAlchemy's event path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, bindparam, create_engine, select, text, update
from sqlalchemy.orm import Session

from alchemy_patterns.db import Database, count_queries, make_engine, observe_statements
from tests.db.models import Author

FAST_DRIVERS = ("psycopg", "pymysql")


def cursor_listeners(engine: Engine) -> int:
    """How many listeners for SQLAlchemy's per-statement events the engine has."""
    connection, dialect = engine.dispatch, engine.dialect.dispatch
    return sum(
        len(listeners)
        for listeners in (
            connection.before_execute,
            connection.after_execute,
            connection.before_cursor_execute,
            connection.after_cursor_execute,
            dialect.handle_error,
        )
    )


def author_ids(db: Database, *names: str) -> list[int]:
    with db.session_scope() as session:
        authors = [Author(name=name) for name in names]
        session.add_all(authors)
        session.flush()
        return [author.id for author in authors]


@pytest.fixture
def plain_engine(database_url: str) -> Iterator[Engine]:
    """The test database through ``sqlalchemy.create_engine()``, not ours."""
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def test_a_server_engine_counts_its_statements_with_no_event_listener(db: Database) -> None:
    with count_queries() as counter, db.session_scope(read_only=True) as session:
        session.execute(select(Author.id)).all()

    assert [s.sql.split()[0] for s in counter.statements] == ["SELECT"]
    # psycopg and PyMySQL: seen at the cursor. Any listener of these events would put every
    # execution on SQLAlchemy's event path, which costs more than the counting.
    assert (cursor_listeners(db.engine) == 0) == (db.engine.driver in FAST_DRIVERS)


def test_executemany_is_one_statement_and_says_so(db: Database) -> None:
    ada, bob = author_ids(db, "ada", "bob")
    rename = update(Author).where(Author.id == bindparam("b_id")).values(name=bindparam("b_name"))

    with count_queries() as counter, db.engine.begin() as connection:
        connection.execute(rename, [{"b_id": ada, "b_name": "x"}, {"b_id": bob, "b_name": "y"}])

    # PyMySQL runs an executemany UPDATE row by row through execute(): still one statement.
    assert [(s.sql.split()[0], s.many) for s in counter.statements] == [("UPDATE", True)]
    with db.session_scope() as session:
        assert sorted(session.scalars(select(Author.name))) == ["x", "y"]


def test_a_streamed_select_is_counted(db: Database) -> None:
    author_ids(db, "ada", "bob", "cy")

    with count_queries() as counter, Session(db.engine) as session:
        streamed = session.scalars(select(Author.name).execution_options(yield_per=1))
        assert sorted(streamed) == ["ada", "bob", "cy"]

    assert [s.sql.split()[0] for s in counter.statements] == ["SELECT"]


def test_an_engine_made_elsewhere_reports_once_observed(plain_engine: Engine) -> None:
    with count_queries() as unseen, plain_engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    plain_engine.dispose()  # connections opened before observe_statements() are not seen

    observe_statements(plain_engine)
    with count_queries() as seen, plain_engine.connect() as connection:
        connection.execute(text("SELECT 2"))

    assert unseen.count == 0
    assert [s.sql for s in seen.statements] == ["SELECT 2"]


@pytest.mark.backends("postgresql")
def test_the_cursor_class_the_application_chose_is_kept(database_url: str) -> None:
    import psycopg

    engine = make_engine(database_url, connect_args={"cursor_factory": psycopg.ClientCursor})
    try:
        with count_queries() as counter, engine.connect() as connection:
            connection.execute(text("SELECT :n"), {"n": 7})
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    finally:
        engine.dispose()

    assert isinstance(cursor, psycopg.ClientCursor)  # binds on the client, as chosen
    assert [s.sql for s in counter.statements] == ["SELECT %(n)s"]

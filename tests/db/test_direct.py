"""Prepared statements run on the driver's cursor: what SQLAlchemy would answer, for less work.

On psycopg (sync), ``execute_core`` runs a :func:`prepared` statement
directly and gives a ``DirectResult``; elsewhere, and whenever something
would miss the statement, SQLAlchemy runs it. Either way the caller sees the
same rows, keys, types, rowcounts and errors, and each test checks that on
every backend and both ways.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    CursorResult,
    Engine,
    bindparam,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from alchemy_patterns.db import (
    Conflict,
    Database,
    DirectResult,
    Unavailable,
    count_queries,
    direct,
    execute_core,
    is_prepared,
    keyset_paginate,
    paginate,
    prepared,
    table_of,
)
from tests.db.models import Author, Book
from tests.direct import directly_run
from tests.disconnects import dbapi_connection, kill

authors, books = table_of(Author), table_of(Book)

#: Two tables' ``id`` and ``name``-like columns: SQLAlchemy names the second ``id`` ``id_1``.
BOOKS_WITH_AUTHORS = prepared(
    select(
        books.c.id,
        books.c.title,
        books.c.price,
        books.c.published_at,
        authors.c.id,
        authors.c.name,
        func.upper(books.c.title).label("shouted"),
        literal("fixed").label("constant"),
    )
    .join(authors, authors.c.id == books.c.author_id)
    .where(authors.c.name == bindparam("author"))
    .order_by(books.c.id)
)
AUTHOR_IDS = prepared(
    select(authors.c.id).where(authors.c.name.in_(bindparam("names", expanding=True)))
)
RENAME = prepared(
    update(authors).where(authors.c.id == bindparam("author_id")).values(name=bindparam("new_name"))
)
DELETE_BOOKS = prepared(delete(books).where(books.c.id.in_(bindparam("ids", expanding=True))))
ADD_AUTHOR = prepared(insert(authors).returning(authors.c.id, authors.c.name))
ADD_BOOK = prepared(insert(books))
PUBLISHED = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)


def runs_directly(session: Session) -> bool:
    """Whether ``execute_core`` takes the direct path on this session's driver."""
    dialect = session.get_bind().dialect
    return dialect.driver == "psycopg" and not dialect.is_async


def runs_directly_on(db: Database) -> bool:
    """Whether ``execute_core`` takes the direct path on ``db`` (either way's)."""
    with db.session_scope() as session:
        return runs_directly(session)


def kind(session: Session) -> type:
    return DirectResult if runs_directly(session) else CursorResult


def _many_rowcount(session: Session, rows: int) -> int:
    """An executemany's rowcount: SQLAlchemy's asyncio psycopg adapter reports none (-1)."""
    dialect = session.get_bind().dialect
    return -1 if dialect.driver == "psycopg" and dialect.is_async else rows


def add_books(db: Database) -> int:
    with db.session_scope() as session:
        ada = Author(name="ada")
        session.add(ada)
        session.flush()
        session.add_all(
            [
                Book(
                    author_id=ada.id, title="Notes", price=Decimal("12.50"), published_at=PUBLISHED
                ),
                Book(author_id=ada.id, title="Letters", price=Decimal("3.00")),
            ]
        )
        session.flush()
        return ada.id


def test_a_prepared_select_gives_sqlalchemys_rows_keys_and_types(db: Database) -> None:
    add_books(db)
    with db.session_scope() as session:
        through_sqlalchemy = session.connection().execute(BOOKS_WITH_AUTHORS, {"author": "ada"})
        expected = (list(through_sqlalchemy.keys()), through_sqlalchemy.all())
        result = execute_core(session, BOOKS_WITH_AUTHORS, {"author": "ada"})

        assert type(result) is kind(session)
        assert (list(result.keys()), result.all()) == expected
        # Keyed by the column objects too, as a CursorResult's rows are.
        (notes, _) = execute_core(session, BOOKS_WITH_AUTHORS, {"author": "ada"}).all()
        assert (notes._mapping[books.c.title], notes._mapping[authors.c.name]) == ("Notes", "ada")
        assert notes._mapping[authors.c.id] == notes.id_1

    keys, rows = expected
    assert keys == ["id", "title", "price", "published_at", "id_1", "name", "shouted", "constant"]
    notes, letters = rows
    assert (notes.title, notes.price, notes.shouted, notes.constant) == (
        "Notes",
        Decimal("12.50"),
        "NOTES",
        "fixed",
    )
    assert notes.published_at == PUBLISHED
    assert notes.published_at.tzinfo is not None
    assert notes._asdict()["name"] == "ada"
    assert letters.published_at is None


def test_the_one_row_and_scalar_methods_behave_as_sqlalchemys(db: Database) -> None:
    add_books(db)
    with db.session_scope() as session:
        one = execute_core(session, AUTHOR_IDS, {"names": ["ada"]})
        assert type(one) is kind(session)
        ada_id = one.scalar_one()
        assert execute_core(session, AUTHOR_IDS, {"names": ["nobody"]}).one_or_none() is None
        assert execute_core(session, AUTHOR_IDS, {"names": []}).all() == []
        assert execute_core(session, AUTHOR_IDS, {"names": ["ada", "x"]}).scalar() == ada_id
        with pytest.raises(sa_exc.NoResultFound):
            execute_core(session, AUTHOR_IDS, {"names": ["nobody"]}).one()


def test_dml_gives_the_rowcount_and_a_result_without_rows(db: Database) -> None:
    ada_id = add_books(db)
    with db.session_scope() as session:
        book_ids = list(session.scalars(select(Book.id)))
        renamed = execute_core(session, RENAME, {"author_id": ada_id, "new_name": "ada l."})
        deleted = execute_core(session, DELETE_BOOKS, {"ids": [*book_ids, 10**6]})

        assert type(renamed) is kind(session)
        assert (renamed.rowcount, deleted.rowcount) == (1, 2)
        with pytest.raises(sa_exc.ResourceClosedError):
            renamed.all()

    with db.session_scope() as session:  # committed by the caller, as any statement
        assert session.scalars(select(Author.name)).all() == ["ada l."]
        assert session.scalars(select(Book.id)).all() == []


def test_an_executemany_runs_every_set_and_counts_as_one_statement(db: Database) -> None:
    ada_id = add_books(db)
    rows = [
        {"author_id": ada_id, "title": f"Book {n}", "price": Decimal(n), "published_at": PUBLISHED}
        for n in range(1, 4)
    ]
    with count_queries() as counter, db.session_scope() as session:
        result = execute_core(session, ADD_BOOK, rows)

        assert type(result) is kind(session)
        assert result.rowcount == _many_rowcount(session, 3)

    assert [(s.many, s.sql.split()[0]) for s in counter.statements] == [(True, "INSERT")]
    with db.session_scope() as session:
        stored = session.execute(
            select(Book.title, Book.price, Book.published_at).where(Book.title.like("Book %"))
        )
        assert sorted(stored) == [(f"Book {n}", Decimal(n), PUBLISHED) for n in range(1, 4)]


def test_an_insert_returning_gives_its_row_and_one_needing_a_python_default_goes_through_sqlalchemy(
    db: Database,
) -> None:
    ada_id = add_books(db)
    with db.session_scope() as session:
        added = execute_core(session, ADD_AUTHOR, {"name": "bob"})
        assert type(added) is kind(session)
        assert added.one().name == "bob"
        # Book.price has a Python-side default, which SQLAlchemy's execution computes.
        defaulted = execute_core(session, ADD_BOOK, {"author_id": ada_id, "title": "Free"})
        assert type(defaulted) is CursorResult
    with db.session_scope() as session:
        assert session.scalar(select(Book.price).where(Book.title == "Free")) == Decimal("0.00")


def test_a_constraint_violation_is_sqlalchemys_error_and_translates(db: Database) -> None:
    add_books(db)
    with db.session_scope() as session, pytest.raises(sa_exc.IntegrityError) as raised:
        execute_core(session, ADD_AUTHOR, {"name": "ada"})
    assert raised.value.orig is raised.value.__cause__
    assert not raised.value.connection_invalidated

    with pytest.raises(Conflict), db.session_scope() as session:
        execute_core(session, ADD_AUTHOR, {"name": "ada"})
    with db.session_scope() as session:
        assert session.scalars(select(Author.name)).all() == ["ada"]


def test_each_statement_is_counted_as_on_sqlalchemys_path(db: Database) -> None:
    add_books(db)
    with count_queries() as counter, db.session_scope() as session:
        execute_core(session, BOOKS_WITH_AUTHORS, {"author": "ada"}).all()
        execute_core(session, AUTHOR_IDS, {"names": ["ada", "bob"]}).all()

    assert [s.sql.split()[0] for s in counter.statements] == ["SELECT", "SELECT"]
    assert counter.count == 2


@pytest.mark.sync_only
def test_a_cursor_event_listener_sees_every_prepared_statement(db: Database) -> None:
    add_books(db)
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        with db.session_scope() as session:
            result = execute_core(session, BOOKS_WITH_AUTHORS, {"author": "ada"})
            assert type(result) is CursorResult
            assert len(result.all()) == 2
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    # SQLite's transactions send a BEGIN of their own first.
    assert [s.split()[0] for s in seen if not s.startswith("BEGIN")] == ["SELECT"]


@pytest.mark.sync_only
def test_a_statement_with_an_execution_option_that_shapes_it_goes_through_sqlalchemy(
    db: Database,
) -> None:
    add_books(db)
    streamed = BOOKS_WITH_AUTHORS.execution_options(yield_per=1)
    with db.session_scope() as session:
        result = execute_core(session, streamed, {"author": "ada"})
        assert type(result) is CursorResult
        assert [row.title for row in result] == ["Notes", "Letters"]


@pytest.mark.sync_only
def test_a_dead_connection_found_by_a_prepared_statement_is_invalidated_and_the_unit_runs_again(
    make_db: Callable[..., Database],
) -> None:
    db = make_db()
    add_books(db)
    used: list[Any] = []

    def unit(session: Session) -> list[str]:
        used.append(dbapi_connection(session))
        if len(used) == 1:
            kill(db.engine, used[0])
        return [row.title for row in execute_core(session, BOOKS_WITH_AUTHORS, {"author": "ada"})]

    assert db.transaction(unit) == ["Notes", "Letters"]
    assert len(used) == 2
    assert used[0] is not used[1]
    assert _pooled_connections(db.engine) == [used[1]]


def _pooled_connections(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return [connection.connection.dbapi_connection]


def test_the_mark_is_the_statements_own_not_what_is_derived_from_it_per_call(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_books(db)
    narrowed = BOOKS_WITH_AUTHORS.where(books.c.price > 5)
    seen = directly_run(monkeypatch)
    with db.session_scope() as session:
        titles = [row.title for row in execute_core(session, narrowed, {"author": "ada"})]

    assert titles == ["Notes"]
    assert is_prepared(BOOKS_WITH_AUTHORS)
    assert not is_prepared(narrowed)
    assert seen == [(narrowed, False)]  # SQLAlchemy, and its cache, ran it


def test_paginate_runs_the_page_and_count_of_a_prepared_statement_directly(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_books(db)
    by_title = prepared(select(books.c.id, books.c.title).order_by(books.c.title, books.c.id))
    seen = directly_run(monkeypatch)
    with db.session_scope() as session:
        page = paginate(session, by_title, per_page=1)
        keyset = keyset_paginate(session, by_title, [books.c.title, books.c.id], per_page=1)
        after = keyset_paginate(
            session, by_title, [books.c.title, books.c.id], cursor=keyset.next_cursor, per_page=1
        )
        direct_here = runs_directly(session)

    assert ([row.title for row in page.items], page.total) == (["Letters"], 2)
    assert [row.title for row in keyset.items] == ["Letters"]
    assert [row.title for row in after.items] == ["Notes"]
    # The page, the count and the first keyset page are made once per statement and
    # prepared with it; the page after a cursor is built per call, so SQLAlchemy runs it.
    assert [ran for _, ran in seen] == [direct_here, direct_here, direct_here, False]
    assert all(is_prepared(statement) for statement, _ in seen[:3])


@pytest.mark.backends("postgresql")
def test_a_read_only_unit_runs_directly_and_stays_read_only(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_books(db)
    seen = directly_run(monkeypatch)
    with pytest.raises(sa_exc.DBAPIError) as refused, db.session_scope(read_only=True) as session:
        assert execute_core(session, AUTHOR_IDS, {"names": ["ada"]}).scalar_one() > 0
        execute_core(session, ADD_AUTHOR, {"name": "bob"})

    assert "read-only transaction" in str(refused.value.orig)
    direct = runs_directly_on(db)
    assert [ran for _, ran in seen] == [direct, direct]
    with db.session_scope() as session:
        assert session.scalars(select(Author.name)).all() == ["ada"]


@pytest.mark.sync_only  # planned for on sync psycopg only
@pytest.mark.backends("postgresql")
def test_prepared_statements_built_per_call_do_not_grow_the_plans_for_ever(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(direct, "_MAX_STATEMENTS", 3)
    for n in range(10):  # a misuse: prepared() is for statements built once
        built = prepared(select(authors.c.id).where(authors.c.id == bindparam("n")))
        with db.session_scope() as session:
            assert execute_core(session, built, {"n": n}).all() == []
            dialect = session.get_bind().dialect

    assert 0 < len(direct._PLANS[dialect]) <= 3


@pytest.mark.sync_only
def test_a_connection_closed_before_its_cursor_opens_is_sqlalchemys_disconnect_and_is_replaced(
    make_db: Callable[..., Database],
) -> None:
    db = make_db()
    add_books(db)

    def closes_its_connection(session: Session) -> None:
        dbapi_connection(session).close()  # the driver refuses to open a cursor on it
        execute_core(session, BOOKS_WITH_AUTHORS, {"author": "ada"})

    with pytest.raises(Unavailable) as refused:
        db.transaction(closes_its_connection)
    cause = refused.value.__cause__
    assert isinstance(cause, sa_exc.DBAPIError)
    assert cause.connection_invalidated  # as Connection.execute would have it

    def reads(session: Session) -> int:
        return len(execute_core(session, BOOKS_WITH_AUTHORS, {"author": "ada"}).all())

    assert db.transaction(reads) == 2  # on a fresh connection

"""Bulk writes: bulk_insert, upsert, copy_insert, update_where, bulk_update, read back for real."""

from __future__ import annotations

import datetime as dt
import logging
import math
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    literal,
    select,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from alchemy_patterns.db import (
    Database,
    StaleVersion,
    bulk_insert,
    bulk_update,
    copy_insert,
    count_queries,
    rowcount,
    update_where,
    upsert,
)
from tests.db.models import Author, Book, Event, Item, Measurement, metadata

UTC = dt.UTC
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session whose transaction the test commits or rolls back itself."""
    with db.sessionmaker() as session:
        yield session


def measurements(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"sensor": f"s{i % 7}", "reading": i, "note": None if i % 5 == 0 else f"note {i}"}
        for i in range(start, start + n)
    ]


def stored_measurements(db: Database) -> list[tuple[str, int, str | None]]:
    with db.session_scope(read_only=True) as session:
        rows = session.execute(
            select(Measurement.sensor, Measurement.reading, Measurement.note).order_by(
                Measurement.reading
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def stored_items(db: Database) -> dict[str, tuple[int, Decimal]]:
    with db.session_scope(read_only=True) as session:
        rows = session.execute(select(Item.sku, Item.quantity, Item.price))
        return {sku: (quantity, price) for sku, quantity, price in rows}


def as_tuples(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(row["sensor"], row["reading"], row["note"]) for row in rows]


# --- bulk_insert ---------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1000, 3000])
def test_bulk_insert_runs_one_insert_per_batch_and_stores_every_row(
    db: Database, session: Session, batch_size: int
) -> None:
    rows = measurements(10_000)

    with count_queries() as counter:
        inserted = bulk_insert(session, Measurement, iter(rows), batch_size=batch_size)
    session.commit()

    assert inserted == 10_000
    assert 1 <= len(counter.matching("INSERT")) <= math.ceil(10_000 / batch_size)
    assert stored_measurements(db) == as_tuples(rows)


def test_bulk_insert_into_a_table_uses_core_semantics(db: Database, session: Session) -> None:
    rows = measurements(2500)

    assert bulk_insert(session, metadata.tables["measurements"], rows) == 2500
    session.commit()

    assert stored_measurements(db) == as_tuples(rows)


def test_bulk_insert_returning_gives_ids_in_input_order(db: Database, session: Session) -> None:
    skus = [f"sku-{i:05d}" for i in reversed(range(2500))]

    ids = bulk_insert(
        session, Item, [{"sku": sku} for sku in skus], returning=[Item.id], batch_size=1000
    )
    session.commit()

    assert len(ids) == len(set(ids)) == 2500
    assert all(isinstance(i, int) for i in ids)
    with db.session_scope(read_only=True) as check:
        stored = dict(check.execute(select(Item.sku, Item.id)).all())
    assert ids == [stored[sku] for sku in skus]


def test_bulk_insert_returning_several_columns(db: Database, session: Session) -> None:
    rows: list[dict[str, Any]] = [
        {"sku": "b", "quantity": 2},
        {"sku": "a"},
        {"sku": "c", "quantity": 3},
    ]

    returned = bulk_insert(session, Item, rows, returning=[Item.sku, Item.quantity, Item.id])
    session.commit()

    assert [(sku, quantity) for sku, quantity, _ in returned] == [("b", 2), ("a", 0), ("c", 3)]
    assert {sku: quantity for sku, quantity, _ in returned} == {
        sku: quantity for sku, (quantity, _) in stored_items(db).items()
    }


def test_bulk_insert_stores_money_and_utc_datetimes_as_the_orm_does(
    db: Database, session: Session
) -> None:
    session.add(Author(id=1, name="ada"))
    session.commit()
    published = dt.datetime(2024, 5, 17, 14, 30, 15, 123456, tzinfo=PLUS_TWO)
    rows = [
        {"author_id": 1, "title": f"t{i}", "price": Decimal("12.34") + i, "published_at": published}
        for i in range(3)
    ]

    bulk_insert(session, Book, rows)
    session.commit()

    with db.session_scope(read_only=True) as check:
        books = check.execute(
            select(Book.title, Book.price, Book.published_at).order_by(Book.title)
        ).all()
        raw_price = check.scalar(text("SELECT price FROM books WHERE title = 't0'"))
    assert [(b.price, b.published_at) for b in books] == [
        (Decimal("12.34"), published),
        (Decimal("13.34"), published),
        (Decimal("14.34"), published),
    ]
    assert all(b.published_at.tzinfo is UTC for b in books)
    assert books[0].published_at.hour == 12  # stored as UTC
    if db.backend == "sqlite":
        assert raw_price == 1234  # integer cents, as Money stores it there
    else:
        assert Decimal(raw_price) == Decimal("12.34")


def test_bulk_insert_refuses_what_the_orm_refuses(db: Database, session: Session) -> None:
    session.add(Author(id=1, name="ada"))
    session.flush()
    naive = [{"author_id": 1, "title": "t", "published_at": dt.datetime(2024, 1, 1)}] * 2

    with pytest.raises(sa_exc.StatementError, match="naive datetime"):
        bulk_insert(session, Book, naive)
    with pytest.raises(sa_exc.StatementError, match="never a float"):
        bulk_insert(session, Book, [{"author_id": 1, "title": "t", "price": 1.5}] * 2)


def test_bulk_insert_applies_python_defaults_for_missing_keys(
    db: Database, session: Session
) -> None:
    rows = [{"sku": f"s{i}"} for i in range(1500)]

    bulk_insert(session, Item, rows)
    session.commit()

    items = stored_items(db)
    assert len(items) == 1500
    assert set(items.values()) == {(0, Decimal("0.00"))}


def test_bulk_insert_none_for_a_defaulted_column_means_the_default_as_in_the_orm(
    db: Database, session: Session
) -> None:
    rows: list[dict[str, Any]] = [
        {"sku": "a", "quantity": 5, "price": Decimal("1.10")},
        {"sku": "b", "quantity": None, "price": Decimal("2.20")},
        {"sku": "c", "quantity": 7, "price": None},
    ]

    bulk_insert(session, Item, rows)
    session.commit()

    assert stored_items(db) == {
        "a": (5, Decimal("1.10")),
        "b": (0, Decimal("2.20")),
        "c": (7, Decimal("0.00")),
    }


@pytest.fixture
def default_tables(db: Database) -> Iterator[tuple[Table, Table]]:
    """Tables with Python-side callable defaults: a plain function, one reading the row."""
    metadata = MetaData()
    tokens = Table(
        "bulk_test_tokens",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("n", Integer, nullable=False),
        Column("token", String(32), nullable=False, default=lambda: uuid.uuid4().hex),
    )
    doubles = Table(
        "bulk_test_doubles",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("n", Integer, nullable=False),
        Column(
            "doubled",
            Integer,
            nullable=False,
            default=lambda context: context.get_current_parameters()["n"] * 2,
        ),
    )
    metadata.create_all(db.engine)
    yield tokens, doubles
    metadata.drop_all(db.engine)


def test_bulk_insert_calls_callable_defaults_once_per_row(
    db: Database, default_tables: tuple[Table, Table], session: Session
) -> None:
    tokens, doubles = default_tables

    bulk_insert(session, tokens, [{"n": i} for i in range(1200)], batch_size=500)
    bulk_insert(session, doubles, [{"n": i} for i in range(1200)], batch_size=500)
    session.commit()

    with db.session_scope(read_only=True) as check:
        stored_tokens = check.execute(select(tokens.c.n, tokens.c.token)).all()
        stored_doubles = check.execute(select(doubles.c.n, doubles.c.doubled)).all()
    assert sorted(n for n, _ in stored_tokens) == list(range(1200))
    assert len({token for _, token in stored_tokens}) == 1200
    assert sorted(n for n, _ in stored_doubles) == list(range(1200))
    assert all(doubled == n * 2 for n, doubled in stored_doubles)


def test_bulk_insert_rows_with_different_keys(db: Database, session: Session) -> None:
    rows: list[dict[str, Any]] = [
        {"sku": "a"},
        {"sku": "b", "quantity": 5},
        {"sku": "c", "price": Decimal("1.50")},
        {"quantity": 2, "sku": "d"},
        {"sku": "e", "quantity": 4, "price": Decimal("9.99")},
    ]

    assert bulk_insert(session, Item, rows, batch_size=2) == 5
    session.commit()

    assert stored_items(db) == {
        "a": (0, Decimal("0.00")),
        "b": (5, Decimal("0.00")),
        "c": (0, Decimal("1.50")),
        "d": (2, Decimal("0.00")),
        "e": (4, Decimal("9.99")),
    }


def test_bulk_insert_takes_sql_expressions_as_values(db: Database, session: Session) -> None:
    rows: list[dict[str, Any]] = [{"sku": f"plain-{i}", "quantity": i} for i in range(5)]
    rows[3] = {"sku": func.lower("SHOUTED"), "quantity": literal(20) + 1}

    bulk_insert(session, Item, rows)
    session.commit()

    items = stored_items(db)
    assert items["shouted"] == (21, Decimal("0.00"))
    assert {sku: q for sku, (q, _) in items.items() if sku != "shouted"} == {
        "plain-0": 0,
        "plain-1": 1,
        "plain-2": 2,
        "plain-4": 4,
    }


def test_bulk_insert_commits_nothing(db: Database, session: Session) -> None:
    bulk_insert(session, Measurement, measurements(3000))
    seen_inside = session.scalar(select(func.count()).select_from(Measurement))
    session.rollback()

    assert seen_inside == 3000
    assert stored_measurements(db) == []


def test_bulk_insert_flushes_pending_objects_first(db: Database, session: Session) -> None:
    session.add(Author(id=7, name="ada"))  # not flushed yet: the books reference it

    bulk_insert(session, Book, [{"author_id": 7, "title": f"t{i}"} for i in range(3)])
    session.commit()

    with db.session_scope(read_only=True) as check:
        titles = check.scalars(select(Book.title).where(Book.author_id == 7).order_by(Book.title))
        assert list(titles) == ["t0", "t1", "t2"]


def test_bulk_insert_of_nothing_and_a_bad_batch_size(session: Session) -> None:
    assert bulk_insert(session, Measurement, []) == 0
    assert bulk_insert(session, Measurement, [], returning=[Measurement.id]) == []
    with pytest.raises(ValueError, match="batch_size"):
        bulk_insert(session, Measurement, measurements(3), batch_size=0)


# --- upsert --------------------------------------------------------------------


@pytest.fixture
def three_items(db: Database) -> None:
    with db.session_scope() as session:
        bulk_insert(
            session,
            Item,
            [
                {"sku": "a", "quantity": 1, "price": Decimal("1.00")},
                {"sku": "b", "quantity": 2, "price": Decimal("2.00")},
                {"sku": "c", "quantity": 3, "price": Decimal("3.00")},
            ],
        )


@pytest.mark.usefixtures("three_items")
def test_upsert_updates_existing_rows_and_inserts_new_ones(db: Database) -> None:
    with db.session_scope() as session:
        count = upsert(
            session,
            Item,
            [
                {"sku": "a", "quantity": 10, "price": Decimal("1.50")},
                {"sku": "d", "quantity": 4, "price": Decimal("4.00")},
            ],
            conflict=["sku"],
        )

    assert count == 2
    assert stored_items(db) == {
        "a": (10, Decimal("1.50")),
        "b": (2, Decimal("2.00")),
        "c": (3, Decimal("3.00")),
        "d": (4, Decimal("4.00")),
    }


@pytest.mark.usefixtures("three_items")
def test_upsert_updates_only_the_columns_named(db: Database) -> None:
    with db.session_scope() as session:
        upsert(
            session,
            Item,
            [{"sku": "a", "quantity": 10, "price": Decimal("9.99")}],
            conflict=["sku"],
            update=["quantity"],
        )

    assert stored_items(db)["a"] == (10, Decimal("1.00"))


@pytest.mark.usefixtures("three_items")
def test_upsert_rule_adds_to_the_stored_value(db: Database) -> None:
    rows = [
        {"sku": "a", "quantity": 10},
        {"sku": "b", "quantity": 5},
        {"sku": "e", "quantity": 6},
        {"sku": "a", "quantity": 100},  # the same key again: applied after the first
    ]

    with db.session_scope() as session:
        upsert(
            session,
            Item,
            rows,
            conflict=["sku"],
            update={"quantity": lambda current, new: current + new},
        )

    items = stored_items(db)
    assert {sku: quantity for sku, (quantity, _) in items.items()} == {
        "a": 111,
        "b": 7,
        "c": 3,
        "e": 6,
    }
    assert items["a"][1] == Decimal("1.00")  # not in the rule: untouched


@pytest.mark.usefixtures("three_items")
def test_upsert_with_nothing_to_update_only_inserts_missing_rows(db: Database) -> None:
    with db.session_scope() as session:
        upsert(
            session,
            Item,
            [{"sku": "a", "quantity": 99, "price": Decimal("9.00")}, {"sku": "z", "quantity": 1}],
            conflict=["sku"],
            update=[],
        )

    assert stored_items(db) == {
        "a": (1, Decimal("1.00")),
        "b": (2, Decimal("2.00")),
        "c": (3, Decimal("3.00")),
        "z": (1, Decimal("0.00")),
    }


def test_upsert_sets_onupdate_columns_of_updated_rows(db: Database) -> None:
    long_ago = dt.datetime(2000, 1, 1, tzinfo=UTC)
    with db.session_scope() as session:
        bulk_insert(
            session,
            Event,
            [{"id": 1, "name": "old", "created_at": long_ago, "updated_at": long_ago}],
        )

    with db.session_scope() as session:
        upsert(session, Event, [{"id": 1, "name": "renamed"}], conflict=["id"])

    with db.session_scope(read_only=True) as session:
        event = session.execute(select(Event.name, Event.created_at, Event.updated_at)).one()
    assert event.name == "renamed"
    assert event.created_at == long_ago
    assert event.updated_at > dt.datetime(2020, 1, 1, tzinfo=UTC)


# --- copy_insert ---------------------------------------------------------------


@pytest.mark.backends("postgresql")
def test_copy_insert_loads_rows_with_one_copy(db: Database, session: Session) -> None:
    rows = measurements(25_000)

    with count_queries() as counter:
        assert copy_insert(session, Measurement, iter(rows)) == 25_000
    session.commit()

    assert [s.sql.split()[0] for s in counter.statements] == ["COPY"]
    assert counter.matching("INSERT") == []
    assert stored_measurements(db) == as_tuples(rows)


@pytest.mark.backends("postgresql")
def test_copy_insert_processes_values_and_defaults(db: Database, session: Session) -> None:
    session.add(Author(id=1, name="ada"))  # flushed before the COPY
    published = dt.datetime(2024, 5, 17, 14, 30, tzinfo=PLUS_TWO)

    copy_insert(session, Book, [{"author_id": 1, "title": "t", "published_at": published}])
    copy_insert(session, Item, [{"sku": "a", "price": Decimal("2.50")}, {"sku": "b"}])
    session.commit()

    assert stored_items(db) == {"a": (0, Decimal("2.50")), "b": (0, Decimal("0.00"))}
    with db.session_scope(read_only=True) as check:
        book = check.execute(select(Book.price, Book.published_at)).one()
    assert book.price == Decimal("0.00")
    assert book.published_at == published
    assert book.published_at.tzinfo is UTC


@pytest.mark.backends("postgresql")
def test_copy_insert_sends_a_batch_it_cannot_copy_through_insert(
    db: Database, session: Session
) -> None:
    rows: list[dict[str, Any]] = measurements(30)
    rows[15] = {"sensor": func.upper("s"), "reading": 15, "note": "expr"}

    with count_queries() as counter:
        copy_insert(session, Measurement, rows, batch_size=10)
    session.commit()

    kinds = [s.sql.split()[0] for s in counter.statements]
    assert kinds == ["COPY", "INSERT", "COPY"]
    stored = stored_measurements(db)
    assert len(stored) == 30
    assert stored[15] == ("S", 15, "expr")


@pytest.mark.backends("postgresql")
def test_copy_insert_commits_nothing(db: Database, session: Session) -> None:
    copy_insert(session, Measurement, measurements(1000))
    seen_inside = session.scalar(select(func.count()).select_from(Measurement))
    session.rollback()

    assert seen_inside == 1000
    assert stored_measurements(db) == []


@pytest.mark.backends("sqlite", "mariadb")
def test_copy_insert_falls_back_to_bulk_insert(db: Database, session: Session) -> None:
    rows = measurements(2500)

    with count_queries() as counter:
        assert copy_insert(session, Measurement, rows, batch_size=1000) == 2500
    session.commit()

    assert len(counter.matching("INSERT")) == 3
    assert counter.matching("COPY") == []
    assert stored_measurements(db) == as_tuples(rows)


# --- rowcount ------------------------------------------------------------------


def test_rowcount_counts_the_rows_a_statement_changed(session: Session) -> None:
    bulk_insert(session, Measurement, measurements(10))

    deleted = rowcount(session.execute(delete(Measurement).where(Measurement.sensor == "s1")))

    assert deleted == 2  # readings 1 and 8


def test_rowcount_of_a_result_without_one_is_a_type_error(session: Session) -> None:
    with pytest.raises(TypeError, match="no row count"):
        rowcount(session.execute(select(Author)))


# --- update_where, bulk_update ------------------------------------------------


@pytest.mark.usefixtures("three_items")
def test_update_where_returns_rows_matched_and_refreshes_loaded_objects(db: Database) -> None:
    with db.session_scope() as session:
        a, b, c = session.scalars(select(Item).order_by(Item.sku)).all()

        matched = update_where(session, Item, Item.sku.in_(["a", "b"]), values={"quantity": 2})

        assert matched == 2  # "b" already held 2: matched all the same
        assert (a.quantity, b.quantity, c.quantity) == (2, 2, 3)

        matched = update_where(
            session, Item, Item.quantity >= 2, values={"quantity": Item.quantity + 10}
        )

        assert matched == 3
        assert (a.quantity, b.quantity, c.quantity) == (12, 12, 13)

    assert {sku: q for sku, (q, _) in stored_items(db).items()} == {"a": 12, "b": 12, "c": 13}


@pytest.mark.usefixtures("three_items")
def test_update_where_matching_nothing(db: Database) -> None:
    with db.session_scope() as session:
        assert update_where(session, Item, Item.sku == "nope", values={"quantity": 1}) == 0


@pytest.mark.usefixtures("three_items")
def test_bulk_update_by_primary_key(db: Database) -> None:
    with db.session_scope() as session:
        ids = dict(session.execute(select(Item.sku, Item.id)).all())
        a = session.get(Item, ids["a"])
        assert a is not None

        with count_queries() as counter:
            updated = bulk_update(
                session,
                Item,
                [
                    {"id": ids["a"], "quantity": 100},
                    {"id": ids["c"], "quantity": 300},
                    {"id": ids["b"], "quantity": 200, "price": Decimal("2.22")},
                ],
            )

        assert updated == 3
        assert a.quantity == 100
        if db.backend != "sqlite":  # pysqlite has no executemany rowcount: one per row there
            assert len(counter.matching("UPDATE")) == 2  # one per run of rows with the same keys

    assert stored_items(db) == {
        "a": (100, Decimal("1.00")),
        "b": (200, Decimal("2.22")),
        "c": (300, Decimal("3.00")),
    }


@pytest.mark.usefixtures("three_items")
def test_bulk_update_of_a_missing_key_fails(db: Database) -> None:
    with pytest.raises(StaleVersion), db.session_scope() as session:
        bulk_update(session, Item, [{"id": 10_000, "quantity": 1}])

    assert {q for q, _ in stored_items(db).values()} == {1, 2, 3}


@pytest.mark.backends("postgresql")
def test_copy_insert_reaches_the_slow_query_log(
    make_db: Callable[..., Database], caplog: pytest.LogCaptureFixture
) -> None:
    everything_is_slow = make_db(slow_query_ms=0)
    caplog.set_level(logging.WARNING, logger="alchemy_patterns.db.slow_query")

    with everything_is_slow.session_scope() as session:
        copy_insert(session, Measurement, [{"sensor": "s", "reading": 1, "note": None}])

    assert any(r.statement.startswith("COPY") for r in caplog.records)  # type: ignore[attr-defined]

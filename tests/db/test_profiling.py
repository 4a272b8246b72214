"""count_queries(), the N+1 detector, assert_max_queries() and the slow-query log."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import selectinload

from alchemy_patterns.db import (
    Database,
    NPlusOneError,
    NPlusOneWarning,
    assert_max_queries,
    count_queries,
    detect_n_plus_one,
)
from alchemy_patterns.db.profiling import normalize_sql
from tests.db.models import Author, Book


def add_authors_with_books(
    db: Database, authors: int, books_each: int = 2, *, first: int = 0
) -> None:
    with db.session_scope() as session:
        for i in range(first, first + authors):
            author = Author(name=f"author {i}")
            author.books = [Book(title=f"book {i}.{j}") for j in range(books_each)]
            session.add(author)


def test_count_queries_counts_exactly_the_statements_run(db: Database) -> None:
    add_authors_with_books(db, 2)

    with count_queries() as counter, db.session_scope() as session:
        session.execute(select(Author)).all()
        session.execute(select(Book).where(Book.title == "book 0.0")).all()
        session.execute(update(Book).values(title=Book.title + "!"))

    assert counter.count == 3  # BEGIN and COMMIT are transaction control, not queries
    assert [s.sql.split()[0] for s in counter.statements] == ["SELECT", "SELECT", "UPDATE"]
    assert len(counter.matching("select")) == 2


def test_count_queries_counts_a_statement_the_database_refused(db: Database) -> None:
    with db.sessionmaker() as session, count_queries() as counter:
        with pytest.raises(DBAPIError):
            session.execute(text("SELECT * FROM no_such_table"))
        session.rollback()

    assert [s.sql for s in counter.statements] == ["SELECT * FROM no_such_table"]


@pytest.mark.sync_only
def test_count_queries_sees_only_its_own_thread(db: Database) -> None:
    started, finish = threading.Event(), threading.Event()

    def other_thread() -> None:
        with db.session_scope(read_only=True) as session:
            session.execute(text("SELECT 1"))
            started.set()
            finish.wait(timeout=30)
            session.execute(text("SELECT 2"))

    with count_queries() as counter:
        worker = threading.Thread(target=other_thread)
        worker.start()
        started.wait(timeout=30)
        with db.session_scope(read_only=True) as session:
            session.execute(text("SELECT 3"))
        finish.set()
        worker.join(timeout=30)

    assert [s.sql for s in counter.statements] == ["SELECT 3"]


def lazy_read(db: Database) -> list[int]:
    """The guide's N+1: one query for the authors, then one per author for its books."""
    session = db.sessionmaker()
    try:
        return [len(a.books) for a in session.scalars(select(Author).order_by(Author.id))]
    finally:
        session.close()


def eager_read(db: Database) -> list[int]:
    session = db.sessionmaker()
    try:
        stmt = select(Author).options(selectinload(Author.books)).order_by(Author.id)
        return [len(a.books) for a in session.scalars(stmt)]
    finally:
        session.close()


def test_the_n_plus_one_detector_fires_for_a_lazy_loop(db: Database) -> None:
    add_authors_with_books(db, 10)

    with pytest.raises(NPlusOneError, match="ran 10 times"), detect_n_plus_one(action="raise"):
        lazy_read(db)


def test_the_n_plus_one_detector_warns_in_warn_mode(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    add_authors_with_books(db, 10)

    with pytest.warns(NPlusOneWarning), detect_n_plus_one(action="warn"):
        lazy_read(db)

    assert "N+1 query" in caplog.text


def test_the_n_plus_one_detector_is_silent_with_selectinload(db: Database) -> None:
    add_authors_with_books(db, 10)

    with detect_n_plus_one(threshold=2, action="raise") as counter:
        assert eager_read(db) == [2] * 10

    assert counter.count == 2


def test_an_n_plus_one_inside_a_scope_in_raise_mode_rolls_the_unit_back(
    make_db: Callable[..., Database],
) -> None:
    strict = make_db(n_plus_one="raise")
    add_authors_with_books(strict, 10)

    with pytest.raises(NPlusOneError), strict.session_scope() as session:
        for author in session.scalars(select(Author)):
            author.name = author.name.upper()
            _ = author.books  # lazy load, once per author

    with strict.session_scope() as session:
        assert session.scalars(select(Author.name).order_by(Author.id)).first() == "author 0"


def test_assert_max_queries_passes_within_budget_and_fails_above(db: Database) -> None:
    add_authors_with_books(db, 10)

    with assert_max_queries(2):
        eager_read(db)
    with (
        pytest.raises(AssertionError, match="expected at most 2 statements, ran 11"),
        assert_max_queries(2),
    ):
        lazy_read(db)


def test_the_same_budget_holds_for_1_and_for_50_parents(db: Database) -> None:
    add_authors_with_books(db, 1)
    with count_queries() as one:
        eager_read(db)
    add_authors_with_books(db, 49, first=1)
    with count_queries() as fifty:
        assert len(eager_read(db)) == 50

    assert one.count == fifty.count == 2


def test_the_slow_query_log_logs_statements_over_the_threshold(
    make_db: Callable[..., Database], caplog: pytest.LogCaptureFixture
) -> None:
    everything_is_slow = make_db(slow_query_ms=0)
    nothing_is_slow = make_db(slow_query_ms=60_000)
    caplog.set_level(logging.WARNING, logger="alchemy_patterns.db.slow_query")

    with nothing_is_slow.session_scope(read_only=True) as session:
        session.execute(text("SELECT 11"))
    assert "SELECT 11" not in caplog.text

    with everything_is_slow.session_scope(read_only=True) as session:
        session.execute(text("SELECT 12"))
    records = [r for r in caplog.records if r.name == "alchemy_patterns.db.slow_query"]
    assert [r.statement for r in records] == ["SELECT 12"]  # type: ignore[attr-defined]
    assert records[0].duration_ms >= 0  # type: ignore[attr-defined]


def test_normalize_sql_folds_literals_and_in_lists() -> None:
    assert normalize_sql("SELECT * FROM t WHERE id IN (?, ?, ?) AND x = 'a'") == normalize_sql(
        "SELECT *  FROM t WHERE id IN (?) AND x = 'bb'"
    )
    assert normalize_sql("SELECT 1") != normalize_sql("SELECT * FROM t")

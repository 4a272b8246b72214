"""Offset pages, keyset pages (also under concurrent inserts), and the small reads."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import Select, Subquery, bindparam, func, insert, select, text, update

from alchemy_patterns.db import (
    Database,
    KeysetPage,
    NotFound,
    ValidationFailed,
    count,
    count_queries,
    exists,
    get_or_raise,
    keyset_after,
    keyset_paginate,
    keyset_position,
    paginate,
)
from alchemy_patterns.db.pagination import entity_name
from tests.db.models import Author, AuthorProfile, Book, Event, Measurement

BASE_TIME = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
NEWEST_FIRST = (Event.happened_at.desc(), Event.id.desc())
OLDEST_FIRST = (Event.happened_at.asc(), Event.id.asc())
BY_CREATION = (Event.created_at.desc(), Event.id.desc())
WAIT = 30  # seconds a thread waits for the other at most: the tests always end


# --- helpers -------------------------------------------------------------------


def add_measurements(db: Database, n: int, *, sensor: str = "s1") -> None:
    rows = [{"sensor": sensor, "reading": i, "note": None} for i in range(n)]
    with db.session_scope() as session:
        session.execute(insert(Measurement), rows)


def add_events(db: Database, n: int, *, ties: int = 1, start: int = 0, prefix: str = "e") -> None:
    """``n`` events whose ``happened_at`` repeats ``ties`` times in a row (a new second each)."""
    rows = [
        {"name": f"{prefix}{i}", "happened_at": BASE_TIME + dt.timedelta(seconds=i // ties)}
        for i in range(start, start + n)
    ]
    with db.session_scope() as session:
        session.execute(insert(Event), rows)


def add_author_with_books(db: Database, name: str, titles: Sequence[str]) -> None:
    with db.session_scope() as session:
        session.add(Author(name=name, books=[Book(title=title) for title in titles]))


def by_reading() -> Select[Any]:
    return select(Measurement).order_by(Measurement.reading)


def plain_rows(db: Database, stmt: Select[Any]) -> list[tuple[Any, ...]]:
    with db.sessionmaker() as session:
        return [tuple(row) for row in session.execute(stmt)]


def event_keys(db: Database, order_by: Sequence[Any]) -> list[tuple[dt.datetime, int]]:
    """Every event's (happened_at, id), in ``order_by`` order, as one plain query sees it."""
    return plain_rows(db, select(Event.happened_at, Event.id).order_by(*order_by))


def keyset_page(
    db: Database, stmt: Select[Any], order_by: Sequence[Any], cursor: str | None, per_page: int
) -> KeysetPage[Any]:
    """One page, read in its own session and transaction, as one request would."""
    with db.sessionmaker() as session:
        return keyset_paginate(session, stmt, order_by, cursor=cursor, per_page=per_page)


def read_all_pages(
    db: Database,
    stmt: Select[Any],
    order_by: Sequence[Any],
    *,
    per_page: int,
    between_pages: Callable[[], None] = lambda: None,
    max_pages: int = 1000,
) -> list[Any]:
    """Follow the cursors to the end; ``between_pages`` runs after every page but the last."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(max_pages):
        page = keyset_page(db, stmt, order_by, cursor, per_page)
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor
        between_pages()
    raise AssertionError(f"still paging after {max_pages} pages: the cursor does not advance")


def key(event: Event) -> tuple[dt.datetime, int]:
    return event.happened_at, event.id


def opaque(values: Any) -> str:
    """A cursor made by hand: what a client could send instead of ours."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# --- offset pagination ---------------------------------------------------------


def test_paginate_gives_the_total_and_the_number_of_pages(db: Database) -> None:
    add_measurements(db, 45)

    with db.sessionmaker() as session:
        page = paginate(session, by_reading(), page=1, per_page=10)

    assert (page.total, page.pages, page.has_next, page.has_prev) == (45, 5, True, False)
    assert [m.reading for m in page.items] == list(range(10))


def test_paginate_returns_the_rows_of_a_middle_page_in_order(db: Database) -> None:
    add_measurements(db, 45)

    with db.sessionmaker() as session:
        page = paginate(session, by_reading(), page=3, per_page=10)

    assert [m.reading for m in page.items] == list(range(20, 30))
    assert (page.has_next, page.has_prev) == (True, True)


def test_paginate_last_page_holds_the_remainder(db: Database) -> None:
    add_measurements(db, 45)

    with db.sessionmaker() as session:
        page = paginate(session, by_reading(), page=5, per_page=10)

    assert [m.reading for m in page.items] == list(range(40, 45))
    assert (page.total, page.pages, page.has_next) == (45, 5, False)


def test_paginate_full_page_runs_the_rows_and_one_count_without_order_by(db: Database) -> None:
    add_measurements(db, 45)

    with db.sessionmaker() as session, count_queries() as queries:
        page = paginate(session, by_reading(), page=2, per_page=10)

    assert page.total == 45
    assert queries.count == 2
    rows_sql, count_sql = (s.sql.upper() for s in queries.statements)
    assert "ORDER BY" in rows_sql
    assert "COUNT(*)" in count_sql
    assert "ORDER BY" not in count_sql
    assert "LIMIT" not in count_sql


def test_paginate_short_page_skips_the_count_and_still_knows_the_total(db: Database) -> None:
    add_measurements(db, 45)

    with db.sessionmaker() as session, count_queries() as queries:
        page = paginate(session, by_reading(), page=5, per_page=10)

    assert queries.count == 1
    assert "COUNT(" not in queries.statements[0].sql.upper()
    assert page.total == 45


def test_paginate_first_page_of_an_empty_list_needs_one_statement(db: Database) -> None:
    with db.sessionmaker() as session, count_queries() as queries:
        page = paginate(session, by_reading(), page=1, per_page=10)

    assert queries.count == 1
    assert (page.items, page.total, page.pages, page.has_next) == ([], 0, 1, False)


def test_paginate_page_past_the_end_is_empty_and_counts_the_real_total(db: Database) -> None:
    add_measurements(db, 45)

    with db.sessionmaker() as session, count_queries() as queries:
        page = paginate(session, by_reading(), page=9, per_page=10)

    assert page.items == []
    assert (page.total, page.pages, page.has_next, page.has_prev) == (45, 5, False, True)
    assert queries.count == 2  # an empty page cannot tell where the list ends


def test_paginate_last_page_that_is_exactly_full_counts_and_has_no_next(db: Database) -> None:
    add_measurements(db, 40)

    with db.sessionmaker() as session, count_queries() as queries:
        page = paginate(session, by_reading(), page=4, per_page=10)

    assert len(page.items) == 10
    assert (page.total, page.pages, page.has_next) == (40, 4, False)
    assert queries.count == 2


def test_paginate_without_the_count_runs_one_statement_fewer_and_gives_no_total(
    db: Database,
) -> None:
    add_measurements(db, 45)

    with db.sessionmaker() as session, count_queries() as counted:
        with_total = paginate(session, by_reading(), page=2, per_page=10)
    with db.sessionmaker() as session, count_queries() as uncounted:
        without = paginate(session, by_reading(), page=2, per_page=10, count=False)

    assert uncounted.count == counted.count - 1 == 1
    assert [m.reading for m in without.items] == [m.reading for m in with_total.items]
    assert (without.total, without.pages, without.has_next, without.has_prev) == (
        None,
        None,
        True,
        True,
    )


@pytest.mark.parametrize(("rows", "last"), [(45, 5), (40, 4)])
def test_paginate_without_the_count_knows_a_next_page_up_to_the_last(
    db: Database, rows: int, last: int
) -> None:
    """The last page has no next, full or not; the one before it has."""
    add_measurements(db, rows)

    with db.sessionmaker() as session:
        before_last, final = (
            paginate(session, by_reading(), page=number, per_page=10, count=False)
            for number in (last - 1, last)
        )

    assert (len(before_last.items), before_last.has_next) == (10, True)
    assert [m.reading for m in final.items] == list(range((last - 1) * 10, rows))
    assert final.has_next is False


def test_paginate_enrich_reads_the_page_with_per_row_values_and_counts_the_plain_list(
    db: Database,
) -> None:
    for name, books in (("ada", 3), ("bob", 0), ("cy", 1), ("di", 2)):
        add_author_with_books(db, name, [f"{name}{i}" for i in range(books)])

    def with_book_counts(authors: Subquery) -> Select[Any]:
        books = select(func.count()).where(Book.author_id == authors.c.id).scalar_subquery()
        return select(authors.c.name, books.label("books")).order_by(authors.c.name)

    with db.sessionmaker() as session:
        page = paginate(
            session,
            select(Author.id, Author.name).order_by(Author.name),
            page=2,
            per_page=2,
            enrich=with_book_counts,
        )

    assert [tuple(row) for row in page.items] == [("cy", 1), ("di", 2)]
    assert (page.total, page.has_next) == (4, False)


def test_one_statement_built_once_pages_right_whatever_the_page_size_and_values(
    db: Database,
) -> None:
    """A service's SELECT built once, with a bindparam: each call binds its own page and values."""
    add_measurements(db, 30, sensor="a")
    add_measurements(db, 12, sensor="b")
    stmt = (
        select(Measurement)
        .where(Measurement.sensor == bindparam("sensor"))
        .order_by(Measurement.reading, Measurement.id)
    )

    with db.sessionmaker() as session:
        pages = [
            paginate(session, stmt, page=2, per_page=10, params={"sensor": "a"}),
            paginate(session, stmt, page=1, per_page=5, params={"sensor": "b"}),
            paginate(session, stmt, page=3, per_page=5, params={"sensor": "b"}, count=False),
            paginate(session, stmt, page=1, per_page=4, params={"sensor": "a"}, count="estimate"),
        ]
        cursor = pages[1].next_cursor
        after = paginate(session, stmt, cursor=cursor, per_page=5, params={"sensor": "b"})

    seen = [([m.reading for m in page.items], page.total) for page in pages]
    assert seen == [
        (list(range(10, 20)), 30),
        (list(range(5)), 12),
        ([10, 11], None),
        ([0, 1, 2, 3], 30),
    ]
    assert [m.reading for m in after.items] == list(range(5, 10))
    assert all(m.sensor == "b" for m in after.items)


@pytest.mark.parametrize(
    ("page", "per_page", "field"),
    [(1, 101, "per_page"), (1, 0, "per_page"), (1, -5, "per_page"), (0, 10, "page")],
)
def test_paginate_refuses_page_sizes_and_numbers_out_of_range(
    db: Database, page: int, per_page: int, field: str
) -> None:
    add_measurements(db, 5)

    with db.sessionmaker() as session, pytest.raises(ValidationFailed) as raised:
        paginate(session, by_reading(), page=page, per_page=per_page)

    assert raised.value.field == field
    assert raised.value.code == "validation_failed"


def test_paginate_accepts_the_largest_allowed_page(db: Database) -> None:
    add_measurements(db, 150)

    with db.sessionmaker() as session:
        page = paginate(session, by_reading(), page=1, per_page=100)

    assert (len(page.items), page.total, page.pages) == (100, 150, 2)


def test_paginate_filtered_join_counts_only_the_matching_rows(db: Database) -> None:
    add_author_with_books(db, "ada", [f"a{i:02}" for i in range(12)])
    add_author_with_books(db, "bob", [f"b{i:02}" for i in range(30)])
    stmt = select(Book).join(Book.author).where(Author.name == "ada").order_by(Book.title)

    with db.sessionmaker() as session:
        first = paginate(session, stmt, page=1, per_page=5)
        last = paginate(session, stmt, page=3, per_page=5)

    assert [b.title for b in first.items] == ["a00", "a01", "a02", "a03", "a04"]
    assert [b.title for b in last.items] == ["a10", "a11"]
    assert (first.total, first.pages) == (12, 3)


def test_paginate_two_entities_with_clashing_column_names(db: Database) -> None:
    add_author_with_books(db, "ada", [f"a{i:02}" for i in range(7)])
    stmt = select(Author, Book).join(Author.books).order_by(Book.title)

    with db.sessionmaker() as session:
        page = paginate(session, stmt, page=1, per_page=5)

    assert page.total == 7  # the count's subquery holds authors.id and books.id
    assert [(a.name, b.title) for a, b in page.items][:2] == [("ada", "a00"), ("ada", "a01")]


# --- keyset pagination ---------------------------------------------------------


def test_keyset_newest_first_visits_every_row_once_in_order_despite_ties(db: Database) -> None:
    add_events(db, 50, ties=4)  # 13 timestamps shared by up to 4 events each

    events = read_all_pages(db, select(Event), NEWEST_FIRST, per_page=7)

    assert [key(e) for e in events] == event_keys(db, NEWEST_FIRST)
    assert len({e.id for e in events}) == 50


def test_keyset_oldest_first_visits_every_row_once_in_order_despite_ties(db: Database) -> None:
    add_events(db, 50, ties=4)

    events = read_all_pages(db, select(Event), OLDEST_FIRST, per_page=7)

    assert [key(e) for e in events] == event_keys(db, OLDEST_FIRST)
    assert len({e.id for e in events}) == 50


def test_keyset_bare_columns_order_ascending(db: Database) -> None:
    add_events(db, 20, ties=5)

    events = read_all_pages(db, select(Event), (Event.happened_at, Event.id), per_page=6)

    assert [key(e) for e in events] == event_keys(db, OLDEST_FIRST)


def test_keyset_pages_split_a_run_of_equal_timestamps(db: Database) -> None:
    add_events(db, 10, ties=10)  # every event at the same instant: only the id orders them

    events = read_all_pages(db, select(Event), NEWEST_FIRST, per_page=3)

    assert [e.id for e in events] == sorted((e.id for e in events), reverse=True)
    assert len({e.id for e in events}) == 10


def test_keyset_over_server_default_timestamps(db: Database) -> None:
    # One INSERT: the database stamps created_at, many rows alike (PostgreSQL's now()
    # is the transaction's start). The cursor's value must equal what is stored.
    add_events(db, 25)

    events = read_all_pages(db, select(Event), BY_CREATION, per_page=4, max_pages=20)

    assert [(e.created_at, e.id) for e in events] == plain_rows(
        db, select(Event.created_at, Event.id).order_by(*BY_CREATION)
    )
    assert len({e.id for e in events}) == 25


def test_keyset_last_page_has_no_cursor_even_when_exactly_full(db: Database) -> None:
    add_events(db, 14)

    first = keyset_page(db, select(Event), NEWEST_FIRST, None, 7)
    second = keyset_page(db, select(Event), NEWEST_FIRST, first.next_cursor, 7)

    assert first.next_cursor is not None
    assert len(second.items) == 7
    assert second.next_cursor is None


def test_keyset_runs_one_statement_per_page(db: Database) -> None:
    add_events(db, 30, ties=3)
    cursor = None

    for _ in range(3):
        with db.sessionmaker() as session, count_queries() as queries:
            page = keyset_paginate(session, select(Event), NEWEST_FIRST, cursor=cursor, per_page=7)
        assert queries.count == 1
        cursor = page.next_cursor


def test_keyset_returns_rows_for_a_multi_column_select(db: Database) -> None:
    add_events(db, 20, ties=5)
    stmt = select(Event.name, Event.id)  # id is also a key column: selected twice

    rows = read_all_pages(db, stmt, NEWEST_FIRST, per_page=6)

    assert [tuple(row) for row in rows] == plain_rows(db, stmt.order_by(*NEWEST_FIRST))
    assert [row.name for row in rows[:2]] == ["e19", "e18"]


def test_keyset_returns_single_values_for_a_one_column_select(db: Database) -> None:
    add_events(db, 9)

    names = read_all_pages(db, select(Event.name), OLDEST_FIRST, per_page=4)

    assert names == [f"e{i}" for i in range(9)]


def test_keyset_filtered_statement_pages_only_matching_rows(db: Database) -> None:
    add_events(db, 20, prefix="keep")
    add_events(db, 20, start=20, prefix="drop")
    stmt = select(Event).where(Event.name.like("keep%"))

    events = read_all_pages(db, stmt, NEWEST_FIRST, per_page=6)

    assert [e.name for e in events] == [f"keep{i}" for i in range(19, -1, -1)]


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%%",
        opaque("just a string"),
        opaque([1]),  # too few values
        opaque([1, 2, 3]),  # too many
        opaque(["2024-05-01", 3]),  # a plain string where a datetime goes
        opaque([{"dt": "2024-05-01T12:00:00"}, 3]),  # a naive datetime
        opaque([{"dt": "yesterday"}, 3]),
        opaque([{"dt": "2024-05-01T12:00:00+00:00"}, "three"]),  # text for the id
        opaque([{"dt": "2024-05-01T12:00:00+00:00"}, 2.5]),
        opaque([{"dt": "2024-05-01T12:00:00+00:00"}, True]),
        opaque([{"dec": "a lot"}, 3]),
        opaque([{"nope": 1}, 3]),
        opaque([{}, 3]),
        opaque([[1, 2], 3]),
    ],
)
def test_keyset_refuses_a_damaged_cursor(db: Database, cursor: str) -> None:
    add_events(db, 5)

    with pytest.raises(ValidationFailed) as raised:
        keyset_page(db, select(Event), NEWEST_FIRST, cursor, 2)

    assert raised.value.field == "cursor"


def test_keyset_position_and_after_page_inside_a_subquery_as_keyset_paginate_does(
    db: Database,
) -> None:
    add_events(db, 12, ties=3)
    with db.sessionmaker() as session:
        first = keyset_paginate(session, select(Event), NEWEST_FIRST, per_page=5)
        position = keyset_position(session, NEWEST_FIRST, first.next_cursor)
        assert position is not None
        inner = select(Event.id).where(keyset_after(NEWEST_FIRST, position))
        after = set(session.scalars(inner))
        nothing = keyset_position(session, NEWEST_FIRST, None)

    assert after == {event_id for _, event_id in event_keys(db, NEWEST_FIRST)[5:]}
    assert nothing is None


def test_keyset_position_refuses_a_damaged_cursor(db: Database) -> None:
    with db.sessionmaker() as session, pytest.raises(ValidationFailed) as raised:
        keyset_position(session, NEWEST_FIRST, opaque(["not a time", 1]))

    assert raised.value.field == "cursor"


def test_keyset_cursor_is_opaque_text_safe_in_a_url(db: Database) -> None:
    add_events(db, 5)

    page = keyset_page(db, select(Event), NEWEST_FIRST, None, 2)

    assert page.next_cursor is not None
    assert page.next_cursor.isascii()
    assert set(page.next_cursor) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_keyset_refuses_page_sizes_out_of_range(db: Database) -> None:
    with pytest.raises(ValidationFailed) as raised:
        keyset_page(db, select(Event), NEWEST_FIRST, None, 101)

    assert raised.value.field == "per_page"


# --- keyset pagination while another thread writes -------------------------------


class Writer:
    """A thread that inserts a batch of events each time the reader hands it a turn."""

    def __init__(self, db: Database, *, first: int, batch: int, when: Callable[[int], dt.datetime]):
        self.db, self.batch, self.when = db, batch, when
        self.next_number = first
        self.turn = threading.Barrier(2, timeout=WAIT)
        self.done = threading.Barrier(2, timeout=WAIT)
        self.stop = threading.Event()
        self.inserted: list[int] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.turn.abort()  # wakes the writer if it waits for a turn that will not come
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error

    def between_pages(self) -> None:
        """Called by the reader between two pages: returns once the writer's batch is committed."""
        self.turn.wait()
        self.done.wait()

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self.turn.wait()
                except threading.BrokenBarrierError:
                    return
                self._insert_batch()
                self.done.wait()
        except BaseException as error:  # reported to the reader's thread by __exit__
            self.error = error
            self.done.abort()

    def _insert_batch(self) -> None:
        with self.db.session_scope() as session:
            for _ in range(self.batch):
                n = self.next_number
                self.next_number += 1
                event = Event(name=f"new{n}", happened_at=self.when(n))
                session.add(event)
                session.flush()
                self.inserted.append(event.id)


def later_than_all(n: int) -> dt.datetime:
    return BASE_TIME + dt.timedelta(days=1, seconds=n // 2)


def test_keyset_newest_first_is_stable_while_new_rows_arrive(db: Database) -> None:
    add_events(db, 60, ties=3)
    existing = event_keys(db, NEWEST_FIRST)

    with Writer(db, first=0, batch=5, when=later_than_all) as writer:
        events = read_all_pages(
            db, select(Event), NEWEST_FIRST, per_page=7, between_pages=writer.between_pages
        )

    assert [key(e) for e in events] == existing  # each old row once, in order, none shifted
    assert len(writer.inserted) == 5 * 8  # 9 pages: the writer got a turn after each but the last
    with db.sessionmaker() as session:
        assert count(session, select(Event)) == 60 + len(writer.inserted)


def offset_page_ids(db: Database, page: int) -> list[int]:
    with db.sessionmaker() as session:
        stmt = select(Event.id).order_by(*NEWEST_FIRST)
        return paginate(session, stmt, page=page, per_page=10).items


def test_offset_pages_newest_first_repeat_rows_while_new_rows_arrive(db: Database) -> None:
    # The contrast that motivates keyset pages: the same writes shift offset pages.
    add_events(db, 30)

    with Writer(db, first=0, batch=3, when=later_than_all) as writer:
        first = offset_page_ids(db, 1)
        writer.between_pages()
        second = offset_page_ids(db, 2)

    assert set(first) & set(second) == set(first[-3:])  # page 1's last three, seen again


def test_keyset_oldest_first_sees_appended_rows_at_most_once(db: Database) -> None:
    add_events(db, 40, ties=4)
    existing = event_keys(db, OLDEST_FIRST)

    with Writer(db, first=0, batch=4, when=later_than_all) as writer:
        events = read_all_pages(
            db, select(Event), OLDEST_FIRST, per_page=9, between_pages=writer.between_pages
        )

    ids = [e.id for e in events]
    assert len(ids) == len(set(ids))  # nothing twice
    assert [key(e) for e in events][: len(existing)] == existing  # every old row, in order
    assert set(ids[len(existing) :]) <= set(writer.inserted)  # then only appended rows
    assert writer.inserted  # the writer really did write while the reader paged


# --- offset lists read by cursor ------------------------------------------------


def walk_by_cursor(
    db: Database,
    stmt: Select[Any],
    *,
    per_page: int,
    between_pages: Callable[[], None] = lambda: None,
    max_pages: int = 1000,
) -> list[Any]:
    """Page 1 by number, then each next page by its cursor, as a client walks a long list."""
    with db.sessionmaker() as session:
        page = paginate(session, stmt, per_page=per_page, count=False)
    items = list(page.items)
    for _ in range(max_pages):
        if page.next_cursor is None:
            return items
        between_pages()
        with db.sessionmaker() as session:
            page = paginate(session, stmt, cursor=page.next_cursor, per_page=per_page, count=False)
        assert page.page is None
        items.extend(page.items)
    raise AssertionError(f"still paging after {max_pages} pages: the cursor does not advance")


@pytest.mark.parametrize("order", [NEWEST_FIRST, OLDEST_FIRST], ids=["newest", "oldest"])
def test_paginate_by_cursor_gives_every_row_once_in_order_while_new_rows_arrive(
    db: Database, order: Sequence[Any]
) -> None:
    add_events(db, 60, ties=3)
    existing = event_keys(db, order)

    with Writer(db, first=0, batch=5, when=later_than_all) as writer:
        stmt = select(Event).order_by(*order)
        events = walk_by_cursor(db, stmt, per_page=7, between_pages=writer.between_pages)

    ids = [e.id for e in events]
    assert len(ids) == len(set(ids))  # nothing twice
    old = [key(e) for e in events if e.id not in writer.inserted]
    assert old == existing  # each old row once, in order, none shifted
    assert writer.inserted  # the writer really did write between pages
    # Newest first, the new rows sort before the cursor and are never read; oldest
    # first, after the old rows: read once each, at the end.
    assert [e.id for e in events[len(existing) :]] == sorted(set(ids) & set(writer.inserted))


def test_paginate_numbered_page_gives_the_cursor_of_the_page_after_it(db: Database) -> None:
    add_measurements(db, 10)

    with db.sessionmaker() as session:
        second = paginate(session, by_reading(), page=2, per_page=3)
        third = paginate(session, by_reading(), cursor=second.next_cursor, per_page=3)
        last = paginate(session, by_reading(), page=4, per_page=3)

    assert [m.reading for m in third.items] == [6, 7, 8]
    assert (third.page, third.total, third.has_prev) == (None, 10, False)
    assert (last.has_next, last.next_cursor) == (False, None)


def test_paginate_by_cursor_reads_rows_as_the_numbered_pages_do_with_enrich(db: Database) -> None:
    add_author_with_books(db, "ada", ["a1", "a2", "a3"])
    add_author_with_books(db, "bob", ["b1"])
    add_author_with_books(db, "cy", ["c1", "c2"])
    authors = select(Author.id, Author.name).order_by(Author.name)

    def with_book_counts(page: Subquery) -> Select[Any]:
        books = select(func.count()).where(Book.author_id == page.c.id).scalar_subquery()
        return select(page.c.name, books.label("books")).order_by(page.c.name)

    with db.sessionmaker() as session:
        first = paginate(session, authors, per_page=2, enrich=with_book_counts)
        rest = paginate(
            session, authors, cursor=first.next_cursor, per_page=2, enrich=with_book_counts
        )

    assert [tuple(row) for row in first.items + rest.items] == [("ada", 3), ("bob", 1), ("cy", 2)]
    assert rest.next_cursor is None


def test_paginate_by_cursor_runs_one_statement_when_not_counted(db: Database) -> None:
    add_measurements(db, 30)
    with db.sessionmaker() as session:
        cursor = paginate(session, by_reading(), per_page=5, count=False).next_cursor

    with db.sessionmaker() as session, count_queries() as counter:
        page = paginate(session, by_reading(), cursor=cursor, per_page=5, count=False)

    assert (counter.count, [m.reading for m in page.items]) == (1, [5, 6, 7, 8, 9])


def test_paginate_refuses_a_cursor_with_a_page_number(db: Database) -> None:
    add_measurements(db, 10)
    with db.sessionmaker() as session:
        cursor = paginate(session, by_reading(), per_page=3).next_cursor

        with pytest.raises(ValidationFailed) as raised:
            paginate(session, by_reading(), page=2, cursor=cursor, per_page=3)

    assert raised.value.field == "cursor"


def test_paginate_by_cursor_needs_an_order(db: Database) -> None:
    add_measurements(db, 5)
    with db.sessionmaker() as session:
        cursor = paginate(session, by_reading(), per_page=2).next_cursor

        with pytest.raises(ValueError, match="ORDER BY"):
            paginate(session, select(Measurement), cursor=cursor, per_page=2)


@pytest.mark.parametrize(
    "cursor", ["not base64 at all!", opaque(["x", 1]), opaque([1, 2]), opaque([2**40]), "e30"]
)
def test_paginate_refuses_a_damaged_cursor(db: Database, cursor: str) -> None:
    add_measurements(db, 5)

    with pytest.raises(ValidationFailed) as raised, db.sessionmaker() as session:
        paginate(session, by_reading(), cursor=cursor, per_page=2)

    assert raised.value.field == "cursor"


# --- estimated totals ------------------------------------------------------------


def test_paginate_estimate_counts_a_short_list_exactly(db: Database) -> None:
    add_measurements(db, 8)
    with db.session_scope() as session:
        if db.engine.dialect.name == "postgresql":
            # Statistics of the 8 rows, not of a longer table an earlier test left
            # behind (and emptied): a planner told "thousands" would estimate.
            session.execute(text("ANALYZE measurements"))

    with db.sessionmaker() as session, count_queries() as counter:
        page = paginate(session, by_reading(), page=2, per_page=3, count="estimate")

    assert (page.total, page.pages, page.total_is_estimate, page.has_next) == (8, 3, False, True)
    # The page and a count that stops past estimate_above rows; on PostgreSQL the
    # planner is asked first.
    assert counter.count == (3 if db.engine.dialect.name == "postgresql" else 2)


def test_paginate_estimate_of_a_long_list_is_the_planners_on_postgresql_exact_elsewhere(
    db: Database,
) -> None:
    add_measurements(db, 45)
    with db.session_scope() as session:
        if db.engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE measurements"))

    with db.sessionmaker() as session, count_queries() as counter:
        page = paginate(session, by_reading(), per_page=10, count="estimate", estimate_above=20)

    if db.engine.dialect.name == "postgresql":
        # ANALYZE read every row of this small table: the estimate is the count. No
        # row is counted: the page and the plan.
        assert (page.total, page.total_is_estimate, counter.count) == (45, True, 2)
    else:
        assert (page.total, page.total_is_estimate, counter.count) == (45, False, 3)
    assert (len(page.items), page.has_next, page.next_cursor is not None) == (10, True, True)


@pytest.mark.backends("postgresql")
def test_paginate_estimate_of_a_list_the_planner_underestimates_counts_at_most_past_the_limit(
    db: Database,
) -> None:
    add_measurements(db, 45)
    with db.session_scope() as session:
        session.execute(text("ANALYZE measurements"))
    # An equality of expressions: the planner's default selectivity (0.5%) expects
    # one row of 45, and every row matches.
    everything = by_reading().where(Measurement.reading + 0 == Measurement.reading)

    with db.sessionmaker() as session, count_queries() as counter:
        page = paginate(session, everything, per_page=10, count="estimate", estimate_above=20)

    assert (page.total, page.total_is_estimate) == (21, True)  # what was counted: past 20
    assert counter.count == 3  # the page, the plan, the count that stopped at 21


def test_paginate_estimate_follows_the_statements_filter(db: Database) -> None:
    add_measurements(db, 30, sensor="s1")
    add_measurements(db, 5, sensor="s2")
    stmt = by_reading().where(Measurement.sensor == "s2")

    with db.sessionmaker() as session:
        page = paginate(session, stmt, per_page=2, count="estimate", estimate_above=20)

    assert (page.total, page.total_is_estimate) == (5, False)


# --- small reads ---------------------------------------------------------------


def test_exists_is_true_when_a_row_matches(db: Database) -> None:
    add_measurements(db, 3, sensor="north")

    with db.sessionmaker() as session, count_queries() as queries:
        found = exists(session, select(Measurement).where(Measurement.sensor == "north"))

    assert found is True
    assert queries.count == 1
    assert "EXISTS" in queries.statements[0].sql.upper()


def test_exists_is_false_when_no_row_matches(db: Database) -> None:
    add_measurements(db, 3, sensor="north")

    with db.sessionmaker() as session:
        found = exists(session, select(Measurement).where(Measurement.sensor == "south"))

    assert found is False


def test_get_or_raise_returns_the_row(db: Database) -> None:
    add_author_with_books(db, "ada", [])
    with db.sessionmaker() as session:
        ada_id = session.scalars(select(Author.id)).one()

    with db.sessionmaker() as session:
        author = get_or_raise(session, Author, ada_id)

    assert (author.id, author.name) == (ada_id, "ada")


def test_get_or_raise_names_the_entity_and_key_it_did_not_find(db: Database) -> None:
    with db.sessionmaker() as session, pytest.raises(NotFound) as raised:
        get_or_raise(session, Author, 404)

    assert (raised.value.entity, raised.value.key, raised.value.code) == (
        "author",
        404,
        "not_found",
    )
    assert str(raised.value) == "author 404 not found"


def test_get_or_raise_passes_session_get_its_options(db: Database) -> None:
    add_author_with_books(db, "ada", [])
    with db.sessionmaker() as session:
        author = session.scalars(select(Author)).one()
        # a Core UPDATE: the instance the session holds is not told
        session.execute(update(Author.__table__).values(name="lovelace"))

        held = get_or_raise(session, Author, author.id).name
        refreshed = get_or_raise(session, Author, author.id, populate_existing=True).name

    assert (held, refreshed) == ("ada", "lovelace")


def test_a_model_is_named_in_lower_case_words() -> None:
    assert [entity_name(Author), entity_name(AuthorProfile)] == ["author", "author profile"]


def test_count_ignores_order_limit_and_offset(db: Database) -> None:
    add_measurements(db, 25, sensor="north")
    add_measurements(db, 5, sensor="south")
    stmt = by_reading().where(Measurement.sensor == "north").limit(3).offset(2)

    with db.sessionmaker() as session:
        total = count(session, stmt)

    assert total == 25


def test_count_of_a_grouped_statement_counts_groups(db: Database) -> None:
    add_author_with_books(db, "ada", ["a1", "a2", "a3"])
    add_author_with_books(db, "bob", ["b1"])
    per_author = select(Book.author_id, func.count()).group_by(Book.author_id)

    with db.sessionmaker() as session:
        total = count(session, per_author)

    assert total == 2


def test_count_of_an_empty_result_is_zero(db: Database) -> None:
    with db.sessionmaker() as session:
        total = count(session, select(Measurement))

    assert total == 0

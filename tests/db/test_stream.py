"""stream(): every row of a large result, in bounded memory, through a server-side cursor."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Select, insert, select, text

from alchemy_patterns.db import Database, stream
from tests.db.models import Measurement

ROWS = 20_000
BATCH = 500


def add_measurements(db: Database, n: int = ROWS) -> None:
    rows = [{"sensor": f"s{i % 7}", "reading": i, "note": f"note {i:>40}"} for i in range(n)]
    with db.session_scope() as session:
        session.execute(insert(Measurement), rows)


def by_reading() -> Select[Any]:
    return select(Measurement).order_by(Measurement.reading)


def columns_by_reading() -> Select[Any]:
    return select(Measurement.reading, Measurement.sensor, Measurement.note).order_by(
        Measurement.reading
    )


def peak_bytes(read: Callable[[], int]) -> tuple[int, int]:
    """(what ``read`` returned, the peak of memory it allocated while running)."""
    tracemalloc.start()
    try:
        result = read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def streamed(db: Database, stmt: Select[Any]) -> Callable[[], int]:
    def read() -> int:
        with db.sessionmaker() as session:
            return sum(1 for _ in stream(session, stmt, batch_size=BATCH))

    return read


def loaded(db: Database, stmt: Select[Any]) -> Callable[[], int]:
    def read() -> int:
        with db.sessionmaker() as session:
            return len(session.execute(stmt).all())

    return read


def open_cursors(session: Any) -> list[str]:
    return list(session.execute(text("SELECT name FROM pg_cursors")).scalars())


def test_stream_yields_every_entity_once_in_order(db: Database) -> None:
    add_measurements(db)

    with db.sessionmaker() as session:
        readings = [m.reading for m in stream(session, by_reading(), batch_size=BATCH)]

    assert readings == list(range(ROWS))


def test_stream_yields_rows_for_a_multi_column_select(db: Database) -> None:
    add_measurements(db)

    with db.sessionmaker() as session:
        rows = list(stream(session, columns_by_reading(), batch_size=BATCH))

    assert [row.reading for row in rows] == list(range(ROWS))
    assert rows[8] == (8, "s1", f"note {8:>40}")


def test_stream_yields_plain_values_for_a_one_column_select(db: Database) -> None:
    add_measurements(db, 1000)

    with db.sessionmaker() as session:
        readings = list(stream(session, select(Measurement.reading).order_by(Measurement.reading)))

    assert readings == list(range(1000))


def test_stream_of_entities_holds_a_fraction_of_what_all_holds(db: Database) -> None:
    add_measurements(db)

    streamed_rows, streaming_peak = peak_bytes(streamed(db, by_reading()))
    loaded_rows, loading_peak = peak_bytes(loaded(db, by_reading()))

    assert streamed_rows == loaded_rows == ROWS
    assert streaming_peak < loading_peak / 3, (streaming_peak, loading_peak)


def test_stream_of_columns_holds_a_fraction_of_what_all_holds(db: Database) -> None:
    # PyMySQL's default cursor would buffer every row in the driver: this fails on
    # MariaDB unless stream() asks for its unbuffered, server-side cursor.
    add_measurements(db)

    streamed_rows, streaming_peak = peak_bytes(streamed(db, columns_by_reading()))
    loaded_rows, loading_peak = peak_bytes(loaded(db, columns_by_reading()))

    assert streamed_rows == loaded_rows == ROWS
    assert streaming_peak < loading_peak / 3, (streaming_peak, loading_peak)


@pytest.mark.backends("postgresql")
def test_stream_reads_through_a_server_side_cursor_on_postgresql(db: Database) -> None:
    add_measurements(db, 2000)

    with db.sessionmaker() as session:
        rows = stream(session, by_reading(), batch_size=BATCH)
        first = next(rows)
        during = open_cursors(session)  # same session, same connection, mid-iteration
        rest = sum(1 for _ in rows)

    assert first.reading == 0
    assert rest == 1999
    assert len(during) == 1


@pytest.mark.backends("postgresql")
def test_stream_left_early_closes_its_cursor(db: Database) -> None:
    add_measurements(db, 2000)

    with db.sessionmaker() as session:
        rows = stream(session, by_reading(), batch_size=BATCH)
        next(rows)
        rows.close()  # what a ``break`` out of a for loop leads to
        after = open_cursors(session)

    assert after == []


@pytest.mark.backends("mariadb")
def test_stream_left_early_leaves_the_connection_usable_on_mariadb(db: Database) -> None:
    add_measurements(db, 2000)

    with db.sessionmaker() as session:
        rows = stream(session, by_reading(), batch_size=BATCH)
        next(rows)
        rows.close()
        total = session.execute(text("SELECT COUNT(*) FROM measurements")).scalar_one()

    assert total == 2000

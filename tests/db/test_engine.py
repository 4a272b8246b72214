"""Per-backend engine defaults, UTC timestamps and exact money, on real databases."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, text
from sqlalchemy.pool import QueuePool, StaticPool

from alchemy_patterns.db import Database, EngineOptions
from tests.db.models import Author, Book, Counter, Event, metadata


@pytest.mark.backends("sqlite")
def test_a_sqlite_file_runs_in_wal_with_foreign_keys_and_a_busy_timeout(
    make_db: Callable[..., Database],
) -> None:
    db = make_db(engine_options=EngineOptions(sqlite_busy_timeout_ms=1234))

    with db.engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 1234}
    assert isinstance(db.engine.pool, QueuePool)


def test_sqlite_memory_keeps_one_shared_connection() -> None:
    db = Database("sqlite://", metadata=metadata)
    try:
        db.create_all()
        with db.session_scope() as session:
            session.add(Author(name="ada"))
        with db.session_scope() as session:
            assert session.scalars(select(Author.name)).all() == ["ada"]
        assert isinstance(db.engine.pool, StaticPool)
    finally:
        db.dispose()


def test_the_sqlite_data_directory_is_created(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new' / 'dir' / 'app.sqlite3'}")
    try:
        assert db.ping()
        assert (tmp_path / "new" / "dir" / "app.sqlite3").is_file()
    finally:
        db.dispose()


@pytest.mark.backends("postgresql", "mariadb")
def test_server_engines_pool_and_recycle_and_never_ping(make_db: Callable[..., Database]) -> None:
    db = make_db(engine_options=EngineOptions(pool_size=3, max_overflow=1, pool_recycle=900))

    pool = db.engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.size() == 3
    assert pool._pre_ping is False  # dead connections are found for free (db/disconnects.py)
    assert pool._recycle == 900


@pytest.mark.backends("mariadb")
def test_mariadb_sessions_run_in_utc_and_strict_mode(db: Database) -> None:
    with db.session_scope(read_only=True) as session:
        zone, mode = session.execute(text("SELECT @@session.time_zone, @@session.sql_mode")).one()

    assert zone == "+00:00"
    assert "STRICT_ALL_TABLES" in mode


def increment(db: Database, counter_id: int, *, read_only: bool = False) -> None:
    """Read-modify-write in Python: safe only if the transaction holds the write lock."""
    with db.session_scope(read_only=read_only) as session:
        counter = session.get_one(Counter, counter_id)
        counter.value = counter.value + 1


@pytest.mark.backends("sqlite")
def test_sqlite_writers_take_the_lock_up_front_and_never_lose_an_update(db: Database) -> None:
    with db.session_scope() as session:
        counter = Counter(value=0)
        session.add(counter)
    start = threading.Barrier(8, timeout=30)
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            for _ in range(25):
                increment(db, counter.id)
        except BaseException as error:  # asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    with db.session_scope() as session:
        assert session.get_one(Counter, counter.id).value == 200


@pytest.mark.backends("sqlite")
def test_sqlite_deferred_writers_fail_on_the_lock_upgrade(db: Database) -> None:
    """Why IMMEDIATE is the default: two DEFERRED transactions that both read first.

    Both hold a read snapshot; the first to write wins; the second cannot
    upgrade its stale snapshot and fails at once, busy timeout or not.
    """
    with db.session_scope() as session:
        counter = Counter(value=0)
        session.add(counter)
    both_read = threading.Barrier(2, timeout=30)
    first_done = threading.Event()
    outcomes: dict[str, BaseException | None] = {}

    def writer(name: str, go_first: bool) -> None:
        try:
            with db.session_scope(read_only=True) as session:  # BEGIN DEFERRED
                value = session.get_one(Counter, counter.id).value
                both_read.wait()
                if not go_first:
                    first_done.wait(timeout=30)
                session.get_one(Counter, counter.id).value = value + 1
                session.flush()
            outcomes[name] = None
        except BaseException as error:  # asserted below
            outcomes[name] = error
        finally:
            if go_first:
                first_done.set()

    threads = [
        threading.Thread(target=writer, args=("first", True)),
        threading.Thread(target=writer, args=("second", False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes["first"] is None
    assert "database is locked" in str(outcomes["second"])
    with db.session_scope(read_only=True) as session:
        assert session.get_one(Counter, counter.id).value == 1  # only the first write landed


def test_aware_datetimes_come_back_as_aware_utc(db: Database) -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    moment = dt.datetime(2026, 11, 24, 21, 30, 15, 123456, tzinfo=tokyo)
    with db.session_scope() as session:
        author = Author(name="ada")
        author.books = [Book(title="Notes", published_at=moment)]
        session.add(author)

    with db.session_scope() as session:
        stored = session.scalars(select(Book.published_at)).one()

    assert stored == moment
    assert stored is not None
    assert stored.utcoffset() == dt.timedelta(0)
    assert stored.tzinfo == dt.UTC


def test_a_naive_datetime_is_refused(db: Database) -> None:
    with pytest.raises(sa_exc.StatementError, match="naive datetime"), db.session_scope() as s:
        author = Author(name="ada")
        author.books = [Book(title="Notes", published_at=dt.datetime(2026, 1, 1))]
        s.add(author)


def test_server_defaults_are_aware_utc_times_of_now(db: Database) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with db.session_scope() as session:
        event = Event(name="launch")
        session.add(event)
        session.flush()
        session.refresh(event)
    after = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)

    for stamp in (event.created_at, event.updated_at, event.happened_at):
        assert stamp.tzinfo == dt.UTC
        assert before <= stamp <= after


def test_money_sums_exactly_in_the_database(db: Database) -> None:
    with db.session_scope() as session:
        author = Author(name="ada")
        author.books = [Book(title=f"tract {i}", price=Decimal("0.10")) for i in range(3)]
        session.add(author)

    with db.session_scope() as session:
        total = session.scalar(select(func.sum(Book.price)))

    assert total == Decimal("0.30")
    assert isinstance(total, Decimal)


def test_money_refuses_a_float(db: Database) -> None:
    with pytest.raises(sa_exc.StatementError, match="never a float"), db.session_scope() as s:
        author = Author(name="ada")
        author.books = [Book(title="Notes", price=0.1)]  # a float, on purpose
        s.add(author)

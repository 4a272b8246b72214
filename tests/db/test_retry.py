"""transaction(): a unit of work retried whole on serialization failures, deadlocks and busy."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from alchemy_patterns.db import (
    Conflict,
    Database,
    EngineOptions,
    RetryPolicy,
    Unavailable,
    observers,
    translating_errors,
)
from alchemy_patterns.db.replicas import NODE, PRIMARY
from tests.db.models import Author, Counter

PATIENT = RetryPolicy(max_attempts=50, base_delay=0.001, max_delay=0.05)


class Reasons(observers.Watcher):
    """The reasons the data layer gives its watchers (metrics) for each retry."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def retried(self, reason: str) -> None:
        self.seen.append(reason)


@pytest.fixture
def reasons() -> Iterator[Reasons]:
    watcher = Reasons()
    stop = observers.watch(watcher)
    yield watcher
    stop()


def make_counter(db: Database) -> int:
    with db.session_scope() as session:
        counter = Counter(value=0)
        session.add(counter)
        session.flush()
        return counter.id


def read_counter(db: Database, counter_id: int) -> int:
    with db.session_scope() as session:
        return session.get_one(Counter, counter_id).value


def run_threads(*targets: Callable[[], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as error:  # collected and asserted by the caller
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return errors


@pytest.mark.sync_only
@pytest.mark.backends("postgresql", "mariadb")
def test_concurrent_increments_at_serializable_lose_nothing(db: Database) -> None:
    """Two threads read-modify-write one counter 100 times each at SERIALIZABLE.

    The first increments of both threads are made to overlap (both read, then
    both write), so the database must abort one of them: at least one retry is
    certain, not just likely.
    """
    counter_id = make_counter(db)
    both_read = threading.Barrier(2, timeout=30)
    retries: list[int] = []

    def increment(session: Session, first: list[bool]) -> None:
        counter = session.execute(select(Counter).where(Counter.id == counter_id)).scalar_one()
        if first[0]:
            first[0] = False
            both_read.wait()
        counter.value += 1

    def worker() -> None:
        first = [True]
        for _ in range(100):
            db.transaction(
                lambda s: increment(s, first),
                isolation_level="SERIALIZABLE",
                retry=PATIENT,
                on_retry=lambda attempt, error: retries.append(attempt),
            )

    errors = run_threads(worker, worker)

    assert errors == []
    assert read_counter(db, counter_id) == 200
    assert len(retries) >= 1


@pytest.mark.sync_only
@pytest.mark.backends("postgresql")
def test_a_deadlock_is_retried(db: Database, reasons: Reasons) -> None:
    """Two units lock the same two rows in opposite orders; PostgreSQL kills one (40P01)."""
    first_id, second_id = make_counter(db), make_counter(db)
    both_locked_one = threading.Barrier(2, timeout=30)
    retries: list[BaseException] = []

    def lock_both(order: tuple[int, int], attempts: list[int]) -> Callable[[Session], None]:
        def work(session: Session) -> None:
            attempts.append(1)
            for step, counter_id in enumerate(order):
                session.execute(
                    update(Counter).where(Counter.id == counter_id).values(value=Counter.value + 1)
                )
                if step == 0 and len(attempts) == 1:
                    both_locked_one.wait()

        return work

    def worker(order: tuple[int, int]) -> Callable[[], None]:
        attempts: list[int] = []
        return lambda: db.transaction(
            lock_both(order, attempts),
            retry=PATIENT,
            on_retry=lambda attempt, error: retries.append(error),
        )

    errors = run_threads(worker((first_id, second_id)), worker((second_id, first_id)))

    assert errors == []
    assert [read_counter(db, first_id), read_counter(db, second_id)] == [2, 2]
    assert any(getattr(e, "orig", None) and e.orig.sqlstate == "40P01" for e in retries)  # type: ignore[attr-defined]
    assert "deadlock" in reasons.seen
    assert len(reasons.seen) == len(retries)


@pytest.mark.backends("mariadb")
def test_a_lock_wait_timeout_is_retried(db: Database, reasons: Reasons) -> None:
    """MariaDB errno 1205: the row stays locked past innodb_lock_wait_timeout, then frees."""
    counter_id = make_counter(db)
    holder = db.engine.connect()
    holder.begin()
    holder.execute(text("SELECT value FROM counters WHERE id = :id FOR UPDATE"), {"id": counter_id})
    seen: list[int] = []

    def release(attempt: int, error: BaseException) -> None:
        seen.append(getattr(error, "orig", error).args[0])  # type: ignore[union-attr]
        holder.rollback()
        holder.close()

    def work(session: Session) -> None:
        session.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
        session.execute(update(Counter).where(Counter.id == counter_id).values(value=7))

    db.transaction(work, on_retry=release)

    assert seen == [1205]
    assert reasons.seen == ["lock_timeout"]
    assert read_counter(db, counter_id) == 7


@pytest.mark.backends("sqlite")
def test_sqlite_busy_is_retried_until_the_lock_is_free(
    make_db: Callable[..., Database], reasons: Reasons
) -> None:
    impatient = make_db(engine_options=EngineOptions(sqlite_busy_timeout_ms=0))
    counter_id = make_counter(impatient)
    holder = impatient.engine.connect()
    holder.begin()  # BEGIN IMMEDIATE: holds the write lock
    attempts: list[int] = []

    def release(attempt: int, error: BaseException) -> None:
        attempts.append(attempt)
        holder.rollback()
        holder.close()

    impatient.transaction(lambda s: s.execute(update(Counter).values(value=5)), on_retry=release)

    assert attempts == [1]
    assert reasons.seen == ["busy"]
    assert read_counter(impatient, counter_id) == 5


@pytest.mark.backends("sqlite")
def test_when_retries_run_out_it_raises_unavailable(make_db: Callable[..., Database]) -> None:
    impatient = make_db(engine_options=EngineOptions(sqlite_busy_timeout_ms=0))
    make_counter(impatient)
    calls: list[int] = []
    with impatient.engine.connect() as holder:
        holder.begin()

        def work(session: Session) -> None:
            calls.append(1)
            session.execute(update(Counter).values(value=5))

        with pytest.raises(Unavailable, match="3 attempts"):
            impatient.transaction(work, retry=RetryPolicy(max_attempts=3, base_delay=0.0))

    assert len(calls) == 3


def test_a_non_retryable_error_is_raised_on_the_first_attempt(db: Database) -> None:
    with db.session_scope() as session:
        session.add(Author(name="ada"))
    calls: list[int] = []

    def work(session: Session) -> None:
        calls.append(1)
        session.add(Author(name="ada"))
        session.flush()

    with pytest.raises(Conflict):
        db.transaction(work, retry=PATIENT)

    assert calls == [1]


def test_an_application_error_is_not_retried_and_rolls_back(db: Database) -> None:
    calls: list[int] = []

    def work(session: Session) -> None:
        calls.append(1)
        session.add(Author(name="ada"))
        session.flush()
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        db.transaction(work, retry=PATIENT)

    assert calls == [1]
    with db.session_scope() as session:
        assert session.scalars(select(Author)).all() == []


def test_a_nested_transaction_joins_the_outer_unit_and_does_not_commit_alone(
    db: Database,
) -> None:
    sessions: list[Session] = []

    def inner(session: Session) -> None:
        sessions.append(session)
        session.add(Author(name="inner"))

    def outer(session: Session) -> None:
        sessions.append(session)
        db.transaction(inner)
        raise RuntimeError("the outer unit fails after the inner one ran")

    with pytest.raises(RuntimeError):
        db.transaction(outer)

    assert sessions[0] is sessions[1]
    with db.session_scope() as session:
        assert session.scalars(select(Author)).all() == []


@pytest.mark.sync_only
@pytest.mark.backends("postgresql")
def test_a_retryable_error_inside_a_nested_unit_retries_the_whole_outer_unit(
    db: Database,
) -> None:
    counter_id = make_counter(db)
    both_read = threading.Barrier(2, timeout=30)
    outer_runs: list[str] = []

    def inner(session: Session) -> None:
        session.execute(update(Counter).where(Counter.id == counter_id).values(value=1))

    def outer(name: str, first: list[bool]) -> Callable[[Session], Any]:
        def work(session: Session) -> None:
            outer_runs.append(name)
            session.execute(select(Counter.value).where(Counter.id == counter_id)).scalar_one()
            if first[0]:
                first[0] = False
                both_read.wait()
            db.transaction(inner)

        return work

    def worker(name: str) -> Callable[[], None]:
        first = [True]
        return lambda: db.transaction(
            outer(name, first), isolation_level="SERIALIZABLE", retry=PATIENT
        )

    errors = run_threads(worker("a"), worker("b"))

    assert errors == []
    assert len(outer_runs) >= 3  # one of the two outer units ran again, whole


def test_the_decorator_form_runs_in_a_transaction(db: Database) -> None:
    @db.transactional()
    def register(session: Session, name: str) -> int:
        author = Author(name=name)
        session.add(author)
        session.flush()
        return author.id

    @db.transactional(read_only=True, retry=RetryPolicy(max_attempts=2))
    def node_and_name(session: Session, author_id: int) -> tuple[str, str]:
        return session.info[NODE], session.get_one(Author, author_id).name

    author_id = register("ada")

    with db.session_scope() as session:
        assert session.get_one(Author, author_id).name == "ada"
    # The options reach the unit: a read-only one (on the primary, the only node here).
    assert node_and_name(author_id) == (PRIMARY, "ada")
    assert register.__name__ == "register"


def test_a_transaction_inside_a_session_scope_joins_it(db: Database) -> None:
    def add_inner(inner: Session) -> None:
        inner.add(Author(name="inner"))

    with pytest.raises(RuntimeError), db.session_scope() as session:
        db.transaction(add_inner)
        assert session.scalars(select(Author.name)).all() == ["inner"]  # same transaction
        raise RuntimeError("the scope fails: the joined unit goes with it")

    with db.session_scope() as session:
        assert session.scalars(select(Author)).all() == []


@pytest.mark.backends("sqlite")
def test_a_retryable_error_translated_by_the_work_is_still_retried(
    make_db: Callable[..., Database],
) -> None:
    impatient = make_db(engine_options=EngineOptions(sqlite_busy_timeout_ms=0))
    counter_id = make_counter(impatient)
    holder = impatient.engine.connect()
    holder.begin()
    attempts: list[int] = []

    def work(session: Session) -> None:
        with translating_errors():  # turns "database is locked" into Unavailable
            session.execute(update(Counter).values(value=9))

    def release(attempt: int, error: BaseException) -> None:
        attempts.append(attempt)
        holder.rollback()
        holder.close()

    impatient.transaction(work, on_retry=release)

    assert attempts == [1]
    assert read_counter(impatient, counter_id) == 9

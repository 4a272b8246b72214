"""Dead connections without a ping: replaced at checkout, or the unit run once more when its
first statement found one; never a second run of a unit that may have taken effect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from alchemy_patterns.db import Database, EngineOptions, Unavailable, count_queries
from tests.db.models import Author
from tests.disconnects import counted_pings, dbapi_connection, kill, killing_before, pooled

UNITS = 100


def author_names(db: Database) -> list[str]:
    with db.session_scope() as session:
        return list(session.scalars(select(Author.name).order_by(Author.name)))


def add_author(session: Session, name: str) -> None:
    session.add(Author(name=name))
    session.flush()


def runs_until_unavailable(db: Database, unit: Callable[[Session], None]) -> int:
    """Run ``unit`` as a ``transaction()`` that must fail as ``Unavailable``: how often it ran."""
    runs: list[Session] = []

    def counted(session: Session) -> None:
        runs.append(session)
        unit(session)

    with pytest.raises(Unavailable):
        db.transaction(counted)
    return len(runs)


# --- the good path costs nothing --------------------------------------------------------------


def test_a_hundred_units_send_their_statements_and_no_ping(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = counted_pings(db.engine, monkeypatch)

    def unit(session: Session, number: int) -> None:
        add_author(session, f"author {number}")
        session.scalars(select(Author.id)).all()

    with count_queries() as counter:
        for number in range(UNITS):
            db.transaction(lambda session, n=number: unit(session, n))  # type: ignore[misc]

    assert pings == []
    assert counter.count == 2 * UNITS  # the INSERT and the SELECT, nothing else


# --- found dead before anything was done: replaced, and the caller never knows ----------------


def test_a_transaction_succeeds_at_once_after_every_pooled_connection_was_killed(
    make_db: Callable[..., Database],
) -> None:
    db = make_db(engine_options=EngineOptions(pool_size=3))
    for connection in pooled(db, 3):
        kill(db.engine, connection)

    assert db.transaction(lambda session: session.scalar(text("SELECT 1"))) == 1


@pytest.mark.backends("postgresql", "mariadb")  # SQLite has no socket to look at
def test_a_connection_the_server_closed_is_replaced_at_checkout_without_a_statement(
    make_db: Callable[..., Database],
) -> None:
    db = make_db(engine_options=EngineOptions(pool_size=1))
    (connection,) = pooled(db, 1)
    kill(db.engine, connection)
    runs: list[int] = []

    def unit(session: Session) -> Any:
        runs.append(1)
        return session.scalar(text("SELECT 1"))

    with count_queries() as counter:
        assert db.transaction(unit) == 1

    assert (len(runs), counter.count) == (1, 1)  # no failed statement, no second run


def test_a_unit_whose_first_statement_finds_its_connection_dead_runs_again_on_a_fresh_one(
    make_db: Callable[..., Database],
) -> None:
    db = make_db()
    used: list[Any] = []

    def unit(session: Session) -> None:
        used.append(dbapi_connection(session))
        if len(used) == 1:  # dies after checkout, unseen: its end is still on its way
            kill(db.engine, used[0])
        add_author(session, "ada")

    db.transaction(unit)

    assert len(used) == 2
    assert used[0] is not used[1]
    assert author_names(db) == ["ada"]


def test_the_unit_runs_again_once_only_then_it_is_unavailable(
    make_db: Callable[..., Database],
) -> None:
    db = make_db()

    def dies_every_time(session: Session) -> None:
        kill(db.engine, dbapi_connection(session))
        add_author(session, "ada")

    assert runs_until_unavailable(db, dies_every_time) == 2
    assert author_names(db) == []


def test_ping_answers_true_when_its_pooled_connection_had_died_unseen(
    make_db: Callable[..., Database],
) -> None:
    db = make_db()
    pooled(db, 1)

    with killing_before(db.engine, lambda number, _sql: number == 1):
        assert db.ping() is True


# --- lost after something was done: never run again -------------------------------------------


def test_a_connection_lost_after_a_statement_completed_is_unavailable_and_the_unit_not_rerun(
    make_db: Callable[..., Database],
) -> None:
    db = make_db()

    def lost_after_a_write(session: Session) -> None:
        add_author(session, "ada")
        kill(db.engine, dbapi_connection(session))
        session.scalars(select(Author)).all()

    assert runs_until_unavailable(db, lost_after_a_write) == 1
    assert author_names(db) == []


def test_a_connection_lost_before_commit_is_unavailable_and_the_unit_not_rerun(
    make_db: Callable[..., Database],
) -> None:
    db = make_db()

    def lost_before_commit(session: Session) -> None:
        add_author(session, "ada")
        kill(db.engine, dbapi_connection(session))

    assert runs_until_unavailable(db, lost_before_commit) == 1
    assert author_names(db) == []


def test_a_unit_that_committed_work_of_its_own_is_not_rerun_when_its_first_statement_fails(
    make_db: Callable[..., Database],
) -> None:
    db = make_db()

    def commits_then_finds_its_connection_dead(session: Session) -> None:
        with db.session_scope() as other:  # a transaction of its own, committed
            add_author(other, "ada")
        kill(db.engine, dbapi_connection(session))
        session.scalars(select(Author)).all()

    assert runs_until_unavailable(db, commits_then_finds_its_connection_dead) == 1
    assert author_names(db) == ["ada"]  # once, not twice


# --- session_scope() cannot run its block again -----------------------------------------------


def test_session_scope_is_unavailable_when_its_first_statement_finds_the_connection_dead(
    make_db: Callable[..., Database],
) -> None:
    db = make_db()

    with pytest.raises(Unavailable), db.session_scope() as session:
        kill(db.engine, dbapi_connection(session))
        add_author(session, "ada")

    with db.session_scope() as session:  # the pool was invalidated: a fresh connection
        add_author(session, "bob")
    assert author_names(db) == ["bob"]

"""The login limit: attempts are reserved, one counter row per account and per address."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from alchemy_patterns.db import Database, count_queries
from alchemy_patterns.domains.accounts.errors import TooManyAttempts
from alchemy_patterns.domains.accounts.models import LoginAttempts
from alchemy_patterns.domains.accounts.throttle import (
    Reservation,
    ThrottlePolicy,
    record_success,
    reserve,
    subjects,
)
from tests.threads import race

POLICY = ThrottlePolicy(window=dt.timedelta(minutes=15), per_login=5, per_address=8)
ADDRESS = "10.0.0.1"


def attempt(db: Database, login: str = "alice", address: str = ADDRESS) -> Reservation:
    """One attempt reserved in its own committed transaction, as a login does it."""
    limits = subjects(login, address, POLICY)
    return db.transaction(lambda session: reserve(session, limits, POLICY))


def refused(db: Database, login: str = "alice", address: str = ADDRESS) -> TooManyAttempts:
    with pytest.raises(TooManyAttempts) as error:
        attempt(db, login, address)
    return error.value


def counters(db: Database) -> dict[str, int]:
    with db.session_scope(read_only=True) as session:
        return dict(session.execute(select(LoginAttempts.subject, LoginAttempts.attempts)).all())


def move_window(db: Database, subject: str, by: dt.timedelta) -> None:
    """Make the subject's window start ``by`` earlier: time passing, without waiting for it."""
    with db.session_scope() as session:
        counter = session.get_one(LoginAttempts, subject)
        counter.window_start -= by


def settle(db: Database, reservation: Reservation) -> None:
    with db.session_scope() as session:
        record_success(session, reservation, POLICY)


# --- reserve ---------------------------------------------------------------------------------


def test_an_attempt_is_counted_against_the_account_and_the_address(app_db: Database) -> None:
    attempt(app_db)
    attempt(app_db)

    assert counters(app_db) == {"login:alice": 2, f"address:{ADDRESS}": 2}


def test_the_attempt_past_the_accounts_limit_is_refused(app_db: Database) -> None:
    for _ in range(POLICY.per_login):
        attempt(app_db)

    refused(app_db)

    assert counters(app_db)["login:alice"] == POLICY.per_login


def test_too_many_attempts_says_when_the_window_ends(app_db: Database) -> None:
    for _ in range(POLICY.per_login):
        attempt(app_db)
    move_window(app_db, "login:alice", POLICY.window - dt.timedelta(seconds=100))

    error = refused(app_db)

    assert 99 <= error.retry_after <= 100


def test_nothing_is_counted_when_one_subject_is_at_its_limit(app_db: Database) -> None:
    for number in range(POLICY.per_address):
        attempt(app_db, f"user{number}")
    before = counters(app_db)

    refused(app_db, "bob")

    assert counters(app_db) == before
    assert "login:bob" not in before


def test_a_window_that_has_ended_starts_again(app_db: Database) -> None:
    for _ in range(POLICY.per_login):
        attempt(app_db)
    move_window(app_db, "login:alice", POLICY.window)

    reservation = attempt(app_db)

    assert counters(app_db)["login:alice"] == 1
    started = reservation.windows["login:alice"]
    assert dt.datetime.now(dt.UTC) - started < dt.timedelta(minutes=1)


def test_reserving_costs_three_statements(app_db: Database) -> None:
    attempt(app_db)

    with count_queries() as counter:
        attempt(app_db)

    # Insert-or-lock, the locking read, the count; BEGIN and COMMIT are not statements here.
    assert counter.count == 3, counter.report()


# --- record_success --------------------------------------------------------------------------


def test_a_success_clears_the_account_and_gives_the_address_its_attempt_back(
    app_db: Database,
) -> None:
    attempt(app_db)
    attempt(app_db)

    settle(app_db, attempt(app_db))

    assert counters(app_db) == {f"address:{ADDRESS}": 2}


def test_successes_from_one_address_never_lock_it_out(app_db: Database) -> None:
    for number in range(3 * POLICY.per_address):
        settle(app_db, attempt(app_db, f"user{number}"))

    assert counters(app_db) == {f"address:{ADDRESS}": 0}


def test_an_attempt_is_given_back_only_to_the_window_it_was_counted_in(app_db: Database) -> None:
    reservation = attempt(app_db)
    move_window(app_db, f"address:{ADDRESS}", POLICY.window)
    attempt(app_db, "bob")  # the address's window starts again, with bob's attempt

    settle(app_db, reservation)

    assert counters(app_db)[f"address:{ADDRESS}"] == 1


def test_a_success_deletes_the_counters_whose_window_has_ended(app_db: Database) -> None:
    attempt(app_db, "old", "10.0.0.2")
    attempt(app_db, "recent", "10.0.0.3")
    move_window(app_db, "login:old", POLICY.window)
    move_window(app_db, "address:10.0.0.2", POLICY.window)

    settle(app_db, attempt(app_db))

    assert counters(app_db) == {"login:recent": 1, "address:10.0.0.3": 1, f"address:{ADDRESS}": 0}


# --- under real concurrency ------------------------------------------------------------------


def test_20_attempts_at_once_for_one_account_reserve_5(app_db: Database) -> None:
    outcomes = race(20, lambda number: attempt(app_db, "alice", f"10.1.0.{number}"))

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"Reservation": POLICY.per_login, "TooManyAttempts": 20 - POLICY.per_login}
    assert counters(app_db)["login:alice"] == POLICY.per_login


def test_30_attempts_at_once_from_one_address_reserve_8(app_db: Database) -> None:
    outcomes = race(30, lambda number: attempt(app_db, f"user{number}", ADDRESS))

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"Reservation": POLICY.per_address, "TooManyAttempts": 30 - POLICY.per_address}
    assert counters(app_db)[f"address:{ADDRESS}"] == POLICY.per_address

"""Login throttling: an account or an address that guessed too often waits out its window.

The check and the count are one step. Before a password is verified the
attempt is *reserved* (:func:`reserve`): each subject's counter row is locked,
compared with its limit and counted up, in a short transaction that the caller
commits before the slow hash starts. However many attempts arrive at once, on
however many threads, workers or hosts, at most the limit of them in a window
get to verify a password; the others are ``TooManyAttempts``. Checking a count,
then verifying, then recording the failure (as this module once did) let
every attempt that arrived during a hash through.

A success (:func:`record_success`) clears the account's counter and gives the
address back the attempt it reserved, so an address whose logins succeed (an
office behind one NAT, a test suite) is never locked out by them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from alchemy_patterns.db import update_where, upsert
from alchemy_patterns.domains.accounts.errors import TooManyAttempts
from alchemy_patterns.domains.accounts.models import LoginAttempts

ACCOUNT = "login:"
ADDRESS = "address:"
#: Counters of ended windows deleted after one successful login, at most.
EXPIRED_BATCH = 500


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many passwords may be verified in one window, for one account and from one address."""

    window: dt.timedelta = dt.timedelta(minutes=15)
    per_login: int = 5
    per_address: int = 30


DEFAULT_POLICY = ThrottlePolicy()


@dataclass(frozen=True)
class Reservation:
    """The attempt :func:`reserve` counted: each subject, with the start of its window."""

    windows: Mapping[str, dt.datetime]


def subjects(
    login: str, address: str | None, policy: ThrottlePolicy = DEFAULT_POLICY
) -> dict[str, int]:
    """The throttled subjects of one attempt (the account first), each with its limit."""
    found = {f"{ACCOUNT}{login.lower()[:250]}": policy.per_login}
    if address:
        found[f"{ADDRESS}{address[:250]}"] = policy.per_address
    return found


def reserve(
    session: Session, limits: Mapping[str, int], policy: ThrottlePolicy = DEFAULT_POLICY
) -> Reservation:
    """Count one attempt against every subject of ``limits``, or against none of them.

    If a subject has had its limit of attempts in its window,
    ``TooManyAttempts`` says in how many seconds that window ends, and nothing
    is counted (the error rolls back the caller's unit, rows created here too). A window
    that has ended starts again with this attempt. The rows stay locked until
    the caller commits, which it does before verifying the password: that
    commit is what the next attempt sees.
    """
    now = _now()
    ordered = sorted(limits)  # every attempt locks in the same order: no deadlock
    _create_and_lock(session, ordered, now)
    rows = session.scalars(
        select(LoginAttempts)
        .where(LoginAttempts.subject.in_(ordered))
        .order_by(LoginAttempts.subject)
        # A current read, also in a transaction whose snapshot is older (MariaDB).
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    waits = [
        (_seconds_left(row, now, policy), row.subject)
        for row in rows
        if _in_window(row, now, policy) and row.attempts >= limits[row.subject]
    ]
    if waits:
        wait, subject = max(waits)
        raise TooManyAttempts(
            retry_after=wait,
            limit="account" if subject.startswith(ACCOUNT) else "address",
            quota=limits[subject],
            window_s=math.ceil(policy.window.total_seconds()),
        )
    for row in rows:
        if not _in_window(row, now, policy):
            row.window_start, row.attempts = now, 0
        row.attempts += 1
    session.flush()
    return Reservation({row.subject: row.window_start for row in rows})


def _create_and_lock(session: Session, subjects: list[str], now: dt.datetime) -> None:
    """One statement: a missing counter is created, an existing one locked.

    The conflict "updates" the row to itself rather than ignoring it: that
    takes the row's lock in the same statement on PostgreSQL, where an
    insert-or-ignore followed by a locking SELECT could find the row deleted
    in between (a success clears its account's counter). MariaDB locks the row
    of a duplicate key either way; SQLite's write lock is already held.
    """
    upsert(
        session,
        LoginAttempts,
        [{"subject": s, "window_start": now, "attempts": 0} for s in subjects],
        conflict=["subject"],
        update={"attempts": lambda current, _incoming: current},
    )


def record_success(
    session: Session, reservation: Reservation, policy: ThrottlePolicy = DEFAULT_POLICY
) -> None:
    """After a successful login: the account's counter goes, the address gets its attempt back.

    The attempt is given back only to the window it was counted in (one that
    has started again since owes nothing). Counters whose window has ended
    are deleted too, a batch at a time.
    """
    cutoff = _now() - policy.window
    expired = session.scalars(
        select(LoginAttempts.subject)
        .where(LoginAttempts.window_start <= cutoff)
        .order_by(LoginAttempts.subject)
        .limit(EXPIRED_BATCH)
    ).all()
    for subject, started in reservation.windows.items():
        if subject.startswith(ADDRESS):
            _give_back(session, subject, started)
    accounts = [subject for subject in reservation.windows if subject.startswith(ACCOUNT)]
    _delete(session, accounts, expired, cutoff)


def _give_back(session: Session, subject: str, started: dt.datetime) -> None:
    update_where(
        session,
        LoginAttempts,
        LoginAttempts.subject == subject,
        LoginAttempts.window_start == started,
        LoginAttempts.attempts > 0,
        values={"attempts": LoginAttempts.attempts - 1},
    )


def _delete(
    session: Session, accounts: Sequence[str], expired: Sequence[str], cutoff: dt.datetime
) -> None:
    """Delete the ``accounts``' counters, and those of ``expired`` if their window is still over.

    The primary keys are named, so MariaDB locks those rows only, in key
    order like :func:`reserve`; the window is checked again under the lock,
    so a counter another attempt has just started again is kept.
    """
    ended: ColumnElement[bool] = LoginAttempts.window_start <= cutoff
    session.execute(
        delete(LoginAttempts).where(
            LoginAttempts.subject.in_([*accounts, *expired]),
            LoginAttempts.subject.in_(accounts) | ended,
        )
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _in_window(row: LoginAttempts, now: dt.datetime, policy: ThrottlePolicy) -> bool:
    return now < row.window_start + policy.window


def _seconds_left(row: LoginAttempts, now: dt.datetime, policy: ThrottlePolicy) -> int:
    return max(1, math.ceil((row.window_start + policy.window - now).total_seconds()))

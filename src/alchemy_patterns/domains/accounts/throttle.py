"""Login throttling: too many failures for one account or from one address wait a while.

Failures are recorded in a unit of work of their own (the login that failed
rolls its own back), so the caller passes a session it will commit.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from alchemy_patterns.db import bulk_insert
from alchemy_patterns.domains.accounts.errors import TooManyAttempts
from alchemy_patterns.domains.accounts.models import LoginFailure


@dataclass(frozen=True)
class ThrottlePolicy:
    window: dt.timedelta = dt.timedelta(minutes=15)
    per_login: int = 5
    per_address: int = 30


DEFAULT_POLICY = ThrottlePolicy()


def subjects(
    login: str, address: str | None, policy: ThrottlePolicy = DEFAULT_POLICY
) -> dict[str, int]:
    """The throttled subjects of one attempt (the account first), each with its limit."""
    found = {f"login:{login.lower()[:250]}": policy.per_login}
    if address:
        found[f"address:{address[:250]}"] = policy.per_address
    return found


def check_allowed(
    session: Session, limits: dict[str, int], policy: ThrottlePolicy = DEFAULT_POLICY
) -> None:
    """Raise ``TooManyAttempts`` (with the seconds to wait) if any subject is over its limit."""
    now = dt.datetime.now(dt.UTC)
    stmt = (
        select(LoginFailure.subject, func.count(), func.min(LoginFailure.failed_at))
        .where(LoginFailure.subject.in_(limits), LoginFailure.failed_at > now - policy.window)
        .group_by(LoginFailure.subject)
    )
    waits = [
        (oldest + policy.window - now).total_seconds()
        for subject, failures, oldest in session.execute(stmt)
        if failures >= limits[subject]
    ]
    if waits:
        raise TooManyAttempts(retry_after=max(1, math.ceil(max(waits))))


def record_failure(session: Session, subjects: Iterable[str]) -> None:
    now = dt.datetime.now(dt.UTC)
    bulk_insert(session, LoginFailure, [{"subject": s, "failed_at": now} for s in subjects])


def forget_failures(
    session: Session, subjects: Iterable[str], policy: ThrottlePolicy = DEFAULT_POLICY
) -> None:
    """After a success: the account's slate is clean; rows past the window go too."""
    cutoff = dt.datetime.now(dt.UTC) - policy.window
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.subject.in_(list(subjects)) | (LoginFailure.failed_at < cutoff)
        ),
        execution_options={"synchronize_session": False},
    )

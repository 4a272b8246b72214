"""Run a unit of work in its own transaction, retrying it whole when the database asks.

Under SERIALIZABLE (PostgreSQL), or with row locks in different orders
(MariaDB deadlocks), the database may abort a perfectly good transaction and
expect the client to run it again. Only the owner of the transaction can do
that: a retry must repeat *every* read the failed attempt made, since the
decisions it took were based on them. So :func:`run_transaction` retries only
when it began the transaction; a call nested inside another unit joins that
unit's session and lets the error reach the owner.

A pooled connection found dead by the unit's first statement is not a failed
attempt: nothing was done, so the unit runs again at once on a fresh
connection (:func:`alchemy_patterns.db.disconnects.retrying_a_stale_connection`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import MetaData
from sqlalchemy.orm import Session

from alchemy_patterns.db import observers
from alchemy_patterns.db.disconnects import retrying_a_stale_connection
from alchemy_patterns.db.errors import Unavailable, raise_translated, retry_reason
from alchemy_patterns.db.session import rollback_quietly

__all__ = ["RetryPolicy", "joined", "run_transaction"]

T = TypeVar("T")

logger = logging.getLogger("alchemy_patterns.db.retry")

_current: ContextVar[Session | None] = ContextVar("current_unit_of_work", default=None)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: bounded exponential backoff with full jitter."""

    max_attempts: int = 5
    base_delay: float = 0.02
    max_delay: float = 1.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # jitter, not cryptography


OnRetry = Callable[[int, BaseException], None]


@contextmanager
def joined(session: Session) -> Iterator[Session]:
    """Mark ``session`` as this thread's unit of work: nested transactions join it."""
    token = _current.set(session)
    try:
        yield session
    finally:
        _current.reset(token)


def run_transaction(
    factory: Callable[[], Session],
    work: Callable[[Session], T],
    *,
    policy: RetryPolicy | None = None,
    isolation_level: str | None = None,
    on_retry: OnRetry | None = None,
    metadata: MetaData | None = None,
    watch: Callable[[], AbstractContextManager[object]] = nullcontext,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``work(session)`` in a new transaction and commit; retry it whole if retryable.

    Returns what ``work`` returns. Each retry is logged (``alchemy_patterns.db.retry``)
    and reported to ``on_retry(attempt, error)``. When the attempts run out the
    last error is raised as :class:`Unavailable`. Other errors are raised at
    once, translated. ``watch`` wraps each attempt (the N+1 detector). Nested
    inside another unit of work on the same thread (``run_transaction`` or a
    ``session_scope``), ``work`` runs in the outer session with no retry and no
    commit of its own: only the owner of a transaction can re-run it whole.

    An attempt whose first statement finds its pooled connection dead runs
    again at once, once, on a fresh one (logged, not an attempt of ``policy``).
    A connection lost after a statement completed, or during COMMIT, is
    :class:`Unavailable` and never retried: the work may have taken effect.

    ``sleep(seconds)`` waits between attempts; the asyncio twin
    (:class:`~alchemy_patterns.db.asyncio.AsyncDatabase`) runs this very loop in
    SQLAlchemy's greenlet and passes a sleep that yields to the event loop.
    """
    outer = _current.get()
    if outer is not None:
        return work(outer)
    policy = policy or RetryPolicy()

    def attempt_once() -> T:
        return _attempt(factory, work, isolation_level, watch)

    for attempt in range(1, policy.max_attempts + 1):
        try:
            return retrying_a_stale_connection(attempt_once)
        except BaseException as error:
            reason = retry_reason(error)
            if reason is None:
                raise_translated(error, metadata)
            if attempt == policy.max_attempts:
                raise Unavailable(
                    f"gave up after {attempt} attempts: {getattr(error, 'orig', error)}"
                ) from error
            observers.retried(reason)
            _note_retry(attempt, error, on_retry)
            sleep(policy.delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def _attempt(
    factory: Callable[[], Session],
    work: Callable[[Session], T],
    isolation_level: str | None,
    watch: Callable[[], AbstractContextManager[object]],
) -> T:
    """One try of the unit of work in a session of its own: committed, or rolled back."""
    session = factory()
    try:
        if isolation_level is not None:
            session.connection(execution_options={"isolation_level": isolation_level})
        with joined(session), watch():
            result = work(session)
        session.commit()
        return result
    except BaseException:
        rollback_quietly(session)
        raise
    finally:
        session.close()


def _note_retry(attempt: int, error: BaseException, on_retry: OnRetry | None) -> None:
    logger.warning(
        "transaction attempt %d failed with a retryable error, retrying: %s",
        attempt,
        getattr(error, "orig", error),
        extra={"attempt": attempt},
    )
    if on_retry is not None:
        on_retry(attempt, error)

"""Units of work: ``session_scope()`` and savepoints.

The caller that opens a scope owns the transaction: a CLI command, a web
request, a test. Services take the ``Session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import CursorResult, Executable, MetaData
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from alchemy_patterns.db.errors import translating_errors

__all__ = ["execute_core", "rollback_quietly", "savepoint", "session_scope"]

#: A statement's parameters: one set, or many (an executemany).
Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


def execute_core(
    session: Session, statement: Executable, parameters: Parameters = None
) -> CursorResult[*tuple[Any, ...]]:
    """Run a Core statement (on ``Table`` objects) in the session's transaction.

    The result ``session.execute()`` gives for such a statement, on the same
    connection and transaction, with the same engine events (the query
    counters, the slow-query log), without the Session's per-execution
    dispatch: an ORM execution state and the ``do_orm_execute`` hooks (the
    soft-delete filter) built for a statement that names no mapped class,
    which cost a hot read's statement more Python than its round trip. Only
    for such statements: an ORM statement needs the Session (autoflush,
    loader criteria, entities).
    """
    return session.connection().execute(statement, parameters)


@contextmanager
def session_scope(
    factory: Callable[[], Session], metadata: MetaData | None = None
) -> Iterator[Session]:
    """One transaction: commit on success, roll back and re-raise on error, always close.

    Driver errors leave as application errors (:mod:`alchemy_patterns.db.errors`),
    chained to the original. Objects loaded inside stay readable after the scope
    ends because the factory is made with ``expire_on_commit=False``. A
    connection found dead, even by the block's first statement, is
    ``Unavailable``: a ``with`` block cannot run again (``run_transaction`` can).
    """
    session = factory()
    try:
        with translating_errors(metadata):
            try:
                yield session
                session.commit()
            except BaseException:
                rollback_quietly(session)
                raise
    finally:
        session.close()


def rollback_quietly(session: Session) -> None:
    # The connection may already be gone (that may be why we are here); the
    # original error is the one worth raising, and close() releases the rest.
    try:
        session.rollback()
    except sa_exc.DBAPIError:
        session.invalidate()


@contextmanager
def savepoint(session: Session, metadata: MetaData | None = None) -> Iterator[Session]:
    """Run the block in a SAVEPOINT and flush before leaving it.

    The guide's savepoint never rolls back: ``session.add()`` sends nothing to
    the database, so the failure only surfaces at commit, outside the savepoint,
    and takes the whole transaction with it. Flushing *inside* makes the
    failure happen here; the savepoint is rolled back, the outer transaction
    stays usable, and the error is re-raised translated (e.g. ``Conflict``) for
    the caller to handle::

        session.add(user)
        try:
            with savepoint(session):
                session.add(Profile(user=user, bio=bio))
        except Conflict:
            log.info("profile skipped; the user is kept")
    """
    with translating_errors(metadata), session.begin_nested():
        yield session
        session.flush()

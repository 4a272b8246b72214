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
from sqlalchemy.orm import Session, sessionmaker

from alchemy_patterns.db.direct import DirectResult, execute_on
from alchemy_patterns.db.errors import translating_errors

__all__ = [
    "METADATA_KEY",
    "execute_core",
    "metadata_of",
    "rollback_quietly",
    "savepoint",
    "session_scope",
    "translate_with",
]

#: The key of ``Session.info`` that holds the metadata a session's errors are
#: translated with (the ``Database``'s: :func:`translate_with`).
METADATA_KEY = "metadata"

#: A statement's parameters: one set, or many (an executemany).
Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


def execute_core(
    session: Session, statement: Executable, parameters: Parameters = None
) -> CursorResult[*tuple[Any, ...]] | DirectResult:
    """Run a Core statement (on ``Table`` objects) in the session's transaction.

    The result ``session.execute()`` gives for such a statement, on the same
    connection and transaction, with the same engine events (the query
    counters, the slow-query log), without the Session's per-execution
    dispatch: an ORM execution state and the ``do_orm_execute`` hooks (the
    soft-delete filter) built for a statement that names no mapped class,
    which cost a hot read's statement more Python than its round trip. Only
    for such statements: an ORM statement needs the Session (autoflush,
    loader criteria, entities).

    A statement marked :func:`~alchemy_patterns.db.direct.prepared` runs on
    the driver's cursor where it can (:mod:`alchemy_patterns.db.direct`),
    which gives a ``DirectResult``: the same rows and ``rowcount``.
    """
    return execute_on(session.connection(), statement, parameters)


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


def translate_with(sessions: sessionmaker[Session], metadata: MetaData | None) -> None:
    """Give the sessions ``sessions`` makes ``metadata``, for :func:`savepoint` to find."""
    sessions.configure(info={**sessions.kw.get("info", {}), METADATA_KEY: metadata})


def metadata_of(session: Session) -> MetaData | None:
    """The metadata ``session``'s errors are translated with, if its factory was given one."""
    metadata: MetaData | None = session.info.get(METADATA_KEY)
    return metadata


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

    ``metadata`` names the columns behind a violated constraint; by default the
    session's own (:func:`metadata_of`), which a ``Database``'s sessions have.
    """
    if metadata is None:
        metadata = metadata_of(session)
    with translating_errors(metadata), session.begin_nested():
        yield session
        session.flush()

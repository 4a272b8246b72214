"""session_scope(), flush-for-ids and savepoints: the guide's unit-of-work patterns, done right."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from alchemy_patterns.db import Conflict, Database, ValidationFailed
from alchemy_patterns.db.session import metadata_of
from tests.db.models import Author, AuthorProfile


def count_rows(db: Database, model: type[object]) -> int:
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_session_scope_commits_on_success(db: Database) -> None:
    with db.session_scope() as session:
        session.add(Author(name="ada"))

    assert count_rows(db, Author) == 1


def test_session_scope_rolls_back_reraises_and_releases_the_connection(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"), db.session_scope() as session:
        session.add(Author(name="ada"))
        session.flush()  # the row reached the database inside the transaction
        raise RuntimeError("boom")

    assert count_rows(db, Author) == 0
    pool = db.engine.pool
    if isinstance(pool, QueuePool):
        assert pool.checkedout() == 0


def test_session_scope_closes_the_session(db: Database) -> None:
    with db.session_scope() as session:
        session.add(Author(name="ada"))

    assert not session.in_transaction()
    assert len(session.identity_map) == 0


def test_an_object_returned_from_a_scope_stays_readable(db: Database) -> None:
    def create_author(name: str) -> Author:
        with db.session_scope() as session:
            author = Author(name=name, email=f"{name}@example.com")
            session.add(author)
            return author

    author = create_author("ada")  # the session is closed now

    assert isinstance(author.id, int)
    assert (author.name, author.email) == ("ada", "ada@example.com")


def test_flush_gives_the_new_id_and_rollback_takes_both_rows(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session_scope() as session:
        author = Author(name="ada")
        session.add(author)
        session.flush()
        assert author.id is not None
        session.add(AuthorProfile(author_id=author.id, bio="mathematician"))
        session.flush()
        raise RuntimeError("abandon the unit of work")

    assert count_rows(db, Author) == 0
    assert count_rows(db, AuthorProfile) == 0


def test_savepoint_keeps_the_outer_row_when_the_inner_unit_fails(
    db: Database, savepoint: Callable[..., Any]
) -> None:
    with db.session_scope() as session:
        author = Author(name="ada")
        session.add(author)
        with pytest.raises(ValidationFailed) as failure, savepoint(session):
            session.add(AuthorProfile(author=author, bio=None))  # NOT NULL violated at flush
        assert failure.value.field == "bio"

    assert count_rows(db, Author) == 1
    assert count_rows(db, AuthorProfile) == 0


def test_savepoint_names_a_constraint_with_the_metadata_of_the_sessions_database(
    db: Database, savepoint: Callable[..., Any]
) -> None:
    with db.session_scope() as session:
        session.add(Author(name="ada"))
        session.flush()
        # no metadata given: the Database's, through the session
        with pytest.raises(Conflict) as failure, savepoint(session):
            session.add(Author(name="ada"))

    assert (failure.value.constraint, failure.value.field) == ("uq_authors_name", "name")


def test_a_session_made_without_the_database_has_no_metadata(db: Database) -> None:
    with Session(db.engine) as bare, db.sessionmaker() as made:
        assert (metadata_of(bare), metadata_of(made)) == (None, db.metadata)


def test_savepoint_that_succeeds_keeps_both_rows(
    db: Database, savepoint: Callable[..., Any]
) -> None:
    with db.session_scope() as session:
        author = Author(name="ada")
        session.add(author)
        with savepoint(session):
            session.add(AuthorProfile(author=author, bio="mathematician"))

    assert count_rows(db, Author) == 1
    assert count_rows(db, AuthorProfile) == 1


def test_the_guides_savepoint_loses_the_user(db: Database) -> None:
    """The guide adds the profile inside begin_nested() but never flushes there.

    Nothing fails inside the savepoint, so nothing is rolled back to it; the
    NOT NULL violation surfaces at commit and takes the user with it.
    """
    session: Session = db.sessionmaker()
    try:
        author = Author(name="ada")
        session.add(author)
        nested = session.begin_nested()
        try:
            session.add(AuthorProfile(author=author, bio=None))
        except Exception:  # never raised: add() does not talk to the database
            nested.rollback()
        with pytest.raises(Exception, match=r"(?i)null"):
            session.commit()
        session.rollback()
    finally:
        session.close()

    assert count_rows(db, Author) == 0


def test_scoped_session_is_one_per_thread_until_removed(db: Database) -> None:
    first = db.scoped_session()
    assert db.scoped_session() is first

    db.remove()

    assert db.scoped_session() is not first
    db.remove()

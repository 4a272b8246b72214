"""Savepoints: keep the owner when their first pet cannot be stored.

The guide adds the optional row inside ``begin_nested()`` and catches errors
there, but ``add()`` sends nothing: nothing fails inside the savepoint, the
NOT NULL violation surfaces at commit, outside it, and takes the owner too.
``savepoint()`` flushes before leaving the block, so the failure happens
inside, only the savepoint is rolled back, and the owner is committed.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, count_rows, measure
from alchemy_patterns.db import Database, ValidationFailed, savepoint
from alchemy_patterns.domains.clinic.models import Owner, Pet


def new_owner(session: Session) -> Owner:
    owner = Owner(name="Ada", email="ada@example.com")
    session.add(owner)
    return owner


def bad_pet(owner: Owner) -> Pet:
    """A pet without a species: the NOT NULL column refuses it.

    ``owner.id`` is known: ``begin_nested()`` flushes the owner before the savepoint.
    """
    return Pet(owner_id=owner.id, name="Rex")


def guide_owner_with_pet(session: Session) -> str:
    """The guide's ``create_user_with_profile``; where it failed."""
    owner = new_owner(session)
    nested = session.begin_nested()
    try:
        session.add(bad_pet(owner))
    except Exception:  # never raised: add() does not talk to the database
        nested.rollback()
        return "savepoint"
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return "commit"
    return "nowhere"


def the_guides_savepoint(db: Database) -> Variant:
    with measure("guide: begin_nested() without a flush") as m, db.sessionmaker() as session:
        failed_at = guide_owner_with_pet(session)
    return m.result(failed_at=failed_at, owners=count_rows(db, Owner), pets=count_rows(db, Pet))


def our_savepoint(db: Database) -> Variant:
    failed_at, field = "nowhere", None
    with measure("savepoint(): flushes inside") as m, db.session_scope() as session:
        owner = new_owner(session)
        try:
            with savepoint(session):
                session.add(bad_pet(owner))
        except ValidationFailed as error:
            failed_at, field = "savepoint", error.field
    return m.result(
        failed_at=failed_at, field=field, owners=count_rows(db, Owner), pets=count_rows(db, Pet)
    )


def run(db: Database) -> list[Variant]:
    return [the_guides_savepoint(db), our_savepoint(db)]


CHAPTER = Chapter(
    name="savepoints",
    title="Savepoints: keep the parent when the optional child fails",
    module="db/session.py savepoint()",
    test="tests/db/test_session.py::test_savepoint_keeps_the_outer_row_when_the_inner_unit_fails, "
    "::test_the_guides_savepoint_loses_the_user",
    lesson="A savepoint only helps if the failure happens inside it: flush before leaving it, "
    "or the error surfaces at commit and takes the outer rows too.",
    run=run,
)

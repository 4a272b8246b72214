"""Session scope: one unit of work that commits, or rolls back and re-raises, and always closes.

Three ways to meet an error after a row was flushed:

* ``session_scope()`` rolls back, re-raises, and gives the connection back;
* the guide's ``create_user`` on a module-level session rolls back too, but
  prints the error and returns ``None``: the caller cannot tell what failed;
* a session nobody rolls back or closes keeps its transaction open, and with
  it a pooled connection (and its locks) until someone notices.
"""

from __future__ import annotations

from contextlib import suppress

from sqlalchemy.orm import Session

from alchemy_patterns.cli.tour.chapter import (
    Chapter,
    Variant,
    connections_checked_out,
    count_rows,
    measure,
)
from alchemy_patterns.db import Database
from alchemy_patterns.domains.clinic.models import Owner


class LaterStepFailed(RuntimeError):
    """The step after the insert fails: the unit of work must not half-happen."""


def add_owner_then_fail(session: Session) -> Owner:
    owner = Owner(name="Ada", email="ada@example.com")
    session.add(owner)
    session.flush()
    raise LaterStepFailed("the step after the insert failed")


def in_session_scope(db: Database) -> Variant:
    raised = None
    with measure("session_scope(): rolls back and re-raises") as m:
        try:
            with db.session_scope() as session:
                add_owner_then_fail(session)
        except LaterStepFailed as error:
            raised = type(error).__name__
    return m.result(
        raised=raised,
        owners_after=count_rows(db, Owner),
        connections_checked_out=connections_checked_out(db),
    )


def guide_create_owner(session: Session) -> tuple[Owner | None, str]:
    """The guide's ``create_user``: catch everything, roll back, print, return ``None``."""
    try:
        owner = add_owner_then_fail(session)
        session.commit()
        return owner, ""
    except Exception as error:
        session.rollback()
        return None, f"Error creating user: {error}"  # the guide prints it


def in_the_guides_global_session(db: Database) -> Variant:
    session = db.sessionmaker()  # the guide's module-level session, never closed
    with measure("guide: global session, print and return None") as m:
        returned, printed = guide_create_owner(session)
    outcome = {
        "raised": None,
        "returned": None if returned is None else "an owner",
        "printed": printed,
        "owners_after": count_rows(db, Owner),
    }
    session.close()
    return m.result(**outcome)


def without_a_scope(db: Database) -> Variant:
    session = db.sessionmaker()
    with measure("no scope: nobody rolls back or closes") as m, suppress(LaterStepFailed):
        add_owner_then_fail(session)  # and then forgotten: no rollback, no close
    outcome = {
        "transaction_left_open": session.in_transaction(),
        "connections_checked_out": connections_checked_out(db),
        "owners_visible_to_others": count_rows(db, Owner),
    }
    session.close()
    return m.result(**outcome)


def run(db: Database) -> list[Variant]:
    return [in_session_scope(db), in_the_guides_global_session(db), without_a_scope(db)]


CHAPTER = Chapter(
    name="session-scope",
    title="Session scope: commit, or roll back and re-raise, always close",
    module="db/session.py session_scope()",
    test="tests/db/test_session.py",
    lesson="An error after a flush leaves no row behind; only the scope both re-raises it "
    "and gives the connection back.",
    run=run,
)

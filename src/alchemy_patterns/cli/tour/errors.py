"""Error handling: a duplicate e-mail address, as the guide reports it and as we do.

The guide's ``safe_create_user`` catches ``IntegrityError`` and returns a
string, "User with this email already exists", whatever the constraint: a
taken username gets the same words. ``session_scope()`` translates the
driver's error by its code (SQLSTATE, MariaDB errno, SQLite extended code)
into ``Conflict``, naming the constraint and the field, the same on every
backend.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, measure
from alchemy_patterns.cli.tour.data import add_users, new_user
from alchemy_patterns.db import Conflict, Database

#: (username, e-mail) of a second sign-up, each taking one thing ada holds.
DUPLICATES = {
    "duplicate_email": ("ada2", "ada@example.com"),
    "duplicate_username": ("ada", "ada2@example.com"),
}


def guide_safe_create_user(db: Database, username: str, email: str) -> str | None:
    """The guide's ``safe_create_user``: its error string (the user is not returned here)."""
    try:
        with db.sessionmaker() as session:
            session.add(new_user(username, email))
            session.commit()
        return None
    except IntegrityError:
        return "User with this email already exists"
    except SQLAlchemyError:
        return "Database error occurred"


def create_user(db: Database, username: str, email: str) -> dict[str, Any] | None:
    """The same sign-up in ``session_scope()``: the ``Conflict`` it raises, described."""
    try:
        with db.session_scope() as session:
            session.add(new_user(username, email))
        return None
    except Conflict as error:
        return {"error": type(error).__name__, "field": error.field, "constraint": error.constraint}


def the_guides_strings(db: Database) -> Variant:
    with measure("guide: safe_create_user() returns a string") as m:
        said = {case: guide_safe_create_user(db, *pair) for case, pair in DUPLICATES.items()}
    return m.result(**said)


def conflicts(db: Database) -> Variant:
    with measure("session_scope(): Conflict naming the field") as m:
        said = {case: create_user(db, *pair) for case, pair in DUPLICATES.items()}
    return m.result(**said)


def run(db: Database) -> list[Variant]:
    add_users(db, "ada")
    return [the_guides_strings(db), conflicts(db)]


CHAPTER = Chapter(
    name="errors",
    title="Error handling: a duplicate e-mail address",
    module="db/errors.py translate_error(), domains/accounts/services.py",
    test="tests/db/test_errors.py, tests/accounts/test_registration.py",
    lesson="Translate the driver's error by its code into Conflict naming the field; "
    "a catch-all string blames the e-mail address for a taken username too.",
    run=run,
)

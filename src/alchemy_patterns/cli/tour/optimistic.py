"""Optimistic concurrency: two editors read one owner, then both save what they changed.

Each editor reads the owner in a unit of its own and writes later in
another, as two browser tabs do over HTTP (GET, then PATCH). Without a
precondition the second save silently replaces the first: a lost update.
With the version read (the API's ``If-Match``), the first save moves the
version and the second finds it replaced: ``StaleVersion`` (412 over HTTP),
for the cost of the one locked read that found it out, and nothing written.
"""

from __future__ import annotations

from typing import Any

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, measure
from alchemy_patterns.db import Database, Expected, StaleVersion
from alchemy_patterns.domains.clinic.models import Owner
from alchemy_patterns.domains.clinic.schemas import OwnerIn, OwnerUpdate
from alchemy_patterns.domains.clinic.services import register_owner, update_owner

#: What each editor renames the owner to, the first to save first.
NAMES = ("Grace Hopper", "Grace Brewster Murray Hopper")


def new_owner(db: Database, email: str) -> tuple[int, int]:
    """An owner both editors read: its id and the version they read."""
    with db.session_scope() as session:
        owner = register_owner(session, OwnerIn(name="Grace", email=email))
        return owner.id, owner.version


def save(db: Database, owner_id: int, name: str, expected: Expected) -> dict[str, Any]:
    """One editor's save in a unit of its own: the version it wrote, or why it was refused."""
    try:
        with db.session_scope() as session:
            saved = update_owner(session, owner_id, OwnerUpdate(name=name), expected)
        return {"saved_version": saved.version}
    except StaleVersion as error:
        return {"refused": type(error).__name__, "current_version": error.current}


def stored(db: Database, owner_id: int) -> dict[str, Any]:
    with db.session_scope(read_only=True) as session:
        owner = session.get_one(Owner, owner_id)
        return {"stored_name": owner.name, "stored_version": owner.version}


def last_write_wins(db: Database) -> Variant:
    owner_id, _ = new_owner(db, "grace1@example.com")
    with measure("no precondition: both saves land") as m:
        saves = [save(db, owner_id, name, None) for name in NAMES]
    return m.result(saves=saves, lost_edits=len(saves) - 1, **stored(db, owner_id))


def current_version(db: Database) -> Variant:
    owner_id, read = new_owner(db, "grace3@example.com")
    with measure("the version read, still current: saved") as m:
        outcome = save(db, owner_id, NAMES[0], read)
    return m.result(**outcome, **stored(db, owner_id))


def replaced_version(db: Database) -> Variant:
    owner_id, read = new_owner(db, "grace2@example.com")
    save(db, owner_id, NAMES[0], read)  # the first editor saves first
    with measure("the version read, since replaced: refused") as m:
        outcome = save(db, owner_id, NAMES[1], read)
    return m.result(**outcome, **stored(db, owner_id))


def run(db: Database) -> list[Variant]:
    return [last_write_wins(db), current_version(db), replaced_version(db)]


CHAPTER = Chapter(
    name="optimistic",
    title="Optimistic concurrency: two editors of one record",
    module="db/versioning.py check_version(), db/base.py Versioned, web/preconditions.py",
    test="tests/web/test_preconditions.py, tests/web/test_versioned_records.py",
    lesson="Send the version read with the change (If-Match): the UPDATE checks it, and a "
    "stale save is refused after one locked read instead of erasing the other edit.",
    run=run,
)

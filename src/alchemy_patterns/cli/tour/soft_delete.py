"""Soft delete: an owner and their pets marked ``deleted_at``, hidden from reads, restored.

``delete_owner()`` deletes nothing: one UPDATE marks the owner and one
UPDATE marks their live pets with the same time, and the session's
filter leaves them out of every ORM read from then on (no statement added:
``deleted_at IS NULL`` goes into the reads' own SQL). ``restore_owner()``
clears the mark of the owner and of the pets deleted with them. The e-mail
address is unique among live owners only, so a new owner may take it; the
old one's restore is then refused by the database's unique index.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, count_rows, measure
from alchemy_patterns.cli.tour.data import Household, add_household
from alchemy_patterns.db import INCLUDE_DELETED, Conflict, Database
from alchemy_patterns.domains.clinic.models import Owner, Pet
from alchemy_patterns.domains.clinic.schemas import OwnerIn
from alchemy_patterns.domains.clinic.services import delete_owner, register_owner, restore_owner

PETS = 3


def rows(db: Database) -> dict[str, Any]:
    """Live rows (what reads see), and every row stored (deleted ones too)."""
    with db.session_scope(read_only=True) as session:
        every_pet = select(Pet.id).execution_options(**{INCLUDE_DELETED: True})
        stored = len(session.scalars(every_pet).all())
    return {"owners": count_rows(db, Owner), "pets": count_rows(db, Pet), "pets_stored": stored}


def deleting(db: Database, household: Household) -> Variant:
    with measure("delete_owner(): marked, not deleted") as m, db.session_scope() as session:
        delete_owner(session, household.owner_id)
    return m.result(**rows(db))


def restoring(db: Database, household: Household) -> Variant:
    name = "restore_owner(): back, with the pets deleted with them"
    with measure(name) as m, db.session_scope() as session:
        restore_owner(session, household.owner_id)
    return m.result(**rows(db))


def restoring_a_taken_address(db: Database, household: Household) -> Variant:
    with db.session_scope() as session:
        delete_owner(session, household.owner_id)
    with db.session_scope() as session:
        register_owner(session, OwnerIn(name="Ada II", email="ada@example.com"))
    refused = None
    with measure("restore_owner() after a new owner took the address") as m:
        try:
            with db.session_scope() as session:
                restore_owner(session, household.owner_id)
        except Conflict as error:
            refused = error.code
    return m.result(refused=refused, **rows(db))


def run(db: Database) -> list[Variant]:
    household = add_household(db, pets=PETS, appointments_each=1, vets=1)
    return [
        deleting(db, household),
        restoring(db, household),
        restoring_a_taken_address(db, household),
    ]


CHAPTER = Chapter(
    name="soft-delete",
    title="Soft delete: marked, hidden from every read, restored",
    module="db/softdelete.py; domains/clinic/services.py delete_owner(), restore_owner()",
    test="tests/db/test_softdelete.py, tests/clinic/test_soft_delete.py",
    lesson="Deleting an owner is an UPDATE of the owner and one UPDATE of all their pets; "
    "reads filter them out in their own SQL; a restore brings back what was deleted with "
    "the owner, and is refused (409) once a live owner holds the address.",
    run=run,
)

"""Cascades: an owner owns pets and their appointments; a vet is independent.

Ownership is declared twice and the two agree: ``all, delete-orphan`` on the
relationships, ``ON DELETE CASCADE`` on the foreign keys, and
``passive_deletes`` so that erasing an owner for good is one DELETE, with no
SELECT of the pets it takes along. (The API's DELETE is a soft delete, see
the "soft delete" chapter; this is the erasure, and the purge, behind it.)
Nothing cascades to a vet: ``ON DELETE RESTRICT`` makes the database refuse
to delete a vet who has appointments.
"""

from __future__ import annotations

from typing import Any

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, count_rows, measure
from alchemy_patterns.cli.tour.data import Household, add_household
from alchemy_patterns.db import Conflict, Database
from alchemy_patterns.domains.clinic.models import Appointment, Owner, Pet, Vet
from alchemy_patterns.domains.clinic.services import delete_vet, erase_owner

PETS = 3
APPOINTMENTS_EACH = 2
VETS = 2


def rows_left(db: Database) -> dict[str, Any]:
    return {
        "owners": count_rows(db, Owner),
        "pets": count_rows(db, Pet),
        "appointments": count_rows(db, Appointment),
        "vets": count_rows(db, Vet),
    }


def deleting_a_busy_vet(db: Database, household: Household) -> Variant:
    refused = None
    with measure("delete_vet() of a vet with appointments") as m:
        try:
            with db.session_scope() as session:
                delete_vet(session, household.vet_ids[0])
        except Conflict as error:
            refused = error.code
    return m.result(refused=refused, **rows_left(db))


def deleting_the_owner(db: Database, household: Household) -> Variant:
    name = "erase_owner(): pets and appointments go, vets stay"
    with measure(name) as m, db.session_scope() as session:
        erase_owner(session, household.owner_id)
    return m.result(**rows_left(db))


def run(db: Database) -> list[Variant]:
    household = add_household(db, pets=PETS, appointments_each=APPOINTMENTS_EACH, vets=VETS)
    # The refusal first: it must leave the household whole for the owner's deletion.
    return [deleting_a_busy_vet(db, household), deleting_the_owner(db, household)]


CHAPTER = Chapter(
    name="cascades",
    title="Cascades: strong ownership, and none to an independent entity",
    module="domains/clinic/models.py, services.py erase_owner(), delete_vet()",
    test="tests/clinic/test_owners.py, tests/clinic/test_vets.py",
    lesson="Erasing an owner deletes their pets and appointments in the database, "
    "never a vet; deleting a vet who has appointments is refused and deletes nothing.",
    run=run,
)

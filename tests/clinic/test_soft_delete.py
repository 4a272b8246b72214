"""Owners and pets are deleted softly: out of every read, back on restore.

What the database holds is read in units of work of their own; a soft-deleted
row must be absent from the owner's detail (Core statements), from joins
(a vet's schedule, an appointment), from counts and from lists, and back
after a restore.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from alchemy_patterns.db import Conflict, Database, NotFound, count_queries
from alchemy_patterns.domains.accounts.access import SYSTEM
from alchemy_patterns.domains.clinic.errors import EmailTaken
from alchemy_patterns.domains.clinic.models import Owner, Pet
from alchemy_patterns.domains.clinic.schemas import OwnerIn
from alchemy_patterns.domains.clinic.services import (
    delete_owner,
    get_appointment,
    get_pet,
    list_owners,
    owner_detail,
    register_owner,
    remove_pet,
    restore_owner,
    vet_schedule,
)
from tests.clinic.builders import make_appointment, make_owner, make_pet, make_vet, next_week
from tests.clinic.stored import audit_records, pet_ids


def what_reads_show(db: Database, owner_id: int, vet_id: int, visit_id: int) -> dict[str, object]:
    """Every way a pet can be read: the detail, a join, a count, a list, a relationship load."""
    with db.session_scope(read_only=True) as session:
        detail = owner_detail(session, SYSTEM, owner_id)
        schedule = vet_schedule(session, SYSTEM, vet_id, next_week().date())
        owners = list_owners(session, SYSTEM, page=1, per_page=10)
        selectin = session.scalars(
            select(Owner).where(Owner.id == owner_id).options(selectinload(Owner.pets))
        ).one()
        joined = (
            session.scalars(
                select(Owner).where(Owner.id == owner_id).options(joinedload(Owner.pets))
            )
            .unique()
            .one()
        )
        try:
            get_appointment(session, SYSTEM, visit_id)
            visit_seen = True
        except NotFound:
            visit_seen = False
        return {
            "detail": [pet.id for pet in detail.pets],
            "schedule": [entry.pet_id for entry in schedule],
            "count": session.scalar(select(func.count()).select_from(Pet)),
            "owners": (owners.total, [owner.id for owner in owners.items]),
            "selectin": [pet.id for pet in selectin.pets],
            "joined": [pet.id for pet in joined.pets],
            "visit": visit_seen,
        }


def test_a_removed_pet_is_absent_from_every_read_and_back_when_its_owner_is_restored(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        owner, vet = make_owner(session), make_vet(session)
        pet = make_pet(session, owner)
        visit = make_appointment(session, pet, vet, next_week(9)).id
    before = what_reads_show(app_db, owner.id, vet.id, visit)

    with app_db.session_scope() as session:
        delete_owner(session, owner.id)
    with pytest.raises(NotFound), app_db.session_scope(read_only=True) as session:
        owner_detail(session, SYSTEM, owner.id)
    with app_db.session_scope() as session:
        restore_owner(session, owner.id)

    assert before == {
        "detail": [pet.id],
        "schedule": [pet.id],
        "count": 1,
        "owners": (1, [owner.id]),
        "selectin": [pet.id],
        "joined": [pet.id],
        "visit": True,
    }
    assert what_reads_show(app_db, owner.id, vet.id, visit) == before


def test_a_soft_deleted_pet_is_absent_from_its_owners_detail_joins_counts_and_lists(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        owner, vet = make_owner(session), make_vet(session)
        staying, leaving = make_pet(session, owner), make_pet(session, owner)
        make_appointment(session, staying, vet, next_week(9))
        visit = make_appointment(session, leaving, vet, next_week(10)).id

    with app_db.session_scope() as session:
        remove_pet(session, owner.id, leaving.id)

    assert what_reads_show(app_db, owner.id, vet.id, visit) == {
        "detail": [staying.id],
        "schedule": [staying.id],
        "count": 1,
        "owners": (1, [owner.id]),
        "selectin": [staying.id],
        "joined": [staying.id],
        "visit": False,
    }
    with pytest.raises(NotFound), app_db.session_scope(read_only=True) as session:
        get_pet(session, SYSTEM, leaving.id)


def test_restoring_an_owner_restores_the_pets_deleted_with_them_not_those_removed_before(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        owner = make_owner(session)
        removed_earlier, kept = make_pet(session, owner), make_pet(session, owner)
    with app_db.session_scope() as session:
        remove_pet(session, owner.id, removed_earlier.id)
    with app_db.session_scope() as session:
        delete_owner(session, owner.id)
    assert pet_ids(app_db) == []

    with app_db.session_scope() as session:
        restored = restore_owner(session, owner.id)

    assert restored.id == owner.id
    assert pet_ids(app_db) == [kept.id]


def test_delete_and_restore_are_in_the_audit_trail(app_db: Database) -> None:
    with app_db.session_scope() as session:
        owner = make_owner(session)
        pet_id = make_pet(session, owner).id

    with app_db.session_scope() as session:
        delete_owner(session, owner.id)
    with app_db.session_scope() as session:
        restore_owner(session, owner.id)

    assert [action for action, _ in audit_records(app_db, "owners")] == [
        "insert",
        "soft_delete",
        "restore",
    ]
    assert audit_records(app_db, "pets") == [
        ("insert", str(pet_id)),
        ("soft_delete", str(pet_id)),
        ("restore", str(pet_id)),
    ]


def test_a_new_owner_may_take_a_deleted_owners_email_and_restoring_the_old_one_is_a_conflict(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        old = make_owner(session, email="ada@example.com")
        make_pet(session, old)
    with app_db.session_scope() as session:
        delete_owner(session, old.id)

    with app_db.session_scope() as session:
        new = register_owner(session, OwnerIn(name="Ada II", email="ADA@example.com"))
    with pytest.raises(EmailTaken) as refused, app_db.session_scope() as session:
        restore_owner(session, old.id)

    assert isinstance(refused.value, Conflict)
    assert (refused.value.code, refused.value.field) == ("email_taken", "email")
    assert pet_ids(app_db) == []  # nothing of the old owner came back
    with app_db.session_scope(read_only=True) as session:
        assert session.scalars(select(Owner.id)).all() == [new.id]


def test_two_live_owners_still_cannot_share_an_email(app_db: Database) -> None:
    with app_db.session_scope() as session:
        register_owner(session, OwnerIn(name="Ada", email="ada@example.com"))

    with pytest.raises(Conflict) as refused, app_db.session_scope() as session:
        register_owner(session, OwnerIn(name="Ada again", email="ada@example.com"))

    assert refused.value.field == "email"


def test_restoring_a_live_owner_changes_nothing_and_an_unknown_one_is_not_found(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        owner = make_owner(session)

    with app_db.session_scope() as session, count_queries() as counter:
        restore_owner(session, owner.id)
    with pytest.raises(NotFound), app_db.session_scope() as session:
        restore_owner(session, 424242)

    assert counter.matching("UPDATE") == []
    assert [action for action, _ in audit_records(app_db, "owners")] == ["insert"]


def test_deleting_an_owner_costs_the_same_statements_for_1_pet_and_for_20(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        small, large = make_owner(session), make_owner(session)
        make_pet(session, small)
        for _ in range(20):
            make_pet(session, large)

    counts = []
    for owner in (small, large):
        with app_db.session_scope() as session, count_queries() as counter:
            delete_owner(session, owner.id)
        changes = [s for s in counter.statements if "audit_" not in s.sql]
        counts.append([" ".join(s.sql.split()[:2]).upper() for s in changes])

    # The owner, their pets, then two UPDATEs (the pets' in one statement), each
    # after the INSERT ... SELECT that keeps the versions it replaces in history.
    # The pets' UPDATE names the rows copied (a subquery the session cannot
    # evaluate in Python), so it brings loaded pets up to date from the rows it
    # matched: by RETURNING, or where UPDATE has none (MariaDB) a SELECT first.
    # The audit trail adds a record per row changed: its id is needed for the details.
    fetched = ["SELECT PETS.ID"] if app_db.engine.dialect.name in ("mysql", "mariadb") else []
    assert (
        counts[0]
        == counts[1]
        == [
            "SELECT OWNERS.ID,",
            "SELECT PETS.OWNER_ID,",
            "INSERT INTO",
            "UPDATE OWNERS",
            "INSERT INTO",
            *fetched,
            "UPDATE PETS",
        ]
    )

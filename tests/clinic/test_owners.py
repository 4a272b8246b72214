"""Owners and their pets: registration, pets added and removed, owners deleted with what they own.

Every cascade is proven on what the database holds afterwards, read in a new
unit of work, never on what the session that wrote it believes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from alchemy_patterns.db import Conflict, Database, NotFound, count_queries
from alchemy_patterns.domains.accounts.access import SYSTEM
from alchemy_patterns.domains.clinic.models import Appointment, Owner, Pet, Vet
from alchemy_patterns.domains.clinic.schemas import OwnerIn, PetIn
from alchemy_patterns.domains.clinic.services import (
    add_pet,
    delete_owner,
    erase_owner,
    get_pet,
    list_owners,
    owner_detail,
    register_owner,
    remove_pet,
)
from tests.clinic.builders import make_appointment, make_owner, make_pet, make_vet, next_week
from tests.clinic.stored import (
    appointments,
    audit_records,
    count_rows,
    pet_ids,
    vet_ids,
)

# --- register_owner -----------------------------------------------------------------


def test_register_owner_stores_the_owner_with_a_lower_case_address(app_db: Database) -> None:
    with app_db.session_scope() as session:
        out = register_owner(session, OwnerIn(name="Ada", email="Ada@Example.com", phone="+44 1"))

    with app_db.session_scope(read_only=True) as session:
        owner = session.get(Owner, out.id)
        assert owner is not None
        assert (owner.name, owner.email, owner.phone) == ("Ada", "ada@example.com", "+44 1")
    assert (out.name, out.email) == ("Ada", "ada@example.com")
    assert audit_records(app_db, "owners") == [("insert", str(out.id))]


def test_register_owner_with_a_taken_address_in_another_case_is_a_conflict_on_email(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        first = register_owner(session, OwnerIn(name="Ada", email="ada@example.com"))

    # The caller handles the Conflict and its scope commits: nothing of the second is kept.
    with app_db.session_scope() as session, pytest.raises(Conflict) as failure:
        register_owner(session, OwnerIn(name="Impostor", email="ADA@example.com"))

    assert failure.value.field == "email"
    with app_db.session_scope(read_only=True) as session:
        stored = [tuple(row) for row in session.execute(select(Owner.id, Owner.name))]
    assert stored == [(first.id, "Ada")]
    assert audit_records(app_db, "owners") == [("insert", str(first.id))]


# --- list_owners --------------------------------------------------------------------------


def test_list_owners_gives_pages_in_name_order(app_db: Database) -> None:
    with app_db.session_scope() as session:
        for name in ("Eve", "Ann", "Cid", "Bea", "Dan"):
            make_owner(session, name=name)

    with app_db.session_scope(read_only=True) as session:
        first = list_owners(session, SYSTEM, page=1, per_page=2)
        last = list_owners(session, SYSTEM, page=3, per_page=2)

    assert [o.name for o in first.items] == ["Ann", "Bea"]
    assert (first.total, first.pages) == (5, 3)
    assert [o.name for o in last.items] == ["Eve"]


def test_list_owners_searches_names_ignoring_case_and_taking_wildcards_literally(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        for name in ("Anna Smith", "JOHN SMITHERS", "Jo_Smith", "Mary Jones"):
            make_owner(session, name=name)

    with app_db.session_scope(read_only=True) as session:
        smiths = list_owners(session, SYSTEM, search="smith")
        underscore = list_owners(session, SYSTEM, search="o_s")

    # Sorted here: whether "JOHN" sorts before "Jo_" depends on the backend's collation.
    assert sorted(o.name for o in smiths.items) == ["Anna Smith", "JOHN SMITHERS", "Jo_Smith"]
    assert [o.name for o in underscore.items] == ["Jo_Smith"]


# --- add_pet, get_pet ---------------------------------------------------------------------


def test_add_pet_stores_the_pet_for_its_owner(app_db: Database) -> None:
    with app_db.session_scope() as session:
        owner_id = make_owner(session).id

    with app_db.session_scope() as session:
        out = add_pet(session, owner_id, PetIn(name="Rex", species="dog"))

    with app_db.session_scope(read_only=True) as session:
        found = get_pet(session, SYSTEM, out.id)
    assert (found.owner_id, found.name, found.species, found.born_on) == (
        owner_id,
        "Rex",
        "dog",
        None,
    )
    assert audit_records(app_db, "pets") == [("insert", str(out.id))]


def test_add_pet_for_an_unknown_owner_is_not_found_and_adds_nothing(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        add_pet(session, 424242, PetIn(name="Rex", species="dog"))

    assert (failure.value.entity, failure.value.key) == ("owner", 424242)
    assert count_rows(app_db, Pet) == 0


def test_get_pet_of_an_unknown_id_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope(read_only=True) as session:
        get_pet(session, SYSTEM, 424242)

    assert (failure.value.entity, failure.value.key) == ("pet", 424242)


# --- remove_pet: delete-orphan ---------------------------------------------------------------


def test_removing_a_pet_from_the_owners_collection_deletes_it_and_its_appointments(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        owner, vet = make_owner(session), make_vet(session)
        leaving, staying = make_pet(session, owner), make_pet(session, owner)
        make_appointment(session, leaving, vet, next_week(9))
        kept = make_appointment(session, staying, vet, next_week(10)).id

    # The guide's form, with no session.delete(): delete-orphan alone deletes the row.
    with app_db.session_scope() as session:
        stmt = select(Owner).where(Owner.id == owner.id).options(selectinload(Owner.pets))
        loaded = session.scalars(stmt).one()
        loaded.pets.remove(next(pet for pet in loaded.pets if pet.id == leaving.id))

    assert pet_ids(app_db) == [staying.id]
    assert [row[0] for row in appointments(app_db)] == [kept]
    assert vet_ids(app_db) == [vet.id]


def test_remove_pet_hides_the_pet_and_its_appointments_and_keeps_the_rest(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        owner, vet = make_owner(session), make_vet(session)
        leaving, staying = make_pet(session, owner), make_pet(session, owner)
        make_appointment(session, leaving, vet, next_week(9))
        make_appointment(session, leaving, vet, next_week(11))
        kept = make_appointment(session, staying, vet, next_week(10)).id

    with app_db.session_scope() as session:
        remove_pet(session, owner.id, leaving.id)

    assert pet_ids(app_db) == [staying.id]
    with app_db.session_scope(read_only=True) as session:
        detail = owner_detail(session, SYSTEM, owner.id)
    assert [(p.id, [a.id for a in p.appointments]) for p in detail.pets] == [(staying.id, [kept])]
    assert len(appointments(app_db)) == 3  # soft: kept for the purge, or a restore
    assert vet_ids(app_db) == [vet.id]
    assert count_rows(app_db, Owner) == 1


def test_remove_pet_is_recorded_in_the_audit_trail(app_db: Database) -> None:
    with app_db.session_scope() as session:
        pet_id = make_pet(session, owner := make_owner(session)).id

    with app_db.session_scope() as session:
        remove_pet(session, owner.id, pet_id)

    assert audit_records(app_db, "pets") == [
        ("insert", str(pet_id)),
        ("soft_delete", str(pet_id)),
    ]


def test_remove_pet_of_another_owners_pet_is_not_found_and_deletes_nothing(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        owner, other = make_owner(session), make_owner(session)
        make_pet(session, owner)
        others_pet = make_pet(session, other).id
    before = pet_ids(app_db)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        remove_pet(session, owner.id, others_pet)

    assert (failure.value.entity, failure.value.key) == ("pet", others_pet)
    assert pet_ids(app_db) == before


def test_remove_pet_of_an_unknown_owner_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        remove_pet(session, 424242, 1)

    assert (failure.value.entity, failure.value.key) == ("owner", 424242)


# --- erase_owner: ON DELETE CASCADE, never a vet --------------------------------------------


def test_erasing_an_owner_deletes_their_pets_and_appointments_and_no_vet(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        owner, neighbour = make_owner(session), make_owner(session)
        vets = [make_vet(session), make_vet(session)]
        pets = [make_pet(session, owner), make_pet(session, owner)]
        for minute, (pet, vet) in enumerate((p, v) for p in pets for v in vets):
            make_appointment(session, pet, vet, next_week(9, minute))
        neighbours_pet = make_pet(session, neighbour)
        neighbours_visit = make_appointment(session, neighbours_pet, vets[0], next_week(15)).id

    with app_db.session_scope() as session:
        erase_owner(session, owner.id)

    with app_db.session_scope(read_only=True) as session:
        assert session.scalars(select(Owner.id)).all() == [neighbour.id]
    assert pet_ids(app_db) == [neighbours_pet.id]
    assert [row[0] for row in appointments(app_db)] == [neighbours_visit]
    assert vet_ids(app_db) == [vet.id for vet in vets]


def test_erasing_an_owner_loads_none_of_their_pets(app_db: Database) -> None:
    with app_db.session_scope() as session:
        owner, vet = make_owner(session), make_vet(session)
        for minute in range(3):
            make_appointment(session, make_pet(session, owner), vet, next_week(9, minute))

    with app_db.session_scope() as session, count_queries() as counter:
        erase_owner(session, owner.id)

    # Their pets' history goes by one DELETE naming them in a subquery, the
    # owner's after the flush that kept the version it deleted: nothing is loaded.
    reads = [s.sql for s in counter.statements if s.sql.lstrip().upper().startswith("SELECT")]
    assert [sql for sql in reads if "pets" in sql] == []
    assert [" ".join(s.sql.split()[:3]) for s in counter.matching("DELETE")] == [
        "DELETE FROM pets_history",
        "DELETE FROM owners",
        "DELETE FROM owners_history",
    ]
    assert count_rows(app_db, Pet) == 0
    assert count_rows(app_db, Appointment) == 0
    assert count_rows(app_db, Vet) == 1


def test_erasing_an_owner_is_recorded_in_the_audit_trail(app_db: Database) -> None:
    with app_db.session_scope() as session:
        owner_id = make_owner(session).id

    with app_db.session_scope() as session:
        erase_owner(session, owner_id)

    assert audit_records(app_db, "owners") == [("insert", str(owner_id)), ("delete", str(owner_id))]


def test_erasing_a_soft_deleted_owner_deletes_it_for_good(app_db: Database) -> None:
    with app_db.session_scope() as session:
        owner_id = make_pet(session, make_owner(session)).owner_id
    with app_db.session_scope() as session:
        delete_owner(session, owner_id)

    with app_db.session_scope() as session:
        erase_owner(session, owner_id)

    with app_db.session_scope(read_only=True) as session:
        every_owner = (
            select(func.count()).select_from(Owner).execution_options(include_deleted=True)
        )
        assert session.scalar(every_owner) == 0


def test_deleting_an_unknown_owner_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        delete_owner(session, 424242)

    assert (failure.value.entity, failure.value.key) == ("owner", 424242)

"""transfer_pet: the guide's transactional transfer, with clear errors and no lost race."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from alchemy_patterns.db import Conflict, Database, NotFound, ValidationFailed
from alchemy_patterns.domains.audit.models import AuditRecord
from alchemy_patterns.domains.clinic.errors import NotTheOwner
from alchemy_patterns.domains.clinic.models import Pet
from alchemy_patterns.domains.clinic.schemas import PetOut
from alchemy_patterns.domains.clinic.services import transfer_pet
from tests.clinic.builders import make_appointment, make_owner, make_pet, make_vet, next_week
from tests.clinic.stored import appointments, owner_of
from tests.threads import race

RIVALS = 8


def household(db: Database) -> tuple[int, int, int]:
    """(pet, its owner, another owner), committed."""
    with db.session_scope() as session:
        owner, other = make_owner(session), make_owner(session)
        return make_pet(session, owner).id, owner.id, other.id


def test_transfer_pet_gives_the_pet_to_the_new_owner(app_db: Database) -> None:
    pet_id, old, new = household(app_db)

    with app_db.session_scope() as session:
        out = transfer_pet(session, pet_id, old, new)

    assert (out.id, out.owner_id) == (pet_id, new)
    assert owner_of(app_db, pet_id) == new


def test_transfer_pet_keeps_the_appointments_with_the_pet(app_db: Database) -> None:
    pet_id, old, new = household(app_db)
    with app_db.session_scope() as session:
        vet, pet = make_vet(session), session.get_one(Pet, pet_id)
        booked = [make_appointment(session, pet, vet, next_week(hour)).id for hour in (9, 10)]
    before = appointments(app_db)

    with app_db.session_scope() as session:
        transfer_pet(session, pet_id, old, new)

    assert appointments(app_db) == before
    assert [row[:2] for row in before] == [(booked[0], pet_id), (booked[1], pet_id)]


def test_transfer_pet_is_recorded_as_an_owner_change(app_db: Database) -> None:
    pet_id, old, new = household(app_db)

    with app_db.session_scope() as session:
        transfer_pet(session, pet_id, old, new)

    with app_db.session_scope(read_only=True) as session:
        stmt = (
            select(AuditRecord)
            .where(AuditRecord.entity == "pets", AuditRecord.action == "update")
            .options(selectinload(AuditRecord.details))
        )
        [record] = session.scalars(stmt).all()
        changes = [(d.field, d.old_value, d.new_value) for d in record.details]
    assert record.entity_id == str(pet_id)
    assert changes == [("owner_id", str(old), str(new))]


def test_transfer_pet_from_someone_who_is_not_the_owner_is_refused_and_changes_nothing(
    app_db: Database,
) -> None:
    pet_id, owner, other = household(app_db)
    with app_db.session_scope() as session:
        third = make_owner(session).id

    # The caller handles the error and its scope commits: still nothing changes.
    with app_db.session_scope() as session, pytest.raises(NotTheOwner) as failure:
        transfer_pet(session, pet_id, other, third)

    assert isinstance(failure.value, Conflict)
    assert failure.value.code == "not_the_owner"
    assert owner_of(app_db, pet_id) == owner


def test_transfer_of_an_unknown_pet_is_not_found(app_db: Database) -> None:
    _, old, new = household(app_db)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        transfer_pet(session, 424242, old, new)

    assert (failure.value.entity, failure.value.key) == ("pet", 424242)


def test_transfer_to_an_unknown_owner_is_not_found_and_changes_nothing(app_db: Database) -> None:
    pet_id, old, _ = household(app_db)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        transfer_pet(session, pet_id, old, 424242)

    assert (failure.value.entity, failure.value.key) == ("owner", 424242)
    assert owner_of(app_db, pet_id) == old


def test_transfer_from_an_unknown_owner_is_not_found_and_changes_nothing(
    app_db: Database,
) -> None:
    pet_id, old, new = household(app_db)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        transfer_pet(session, pet_id, 424242, new)

    assert (failure.value.entity, failure.value.key) == ("owner", 424242)
    assert owner_of(app_db, pet_id) == old


def test_transfer_to_the_current_owner_is_refused(app_db: Database) -> None:
    pet_id, old, _ = household(app_db)

    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        transfer_pet(session, pet_id, old, old)

    assert failure.value.field == "new_owner_id"


def test_rival_transfers_of_one_pet_from_its_owner_make_one_transfer(app_db: Database) -> None:
    pet_id, old, _ = household(app_db)
    with app_db.session_scope() as session:
        buyers = [make_owner(session).id for _ in range(RIVALS)]

    def transfer(i: int) -> object:
        return app_db.transaction(lambda session: transfer_pet(session, pet_id, old, buyers[i]))

    outcomes = race(RIVALS, transfer)

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"PetRecord": 1, "NotTheOwner": RIVALS - 1}
    [winner] = [outcome.owner_id for outcome in outcomes if isinstance(outcome, PetOut)]
    assert owner_of(app_db, pet_id) == winner

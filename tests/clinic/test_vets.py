"""Vets: independent of the pets they see, and kept while any appointment names them."""

from __future__ import annotations

import pytest

from alchemy_patterns.db import Conflict, Database, NotFound
from alchemy_patterns.domains.clinic.errors import VetHasAppointments
from alchemy_patterns.domains.clinic.models import AppointmentStatus
from alchemy_patterns.domains.clinic.schemas import VetIn
from alchemy_patterns.domains.clinic.services import add_vet, delete_vet, get_vet, list_vets
from tests.clinic.builders import make_appointment, make_owner, make_pet, make_vet, next_week
from tests.clinic.stored import appointments, vet_ids


def test_add_vet_stores_the_vet(app_db: Database) -> None:
    with app_db.session_scope() as session:
        out = add_vet(session, VetIn(name="Dr Herriot", specialty="large animals"))

    with app_db.session_scope(read_only=True) as session:
        [stored] = list_vets(session).items
    assert stored.model_dump() == out.model_dump(exclude={"version"})
    assert out.version == 1
    assert (stored.name, stored.specialty) == ("Dr Herriot", "large animals")


def test_list_vets_gives_pages_in_name_order(app_db: Database) -> None:
    with app_db.session_scope() as session:
        for name in ("Dr C", "Dr A", "Dr B"):
            make_vet(session, name=name)

    with app_db.session_scope(read_only=True) as session:
        first = list_vets(session, page=1, per_page=2)
        second = list_vets(session, page=2, per_page=2)

    assert [v.name for v in first.items] == ["Dr A", "Dr B"]
    assert [v.name for v in second.items] == ["Dr C"]
    assert (first.total, first.has_next, second.has_next) == (3, True, False)


def test_deleting_a_vet_without_appointments_deletes_the_vet(app_db: Database) -> None:
    with app_db.session_scope() as session:
        leaving, staying = make_vet(session), make_vet(session)

    with app_db.session_scope() as session:
        delete_vet(session, leaving.id)

    assert vet_ids(app_db) == [staying.id]


@pytest.mark.parametrize("status", list(AppointmentStatus))
def test_deleting_a_vet_with_an_appointment_is_refused_and_deletes_nothing(
    app_db: Database, status: AppointmentStatus
) -> None:
    with app_db.session_scope() as session:
        vet = make_vet(session)
        make_appointment(session, make_pet(session, make_owner(session)), vet, status=status)
    before = appointments(app_db)

    with app_db.session_scope() as session, pytest.raises(VetHasAppointments) as failure:
        delete_vet(session, vet.id)

    assert isinstance(failure.value, Conflict)
    assert (failure.value.code, failure.value.field) == ("vet_has_appointments", "vet_id")
    assert vet_ids(app_db) == [vet.id]
    assert appointments(app_db) == before
    assert [row[3] for row in before] == [status.value]


def test_a_refused_vet_deletion_leaves_the_callers_transaction_usable(app_db: Database) -> None:
    with app_db.session_scope() as session:
        busy = make_vet(session)
        make_appointment(session, make_pet(session, make_owner(session)), busy, next_week())

    with app_db.session_scope() as session:
        with pytest.raises(VetHasAppointments):
            delete_vet(session, busy.id)
        added = add_vet(session, VetIn(name="Dr Next"))

    assert vet_ids(app_db) == [busy.id, added.id]


def test_deleting_an_unknown_vet_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        delete_vet(session, 424242)

    assert (failure.value.entity, failure.value.key) == ("vet", 424242)


def test_get_vet_reads_one_vet(app_db: Database) -> None:
    with app_db.session_scope() as session:
        vet = make_vet(session, name="Dr Herriot")

    with app_db.session_scope(read_only=True) as session:
        out = get_vet(session, vet.id)

    assert (out.id, out.name, out.specialty) == (vet.id, "Dr Herriot", None)


def test_get_vet_of_an_unknown_id_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        get_vet(session, 424242)

    assert (failure.value.entity, failure.value.key) == ("vet", 424242)

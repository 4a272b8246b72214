"""Appointments: one booking per vet and time, a cancelled slot freed, status moves only once."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alchemy_patterns.db import Conflict, Database, NotFound, ValidationFailed
from alchemy_patterns.domains.accounts.access import SYSTEM
from alchemy_patterns.domains.clinic.errors import InvalidTransition, SlotTaken
from alchemy_patterns.domains.clinic.models import Appointment, AppointmentStatus
from alchemy_patterns.domains.clinic.schemas import AppointmentIn, AppointmentOut
from alchemy_patterns.domains.clinic.services import (
    book_appointment,
    cancel_appointment,
    complete_appointment,
    get_appointment,
)
from tests.clinic.builders import make_appointment, make_owner, make_pet, make_vet, next_week
from tests.clinic.stored import appointments
from tests.threads import race

RIVALS = 8
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))

Transition = Callable[[Session, int], AppointmentOut]


def pet_and_vets(db: Database, vets: int = 1) -> tuple[int, list[int]]:
    with db.session_scope() as session:
        pet = make_pet(session, make_owner(session))
        return pet.id, [make_vet(session).id for _ in range(vets)]


def book(db: Database, pet_id: int, vet_id: int, at: dt.datetime) -> AppointmentOut:
    with db.session_scope() as session:
        return book_appointment(
            session, AppointmentIn(pet_id=pet_id, vet_id=vet_id, scheduled_at=at, reason="check-up")
        )


def stored_time(db: Database, appointment_id: int) -> dt.datetime | None:
    with db.session_scope(read_only=True) as session:
        stmt = select(Appointment.scheduled_at).where(Appointment.id == appointment_id)
        return session.scalar(stmt)


# --- booking ----------------------------------------------------------------------


def test_book_appointment_stores_a_scheduled_appointment_in_utc(app_db: Database) -> None:
    pet_id, [vet_id] = pet_and_vets(app_db)
    local = next_week(12, 30).replace(tzinfo=PLUS_TWO)

    out = book(app_db, pet_id, vet_id, local)

    assert stored_time(app_db, out.id) == next_week(10, 30)
    assert appointments(app_db) == [(out.id, pet_id, vet_id, "scheduled", True)]
    assert (out.scheduled_at, out.status, out.reason) == (
        next_week(10, 30),
        AppointmentStatus.SCHEDULED,
        "check-up",
    )


def test_booking_an_unknown_pet_is_not_found(app_db: Database) -> None:
    _, [vet_id] = pet_and_vets(app_db)

    with pytest.raises(NotFound) as failure:
        book(app_db, 424242, vet_id, next_week())

    assert (failure.value.entity, failure.value.key) == ("pet", 424242)
    assert appointments(app_db) == []


def test_booking_an_unknown_vet_is_not_found(app_db: Database) -> None:
    pet_id, _ = pet_and_vets(app_db)

    with pytest.raises(NotFound) as failure:
        book(app_db, pet_id, 424242, next_week())

    assert (failure.value.entity, failure.value.key) == ("vet", 424242)
    assert appointments(app_db) == []


def test_booking_a_time_in_the_past_is_refused_naming_the_field(app_db: Database) -> None:
    pet_id, [vet_id] = pet_and_vets(app_db)
    yesterday = next_week() - dt.timedelta(days=8)

    with pytest.raises(ValidationFailed) as failure:
        book(app_db, pet_id, vet_id, yesterday)

    assert failure.value.field == "scheduled_at"
    assert appointments(app_db) == []


# --- one booking per vet and time -------------------------------------------------------


def test_booking_a_vet_already_booked_at_that_time_is_a_conflict(app_db: Database) -> None:
    pet_id, [vet_id] = pet_and_vets(app_db)
    first = book(app_db, pet_id, vet_id, next_week(9))

    # The caller handles the Conflict and its scope commits: the first booking stays alone.
    with app_db.session_scope() as session, pytest.raises(SlotTaken) as failure:
        data = AppointmentIn(pet_id=pet_id, vet_id=vet_id, scheduled_at=next_week(9))
        book_appointment(session, data)

    assert isinstance(failure.value, Conflict)
    assert (failure.value.code, failure.value.field) == ("slot_taken", "scheduled_at")
    assert [row[0] for row in appointments(app_db)] == [first.id]


def test_the_same_instant_written_in_another_zone_is_the_same_slot(app_db: Database) -> None:
    pet_id, [vet_id] = pet_and_vets(app_db)
    book(app_db, pet_id, vet_id, next_week(9))

    with pytest.raises(SlotTaken):
        book(app_db, pet_id, vet_id, next_week(11).replace(tzinfo=PLUS_TWO))

    assert len(appointments(app_db)) == 1


def test_another_vet_can_be_booked_at_the_same_time(app_db: Database) -> None:
    pet_id, [first_vet, second_vet] = pet_and_vets(app_db, vets=2)
    book(app_db, pet_id, first_vet, next_week(9))

    second = book(app_db, pet_id, second_vet, next_week(9))

    assert [row[2] for row in appointments(app_db)] == [first_vet, second_vet]
    assert second.vet_id == second_vet


def test_a_cancelled_slot_can_be_booked_again(app_db: Database) -> None:
    pet_id, [vet_id] = pet_and_vets(app_db)
    first = book(app_db, pet_id, vet_id, next_week(9))
    with app_db.session_scope() as session:
        cancel_appointment(session, first.id)

    again = book(app_db, pet_id, vet_id, next_week(9))

    assert appointments(app_db) == [
        (first.id, pet_id, vet_id, "cancelled", None),
        (again.id, pet_id, vet_id, "scheduled", True),
    ]


def test_rivals_booking_one_vet_at_one_time_make_one_appointment(app_db: Database) -> None:
    with app_db.session_scope() as session:
        owner, vet_id = make_owner(session), make_vet(session).id
        pets = [make_pet(session, owner).id for _ in range(RIVALS)]

    def book_slot(i: int) -> object:
        data = AppointmentIn(pet_id=pets[i], vet_id=vet_id, scheduled_at=next_week(9))
        return app_db.transaction(lambda session: book_appointment(session, data))

    outcomes = race(RIVALS, book_slot)

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"AppointmentRecord": 1, "SlotTaken": RIVALS - 1}
    [winner] = [o for o in outcomes if isinstance(o, AppointmentOut)]
    assert appointments(app_db) == [(winner.id, winner.pet_id, vet_id, "scheduled", True)]


# --- status transitions ---------------------------------------------------------------------


def scheduled_appointment(db: Database) -> int:
    with db.session_scope() as session:
        pet, vet = make_pet(session, make_owner(session)), make_vet(session)
        return make_appointment(session, pet, vet, next_week(9)).id


def status_of(db: Database, appointment_id: int) -> tuple[str, bool | None]:
    [row] = [row for row in appointments(db) if row[0] == appointment_id]
    return row[3], row[4]


def test_cancelling_frees_the_slot(app_db: Database) -> None:
    appointment_id = scheduled_appointment(app_db)

    with app_db.session_scope() as session:
        out = cancel_appointment(session, appointment_id)

    assert out.status is AppointmentStatus.CANCELLED
    assert status_of(app_db, appointment_id) == ("cancelled", None)


def test_completing_keeps_the_slot(app_db: Database) -> None:
    appointment_id = scheduled_appointment(app_db)

    with app_db.session_scope() as session:
        out = complete_appointment(session, appointment_id)

    assert out.status is AppointmentStatus.COMPLETED
    assert status_of(app_db, appointment_id) == ("completed", True)


@pytest.mark.parametrize(
    ("first", "then", "left"),
    [
        (cancel_appointment, complete_appointment, "cancelled"),
        (cancel_appointment, cancel_appointment, "cancelled"),
        (complete_appointment, cancel_appointment, "completed"),
        (complete_appointment, complete_appointment, "completed"),
    ],
)
def test_only_a_scheduled_appointment_changes_status(
    app_db: Database, first: Transition, then: Transition, left: str
) -> None:
    appointment_id = scheduled_appointment(app_db)
    with app_db.session_scope() as session:
        first(session, appointment_id)
    before = status_of(app_db, appointment_id)

    with app_db.session_scope() as session, pytest.raises(InvalidTransition) as failure:
        then(session, appointment_id)

    assert isinstance(failure.value, Conflict)
    assert (failure.value.code, failure.value.current.value) == ("invalid_transition", left)
    assert status_of(app_db, appointment_id) == before


@pytest.mark.parametrize("transition", [cancel_appointment, complete_appointment])
def test_a_transition_of_an_unknown_appointment_is_not_found(
    app_db: Database, transition: Transition
) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        transition(session, 424242)

    assert (failure.value.entity, failure.value.key) == ("appointment", 424242)


def test_rival_cancels_and_completes_of_one_appointment_make_one_transition(
    app_db: Database,
) -> None:
    appointment_id = scheduled_appointment(app_db)
    transitions: list[Transition] = [cancel_appointment, complete_appointment]

    def transition(i: int) -> object:
        change = transitions[i % 2]
        return app_db.transaction(lambda session: change(session, appointment_id))

    outcomes = race(RIVALS, transition)

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"AppointmentRecord": 1, "InvalidTransition": RIVALS - 1}
    [winner] = [o for o in outcomes if isinstance(o, AppointmentOut)]
    assert {o.current for o in outcomes if isinstance(o, InvalidTransition)} == {winner.status}
    assert status_of(app_db, appointment_id)[0] == winner.status.value


def test_get_appointment_reads_one_appointment(app_db: Database) -> None:
    pet_id, [vet_id] = pet_and_vets(app_db)
    booked = book(app_db, pet_id, vet_id, next_week())

    with app_db.session_scope(read_only=True) as session:
        out = get_appointment(session, SYSTEM, booked.id)

    assert out == booked


def test_get_appointment_of_an_unknown_id_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        get_appointment(session, SYSTEM, 424242)

    assert (failure.value.entity, failure.value.key) == ("appointment", 424242)

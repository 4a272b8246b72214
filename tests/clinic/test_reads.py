"""Reads: an owner with everything under them, and a vet's day, in a fixed number of statements.

Also the guide's N+1, measured: the same read with lazy loading costs a
statement per pet and per distinct vet.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session, joinedload, lazyload, selectinload
from sqlalchemy.sql.base import ExecutableOption

from alchemy_patterns.db import Database, NotFound, NPlusOneError, count_queries
from alchemy_patterns.domains.accounts.access import SYSTEM
from alchemy_patterns.domains.clinic.models import Appointment, AppointmentStatus, Owner, Pet, Vet
from alchemy_patterns.domains.clinic.schemas import OwnerDetail
from alchemy_patterns.domains.clinic.services import owner_detail, vet_schedule
from tests.clinic.builders import make_appointment, make_household, make_owner, make_pet, make_vet
from tests.direct import directly_run

DAY = dt.date(2031, 5, 14)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def household(db: Database, *, pets: int, vets: int = 3, appointments_each: int = 3) -> int:
    with db.session_scope() as session:
        clinic = [make_vet(session) for _ in range(vets)]
        return make_household(session, clinic, pets=pets, appointments_each=appointments_each).id


def everything(owner: Owner) -> list[tuple[str, str, str]]:
    """Touch every pet, appointment and vet: (pet, time, vet) for each appointment."""
    return [
        (pet.name, appointment.scheduled_at.isoformat(), appointment.vet.name)
        for pet in owner.pets
        for appointment in pet.appointments
    ]


def read_owner(session: Session, owner_id: int, *options: ExecutableOption) -> Owner:
    stmt = select(Owner).where(Owner.id == owner_id).options(*options)
    # unique(): a joined eager load of a collection repeats the owner on every row.
    return session.scalars(stmt).unique().one()


# --- owner_detail ---------------------------------------------------------------------


def test_owner_detail_gives_the_pets_their_appointments_and_each_vet(app_db: Database) -> None:
    with app_db.session_scope() as session:
        owner = make_owner(session, name="Ada")
        herriot, dolittle = make_vet(session, name="Dr Herriot"), make_vet(session, name="Dr D")
        rex, tom = make_pet(session, owner, name="Rex"), make_pet(session, owner, name="Tom")
        make_appointment(session, rex, dolittle, at(DAY, 11))
        make_appointment(session, rex, herriot, at(DAY, 9))
        make_pet(session, make_owner(session), name="Someone else's")

    with app_db.session_scope(read_only=True) as session:
        detail = owner_detail(session, SYSTEM, owner.id)

    assert (detail.id, detail.name) == (owner.id, "Ada")
    assert [(p.id, p.name) for p in detail.pets] == [(rex.id, "Rex"), (tom.id, "Tom")]
    assert [(a.scheduled_at, a.vet.name) for a in detail.pets[0].appointments] == [
        (at(DAY, 9), "Dr Herriot"),
        (at(DAY, 11), "Dr D"),
    ]
    assert detail.pets[1].appointments == []


@pytest.mark.parametrize("pets", [1, 50])
def test_owner_detail_runs_three_statements_however_many_pets(app_db: Database, pets: int) -> None:
    owner_id = household(app_db, pets=pets)

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        detail = owner_detail(session, SYSTEM, owner_id)

    assert counter.count == 3, counter.report()
    assert sum(len(pet.appointments) for pet in detail.pets) == pets * 3


def test_on_psycopg_owner_detail_runs_its_statements_directly_in_a_read_only_unit(
    app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner_id = household(app_db, pets=2)
    seen = directly_run(monkeypatch)

    with app_db.session_scope(read_only=True) as session:
        detail = owner_detail(session, SYSTEM, owner_id)

    assert len(detail.pets) == 2
    assert [ran for _, ran in seen] == [app_db.engine.driver == "psycopg"] * 3


def test_owner_detail_of_an_unknown_owner_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope(read_only=True) as session:
        owner_detail(session, SYSTEM, 424242)

    assert (failure.value.entity, failure.value.key) == ("owner", 424242)


# --- the guide's N+1, measured -----------------------------------------------------------

LAZY = (lazyload(Owner.pets).lazyload(Pet.appointments).lazyload(Appointment.vet),)
SELECTIN = (selectinload(Owner.pets).selectinload(Pet.appointments).joinedload(Appointment.vet),)
JOINED = (joinedload(Owner.pets).joinedload(Pet.appointments).joinedload(Appointment.vet),)


@pytest.mark.parametrize(("pets", "vets"), [(1, 1), (50, 3), (50, 7)])
def test_the_lazy_read_costs_a_statement_per_pet_and_per_distinct_vet(
    app_db: Database, pets: int, vets: int
) -> None:
    owner_id = household(app_db, pets=pets, vets=vets)

    # A plain session: no N+1 detector to stop the read half way.
    with app_db.sessionmaker() as session, count_queries() as counter:
        seen = everything(read_owner(session, owner_id, *LAZY))

    # The owner, their pets, each pet's appointments, and each vet once: a vet
    # already in the identity map is not fetched again.
    assert counter.count == 1 + 1 + pets + vets
    assert len(seen) == pets * 3


def test_the_n_plus_one_detector_refuses_the_lazy_read(app_db: Database) -> None:
    owner_id = household(app_db, pets=50)

    with pytest.raises(NPlusOneError), app_db.session_scope(read_only=True) as session:
        everything(read_owner(session, owner_id, *LAZY))


@pytest.mark.parametrize(("options", "statements"), [(SELECTIN, 3), (JOINED, 1)])
def test_eager_reads_of_50_pets_cost_three_statements_or_one(
    app_db: Database, options: tuple[ExecutableOption, ...], statements: int
) -> None:
    owner_id = household(app_db, pets=50)
    with app_db.sessionmaker() as session:
        expected = everything(read_owner(session, owner_id, *LAZY))

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        seen = everything(read_owner(session, owner_id, *options))

    # joinedload: one statement, but 150 wide rows, each repeating its owner and pet.
    assert counter.count == statements
    assert seen == expected


def test_owner_detail_is_the_lazy_reads_result(app_db: Database) -> None:
    owner_id = household(app_db, pets=5)
    with app_db.sessionmaker() as session:
        lazy = OwnerDetail.model_validate(read_owner(session, owner_id, *LAZY))

    with app_db.session_scope(read_only=True) as session:
        assert owner_detail(session, SYSTEM, owner_id) == lazy


# --- vet_schedule --------------------------------------------------------------------------


def vets_day(db: Database, appointments: int) -> int:
    """A vet with ``appointments`` appointments on DAY, 15 minutes apart from 08:00."""
    with db.session_scope() as session:
        vet, owner = make_vet(session), make_owner(session)
        pets = [Pet(owner_id=owner.id, name=f"Pet {i}", species="cat") for i in range(3)]
        session.add_all(pets)
        session.flush()
        session.add_all(
            Appointment(
                pet_id=pets[i % 3].id,
                vet_id=vet.id,
                scheduled_at=at(DAY, 8) + dt.timedelta(minutes=15 * i),
                books_slot=True,
            )
            for i in range(appointments)
        )
        return vet.id


@pytest.mark.parametrize("appointments", [1, 30])
def test_vet_schedule_runs_two_statements_however_many_appointments(
    app_db: Database, appointments: int
) -> None:
    vet_id = vets_day(app_db, appointments)

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        schedule = vet_schedule(session, SYSTEM, vet_id, DAY)

    assert counter.count == 2, counter.report()
    assert len(schedule) == appointments


def test_vet_schedule_lists_the_day_in_time_order_with_pet_and_owner(app_db: Database) -> None:
    with app_db.session_scope() as session:
        vet, other_vet = make_vet(session), make_vet(session)
        ada, bob = make_owner(session, name="Ada"), make_owner(session, name="Bob")
        rex, tom = make_pet(session, ada, name="Rex"), make_pet(session, bob, name="Tom")
        make_appointment(session, tom, vet, at(DAY, 14), reason="vaccine")
        make_appointment(session, rex, vet, at(DAY, 9), reason="check-up")
        make_appointment(session, rex, other_vet, at(DAY, 10))

    with app_db.session_scope(read_only=True) as session:
        schedule = vet_schedule(session, SYSTEM, vet.id, DAY)

    assert [
        (e.scheduled_at, e.pet_id, e.pet_name, e.owner_id, e.owner_name, e.reason) for e in schedule
    ] == [
        (at(DAY, 9), rex.id, "Rex", ada.id, "Ada", "check-up"),
        (at(DAY, 14), tom.id, "Tom", bob.id, "Bob", "vaccine"),
    ]


def test_vet_schedule_keeps_to_the_utc_day(app_db: Database) -> None:
    day_before, day_after = DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)
    with app_db.session_scope() as session:
        vet = make_vet(session)
        pet = make_pet(session, make_owner(session))
        for when in (at(day_before, 23, 59), at(DAY, 0), at(DAY, 23, 59), at(day_after, 0)):
            make_appointment(session, pet, vet, when)

    with app_db.session_scope(read_only=True) as session:
        schedule = vet_schedule(session, SYSTEM, vet.id, DAY)

    assert [entry.scheduled_at for entry in schedule] == [at(DAY, 0), at(DAY, 23, 59)]


def test_vet_schedule_leaves_out_cancelled_appointments_unless_asked(app_db: Database) -> None:
    with app_db.session_scope() as session:
        vet = make_vet(session)
        pet = make_pet(session, make_owner(session))
        make_appointment(session, pet, vet, at(DAY, 9), status=AppointmentStatus.CANCELLED)
        make_appointment(session, pet, vet, at(DAY, 9))
        make_appointment(session, pet, vet, at(DAY, 10), status=AppointmentStatus.COMPLETED)

    with app_db.session_scope(read_only=True) as session:
        active = vet_schedule(session, SYSTEM, vet.id, DAY)
        everything_booked = vet_schedule(session, SYSTEM, vet.id, DAY, include_cancelled=True)

    assert [(e.scheduled_at.hour, e.status.value) for e in active] == [
        (9, "scheduled"),
        (10, "completed"),
    ]
    assert sorted((e.scheduled_at.hour, e.status.value) for e in everything_booked) == [
        (9, "cancelled"),
        (9, "scheduled"),
        (10, "completed"),
    ]


def test_vet_schedule_of_an_unknown_vet_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope(read_only=True) as session:
        vet_schedule(session, SYSTEM, 424242, DAY)

    assert (failure.value.entity, failure.value.key) == ("vet", 424242)


def test_reading_a_vets_appointments_that_were_not_loaded_raises(app_db: Database) -> None:
    with app_db.session_scope() as session:
        vet_id = make_vet(session).id

    with app_db.session_scope(read_only=True) as session:
        vet = session.get_one(Vet, vet_id)
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            _ = vet.appointments

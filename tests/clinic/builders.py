"""Builders for the clinic's tests: rows written directly, flushed, no service involved.

Appointment times default to whole minutes a week from now, so a row built
here is also one the services would have accepted.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import null
from sqlalchemy.orm import Session

from alchemy_patterns.domains.clinic.models import Appointment, AppointmentStatus, Owner, Pet, Vet

_numbers = itertools.count(1)


def next_week(hour: int = 10, minute: int = 0) -> dt.datetime:
    """A whole-minute UTC time seven days from now: in the future whenever the test runs."""
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def make_owner(session: Session, **overrides: Any) -> Owner:
    number = next(_numbers)
    values: dict[str, Any] = {"name": f"Owner {number}", "email": f"owner{number}@example.com"}
    owner = Owner(**(values | overrides))
    session.add(owner)
    session.flush()
    return owner


def make_pet(session: Session, owner: Owner, **overrides: Any) -> Pet:
    number = next(_numbers)
    pet = Pet(**({"owner_id": owner.id, "name": f"Pet {number}", "species": "cat"} | overrides))
    session.add(pet)
    session.flush()
    return pet


def make_vet(session: Session, **overrides: Any) -> Vet:
    number = next(_numbers)
    vet = Vet(**({"name": f"Dr Vet {number}"} | overrides))
    session.add(vet)
    session.flush()
    return vet


def make_appointment(
    session: Session,
    pet: Pet,
    vet: Vet,
    scheduled_at: dt.datetime | None = None,
    *,
    status: AppointmentStatus = AppointmentStatus.SCHEDULED,
    **overrides: Any,
) -> Appointment:
    appointment = Appointment(
        pet_id=pet.id,
        vet_id=vet.id,
        scheduled_at=scheduled_at or next_week(),
        status=status,
        # null(), not None: the ORM leaves a None out of the INSERT and the default (true) applies.
        books_slot=null() if status is AppointmentStatus.CANCELLED else True,
        **overrides,
    )
    session.add(appointment)
    session.flush()
    return appointment


def make_household(
    session: Session, vets: Sequence[Vet], *, pets: int, appointments_each: int
) -> Owner:
    """An owner with ``pets`` pets of ``appointments_each`` appointments each: one flush.

    Appointment ``i`` of the household goes to ``vets[i % len(vets)]`` at
    next week's 08:00 plus ``i`` minutes, so no two hold the same slot.
    """
    owner = make_owner(session)
    start = next_week(hour=8)
    numbered = itertools.count()
    household = [
        Pet(
            owner_id=owner.id,
            name=f"Pet {p}",
            species="dog",
            appointments=[
                Appointment(
                    vet_id=vets[i % len(vets)].id,
                    scheduled_at=start + dt.timedelta(minutes=i),
                    books_slot=True,
                )
                for i in itertools.islice(numbered, appointments_each)
            ],
        )
        for p in range(pets)
    ]
    session.add_all(household)
    session.flush()
    return owner

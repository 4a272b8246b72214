"""Rows the chapters start from, written directly and never measured."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from alchemy_patterns.db import Database, bulk_insert
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.clinic.models import Appointment, Owner, Pet, Vet

#: Not a hash any password matches: the tour's users never log in.
NO_PASSWORD = "!tour"
#: Far enough ahead that every appointment is in the future, whenever the tour runs.
FIRST_SLOT = dt.datetime(2040, 1, 2, 9, tzinfo=dt.UTC)


def new_user(name: str, email: str | None = None) -> User:
    """A user object, not yet added (no password hashing: it is not what the tour shows)."""
    return User(username=name, email=email or f"{name}@example.com", password_hash=NO_PASSWORD)


def add_users(db: Database, *names: str) -> list[int]:
    with db.session_scope() as session:
        users = [new_user(name) for name in names]
        session.add_all(users)
        session.flush()
        return [user.id for user in users]


@dataclass(frozen=True)
class Household:
    owner_id: int
    pet_ids: list[int]
    vet_ids: list[int]


def add_household(db: Database, *, pets: int, appointments_each: int, vets: int) -> Household:
    """An owner with ``pets`` pets, each seen ``appointments_each`` times, by the vets in turn."""
    with db.session_scope() as session:
        clinic = [Vet(name=f"Dr {i}") for i in range(vets)]
        owner = Owner(name="Ada", email="ada@example.com")
        owner.pets = [Pet(name=f"Pet {i}", species="cat") for i in range(pets)]
        session.add_all([owner, *clinic])
        session.flush()
        visits = range(pets * appointments_each)
        rows = [
            {
                "pet_id": owner.pets[visit // appointments_each].id,
                "vet_id": clinic[visit % vets].id,
                "scheduled_at": FIRST_SLOT + dt.timedelta(minutes=30 * visit),
            }
            for visit in visits
        ]
        bulk_insert(session, Appointment, rows)
        return Household(owner.id, [pet.id for pet in owner.pets], [vet.id for vet in clinic])

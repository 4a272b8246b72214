"""The clinic: owners and their pets, vets, and appointments around today.

A vet is never booked twice for one time: each vet's appointments take
distinct half-hour slots. Past appointments are mostly completed, future ones
scheduled, and some of each cancelled; a cancelled one holds no slot
(``books_slot`` NULL), as the schema requires.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence

from alchemy_patterns.cli.seeding.accounts import demo_account_to_link
from alchemy_patterns.cli.seeding.context import Seeding, slug
from alchemy_patterns.cli.seeding.loading import Family, Row, table_of
from alchemy_patterns.cli.seeding.plan import PETS_PER_OWNER
from alchemy_patterns.domains.clinic.models import Appointment, AppointmentStatus, Owner, Pet, Vet

SPECIES = {"dog": 45, "cat": 35, "rabbit": 7, "bird": 5, "hamster": 4, "guinea pig": 3, "ferret": 1}
PET_NAMES = (
    "Bella", "Max", "Luna", "Charlie", "Lucy", "Cooper", "Daisy", "Milo", "Coco", "Rocky",
    "Zoe", "Bear", "Lola", "Tucker", "Sadie", "Oliver", "Nala", "Simba", "Pepper", "Ginger",
)  # fmt: skip
SPECIALTIES = (
    None, "surgery", "dentistry", "dermatology", "cardiology", "exotic animals", "oncology",
)  # fmt: skip
REASONS = (
    "annual check-up", "vaccination", "limping", "skin rash", "dental cleaning",
    "not eating", "follow-up", "ear infection", "weight check", "stitches removal",
)  # fmt: skip
#: Appointments fall in [today - PAST_DAYS, today + FUTURE_DAYS), on the half hour, 8:00-16:00.
PAST_DAYS, FUTURE_DAYS = 60, 30
SLOTS_PER_DAY = 16
FIRST_SLOT = dt.timedelta(hours=8)
SLOT_LENGTH = dt.timedelta(minutes=30)
CANCELLED_SHARE = 0.15


def seed_clinic(seeding: Seeding) -> None:
    """Vets, owners with their pets, then appointments between them."""
    rng = seeding.rng("clinic")
    vet_ids = seeding.loader.insert_families(Vet, _vets(seeding, rng), key="vet_id")
    pets_floor = seeding.loader.max_id(Pet)
    seeding.loader.insert_families(Owner, _owners(seeding, rng), key="owner_id")
    pet_ids = seeding.loader.ids_after(Pet, pets_floor)
    # The table, not the class: a Core insert stores books_slot=None as NULL, where
    # the ORM would leave it out and let the column's default (true) apply.
    seeding.loader.insert(table_of(Appointment), _appointments(seeding, rng, vet_ids, pet_ids))


def _vets(seeding: Seeding, rng: random.Random) -> Iterator[Family]:
    for _ in range(seeding.plan.vets):
        first, last = seeding.person(rng)
        yield {"name": f"Dr. {first} {last}", "specialty": rng.choice(SPECIALTIES)}, {}


def _owners(seeding: Seeding, rng: random.Random) -> Iterator[Family]:
    serial = seeding.loader.max_id(Owner)
    demo_id = demo_account_to_link(seeding, Owner.user_id)
    for i in range(seeding.plan.owners):
        first, last = seeding.person(rng)
        owner = {
            "name": f"{first} {last}",
            "email": f"{slug(first)}.{slug(last)}{serial + i + 1}@example.org",
            "phone": f"+1 555-{rng.randint(0, 9999):04d}" if rng.random() < 0.8 else None,
            "user_id": demo_id if i == 0 else None,
        }
        yield owner, {Pet: _pets(seeding, rng)}


def _pets(seeding: Seeding, rng: random.Random) -> list[Row]:
    species, weights = list(SPECIES), list(SPECIES.values())
    return [
        {
            "name": rng.choice(PET_NAMES),
            "species": rng.choices(species, weights)[0],
            "born_on": _birthday(seeding, rng),
        }
        for _ in range(rng.randint(*PETS_PER_OWNER))
    ]


def _birthday(seeding: Seeding, rng: random.Random) -> dt.date | None:
    """Within the last 15 years; unknown for some rescued animals."""
    if rng.random() < 0.1:
        return None
    return (seeding.today - dt.timedelta(days=rng.randint(30, 15 * 365))).date()


def _appointments(
    seeding: Seeding, rng: random.Random, vet_ids: Sequence[int], pet_ids: Sequence[int]
) -> Iterator[Row]:
    """Each vet's share of the appointments, in distinct slots of the window."""
    if not vet_ids or not pet_ids:
        return
    slots = (PAST_DAYS + FUTURE_DAYS) * SLOTS_PER_DAY
    per_vet, extra = divmod(seeding.plan.appointments, len(vet_ids))
    for n, vet_id in enumerate(vet_ids):
        taken = rng.sample(range(slots), min(slots, per_vet + (n < extra)))
        for slot in sorted(taken):
            yield _appointment(seeding, rng, vet_id, rng.choice(pet_ids), _slot_time(seeding, slot))


def _slot_time(seeding: Seeding, slot: int) -> dt.datetime:
    day, half_hour = divmod(slot, SLOTS_PER_DAY)
    start = seeding.today + dt.timedelta(days=day - PAST_DAYS)
    return start + FIRST_SLOT + half_hour * SLOT_LENGTH


def _appointment(
    seeding: Seeding, rng: random.Random, vet_id: int, pet_id: int, at: dt.datetime
) -> Row:
    status = _status(rng, past=at < seeding.today)
    return {
        "vet_id": vet_id,
        "pet_id": pet_id,
        "scheduled_at": at,
        "reason": rng.choice(REASONS),
        "status": status,
        "books_slot": None if status is AppointmentStatus.CANCELLED else True,
    }


def _status(rng: random.Random, *, past: bool) -> AppointmentStatus:
    if rng.random() < CANCELLED_SHARE:
        return AppointmentStatus.CANCELLED
    return AppointmentStatus.COMPLETED if past else AppointmentStatus.SCHEDULED

"""N+1 and the loading strategies: an owner, their pets, each pet's appointments and vet.

The guide's nested read four ways, as ``benchmarks/loading.py`` measures it:
lazy loading runs a statement per collection touched (1 + 1 + a statement per
pet + one per distinct vet); ``joinedload`` all the way is one statement whose
rows repeat the owner and each pet; ``selectinload`` is one statement per
level; ``owner_detail()`` takes ``selectinload`` for the collections and
``joinedload`` for the many-to-one vet: three.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, lazyload, selectinload
from sqlalchemy.sql.base import ExecutableOption

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, measure
from alchemy_patterns.cli.tour.data import add_household
from alchemy_patterns.db import Database
from alchemy_patterns.domains.clinic.models import Appointment, Owner, Pet

PETS = 20
APPOINTMENTS_EACH = 3
VETS = 5

STRATEGIES: dict[str, ExecutableOption] = {
    "lazy (the guide's default)": lazyload(Owner.pets)
    .lazyload(Pet.appointments)
    .lazyload(Appointment.vet),
    "joinedload": joinedload(Owner.pets).joinedload(Pet.appointments).joinedload(Appointment.vet),
    "selectinload": selectinload(Owner.pets)
    .selectinload(Pet.appointments)
    .selectinload(Appointment.vet),
    "selectinload + joinedload (owner_detail)": selectinload(Owner.pets)
    .selectinload(Pet.appointments)
    .joinedload(Appointment.vet, innerjoin=True),
}


def read_owner(session: Session, owner_id: int, option: ExecutableOption) -> dict[str, int]:
    """Load with the strategy and touch everything an owner's page shows."""
    stmt = select(Owner).where(Owner.id == owner_id).options(option)
    owner = session.scalars(stmt).unique().one()
    appointments = [a for pet in owner.pets for a in pet.appointments]
    vets = {appointment.vet.name for appointment in appointments}
    return {"pets": len(owner.pets), "appointments": len(appointments), "vets": len(vets)}


def strategy(db: Database, owner_id: int, name: str) -> Variant:
    with db.session_scope(read_only=True) as session:
        read_owner(session, owner_id, STRATEGIES[name])  # warm up: compile once, unmeasured
    with measure(name) as m, db.session_scope(read_only=True) as session:
        seen = read_owner(session, owner_id, STRATEGIES[name])
    return m.result(**seen)


def run(db: Database) -> list[Variant]:
    household = add_household(db, pets=PETS, appointments_each=APPOINTMENTS_EACH, vets=VETS)
    return [strategy(db, household.owner_id, name) for name in STRATEGIES]


CHAPTER = Chapter(
    name="loading",
    title="N+1 and the loading strategies",
    module="domains/clinic/services.py owner_detail()",
    test="tests/clinic/test_reads.py, benchmarks/loading.py",
    lesson=f"Lazy loading costs a statement per pet and per vet ({PETS} pets here); "
    "selectinload one per level; joinedload one, with the parents repeated on every row.",
    run=run,
)

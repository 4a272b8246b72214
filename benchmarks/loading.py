"""Loading strategies for the guide's nested read: an owner, its pets, their appointments and vets.

The same read four ways, on the same data, in the same run:

* ``lazy``: the guide's default (``lazy="select"``), one query per thing
  touched: the owner, its pets, each pet's appointments, each distinct vet
  (1 + 1 + pets + vets statements);
* ``joined``: ``joinedload`` all the way: one statement, but the owner's row
  repeated for every appointment, pets' for each of theirs;
* ``selectin``: ``selectinload`` all the way: one statement per level;
* ``selectin+joined``: what ``owner_detail`` does, ``selectinload`` for the
  collections and ``joinedload`` for the many-to-one vet: three statements.

Each is reported in statements per read, microseconds per read (best of
``--repeat``) and as a ratio to the lazy baseline's time (below 1 is faster).

    .venv/bin/python benchmarks/loading.py [--backends sqlite,postgresql,mariadb] [--pets 1,10,50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, lazyload, selectinload
from sqlalchemy.sql.base import ExecutableOption

from alchemy_patterns.db import Database, bulk_insert
from alchemy_patterns.domains.clinic.models import Appointment, Owner, Pet, Vet
from common import parser, scratch_database, timed, write_json

APPOINTMENTS_PER_PET = 3
VETS = 5

STRATEGIES: dict[str, ExecutableOption] = {
    "lazy": lazyload(Owner.pets).lazyload(Pet.appointments).lazyload(Appointment.vet),
    "joined": joinedload(Owner.pets).joinedload(Pet.appointments).joinedload(Appointment.vet),
    "selectin": selectinload(Owner.pets)
    .selectinload(Pet.appointments)
    .selectinload(Appointment.vet),
    "selectin+joined": selectinload(Owner.pets)
    .selectinload(Pet.appointments)
    .joinedload(Appointment.vet),
}


def read_owner(session: Session, owner_id: int, option: ExecutableOption) -> int:
    """Load the owner with the strategy and touch everything a page would show."""
    owner = session.scalars(select(Owner).where(Owner.id == owner_id).options(option)).unique()
    seen = 0
    for pet in owner.one().pets:
        for appointment in pet.appointments:
            seen += len(appointment.vet.name) > 0
    return seen


def make_owner(db: Database, pets: int, vet_ids: list[int]) -> int:
    # Each owner's appointments in a year of their own: the vets' slots never collide.
    start = dt.datetime(2030 + pets, 1, 1, 9, tzinfo=dt.UTC)
    with db.session_scope() as session:
        owner = Owner(name=f"Owner {pets}", email=f"owner{pets}@example.com")
        owner.pets = [Pet(name=f"Pet {i}", species="cat") for i in range(pets)]
        session.add(owner)
        session.flush()
        rows = [
            {
                "pet_id": pet.id,
                "vet_id": vet_ids[(i * APPOINTMENTS_PER_PET + k) % len(vet_ids)],
                "scheduled_at": start + dt.timedelta(minutes=30 * (i * APPOINTMENTS_PER_PET + k)),
            }
            for i, pet in enumerate(owner.pets)
            for k in range(APPOINTMENTS_PER_PET)
        ]
        bulk_insert(session, Appointment, rows)
        return owner.id


def make_vets(db: Database) -> list[int]:
    with db.session_scope() as session:
        vets = [Vet(name=f"Dr {i}") for i in range(VETS)]
        session.add_all(vets)
        session.flush()
        return [vet.id for vet in vets]


def run(backend: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with scratch_database(backend) as db:
        vet_ids = make_vets(db)
        for pets in (int(n) for n in args.pets.split(",")):
            owner_id = make_owner(db, pets, vet_ids)
            timings = {
                name: timed(db, partial(read_owner, owner_id=owner_id, option=option), *args.timing)
                for name, option in STRATEGIES.items()
            }
            baseline = timings["lazy"][0]
            results += [
                {
                    "backend": backend,
                    "pets": pets,
                    "strategy": name,
                    "statements": statements,
                    "us": round(us, 1),
                    "ratio_to_lazy": round(us / baseline, 2),
                }
                for name, (us, statements) in timings.items()
            ]
    return results


def main() -> int:
    options = parser(__doc__, iterations=100)
    options.add_argument("--pets", default="1,10,50")
    args = options.parse_args()
    args.timing = (args.iterations, args.repeat)
    results = [r for backend in args.backends.split(",") for r in run(backend, args)]
    print(
        "{:<11}{:>6}  {:<17}{:>7}{:>11}{:>10}".format(
            "backend", "pets", "strategy", "stmts", "µs/read", "vs lazy"
        )
    )
    for r in results:
        print(
            f"{r['backend']:<11}{r['pets']:>6}  {r['strategy']:<17}{r['statements']:>7}"
            f"{r['us']:>11}{r['ratio_to_lazy']:>9}x"
        )
    write_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Realistic demo data in every domain, loaded with the bulk path, the same for the same seed.

``seed_demo_data`` is what ``alchemy-patterns seed`` and ``serve --demo`` call.
It expects a migrated database. Each domain has its generator module; this
one runs them in dependency order (users before what they own) and returns
the rows inserted per table.
"""

from __future__ import annotations

from sqlalchemy import select

from alchemy_patterns.cli.seeding.accounts import (
    ADMIN_USERNAME,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    seed_accounts,
)
from alchemy_patterns.cli.seeding.clinic import seed_clinic
from alchemy_patterns.cli.seeding.context import Pools, Seeding, start_of_today
from alchemy_patterns.cli.seeding.loading import Loader, Progress
from alchemy_patterns.cli.seeding.plan import PLANS, SIZES, Plan
from alchemy_patterns.cli.seeding.school import seed_school
from alchemy_patterns.cli.seeding.shop import seed_shop
from alchemy_patterns.cli.seeding.social import seed_social
from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.audit.services import record_event

__all__ = [
    "ADMIN_USERNAME",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "PLANS",
    "SIZES",
    "Plan",
    "Progress",
    "database_is_empty",
    "seed_demo_data",
]


def seed_demo_data(
    db: Database, *, size: str = "small", seed: int = 0, progress: Progress | None = None
) -> dict[str, int]:
    """Fill a migrated database with demo data; return the rows inserted per table.

    ``size`` is one of :data:`SIZES`; the same ``seed`` gives the same rows
    (dates are spread around the day it runs). ``progress(table, rows)`` is
    called after every batch. Everyone's password is :data:`DEMO_PASSWORD`;
    :data:`ADMIN_USERNAME` is an admin.
    """
    if size not in PLANS:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    loader = Loader(db, progress)
    seeding = Seeding(loader, PLANS[size], Pools.from_faker(seed), seed, start_of_today())
    user_ids = seed_accounts(seeding)
    seed_shop(seeding, user_ids)
    seed_clinic(seeding)
    seed_school(seeding)
    seed_social(seeding, user_ids)
    _record_in_audit_trail(loader, size, seed)
    return dict(loader.counts)


def database_is_empty(db: Database) -> bool:
    """Whether the database has no users yet (the demo seeds only such a database)."""
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(User.id).limit(1)) is None


def _record_in_audit_trail(loader: Loader, size: str, seed: int) -> None:
    """One audit record of the seeding, with the rows per table as its details."""
    details = {table: (None, rows) for table, rows in loader.counts.items()}
    with loader.db.session_scope() as session:
        record_event(session, "seed", "database", f"{size}/seed={seed}", details)
    loader.counts["audit_records"] = loader.counts.get("audit_records", 0) + 1
    loader.counts["audit_details"] = loader.counts.get("audit_details", 0) + len(details)

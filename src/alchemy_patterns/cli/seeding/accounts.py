"""Demo users: a known admin and a known user, then generated people, a few of them admins.

Every demo account has the same password, hashed once: Argon2 is slow on
purpose, and hashing it per user would take longer than the rest of the load.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from alchemy_patterns.cli.seeding.context import Seeding, slug
from alchemy_patterns.cli.seeding.loading import Family, Row
from alchemy_patterns.cli.seeding.plan import PROFILE_SHARE
from alchemy_patterns.domains.accounts.models import USERNAME_MAX_LENGTH, Profile, Role, User
from alchemy_patterns.domains.accounts.passwords import hash_password

DEMO_PASSWORD = "demo password"
ADMIN_USERNAME = "admin"
DEMO_USERNAME = "demo"
KNOWN_ACCOUNTS = {ADMIN_USERNAME: Role.ADMIN, DEMO_USERNAME: Role.USER}
INACTIVE_SHARE = 0.02


def seed_accounts(seeding: Seeding) -> list[int]:
    """Insert the users (and some profiles); return their ids, the known accounts first."""
    rng = seeding.rng("accounts")
    password_hash = hash_password(DEMO_PASSWORD)
    known = list(_known_accounts(seeding, password_hash))
    generated = _generated_users(seeding, rng, password_hash, seeding.plan.users - len(known))
    return seeding.loader.insert_families(User, itertools.chain(known, generated), key="user_id")


def demo_account_to_link(seeding: Seeding, link: InstrumentedAttribute[Any]) -> int | None:
    """The demo account's id, if no row is linked to it through ``link`` yet (else None).

    The demo user is linked to one clinic owner and one student, so that it
    reads a record of its own there (staff read them all); a second seeding
    (``--append``) links no other, since an account has one record at most.
    """
    with seeding.loader.db.session_scope(read_only=True) as session:
        user_id = session.scalar(select(User.id).where(User.username == DEMO_USERNAME))
        if user_id is None or session.scalar(select(link).where(link == user_id)) is not None:
            return None
        return user_id


def _known_accounts(seeding: Seeding, password_hash: str) -> Iterator[Family]:
    """The accounts the demo's instructions name, unless an earlier seeding made them."""
    taken = seeding.loader.existing(User.username, list(KNOWN_ACCOUNTS))
    for username, role in KNOWN_ACCOUNTS.items():
        if username not in taken:
            yield _user(username, password_hash, role=role), {}


def _generated_users(
    seeding: Seeding, rng: random.Random, password_hash: str, count: int
) -> Iterator[Family]:
    serial = seeding.loader.max_id(User)  # numbers above it are in no earlier username
    for i in range(count):
        username = _username(*seeding.person(rng), serial + i + 1)
        role = Role.ADMIN if i < seeding.plan.admins - 1 else Role.USER
        row = _user(username, password_hash, role=role, active=rng.random() >= INACTIVE_SHARE)
        yield row, {Profile: _profile(seeding, rng)}


def _username(first: str, last: str, serial: int) -> str:
    """``first.last42``: unique by its number, within the column's 30 characters."""
    number = str(serial)
    room = USERNAME_MAX_LENGTH - len(number) - 1
    return f"{slug(first)[: room // 2]}.{slug(last)[: room - room // 2]}{number}"


def _user(username: str, password_hash: str, *, role: Role, active: bool = True) -> Row:
    return {
        "username": username,
        "email": f"{username}@example.com",
        "password_hash": password_hash,
        "role": role,
        "is_active": active,
    }


def _profile(seeding: Seeding, rng: random.Random) -> list[Row]:
    return [{"bio": seeding.sentence(rng)}] if rng.random() < PROFILE_SHARE else []

"""``alchemy-patterns seed``: demo data in every domain, the same for the same seed, usable.

One database per backend is seeded once (``small``) for the whole module and
only read; tests that write seed databases of their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Table, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from alchemy_patterns import migrations
from alchemy_patterns.cli.seed import DatabaseNotEmpty, seed_database
from alchemy_patterns.cli.seeding import (
    ADMIN_USERNAME,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    database_is_empty,
    seed_demo_data,
)
from alchemy_patterns.db import Database, as_money
from alchemy_patterns.domains import metadata
from alchemy_patterns.domains.accounts.models import Role, User
from alchemy_patterns.domains.accounts.schemas import Credentials
from alchemy_patterns.domains.accounts.services import authenticate
from alchemy_patterns.domains.clinic.models import Appointment, AppointmentStatus
from alchemy_patterns.domains.shop.models import Cart, Order, OrderItem
from alchemy_patterns.domains.social.services import feed
from alchemy_patterns.settings import Settings
from tests.cli.test_cli import run
from tests.conftest import SERVER_URLS, _drop_server_database, _ensure_server_database

#: Tables every size fills (the audit trail gets one record of the seeding).
FILLED = (
    "users", "products", "carts", "orders", "order_items", "owners", "pets", "vets",
    "appointments", "students", "clubs", "student_clubs", "courses", "enrollments", "posts",
    "likes", "follows", "comments", "audit_records",
)  # fmt: skip
#: What the determinism test compares: columns that do not depend on the day it runs.
COMPARED = {
    "users": ("id", "username", "email", "role", "is_active"),
    "products": ("id", "sku", "name", "price", "stock", "is_active"),
    "orders": ("id", "user_id", "status", "total"),
    "order_items": ("order_id", "product_id", "quantity", "price_at_purchase"),
    "cart_items": ("cart_id", "product_id", "quantity"),
    "pets": ("id", "owner_id", "name", "species"),
    "appointments": ("vet_id", "pet_id", "status", "books_slot", "reason"),
    "students": ("id", "first_name", "last_name", "email"),
    "enrollments": ("student_id", "course_id", "status", "grade"),
    "student_clubs": ("student_id", "club_id"),
    "posts": ("id", "author_id", "body"),
    "likes": ("user_id", "post_id"),
    "follows": ("follower_id", "followed_id"),
    "comments": ("post_id", "author_id", "body"),
}


def open_database(url: str) -> Database:
    """The app's tables at ``url``; in "raise" mode, so an N+1 while seeding fails the test."""
    return Database(url, metadata=metadata, n_plus_one="raise", slow_query_ms=None)


def scratch_url(backend: str, directory: Path, name: str) -> str:
    """A database of this module's own on ``backend`` (created empty on a server)."""
    if backend == "sqlite":
        return f"sqlite:///{directory / f'{name}.sqlite3'}"
    server = make_url(SERVER_URLS[backend])
    url = server.set(database=f"{server.database}_{name}_{os.getpid()}")
    _drop_server_database(url)
    rendered = url.render_as_string(hide_password=False)
    _ensure_server_database(rendered)
    return rendered


def drop_scratch(url: str) -> None:
    if not url.startswith("sqlite"):
        _drop_server_database(make_url(url))


def seeded_database(url: str, seed: int = 0) -> tuple[Database, dict[str, int]]:
    """Given: a fresh database at ``url``, migrated and seeded with ``small`` data."""
    migrations.upgrade(url)
    db = open_database(url)
    return db, seed_demo_data(db, size="small", seed=seed)


@pytest.fixture(scope="module")
def seeding(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Database, dict[str, int]]]:
    """A database seeded once per backend for the module, and the counts the seeding returned."""
    url = scratch_url(backend, tmp_path_factory.mktemp("seed"), "seed")
    db, counts = seeded_database(url)
    yield db, counts
    db.dispose()
    drop_scratch(url)


@pytest.fixture
def seeded(seeding: tuple[Database, dict[str, int]]) -> Database:
    return seeding[0]


def rows_in(db: Database, table: str) -> int:
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(metadata.tables[table])) or 0


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """The compared columns of each table, in primary-key order."""
    with db.session_scope(read_only=True) as session:
        return {
            table: _rows(session, metadata.tables[table], columns)
            for table, columns in COMPARED.items()
        }


def _rows(session: Session, table: Table, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    stmt = select(*(table.c[name] for name in columns)).order_by(*table.primary_key.columns)
    return [tuple(row) for row in session.execute(stmt)]


def test_small_fills_every_domain(seeded: Database) -> None:
    empty = [table for table in FILLED if rows_in(seeded, table) == 0]

    assert empty == []


def test_the_counts_returned_are_the_rows_stored(seeding: tuple[Database, dict[str, int]]) -> None:
    db, counts = seeding

    stored = {table: rows_in(db, table) for table in counts}

    assert stored == counts
    assert 1_000 < sum(counts.values()) < 5_000


def test_the_same_seed_gives_the_same_rows(seeded: Database, fresh_database_url: str) -> None:
    twin, _ = seeded_database(fresh_database_url, seed=0)
    try:
        assert snapshot(twin) == snapshot(seeded)
    finally:
        twin.dispose()


@pytest.mark.backends("sqlite")
def test_another_seed_gives_other_rows(seeded: Database, fresh_database_url: str) -> None:
    other, _ = seeded_database(fresh_database_url, seed=1)
    try:
        theirs, ours = snapshot(other), snapshot(seeded)
    finally:
        other.dispose()

    assert theirs["users"] != ours["users"]
    assert theirs["orders"] != ours["orders"]


def log_in(db: Database, login: str, password: str) -> Any:
    with db.session_scope() as session:
        return authenticate(session, Credentials(login=login, password=SecretStr(password)))


def test_the_demo_user_logs_in_with_the_demo_password(seeded: Database) -> None:
    user = log_in(seeded, DEMO_USERNAME, DEMO_PASSWORD)

    assert user.username == DEMO_USERNAME
    assert user.role == Role.USER


def test_the_admin_logs_in_and_is_an_admin(seeded: Database) -> None:
    user = log_in(seeded, ADMIN_USERNAME, DEMO_PASSWORD)

    assert user.role == Role.ADMIN


def test_generated_users_share_the_demo_password_and_some_are_admins(seeded: Database) -> None:
    with seeded.session_scope(read_only=True) as session:
        last = session.scalars(
            select(User).where(User.is_active).order_by(User.id.desc()).limit(1)
        ).one()
        admins = session.scalar(select(func.count()).where(User.role == Role.ADMIN)) or 0

    assert log_in(seeded, last.email, DEMO_PASSWORD).id == last.id
    assert admins >= 2


def test_every_order_total_is_the_sum_of_its_lines(seeded: Database) -> None:
    lines_sum = (
        select(func.coalesce(func.sum(OrderItem.subtotal), 0))
        .where(OrderItem.order_id == Order.id)
        .scalar_subquery()
    )
    with seeded.session_scope(read_only=True) as session:
        wrong = session.scalar(select(func.count()).where(Order.total != lines_sum))
        money = session.scalar(select(as_money(func.sum(Order.total)))) or 0

    assert wrong == 0
    assert money > 0


def test_every_user_has_one_cart(seeded: Database) -> None:
    with seeded.session_scope(read_only=True) as session:
        without = session.scalar(
            select(func.count()).where(~select(Cart.id).where(Cart.user_id == User.id).exists())
        )

    assert without == 0


def test_appointments_mix_every_status_and_cancelled_ones_hold_no_slot(seeded: Database) -> None:
    stmt = select(Appointment.status, Appointment.books_slot).distinct()
    with seeded.session_scope(read_only=True) as session:
        pairs = {
            (status, bool(slot) if slot is not None else None)
            for status, slot in session.execute(stmt)
        }

    assert pairs == {
        (AppointmentStatus.SCHEDULED, True),
        (AppointmentStatus.COMPLETED, True),
        (AppointmentStatus.CANCELLED, None),
    }


def test_the_demo_users_feed_is_full(seeded: Database) -> None:
    with seeded.session_scope(read_only=True) as session:
        demo_id = session.scalar(select(User.id).where(User.username == DEMO_USERNAME))
        assert demo_id is not None
        page = feed(session, demo_id, per_page=20)

    assert len(page.items) == 20


def test_a_migrated_database_is_empty(fresh_database_url: str) -> None:
    migrations.upgrade(fresh_database_url)
    db = open_database(fresh_database_url)
    try:
        assert database_is_empty(db)
    finally:
        db.dispose()


def test_a_seeded_database_is_not_empty(seeded: Database) -> None:
    assert not database_is_empty(seeded)


@pytest.mark.backends("sqlite")
def test_a_database_with_users_is_refused_unless_appending(fresh_database_url: str) -> None:
    settings = Settings(database_url=fresh_database_url)
    first = seed_database(settings, size="small", seed=0, append=False)

    with pytest.raises(DatabaseNotEmpty):
        seed_database(settings, size="small", seed=0, append=False)
    second = seed_database(settings, size="small", seed=0, append=True)

    db = open_database(fresh_database_url)
    try:
        assert rows_in(db, "users") == first["users"] + second["users"]
        assert rows_in(db, "orders") == first["orders"] + second["orders"]
    finally:
        db.dispose()


def test_the_command_seeds_a_fresh_database_and_says_how_to_log_in(tmp_path: Path) -> None:
    result = run(tmp_path, "seed", "--size", "small", "--seed", "7")

    assert result.returncode == 0, result.stderr
    assert "seeded" in result.stdout
    assert DEMO_PASSWORD in result.stdout
    assert (tmp_path / "instance" / "alchemy_patterns.sqlite3").is_file()


def test_an_unknown_size_is_a_usage_error_in_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "seed", "--size", "huge")

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "huge" in result.stderr


# --- seed, then serve: every list of the API has something to show ---------------------------

#: One list per domain, as the demo user sees it (``{user}`` is the demo user's id).
LISTS = (
    "/products",
    "/orders",
    "/owners",
    "/vets",
    "/students",
    "/clubs",
    "/courses",
    "/feed",
    "/users/{user}/followers",
    "/users/{user}/following",
)


def test_after_seeding_every_list_of_the_api_has_items(seeded: Database) -> None:
    from alchemy_patterns.web import create_app

    client = create_app(Settings(), db=seeded).test_client()
    login = client.post("/auth/login", json={"login": DEMO_USERNAME, "password": DEMO_PASSWORD})
    assert login.status_code == 200
    token, user = login.get_json()["access_token"], login.get_json()["user"]["id"]
    headers = {"Authorization": f"Bearer {token}"}

    empty = [
        path
        for path in LISTS
        if not client.get(path.format(user=user), headers=headers).get_json()["items"]
    ]

    assert empty == []
    admin = client.post("/auth/login", json={"login": ADMIN_USERNAME, "password": DEMO_PASSWORD})
    audit = client.get(
        "/audit", headers={"Authorization": f"Bearer {admin.get_json()['access_token']}"}
    )
    assert audit.get_json()["items"]

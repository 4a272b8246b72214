"""Registration: one transaction for the user, its cart and its audit record.

What a client may send (``RegisterUser``), what it gets back (``UserOut``), and
the rule that makes usernames and e-mail addresses unique whatever their case,
in the schema and in the database itself on every backend.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from alchemy_patterns.db import Conflict, Database, ValidationFailed
from alchemy_patterns.domains.accounts.models import Role, User
from alchemy_patterns.domains.accounts.schemas import RegisterUser, UserOut
from alchemy_patterns.domains.audit.models import AuditDetail, AuditRecord
from alchemy_patterns.domains.shop.models import Cart
from alchemy_patterns.domains.shop.services import register_user_with_cart
from tests.builders import make_user

PASSWORD = "a long enough password"
COUNTED = (User, Cart, AuditRecord, AuditDetail)


def registration(username: str, email: str, **extra: Any) -> RegisterUser:
    return RegisterUser(username=username, email=email, password=SecretStr(PASSWORD), **extra)


def row_counts(db: Database) -> dict[str, int]:
    """How many rows each table the registration writes to holds, read in a new session."""
    with db.session_scope(read_only=True) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in COUNTED
        }


def register_alice(db: Database) -> UserOut:
    with db.session_scope() as session:
        return register_user_with_cart(session, registration("alice", "alice@example.com"))


# --- one transaction: user, cart, audit record ----------------------------------------------


def test_registration_commits_the_user_with_lower_case_login_names(app_db: Database) -> None:
    with app_db.session_scope() as session:
        out = register_user_with_cart(session, registration("Alice", "Alice@Example.com"))

    with app_db.session_scope(read_only=True) as session:
        user = session.get(User, out.id)
        assert user is not None
        assert (user.username, user.email) == ("alice", "alice@example.com")
        assert (user.role, user.is_active) == (Role.USER, True)
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_registration_gives_the_new_user_a_cart(app_db: Database) -> None:
    out = register_alice(app_db)

    with app_db.session_scope(read_only=True) as session:
        carts = session.scalars(select(Cart)).all()
    assert [cart.user_id for cart in carts] == [out.id]


def test_registration_writes_one_insert_record_with_the_hash_redacted(app_db: Database) -> None:
    out = register_alice(app_db)

    with app_db.session_scope(read_only=True) as session:
        records = session.scalars(
            select(AuditRecord).options(selectinload(AuditRecord.details))
        ).all()
        stored_hash = session.scalars(select(User.password_hash)).one()
    assert [(r.action, r.entity, r.entity_id) for r in records] == [
        ("insert", "users", str(out.id))
    ]
    details = {d.field: (d.old_value, d.new_value) for d in records[0].details}
    assert details["username"] == (None, "alice")
    assert details["email"] == (None, "alice@example.com")
    assert details["password_hash"] == (None, "[redacted]")
    values = {value for pair in details.values() for value in pair}
    assert stored_hash not in values


def test_a_failure_later_in_the_unit_of_work_takes_user_cart_and_audit_with_it(
    app_db: Database,
) -> None:
    before = row_counts(app_db)

    with pytest.raises(RuntimeError, match="later step"), app_db.session_scope() as session:
        register_user_with_cart(session, registration("alice", "alice@example.com"))
        session.flush()
        raise RuntimeError("a later step of the same request failed")

    assert row_counts(app_db) == before == {name.__tablename__: 0 for name in COUNTED}


def test_user_out_carries_no_password_or_hash(app_db: Database) -> None:
    out = register_alice(app_db)

    assert set(UserOut.model_fields) == {
        "id",
        "username",
        "email",
        "role",
        "is_active",
        "created_at",
    }
    dumped = out.model_dump()
    assert not [key for key in dumped if "password" in key or "hash" in key]
    assert not [value for value in dumped.values() if str(value).startswith("$argon2")]
    assert (out.username, out.email, out.role) == ("alice", "alice@example.com", Role.USER)
    assert out.created_at.utcoffset() is not None


# --- uniqueness whatever the case --------------------------------------------------------------


def test_an_email_taken_in_another_case_is_a_conflict_on_email(app_db: Database) -> None:
    register_alice(app_db)
    before = row_counts(app_db)

    with pytest.raises(Conflict) as conflict, app_db.session_scope() as session:
        register_user_with_cart(session, registration("alice2", "Alice@Example.com"))

    assert conflict.value.field == "email"
    assert row_counts(app_db) == before


def test_a_caught_email_conflict_leaves_nothing_even_when_the_scope_commits(
    app_db: Database,
) -> None:
    register_alice(app_db)
    before = row_counts(app_db)

    # The caller catches the conflict inside the scope, which then commits.
    with app_db.session_scope() as session, pytest.raises(Conflict) as conflict:
        register_user_with_cart(session, registration("alice2", "Alice@Example.com"))

    assert conflict.value.field == "email"
    assert row_counts(app_db) == before


def test_a_caught_conflict_keeps_the_rest_of_the_unit_of_work(app_db: Database) -> None:
    register_alice(app_db)
    before = row_counts(app_db)

    with app_db.session_scope() as session:
        carol = register_user_with_cart(session, registration("carol", "carol@example.com"))
        with pytest.raises(Conflict):
            register_user_with_cart(session, registration("alice2", "ALICE@example.com"))

    after = row_counts(app_db)
    assert after["users"] == before["users"] + 1
    assert after["carts"] == before["carts"] + 1
    assert after["audit_records"] == before["audit_records"] + 1
    with app_db.session_scope(read_only=True) as session:
        entity_ids = session.scalars(select(AuditRecord.entity_id)).all()
        assert session.scalar(select(Cart.user_id).where(Cart.user_id == carol.id)) == carol.id
    assert str(carol.id) in entity_ids


def test_a_username_taken_in_another_case_is_a_conflict_on_username(app_db: Database) -> None:
    with app_db.session_scope() as session:
        register_user_with_cart(session, registration("bob", "bob@example.com"))
    before = row_counts(app_db)

    with app_db.session_scope() as session, pytest.raises(Conflict) as conflict:
        register_user_with_cart(session, registration("BOB", "robert@example.com"))

    assert conflict.value.field == "username"
    assert row_counts(app_db) == before


# --- the database refuses mixed case by itself ---------------------------------------------


def login_name(column: str, value: str) -> dict[str, Any]:
    """Overrides for ``make_user``, which writes the row directly, bypassing the schema."""
    return {column: value}


@pytest.mark.backends("postgresql", "sqlite")
@pytest.mark.parametrize(
    ("column", "value"),
    [("email", "ALICE@example.com"), ("username", "Alice")],
)
def test_the_database_refuses_a_login_name_not_in_lower_case(
    app_db: Database, column: str, value: str
) -> None:
    with pytest.raises(ValidationFailed) as refused, app_db.session_scope() as session:
        make_user(session, **login_name(column, value))

    assert refused.value.field == column
    assert refused.value.constraint == f"ck_users_{column}_lowercase"
    assert row_counts(app_db)["users"] == 0


@pytest.mark.backends("postgresql", "sqlite")
def test_the_database_refuses_a_case_variant_next_to_the_lower_case_email(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        make_user(session, email="alice@example.com")

    with pytest.raises(ValidationFailed) as refused, app_db.session_scope() as session:
        make_user(session, email="ALICE@example.com")

    assert refused.value.field == "email"
    assert row_counts(app_db)["users"] == 1


@pytest.mark.backends("mariadb")
@pytest.mark.parametrize(
    ("column", "stored", "variant"),
    [("email", "alice@example.com", "ALICE@example.com"), ("username", "alice", "ALICE")],
)
def test_mariadb_collation_makes_a_case_variant_a_conflict(
    app_db: Database, column: str, stored: str, variant: str
) -> None:
    with app_db.session_scope() as session:
        make_user(session, **login_name(column, stored))

    with pytest.raises(Conflict) as conflict, app_db.session_scope() as session:
        make_user(session, **login_name(column, variant))

    assert conflict.value.field == column
    assert row_counts(app_db)["users"] == 1


# --- what a client may send ----------------------------------------------------------------

VALID: dict[str, Any] = {
    "username": "alice",
    "email": "alice@example.com",
    "password": PASSWORD,
}


def rejected_field(**changes: Any) -> tuple[Any, ...]:
    """The location of the one error ``RegisterUser`` reports for the valid input changed so."""
    with pytest.raises(ValidationError) as invalid:
        RegisterUser.model_validate(VALID | changes)
    errors = invalid.value.errors()
    assert len(errors) == 1, errors
    return tuple(errors[0]["loc"])


def test_the_valid_input_is_accepted_and_normalised() -> None:
    data = RegisterUser.model_validate(
        VALID | {"username": " Alice ", "email": "Alice@Example.COM"}
    )

    assert (data.username, data.email) == ("alice", "alice@example.com")
    assert data.password.get_secret_value() == PASSWORD


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("role", "admin"),
        ("is_active", False),
        ("id", 1),
        ("password_hash", "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"),
    ],
)
def test_register_user_refuses_fields_a_client_may_not_set(field: str, value: object) -> None:
    assert rejected_field(**{field: value}) == (field,)


def test_register_user_refuses_a_short_password() -> None:
    assert rejected_field(password="seven77") == ("password",)


@pytest.mark.parametrize("email", ["alice", "alice@", "@example.com", "alice example@example.com"])
def test_register_user_refuses_a_bad_email(email: str) -> None:
    assert rejected_field(email=email) == ("email",)


@pytest.mark.parametrize("username", ["al", "alice smith", "alice!", "a" * 31, ""])
def test_register_user_refuses_a_bad_username(username: str) -> None:
    assert rejected_field(username=username) == ("username",)

"""Signing in, changing a password, and the account switches an admin holds.

Every failure to sign in is the same ``InvalidCredentials``, whatever went
wrong, so the answer never tells which accounts exist.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from pydantic import SecretStr

from alchemy_patterns.db import Database, NotFound
from alchemy_patterns.domains.accounts.errors import InvalidCredentials
from alchemy_patterns.domains.accounts.models import Role, User
from alchemy_patterns.domains.accounts.passwords import needs_rehash, verify_password
from alchemy_patterns.domains.accounts.schemas import ChangePassword, Credentials, UserOut
from alchemy_patterns.domains.accounts.services import (
    authenticate,
    change_password,
    check_credentials,
    get_user,
    renew_weak_hash,
    set_active,
    set_role,
)
from tests.builders import PASSWORD, make_user

NEW_PASSWORD = "a brand new passphrase"


def credentials(login: str, password: str = PASSWORD) -> Credentials:
    return Credentials(login=login, password=SecretStr(password))


def add_user(db: Database, **overrides: object) -> User:
    with db.session_scope() as session:
        return make_user(session, with_cart=False, **overrides)


def stored_hash(db: Database, user_id: int) -> str:
    with db.session_scope(read_only=True) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.password_hash


def sign_in(db: Database, login: str, password: str = PASSWORD) -> UserOut:
    with db.session_scope() as session:
        return authenticate(session, credentials(login, password))


def weak_hash(password: str = PASSWORD) -> str:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(password)


def failed_sign_in(db: Database, login: str, password: str = PASSWORD) -> InvalidCredentials:
    with pytest.raises(InvalidCredentials) as refused:
        sign_in(db, login, password)
    return refused.value


# --- authenticate --------------------------------------------------------------------------


def test_authenticate_by_username_in_any_case(app_db: Database) -> None:
    user = add_user(app_db, username="alice")

    signed_in = sign_in(app_db, "ALIce")

    assert (signed_in.id, signed_in.username) == (user.id, "alice")


def test_authenticate_by_email_in_any_case(app_db: Database) -> None:
    user = add_user(app_db, email="alice@example.com")

    signed_in = sign_in(app_db, "Alice@EXAMPLE.com")

    assert (signed_in.id, signed_in.email) == (user.id, "alice@example.com")


def test_every_failure_to_sign_in_is_the_same_invalid_credentials(app_db: Database) -> None:
    add_user(app_db, username="alice", email="alice@example.com")
    add_user(app_db, username="dormant", is_active=False)

    wrong_password = failed_sign_in(app_db, "alice", "not the password")
    unknown_username = failed_sign_in(app_db, "nobody")
    unknown_email = failed_sign_in(app_db, "nobody@example.com")
    inactive = failed_sign_in(app_db, "dormant")

    messages = {str(e) for e in (wrong_password, unknown_username, unknown_email, inactive)}
    assert messages == {"the login or the password is wrong"}
    assert {e.code for e in (wrong_password, unknown_username, unknown_email, inactive)} == {
        "invalid_credentials"
    }


def test_a_hash_with_weaker_parameters_is_replaced_at_sign_in(app_db: Database) -> None:
    weak = weak_hash()
    assert needs_rehash(weak)
    user = add_user(app_db, username="alice", password_hash=weak)

    sign_in(app_db, "alice")

    renewed = stored_hash(app_db, user.id)
    assert renewed != weak
    assert verify_password(renewed, PASSWORD)
    assert not needs_rehash(renewed)


def test_a_current_hash_is_left_alone_at_sign_in(app_db: Database) -> None:
    user = add_user(app_db, username="alice")
    before = stored_hash(app_db, user.id)

    sign_in(app_db, "alice")

    assert stored_hash(app_db, user.id) == before


def test_a_weak_hash_is_kept_when_the_password_is_wrong(app_db: Database) -> None:
    weak = weak_hash()
    user = add_user(app_db, username="alice", password_hash=weak)

    failed_sign_in(app_db, "alice", "not the password")

    assert stored_hash(app_db, user.id) == weak


# --- check_credentials, then renew_weak_hash (the login's two steps) ----------------------


def test_checking_credentials_writes_nothing_not_even_a_weak_hash(app_db: Database) -> None:
    weak = weak_hash()
    user = add_user(app_db, username="alice", password_hash=weak)

    with app_db.session_scope(read_only=True) as session:
        checked = check_credentials(session, credentials("alice"))

    assert checked.id == user.id
    assert stored_hash(app_db, user.id) == weak


def test_checking_wrong_credentials_is_invalid_credentials(app_db: Database) -> None:
    add_user(app_db, username="alice")

    with pytest.raises(InvalidCredentials), app_db.session_scope(read_only=True) as session:
        check_credentials(session, credentials("alice", "not the password"))


def test_renewing_replaces_a_weak_hash(app_db: Database) -> None:
    weak = weak_hash()
    user = add_user(app_db, username="alice", password_hash=weak)

    with app_db.session_scope() as session:
        renew_weak_hash(session, user.id, credentials("alice"))

    renewed = stored_hash(app_db, user.id)
    assert renewed != weak
    assert verify_password(renewed, PASSWORD)
    assert not needs_rehash(renewed)


def test_renewing_keeps_a_weak_hash_of_a_password_changed_meanwhile(app_db: Database) -> None:
    changed = weak_hash(NEW_PASSWORD)  # changed since PASSWORD was checked
    user = add_user(app_db, username="alice", password_hash=changed)

    with app_db.session_scope() as session:
        renew_weak_hash(session, user.id, credentials("alice"))

    assert stored_hash(app_db, user.id) == changed


# --- change_password -----------------------------------------------------------------------


def test_change_password_with_a_wrong_current_password_changes_nothing(app_db: Database) -> None:
    user = add_user(app_db, username="alice")
    before = stored_hash(app_db, user.id)
    data = ChangePassword(
        current_password=SecretStr("not the password"), new_password=SecretStr(NEW_PASSWORD)
    )

    with pytest.raises(InvalidCredentials), app_db.session_scope() as session:
        change_password(session, user.id, data)

    assert stored_hash(app_db, user.id) == before


def test_change_password_makes_the_new_password_work_and_the_old_one_fail(
    app_db: Database,
) -> None:
    user = add_user(app_db, username="alice")
    data = ChangePassword(
        current_password=SecretStr(PASSWORD), new_password=SecretStr(NEW_PASSWORD)
    )

    with app_db.session_scope() as session:
        change_password(session, user.id, data)

    assert sign_in(app_db, "alice", NEW_PASSWORD).id == user.id
    failed_sign_in(app_db, "alice", PASSWORD)


# --- set_active, set_role, get_user --------------------------------------------------------


def test_set_active_false_disables_the_account(app_db: Database) -> None:
    user = add_user(app_db, username="alice")

    with app_db.session_scope() as session:
        out = set_active(session, user.id, False)

    assert out.is_active is False
    with app_db.session_scope(read_only=True) as session:
        assert get_user(session, user.id).is_active is False
    failed_sign_in(app_db, "alice")


def test_set_active_true_enables_the_account_again(app_db: Database) -> None:
    user = add_user(app_db, username="alice", is_active=False)

    with app_db.session_scope() as session:
        set_active(session, user.id, True)

    assert sign_in(app_db, "alice").is_active is True


def test_set_role_is_committed(app_db: Database) -> None:
    user = add_user(app_db)

    with app_db.session_scope() as session:
        out = set_role(session, user.id, Role.ADMIN)

    assert out.role is Role.ADMIN
    with app_db.session_scope(read_only=True) as session:
        assert get_user(session, user.id).role is Role.ADMIN


def test_get_user_returns_the_user_without_its_hash(app_db: Database) -> None:
    user = add_user(app_db, username="alice", email="alice@example.com")

    with app_db.session_scope(read_only=True) as session:
        out = get_user(session, user.id)

    assert (out.id, out.username, out.email) == (user.id, "alice", "alice@example.com")
    assert "password_hash" not in out.model_dump()


MISSING_USER_CALLS: dict[str, Callable[..., object]] = {
    "get_user": lambda session, user_id: get_user(session, user_id),
    "set_active": lambda session, user_id: set_active(session, user_id, False),
    "set_role": lambda session, user_id: set_role(session, user_id, Role.ADMIN),
    "change_password": lambda session, user_id: change_password(
        session,
        user_id,
        ChangePassword(current_password=SecretStr(PASSWORD), new_password=SecretStr(NEW_PASSWORD)),
    ),
}


@pytest.mark.parametrize("service", list(MISSING_USER_CALLS))
def test_a_missing_user_is_not_found(app_db: Database, service: str) -> None:
    user = add_user(app_db)
    missing = user.id + 1000

    with pytest.raises(NotFound) as not_found, app_db.session_scope() as session:
        MISSING_USER_CALLS[service](session, missing)

    assert (not_found.value.entity, not_found.value.key) == ("user", missing)

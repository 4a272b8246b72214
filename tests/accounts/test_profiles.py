"""Profiles: the optional one-to-one, written by upsert, and the guide's savepoint pattern."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select

from alchemy_patterns.db import Conflict, Database, NotFound, savepoint
from alchemy_patterns.domains.accounts.models import BIO_MAX_LENGTH, Profile, User
from alchemy_patterns.domains.accounts.schemas import ProfileIn, RegisterUser
from alchemy_patterns.domains.accounts.services import (
    create_user,
    get_profile,
    register_user,
    set_profile,
)
from tests.builders import make_user


def add_user(db: Database) -> User:
    with db.session_scope() as session:
        return make_user(session, with_cart=False)


def registration(bio: str) -> RegisterUser:
    return RegisterUser(
        username="ada",
        email="ada@example.com",
        password=SecretStr("a long enough password"),
        bio=bio,
    )


def stored_bios(db: Database) -> dict[int, str]:
    """Every profile row, read in a new session: user id -> bio."""
    with db.session_scope(read_only=True) as session:
        return {p.user_id: p.bio for p in session.scalars(select(Profile))}


def test_set_profile_creates_the_profile(app_db: Database) -> None:
    user = add_user(app_db)

    with app_db.session_scope() as session:
        out = set_profile(session, user.id, ProfileIn(bio="mathematician"))

    assert (out.user_id, out.bio) == (user.id, "mathematician")
    assert stored_bios(app_db) == {user.id: "mathematician"}


def test_set_profile_replaces_the_existing_profile(app_db: Database) -> None:
    user = add_user(app_db)
    with app_db.session_scope() as session:
        set_profile(session, user.id, ProfileIn(bio="mathematician"))

    with app_db.session_scope() as session:
        out = set_profile(session, user.id, ProfileIn(bio="first programmer"))

    assert out.bio == "first programmer"
    assert stored_bios(app_db) == {user.id: "first programmer"}


def test_get_profile_reads_the_stored_profile(app_db: Database) -> None:
    user = add_user(app_db)
    with app_db.session_scope() as session:
        set_profile(session, user.id, ProfileIn(bio="mathematician"))

    with app_db.session_scope(read_only=True) as session:
        out = get_profile(session, user.id)

    assert (out.user_id, out.bio) == (user.id, "mathematician")


def test_get_profile_sees_a_profile_replaced_in_the_same_unit_of_work(app_db: Database) -> None:
    """The upsert bypasses the session: a Profile the session already holds must not go stale."""
    with app_db.session_scope() as session:
        user = create_user(session, registration(bio="mathematician"))  # holds user.profile
        set_profile(session, user.id, ProfileIn(bio="first programmer"))
        seen = get_profile(session, user.id)

    assert stored_bios(app_db) == {user.id: "first programmer"}
    assert seen.bio == "first programmer"


def test_get_profile_of_a_user_without_one_is_not_found(app_db: Database) -> None:
    user = add_user(app_db)

    with pytest.raises(NotFound) as not_found, app_db.session_scope(read_only=True) as session:
        get_profile(session, user.id)

    assert (not_found.value.entity, not_found.value.key) == ("profile", user.id)


def test_set_profile_of_a_missing_user_is_not_found_and_writes_nothing(app_db: Database) -> None:
    user = add_user(app_db)
    missing = user.id + 1000

    with pytest.raises(NotFound) as not_found, app_db.session_scope() as session:
        set_profile(session, missing, ProfileIn(bio="nobody"))

    assert (not_found.value.entity, not_found.value.key) == ("user", missing)
    assert stored_bios(app_db) == {}


def test_registering_with_a_bio_creates_the_profile(app_db: Database) -> None:
    with app_db.session_scope() as session:
        out = register_user(session, registration(bio="mathematician"))

    assert stored_bios(app_db) == {out.id: "mathematician"}


def test_profile_in_accepts_a_bio_of_the_maximum_length() -> None:
    assert len(ProfileIn(bio="x" * BIO_MAX_LENGTH).bio) == BIO_MAX_LENGTH


def test_profile_in_refuses_a_bio_over_the_maximum_length() -> None:
    with pytest.raises(ValidationError) as invalid:
        ProfileIn(bio="x" * (BIO_MAX_LENGTH + 1))

    errors = invalid.value.errors()
    assert [(e["loc"], e["type"]) for e in errors] == [(("bio",), "string_too_long")]


def test_profile_in_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError) as invalid:
        ProfileIn.model_validate({"bio": "hello", "user_id": 1})

    assert [e["loc"] for e in invalid.value.errors()] == [("user_id",)]


def test_a_failed_profile_in_a_savepoint_keeps_the_user(app_db: Database) -> None:
    """The guide's pattern: the profile is optional, so its failure must not cost the user."""
    with app_db.session_scope() as session:
        user = make_user(session, username="ada", with_cart=False)
        set_profile(session, user.id, ProfileIn(bio="mathematician"))
        with pytest.raises(Conflict), savepoint(session):
            session.add(Profile(user_id=user.id, bio="a second profile"))  # one per user
        # The outer unit of work goes on and commits.

    with app_db.session_scope(read_only=True) as session:
        users = session.scalars(select(User.username)).all()
        profiles = session.scalar(select(func.count()).select_from(Profile))
    assert users == ["ada"]
    assert profiles == 1
    assert stored_bios(app_db) == {user.id: "mathematician"}

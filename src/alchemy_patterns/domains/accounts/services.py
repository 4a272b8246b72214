"""Accounts services: each takes a ``Session``, does one unit of work, never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from alchemy_patterns.db import get_or_raise, savepoint, upsert
from alchemy_patterns.domains.accounts.errors import InvalidCredentials
from alchemy_patterns.domains.accounts.models import Profile, Role, User
from alchemy_patterns.domains.accounts.passwords import hash_password, needs_rehash, verify_password
from alchemy_patterns.domains.accounts.schemas import (
    ChangePassword,
    Credentials,
    ProfileIn,
    ProfileOut,
    RegisterUser,
    UserOut,
)


def create_user(session: Session, data: RegisterUser, *, role: Role = Role.USER) -> User:
    """Add the user (and its profile, if a bio is given) and flush for the new id.

    Returns the ORM object for other services of the same unit of work (the
    shop gives it a cart); what leaves the service layer is a :class:`UserOut`.
    The caller wraps it in a savepoint, with whatever else belongs to the
    registration, so a taken username or e-mail address leaves nothing behind.
    """
    user = User(
        username=data.username,
        email=data.email,
        password_hash=hash_password(data.password.get_secret_value()),
        role=role,
    )
    if data.bio is not None:
        user.profile = Profile(bio=data.bio)
    session.add(user)
    session.flush()
    return user


def register_user(session: Session, data: RegisterUser) -> UserOut:
    """A new account with the ``user`` role; ``Conflict`` names a taken field."""
    with savepoint(session):
        user = create_user(session, data)
    return UserOut.model_validate(user)


def get_user(session: Session, user_id: int) -> UserOut:
    """Any account by id; ``NotFound`` if there is none."""
    return UserOut.model_validate(get_or_raise(session, User, user_id))


def _user_by_login(session: Session, login: str) -> User | None:
    column = User.email if "@" in login else User.username
    return session.scalars(select(User).where(column == login.lower())).one_or_none()


def authenticate(session: Session, credentials: Credentials) -> UserOut:
    """The active user these credentials belong to, or ``InvalidCredentials``.

    A hash made with parameters weaker than today's is replaced while the
    password is at hand.
    """
    user = _verified_user(session, credentials)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(credentials.password.get_secret_value())
    return UserOut.model_validate(user)


def check_credentials(session: Session, credentials: Credentials) -> UserOut:
    """Like :func:`authenticate`, but writes nothing: the hash is verified, never renewed.

    So it can run in a read-only unit of work, where the slow hash holds no
    write lock (SQLite's one writer stays free for everyone else meanwhile);
    :func:`renew_weak_hash` does the writing afterwards.
    """
    return UserOut.model_validate(_verified_user(session, credentials))


def renew_weak_hash(session: Session, user_id: int, credentials: Credentials) -> None:
    """Replace the user's hash if it is weaker than today's and still matches the password.

    For a password :func:`check_credentials` has just accepted. The rare weak
    hash is verified again, so a password changed in the meantime is never
    replaced by the old one.
    """
    password = credentials.password.get_secret_value()
    user = get_or_raise(session, User, user_id)
    if needs_rehash(user.password_hash) and verify_password(user.password_hash, password):
        user.password_hash = hash_password(password)


def _verified_user(session: Session, credentials: Credentials) -> User:
    user = _user_by_login(session, credentials.login)
    password = credentials.password.get_secret_value()
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        raise InvalidCredentials
    return user


def change_password(session: Session, user_id: int, data: ChangePassword) -> None:
    """Set a new password if ``current_password`` is the account's (else ``InvalidCredentials``)."""
    user = get_or_raise(session, User, user_id)
    if not verify_password(user.password_hash, data.current_password.get_secret_value()):
        raise InvalidCredentials
    user.password_hash = hash_password(data.new_password.get_secret_value())
    session.flush()


def set_active(session: Session, user_id: int, active: bool) -> UserOut:
    """Disable the account or enable it again; ``NotFound`` for an unknown id."""
    user = get_or_raise(session, User, user_id)
    user.is_active = active
    session.flush()
    return UserOut.model_validate(user)


def set_role(session: Session, user_id: int, role: Role) -> UserOut:
    """Give the account ``role``; ``NotFound`` for an unknown id."""
    user = get_or_raise(session, User, user_id)
    user.role = role
    session.flush()
    return UserOut.model_validate(user)


def set_profile(session: Session, user_id: int, data: ProfileIn) -> ProfileOut:
    """Create or replace the user's profile in one atomic statement."""
    get_or_raise(session, User, user_id)
    upsert(session, Profile, [{"user_id": user_id, "bio": data.bio}], conflict=["user_id"])
    # The upsert went around the unit of work: a Profile this session already
    # holds would keep showing the old bio.
    if (held := session.identity_map.get(session.identity_key(Profile, user_id))) is not None:
        session.expire(held)
    return ProfileOut(user_id=user_id, bio=data.bio)


def get_profile(session: Session, user_id: int) -> ProfileOut:
    """The account's profile; ``NotFound`` if it has none (or the account does not exist)."""
    return ProfileOut.model_validate(get_or_raise(session, Profile, user_id))

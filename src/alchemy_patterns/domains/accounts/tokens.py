"""Bearer tokens: issued at login, looked up by their hash, revoked at logout."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from alchemy_patterns.db import execute_core, prepared, rowcount, table_of
from alchemy_patterns.domains.accounts.errors import AuthenticationRequired
from alchemy_patterns.domains.accounts.models import ApiToken, User
from alchemy_patterns.domains.accounts.schemas import UserOut
from alchemy_patterns.domains.schemas import columns_for

DEFAULT_LIFETIME = dt.timedelta(hours=12)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, user_id: int, *, lifetime: dt.timedelta = DEFAULT_LIFETIME
) -> IssuedToken:
    """A new random token for the user; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    expires_at = dt.datetime.now(dt.UTC) + lifetime
    session.add(ApiToken(user_id=user_id, token_hash=_digest(token), expires_at=expires_at))
    session.flush()
    return IssuedToken(token, expires_at)


#: Every signed-in request runs it first, so it is built once: building a
#: SELECT (and its cache key) per request cost more than running it.
#: On the tables (Core), not the entities: an ORM-enabled SELECT costs more to run.
_users, _tokens = table_of(User), table_of(ApiToken)
_USER_FOR_TOKEN = prepared(
    select(*columns_for(UserOut, _users))
    .join(_tokens, _tokens.c.user_id == _users.c.id)
    .where(
        _tokens.c.token_hash == bindparam("token_hash"),
        _tokens.c.revoked_at.is_(None),
        _tokens.c.expires_at > bindparam("now", type_=_tokens.c.expires_at.type),
        _users.c.is_active,
    )
)


def user_for_token(session: Session, token: str) -> UserOut:
    """The active user of a live token (one indexed SELECT), or ``AuthenticationRequired``."""
    now = dt.datetime.now(dt.UTC)
    params = {"token_hash": _digest(token), "now": now}
    user = execute_core(session, _USER_FOR_TOKEN, params).one_or_none()  # a row, not an object
    if user is None:
        raise AuthenticationRequired("the token is unknown, expired or revoked")
    return UserOut.model_validate(user)


def revoke_token(session: Session, token: str) -> bool:
    """Revoke the token (logout); False if it was not live. Idempotent."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC)),
        execution_options={"synchronize_session": False},
    )
    return bool(rowcount(result))


def revoke_all_tokens(session: Session, user_id: int) -> int:
    """Revoke every live token of the user (after a password change, say)."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC)),
        execution_options={"synchronize_session": False},
    )
    return rowcount(result)

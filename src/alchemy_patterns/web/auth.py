"""Who is calling: bearer tokens, and the role checks views make.

A view asks for what it needs, ``current_user()`` or ``require_admin()``;
object-level checks (is this cart, order or post the caller's?) are made by
the services, which look objects up *with* the owner's id, so another user's
object is simply not found (404), never "forbidden" (which would confirm it
exists).
"""

from __future__ import annotations

from typing import Any

from flask import g, request

from alchemy_patterns.domains.accounts.access import Viewer
from alchemy_patterns.domains.accounts.errors import AuthenticationRequired, Forbidden
from alchemy_patterns.domains.accounts.models import Role
from alchemy_patterns.domains.accounts.schemas import UserOut
from alchemy_patterns.domains.accounts.tokens import user_for_token
from alchemy_patterns.domains.audit.services import set_actor
from alchemy_patterns.web.database import db_session

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "a token from POST /auth/login"}
}
#: The ``security`` of an operation that needs a signed-in user.
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and 0 < len(token) <= 200 else None


def current_user() -> UserOut:
    """The signed-in user, or ``AuthenticationRequired`` (401)."""
    if "user" not in g:
        token = bearer_token()
        if token is None:
            raise AuthenticationRequired("sign in first: send 'Authorization: Bearer <token>'")
        g.user = user_for_token(db_session(), token)
        # Every audit record this request writes names its author.
        set_actor(db_session(), g.user.id)
    user: UserOut = g.user
    return user


def current_viewer() -> Viewer:
    """The signed-in user as the domains' reads see them (staff or not), or 401."""
    return Viewer.of(current_user())


def require_admin() -> UserOut:
    """The signed-in user if an admin; ``Forbidden`` (403) otherwise."""
    user = current_user()
    if user.role is not Role.ADMIN:
        raise Forbidden("this operation needs the admin role")
    return user

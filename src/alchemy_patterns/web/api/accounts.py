"""Registration, login and logout, and the signed-in user's own account."""

from __future__ import annotations

import datetime as dt

from flask import Response, current_app, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, ConfigDict

from alchemy_patterns.domains.accounts import services, tokens
from alchemy_patterns.domains.accounts.login import log_in
from alchemy_patterns.domains.accounts.models import Role
from alchemy_patterns.domains.accounts.schemas import (
    ChangePassword,
    Credentials,
    ProfileIn,
    ProfileOut,
    RegisterUser,
    UserOut,
)
from alchemy_patterns.domains.accounts.throttle import ThrottlePolicy
from alchemy_patterns.domains.schemas import Id
from alchemy_patterns.domains.shop.services import register_user_with_cart
from alchemy_patterns.web.auth import BEARER, AdminRoutes, bearer_token, current_user
from alchemy_patterns.web.database import database, db_session
from alchemy_patterns.web.responses import created, json_response, no_content
from alchemy_patterns.web.schemas import Problem

bp = APIBlueprint(
    "accounts",
    __name__,
    abp_tags=[
        Tag(
            name="accounts",
            description=(
                "Registration, log-in and log-out, the signed-in account and its "
                "profile; staff manage roles and accounts."
            ),
        )
    ],
)
admin = AdminRoutes(bp)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime
    user: UserOut


class UserPath(BaseModel):
    user_id: Id


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class ActiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool


@bp.post("/auth/register", responses={201: UserOut, 409: Problem})
def register_user(body: RegisterUser) -> Response:
    """A new account (role ``user``) with an empty cart; 409 names a taken field."""
    user = register_user_with_cart(db_session(), body)
    return created(user, "/me")


@bp.post("/auth/login", responses={200: TokenOut, 401: Problem, 429: Problem})
def login(body: Credentials) -> Response:
    """A bearer token for a username or e-mail address and its password.

    Attempts are counted per account and per address before the password is
    verified; past the limit the answer is 429 with ``Retry-After``, whatever
    the password.
    """
    policy: ThrottlePolicy = current_app.config["LOGIN_THROTTLE"]
    user = log_in(database(), db_session(), body, request.remote_addr, policy)
    issued = tokens.issue_token(db_session(), user.id)
    return json_response(
        TokenOut(access_token=issued.token, expires_at=issued.expires_at, user=user)
    )


@bp.post("/auth/logout", responses={204: None, 401: Problem}, security=BEARER)
def logout() -> Response:
    """Revoke the token this request was made with."""
    current_user()
    tokens.revoke_token(db_session(), bearer_token() or "")
    return no_content()


@bp.get("/me", responses={200: UserOut, 401: Problem}, security=BEARER)
def get_me() -> Response:
    """The signed-in account."""
    return json_response(current_user())


@bp.put("/me/password", responses={204: None, 401: Problem}, security=BEARER)
def change_password(body: ChangePassword) -> Response:
    """Change the password; every token of the account is revoked, this one too."""
    user = current_user()
    services.change_password(db_session(), user.id, body)
    tokens.revoke_all_tokens(db_session(), user.id)
    return no_content()


@bp.get("/me/profile", responses={200: ProfileOut, 401: Problem, 404: Problem}, security=BEARER)
def get_profile() -> Response:
    """The signed-in account's profile (display name and bio)."""
    return json_response(services.get_profile(db_session(), current_user().id))


@bp.put("/me/profile", responses={200: ProfileOut, 401: Problem}, security=BEARER)
def set_profile(body: ProfileIn) -> Response:
    """Replace the signed-in account's profile."""
    return json_response(services.set_profile(db_session(), current_user().id, body))


@admin.put("/users/<int:user_id>/role", responses={200: UserOut, 404: Problem})
def set_user_role(path: UserPath, body: RoleIn) -> Response:
    """Make a user an admin, or not (admins only)."""
    return json_response(services.set_role(db_session(), path.user_id, body.role))


@admin.get("/users/<int:user_id>", responses={200: UserOut, 404: Problem})
def get_user(path: UserPath) -> Response:
    """Any account (admins only)."""
    return json_response(services.get_user(db_session(), path.user_id))


@admin.put("/users/<int:user_id>/active", responses={200: UserOut, 404: Problem})
def set_user_active(path: UserPath, body: ActiveIn) -> Response:
    """Disable an account or enable it again (admins only); a disabled account's tokens stop."""
    return json_response(services.set_active(db_session(), path.user_id, body.active))

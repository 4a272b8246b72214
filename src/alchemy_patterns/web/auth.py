"""Who is calling: bearer tokens, the role checks, and the responses they document.

A view asks for the user it needs, ``current_user()`` or ``current_viewer()``;
an admin-only operation is declared as one on its route (:class:`AdminRoutes`),
which documents the 401 and 403 and checks the role before the view runs.
object-level checks (is this cart, order or post the caller's?) are made by
the services, which look objects up *with* the owner's id, so another user's
object is simply not found (404), never "forbidden" (which would confirm it
exists).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, g, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.types import ResponseDict

from alchemy_patterns.domains.accounts.access import Viewer
from alchemy_patterns.domains.accounts.errors import AuthenticationRequired, Forbidden
from alchemy_patterns.domains.accounts.models import Role
from alchemy_patterns.domains.accounts.schemas import UserOut
from alchemy_patterns.domains.accounts.tokens import user_for_token
from alchemy_patterns.domains.audit.services import set_actor
from alchemy_patterns.web.database import db_session
from alchemy_patterns.web.schemas import Problem

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "a token from POST /auth/login"}
}
#: The ``security`` of an operation that needs a signed-in user.
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

#: The problems of an operation that needs a signed-in user: no valid token.
SIGNED_IN: ResponseDict = {401: Problem}
#: ... and that looks a record up by id: not found, or not the caller's.
FOUND: ResponseDict = {**SIGNED_IN, 404: Problem}
#: ... and that only admins may call (:class:`AdminRoutes` adds it).
ADMIN: ResponseDict = {**SIGNED_IN, 403: Problem}

View = TypeVar("View", bound=Callable[..., Response])
_ADMIN_VIEWS: set[Callable[..., Response]] = set()


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


class AdminRoutes:
    """The admin-only routes of a blueprint: ``@admin.post(rule, responses=...)``.

    Each route documents the bearer token, 401 and 403 in OpenAPI and checks
    the role (:func:`require_admin`) before its view runs, so the document and
    the check come from one declaration and neither can be forgotten.
    """

    def __init__(self, bp: APIBlueprint) -> None:
        self.bp = bp

    def get(self, rule: str, *, responses: ResponseDict) -> Callable[[View], View]:
        """Register an admin-only GET view for ``rule``."""
        return self._route(self.bp.get, rule, responses)

    def post(self, rule: str, *, responses: ResponseDict) -> Callable[[View], View]:
        """Register an admin-only POST view for ``rule``."""
        return self._route(self.bp.post, rule, responses)

    def put(self, rule: str, *, responses: ResponseDict) -> Callable[[View], View]:
        """Register an admin-only PUT view for ``rule``."""
        return self._route(self.bp.put, rule, responses)

    def patch(self, rule: str, *, responses: ResponseDict) -> Callable[[View], View]:
        """Register an admin-only PATCH view for ``rule``."""
        return self._route(self.bp.patch, rule, responses)

    def delete(self, rule: str, *, responses: ResponseDict) -> Callable[[View], View]:
        """Register an admin-only DELETE view for ``rule``."""
        return self._route(self.bp.delete, rule, responses)

    @staticmethod
    def _route(
        method: Callable[..., Callable[[Any], Any]], rule: str, responses: ResponseDict
    ) -> Callable[[View], View]:
        register = method(rule, responses={**responses, **ADMIN}, security=BEARER)

        def decorator(view: View) -> View:
            # flask-openapi3 reads the parameters' models and the docstring
            # through ``wraps``; the role is checked after it has validated the
            # request, as a hand call at the top of the view was.
            @functools.wraps(view)
            def admin_view(*args: Any, **kwargs: Any) -> Response:
                require_admin()
                return view(*args, **kwargs)

            _ADMIN_VIEWS.add(admin_view)
            register(admin_view)
            return view

        return decorator


def is_admin_only(view: Callable[..., Any]) -> bool:
    """Whether ``view``, or a view it wraps, was registered by :class:`AdminRoutes`."""
    return inspect.unwrap(view, stop=lambda f: f in _ADMIN_VIEWS) in _ADMIN_VIEWS

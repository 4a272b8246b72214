"""Every error as RFC 9457 ``application/problem+json``, never a traceback.

A problem has a stable ``type`` (``/problems/<code>``, the ``code`` of the
application error), a ``title``, the HTTP ``status``, a ``detail`` for people,
and the request id. Validation problems list the failing fields; a conflict
names the field that is taken. Anything unexpected is logged with the request
id and answered 500 with that id alone; so is the driver's own account of an
unavailable database (it names hosts, ports and pool sizes), behind a 503 that
tells the client when to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, cast

from flask import Flask, Response, g, json
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from alchemy_patterns.db import (
    AppError,
    Conflict,
    InvalidReference,
    NotFound,
    StaleVersion,
    Unavailable,
    ValidationFailed,
)
from alchemy_patterns.db.profiling import NPlusOneError
from alchemy_patterns.domains.accounts.errors import (
    AuthenticationRequired,
    Forbidden,
    InvalidCredentials,
    TooManyAttempts,
)

logger = logging.getLogger("alchemy_patterns.web")

PROBLEM_JSON = "application/problem+json"

#: What a client is told when the database cannot serve it (the log has the cause).
UNAVAILABLE_DETAIL = "the database cannot serve this request now; retry later"


class PreconditionRequired(AppError):
    """A write without ``If-Match``: it would overwrite changes it has not seen."""

    code = "precondition_required"


#: Application errors by HTTP status; the most specific class wins (the MRO decides).
STATUS_OF: dict[type[AppError], int] = {
    NotFound: 404,
    Conflict: 409,
    StaleVersion: 412,
    PreconditionRequired: 428,
    InvalidReference: 409,
    ValidationFailed: 422,
    Unavailable: 503,
    AuthenticationRequired: 401,
    InvalidCredentials: 401,
    Forbidden: 403,
    TooManyAttempts: 429,
}


def problem(status: int, code: str, detail: str, **extra: Any) -> Response:
    """A problem+json response; ``extra`` members are added to the body as they are."""
    body = {
        "type": f"/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "request_id": g.get("request_id"),
        **extra,
    }
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="alchemy-patterns"'
    return response


def problem_response(status: int) -> dict[str, Any]:
    """A problem answer with ``status``, as the OpenAPI document describes it."""
    media = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {
        "description": HTTPStatus(status).phrase,
        "content": {"application/problem+json": media, "application/json": media},
    }


def status_of(error: AppError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


def app_error(error: AppError) -> Response:
    extra: dict[str, Any] = {}
    field = getattr(error, "field", None)
    if field is not None:
        extra["field"] = field
        if isinstance(error, ValidationFailed):
            extra["errors"] = [{"field": field, "message": error.message}]
    extra.update(getattr(error, "details", {}))  # e.g. OutOfStock's shortages
    response = problem(status_of(error), error.code, public_detail(error), **extra)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, round(retry_after)))
    if isinstance(error, TooManyAttempts):
        _rate_limit_headers(response, error)
    return response


def _rate_limit_headers(response: Response, error: TooManyAttempts) -> None:
    """The IETF ``RateLimit-Policy`` and ``RateLimit`` fields: the limit reached, none left.

    (draft-ietf-httpapi-ratelimit-headers: ``q`` attempts per ``w`` seconds;
    ``r`` remaining, ``t`` seconds until the window ends.)
    """
    name = f'"{error.limit}"'
    response.headers["RateLimit-Policy"] = f"{name};q={error.quota};w={error.window_s}"
    response.headers["RateLimit"] = f"{name};r=0;t={response.headers['Retry-After']}"


def public_detail(error: AppError) -> str:
    """The error's message, except the driver's words behind a 503: those go to the log."""
    if not isinstance(error, Unavailable):
        return error.message
    logger.warning("database unavailable (request %s): %s", g.get("request_id"), error.message)
    return UNAVAILABLE_DETAIL


def http_error(error: HTTPException) -> Response:
    if error.response is not None and error.response.mimetype == PROBLEM_JSON:
        return cast(Response, error.response)  # already a problem (a validation error, say)
    status = error.code or 500
    code = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    response = problem(status, code, error.description or HTTPStatus(status).description)
    if allow := dict(error.get_headers()).get("Allow"):
        response.headers["Allow"] = allow  # 405 says what is allowed
    return response


def _location(parts: Iterable[Any]) -> str:
    return ".".join(str(part) for part in parts)


def validation_error(error: ValidationError) -> Response:
    """422 naming each failing field (``body.email``, ``query.per_page``…)."""
    errors = [
        {"field": _location(item["loc"]) or "body", "message": item["msg"], "type": item["type"]}
        for item in error.errors(include_url=False, include_input=False)
    ]
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return problem(422, "validation_failed", f"invalid input: {fields}", errors=errors)


def unexpected_error(error: Exception) -> Response:
    if isinstance(error, NPlusOneError):
        raise error  # raise mode (tests): an N+1 fails the test, loudly
    logger.exception("unexpected error (request %s)", g.get("request_id"))
    return problem(500, "internal_error", "an unexpected error occurred; quote the request id")


def init_app(app: Flask) -> None:
    app.register_error_handler(AppError, app_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)

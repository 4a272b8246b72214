"""The Flask application: ``create_app()``, and one transaction per request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import redirect, url_for
from flask.typing import ResponseReturnValue
from flask_openapi3.models.info import Info
from flask_openapi3.openapi import OpenAPI

from alchemy_patterns import __version__
from alchemy_patterns.db import Database, translating_errors
from alchemy_patterns.domains.accounts.throttle import ThrottlePolicy
from alchemy_patterns.settings import Settings, make_database
from alchemy_patterns.web import (
    body,
    consistency,
    errors,
    metrics,
    observability,
    openapi,
    preconditions,
)
from alchemy_patterns.web.auth import SECURITY_SCHEMES
from alchemy_patterns.web.database import commit_request, database, init_app
from alchemy_patterns.web.enum_names import name_enum_values
from alchemy_patterns.web.schemas import Problem

#: Larger bodies are refused (413) before they are parsed.
MAX_BODY_BYTES = 64 * 1024

#: Problems any operation may answer (a malformed or oversized body, invalid
#: input, a database that is away, a bug), documented once for all of them.
COMMON_PROBLEMS = (400, 413, 415, 422, 500, 503)


class Api(OpenAPI):
    """``OpenAPI`` (Flask + pydantic + the OpenAPI document) whose requests are units of work."""

    def dispatch_request(self) -> ResponseReturnValue:
        """Run the view, then commit: the request's work is one transaction.

        A driver error, from the view or from the commit, leaves as an
        application error (409, 422, 503); the N+1 detector watches the whole
        request (it warns in production and raises in tests). If the request's
        first statement finds its pooled connection dead, nothing was done:
        the view runs again, once, on a fresh session. A connection lost later
        is a 503, never re-run (the client's ``Idempotency-Key`` makes its own
        retry of a checkout safe). GET and HEAD are read-only units, on a
        replica when there are replicas (:mod:`alchemy_patterns.web.consistency`).
        """
        with translating_errors(database().metadata):
            return consistency.run_request(self._run_view)

    def _run_view(self) -> ResponseReturnValue:
        with database().watch_unit():
            response = super().dispatch_request()
            commit_request()
        consistency.note_commit()
        return response

    def generate_spec_json(self) -> None:
        """The document flask-openapi3 builds, with every problem an operation can answer.

        Blueprints document what their views raise; the problems that come
        from anywhere (body checks, validation, authentication, path
        converters, the database) are added here, as ``application/problem+json``.
        Operations get their ids, summaries and Markdown descriptions, the
        document its description, servers and licence (:mod:`.openapi`).
        Enums whose values are no identifiers (``B+``) get names for client
        generators (``x-enum-varnames``).
        """
        super().generate_spec_json()  # type: ignore[no-untyped-call]
        for path, path_item in self.spec_json["paths"].items():
            for method, operation in path_item.items():
                _document_problems(operation)
                consistency.document(method, operation)
                preconditions.document(path, method, operation)
        openapi.finish(self, self.spec_json)
        for path_item in self.spec_json["paths"].values():
            for operation in path_item.values():
                _document_access(operation)
        name_enum_values(self.spec_json)


def _document_problems(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses = list(COMMON_PROBLEMS)
    if operation.get("security"):
        statuses.append(401)
    if any(parameter.get("in") == "path" for parameter in operation.get("parameters", [])):
        statuses.append(404)
    for status in statuses:
        if str(status) not in responses or status == 422:  # one Problem, not flask-openapi3's list
            responses[str(status)] = _problem_response(status)


#: Who may call an operation, from what it declares: its security and a 403 answer.
ACCESS_ANYONE = "**Who may call it:** anyone, no token needed."
ACCESS_SIGNED_IN = (
    "**Who may call it:** any signed-in account. Private records (the clinic's owners, "
    "pets and appointments; the school's students, enrollments and grades) are shown only "
    "to staff and to the account linked to them: to anyone else they are 404, and lists "
    "leave them out."
)
ACCESS_STAFF = "**Who may call it:** staff (the admin role) only; any other account gets 403."


def _document_access(operation: dict[str, Any]) -> None:
    """Say in the operation's description who may call it (``/docs`` shows it)."""
    if not operation.get("security"):
        access = ACCESS_ANYONE
    elif "403" in operation.get("responses", {}):
        access = ACCESS_STAFF
    else:
        access = ACCESS_SIGNED_IN
    description = operation.get("description", "").strip()
    operation["description"] = f"{description}\n\n{access}" if description else access


def _problem_response(status: int) -> dict[str, Any]:
    return errors.problem_response(status)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Api:
    """The API on ``db`` (default: the database ``settings`` name)."""
    settings = settings or Settings()
    app = Api(
        __name__,
        info=Info(title="alchemy-patterns", version=__version__),
        security_schemes=SECURITY_SCHEMES,
        doc_prefix="/docs",
        doc_url="/openapi.json",
        validation_error_status=422,
        validation_error_model=Problem,
        validation_error_callback=errors.validation_error,
    )
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["LOGIN_THROTTLE"] = ThrottlePolicy(
        window=dt.timedelta(seconds=settings.login_window_s),
        per_login=settings.login_failures_per_account,
        per_address=settings.login_failures_per_address,
    )
    db = db or make_database(settings)
    init_app(app, db)
    errors.init_app(app)
    observability.init_app(app)
    consistency.init_app(app)
    preconditions.init_app(app)
    metrics.init_app(app, db.engines(), settings.metrics_networks)
    body.init_app(app)
    _register_api(app)
    _register_docs(app)
    app.api_doc  # noqa: B018  # built now: a document that cannot be built stops start-up
    return app


def _register_api(app: Api) -> None:
    from alchemy_patterns.web.api import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        app.register_api(blueprint)


#: What ``/`` answers: where a newcomer's next step is.
ROOT = {
    "name": "alchemy-patterns",
    "docs": "/docs",
    "openapi": "/openapi.json",
    "health": "/healthz",
}


def _register_docs(app: Api) -> None:
    app.add_url_rule("/", "root", lambda: ROOT)
    app.add_url_rule("/openapi.json", "openapi_json", lambda: app.api_doc)
    app.add_url_rule("/docs", "docs", lambda: redirect(url_for("swagger.swagger")))

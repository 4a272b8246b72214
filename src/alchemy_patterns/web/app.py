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
from alchemy_patterns.web import body, errors, observability
from alchemy_patterns.web.auth import SECURITY_SCHEMES
from alchemy_patterns.web.database import commit_request, database, init_app
from alchemy_patterns.web.schemas import Problem

#: Larger bodies are refused (413) before they are parsed.
MAX_BODY_BYTES = 64 * 1024

#: Problems any operation may answer, documented once for all of them.
COMMON_RESPONSES: dict[str | int, Any] = {
    400: Problem,
    413: Problem,
    415: Problem,
    422: Problem,
    500: Problem,
    503: Problem,
}


class Api(OpenAPI):
    """``OpenAPI`` (Flask + pydantic + the OpenAPI document) whose requests are units of work."""

    def dispatch_request(self) -> ResponseReturnValue:
        """Run the view, then commit: the request's work is one transaction.

        A driver error, from the view or from the commit, leaves as an
        application error (409, 422, 503); the N+1 detector watches the whole
        request (it warns in production and raises in tests).
        """
        db = database()
        with translating_errors(db.metadata), db.watch_unit():
            response = super().dispatch_request()
            commit_request()
        return response


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Api:
    """The API on ``db`` (default: the database ``settings`` name)."""
    settings = settings or Settings()
    app = Api(
        __name__,
        info=Info(title="alchemy-patterns", version=__version__, description=__doc__),
        security_schemes=SECURITY_SCHEMES,
        responses=COMMON_RESPONSES,
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
    init_app(app, db or make_database(settings))
    errors.init_app(app)
    observability.init_app(app)
    body.init_app(app)
    _register_api(app)
    _register_docs(app)
    return app


def _register_api(app: Api) -> None:
    from alchemy_patterns.web.api import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        app.register_api(blueprint)


def _register_docs(app: Api) -> None:
    app.add_url_rule("/openapi.json", "openapi_json", lambda: app.api_doc)
    app.add_url_rule("/docs", "docs", lambda: redirect(url_for("swagger.swagger")))

"""A request is a unit of work: committed when it succeeds, nothing kept when it fails.

And whatever happens, its connection goes back to the pool (the guide's
"session per request", pattern 2).
"""

from __future__ import annotations

import json
import logging

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from alchemy_patterns.db import Conflict, Database
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.web.app import Api
from alchemy_patterns.web.database import db_session
from tests.builders import password_hash


def add_user_then(outcome: Exception | None) -> None:
    db_session().add(User(username="halfway", email="halfway@example.com", password_hash="x"))
    db_session().flush()
    if outcome is not None:
        raise outcome


@pytest.fixture
def routes(fresh_app: Api) -> Api:
    """Routes that write a row, then succeed or fail in the ways a view can."""
    app = fresh_app
    app.add_url_rule("/test/ok", "ok", lambda: add_user_then(None) or ("", 204))
    app.add_url_rule("/test/conflict", "conflict", lambda: add_user_then(Conflict("taken")))
    app.add_url_rule("/test/crash", "crash", lambda: add_user_then(RuntimeError("secret detail")))
    return app


def users(db: Database) -> int:
    with db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


def test_a_successful_request_commits(routes: Api, app_db: Database) -> None:
    assert routes.test_client().get("/test/ok").status_code == 204

    assert users(app_db) == 1


def test_a_failed_request_keeps_nothing(routes: Api, app_db: Database) -> None:
    response = routes.test_client().get("/test/conflict")

    assert response.status_code == 409
    assert users(app_db) == 0


def test_an_unexpected_error_is_a_500_with_the_request_id_and_no_detail(
    routes: Api, app_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    response = routes.test_client().get("/test/crash", headers={"X-Request-ID": "req-12345678"})

    assert response.status_code == 500
    problem = response.get_json()
    assert problem["request_id"] == "req-12345678"
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    assert any("req-12345678" in r.getMessage() and r.exc_info for r in caplog.records)
    assert users(app_db) == 0


@pytest.mark.parametrize("path", ["/test/ok", "/test/conflict", "/test/crash", "/nowhere"])
def test_no_connection_stays_checked_out_after_a_request(
    routes: Api, app_db: Database, path: str
) -> None:
    routes.test_client().get(path)

    assert app_db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_constraint_violated_at_commit_is_a_409(routes: Api, app_db: Database) -> None:
    with app_db.session_scope() as session:
        session.add(User(username="taken", email="taken@example.com", password_hash="x"))

    def add_duplicate() -> tuple[str, int]:
        db_session().add(
            User(username="taken", email="other@example.com", password_hash=password_hash())
        )
        return "", 204  # no flush: the violation surfaces at the request's commit

    routes.add_url_rule("/test/late", "late", add_duplicate)

    response = routes.test_client().get("/test/late")

    assert response.status_code == 409
    assert response.get_json()["field"] == "username"


# --- what every response carries --------------------------------------------------------------


def test_every_response_has_a_request_id_and_the_database_cost(client: FlaskClient) -> None:
    response = client.get("/me")

    assert len(response.headers["X-Request-ID"]) == 32
    assert response.headers["Server-Timing"].startswith("db;dur=")
    assert response.headers["Server-Timing"].endswith('desc="0 queries"')


def test_a_clients_request_id_is_kept(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "client-abc-123"})

    assert response.headers["X-Request-ID"] == "client-abc-123"


def test_server_timing_counts_the_statements(client: FlaskClient, app_db: Database) -> None:
    from tests.web.conftest import sign_in

    alice = sign_in(app_db)

    response = client.get("/me", headers=alice.headers)

    assert response.headers["Server-Timing"].endswith('desc="1 queries"')


def test_one_json_log_line_per_request(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="alchemy_patterns.web.access"):
        response = client.get("/healthz")

    lines = [r for r in caplog.records if r.name == "alchemy_patterns.web.access"]
    assert len(lines) == 1
    entry = json.loads(lines[0].getMessage())
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert (entry["method"], entry["path"], entry["status"], entry["queries"]) == (
        "GET",
        "/healthz",
        200,
        0,
    )
    assert entry["duration_ms"] >= 0

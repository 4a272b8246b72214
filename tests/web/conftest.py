"""The API under Flask's test client, on the chosen backend's app database."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts.models import Role, User
from alchemy_patterns.domains.accounts.tokens import issue_token
from alchemy_patterns.settings import Settings
from alchemy_patterns.web import create_app
from alchemy_patterns.web.app import Api
from tests.builders import make_user


def make_app(db: Database) -> Api:
    # A low limit per address keeps the throttling tests short.
    app = create_app(Settings(login_failures_per_address=8), db=db)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="session")
def _shared_app(_app_schema: Database) -> Api:
    """One app per backend: building one registers every blueprint and its OpenAPI models."""
    return make_app(_app_schema)


@pytest.fixture
def app(_shared_app: Api, app_db: Database) -> Api:
    """The API on the chosen backend's app database (emptied after each test)."""
    return _shared_app


@pytest.fixture
def fresh_app(app_db: Database) -> Api:
    """An app of the test's own, for tests that add routes to it."""
    return make_app(app_db)


@pytest.fixture
def client(app: Api) -> FlaskClient:
    return app.test_client()


class Caller:
    """A signed-in user of the API: its id, and headers carrying its token."""

    def __init__(self, user: User, token: str) -> None:
        self.id = user.id
        self.username = user.username
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}


def sign_in(
    db: Database, *, role: Role = Role.USER, lifetime: dt.timedelta | None = None
) -> Caller:
    """A user and a token, written directly (no Argon2, no HTTP): the API is tested elsewhere."""
    with db.session_scope() as session:
        user = make_user(session, role=role)
        issued = (
            issue_token(session, user.id)
            if lifetime is None
            else issue_token(session, user.id, lifetime=lifetime)
        )
    return Caller(user, issued.token)


@pytest.fixture
def alice(app_db: Database) -> Caller:
    return sign_in(app_db)


@pytest.fixture
def bob(app_db: Database) -> Caller:
    return sign_in(app_db)


@pytest.fixture
def admin(app_db: Database) -> Caller:
    return sign_in(app_db, role=Role.ADMIN)


def queries(response: TestResponse) -> int:
    """The statements the request ran, as its ``Server-Timing`` header reports them."""
    match = re.search(r'desc="(\d+) queries"', response.headers["Server-Timing"])
    assert match is not None, response.headers["Server-Timing"]
    return int(match.group(1))

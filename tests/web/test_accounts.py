"""Registration, login, logout and the signed-in user's account, over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import func, select

from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.accounts.throttle import ThrottlePolicy
from alchemy_patterns.domains.shop.models import Cart
from alchemy_patterns.web.app import Api
from tests.builders import PASSWORD, make_user
from tests.web.conftest import Caller, sign_in

NEW_USER = {"username": "ada", "email": "Ada@Example.com", "password": "a long passphrase"}


def accounts(db: Database) -> int:
    with db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


def login(client: FlaskClient, login: str, password: str, address: str = "10.0.0.1") -> int:
    response = client.post(
        "/auth/login",
        json={"login": login, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


# --- register ---------------------------------------------------------------------------------


def test_register_creates_the_account_and_its_cart(client: FlaskClient, app_db: Database) -> None:
    response = client.post("/auth/register", json=NEW_USER)

    assert response.status_code == 201
    assert response.headers["Location"] == "/me"
    body = response.get_json()
    assert (body["username"], body["email"], body["role"]) == ("ada", "ada@example.com", "user")
    assert "password" not in str(body)
    with app_db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Cart)) == 1


def test_a_taken_email_is_a_409_naming_the_field(client: FlaskClient, app_db: Database) -> None:
    client.post("/auth/register", json=NEW_USER)

    response = client.post("/auth/register", json=NEW_USER | {"username": "ada2"})

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert (problem["type"], problem["status"], problem["field"]) == (
        "/problems/conflict",
        409,
        "email",
    )
    assert accounts(app_db) == 1


def test_registering_as_admin_is_refused_and_creates_nothing(
    client: FlaskClient, app_db: Database
) -> None:
    response = client.post("/auth/register", json=NEW_USER | {"role": "admin"})

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["role"]
    assert accounts(app_db) == 0


def test_an_invalid_email_is_a_422_naming_the_field(client: FlaskClient) -> None:
    response = client.post("/auth/register", json=NEW_USER | {"email": "not an address"})

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["email"]


# --- login and logout ----------------------------------------------------------------------------


def test_login_gives_a_token_that_signs_requests_in(client: FlaskClient, alice: Caller) -> None:
    response = client.post("/auth/login", json={"login": alice.username, "password": PASSWORD})

    assert response.status_code == 200
    token = response.get_json()["access_token"]
    me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["id"] == alice.id


def test_a_wrong_password_is_a_401_problem(client: FlaskClient, alice: Caller) -> None:
    response = client.post("/auth/login", json={"login": alice.username, "password": "wrong!!!"})

    assert response.status_code == 401
    assert response.get_json()["type"] == "/problems/invalid_credentials"


def test_logout_revokes_the_token(client: FlaskClient, alice: Caller) -> None:
    assert client.post("/auth/logout", headers=alice.headers).status_code == 204

    response = client.get("/me", headers=alice.headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_no_token_and_a_made_up_token_are_401(client: FlaskClient) -> None:
    assert client.get("/me").status_code == 401
    assert client.get("/me", headers={"Authorization": "Bearer made-up"}).status_code == 401


def test_an_expired_token_is_refused(client: FlaskClient, app_db: Database) -> None:
    expired = sign_in(app_db, lifetime=dt.timedelta(seconds=-1))

    assert client.get("/me", headers=expired.headers).status_code == 401


def test_changing_the_password_revokes_every_token(client: FlaskClient, alice: Caller) -> None:
    response = client.put(
        "/me/password",
        json={"current_password": PASSWORD, "new_password": "another long one"},
        headers=alice.headers,
    )

    assert response.status_code == 204
    assert client.get("/me", headers=alice.headers).status_code == 401
    assert login(client, alice.username, "another long one") == 200


# --- throttling ---------------------------------------------------------------------------------


@pytest.fixture
def policy(app: Api) -> ThrottlePolicy:
    chosen: ThrottlePolicy = app.config["LOGIN_THROTTLE"]
    return chosen


def test_failed_logins_for_one_account_are_throttled(
    client: FlaskClient, alice: Caller, policy: ThrottlePolicy
) -> None:
    for attempt in range(policy.per_login):
        assert login(client, alice.username, "wrong!!!", f"10.0.0.{attempt}") == 401

    response = client.post("/auth/login", json={"login": alice.username, "password": PASSWORD})

    assert response.status_code == 429
    retry_after = response.headers["Retry-After"]
    assert 0 < int(retry_after) <= policy.window.total_seconds()
    window = round(policy.window.total_seconds())
    assert response.headers["RateLimit-Policy"] == f'"account";q={policy.per_login};w={window}'
    assert response.headers["RateLimit"] == f'"account";r=0;t={retry_after}'


def test_failed_logins_from_one_address_are_throttled(
    client: FlaskClient, alice: Caller, policy: ThrottlePolicy
) -> None:
    for attempt in range(policy.per_address):
        assert login(client, f"nobody{attempt}", "wrong!!!", "10.9.9.9") == 401

    response = client.post(
        "/auth/login",
        json={"login": alice.username, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert response.status_code == 429
    assert response.headers["RateLimit-Policy"].startswith(f'"address";q={policy.per_address};')
    assert response.headers["RateLimit"].startswith('"address";r=0;t=')
    assert login(client, alice.username, PASSWORD, "10.9.9.10") == 200


def test_a_success_clears_the_accounts_failures(
    client: FlaskClient, alice: Caller, policy: ThrottlePolicy
) -> None:
    for attempt in range(policy.per_login - 1):
        login(client, alice.username, "wrong!!!", f"10.1.0.{attempt}")
    assert login(client, alice.username, PASSWORD, "10.1.0.99") == 200

    for attempt in range(policy.per_login - 1):
        login(client, alice.username, "wrong!!!", f"10.2.0.{attempt}")

    assert login(client, alice.username, PASSWORD, "10.2.0.99") == 200


def test_successful_logins_never_use_up_their_addresss_limit(
    client: FlaskClient, alice: Caller, policy: ThrottlePolicy
) -> None:
    for _ in range(3 * policy.per_address):
        assert login(client, alice.username, PASSWORD, "10.3.0.1") == 200

    for attempt in range(policy.per_address):
        assert login(client, f"nobody{attempt}", "wrong!!!", "10.3.0.1") == 401
    assert login(client, alice.username, PASSWORD, "10.3.0.1") == 429


def test_a_login_renews_a_weak_hash(client: FlaskClient, app_db: Database) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with app_db.session_scope() as session:
        user = make_user(session, password_hash=weak)

    assert login(client, user.username, PASSWORD) == 200

    with app_db.session_scope(read_only=True) as session:
        assert session.get_one(User, user.id).password_hash != weak


# --- profile and roles -------------------------------------------------------------------------


def test_a_profile_is_set_and_read_back(client: FlaskClient, alice: Caller) -> None:
    assert client.get("/me/profile", headers=alice.headers).status_code == 404

    put = client.put("/me/profile", json={"bio": "Hello"}, headers=alice.headers)

    assert put.status_code == 200
    assert client.get("/me/profile", headers=alice.headers).get_json()["bio"] == "Hello"


def test_only_an_admin_changes_roles(
    client: FlaskClient, alice: Caller, bob: Caller, admin: Caller
) -> None:
    refused = client.put(f"/users/{bob.id}/role", json={"role": "admin"}, headers=alice.headers)
    granted = client.put(f"/users/{bob.id}/role", json={"role": "admin"}, headers=admin.headers)
    missing = client.put("/users/999999/role", json={"role": "admin"}, headers=admin.headers)

    assert refused.status_code == 403
    assert refused.get_json()["type"] == "/problems/forbidden"
    assert granted.status_code == 200
    assert granted.get_json()["role"] == "admin"
    assert missing.status_code == 404


def test_an_admin_reads_any_account_and_a_user_may_not(
    client: FlaskClient, alice: Caller, bob: Caller, admin: Caller
) -> None:
    assert client.get(f"/users/{bob.id}", headers=admin.headers).get_json()["id"] == bob.id
    assert client.get(f"/users/{bob.id}", headers=alice.headers).status_code == 403
    assert client.get("/users/999999", headers=admin.headers).status_code == 404


def test_a_disabled_account_can_no_longer_use_its_token(
    client: FlaskClient, alice: Caller, admin: Caller
) -> None:
    response = client.put(
        f"/users/{alice.id}/active", json={"active": False}, headers=admin.headers
    )

    assert response.get_json()["is_active"] is False
    assert client.get("/me", headers=alice.headers).status_code == 401
    client.put(f"/users/{alice.id}/active", json={"active": True}, headers=admin.headers)
    assert client.get("/me", headers=alice.headers).status_code == 200

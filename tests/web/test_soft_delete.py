"""DELETE is soft; ``POST …/restore`` puts posts and owners back; reads never show the deleted."""

from __future__ import annotations

from flask.testing import FlaskClient

from alchemy_patterns.db import Database
from tests.clinic.builders import make_owner, make_pet
from tests.web.conftest import Caller
from tests.web.test_social import post_of

#: ``If-Match: *``: the delete is for whatever version is current (these tests are not about races).
ANY_VERSION = {"If-Match": "*"}


def test_the_author_restores_their_deleted_post(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    post_id = post_of(app_db, alice)
    assert (
        client.delete(f"/posts/{post_id}", headers=alice.headers | ANY_VERSION).status_code == 204
    )

    hidden = client.get(f"/posts/{post_id}", headers=bob.headers)
    by_bob = client.post(f"/posts/{post_id}/restore", headers=bob.headers)
    restored = client.post(f"/posts/{post_id}/restore", headers=alice.headers)

    assert hidden.status_code == by_bob.status_code == 404
    assert (restored.status_code, restored.get_json()["id"]) == (200, post_id)
    assert client.get(f"/posts/{post_id}", headers=bob.headers).status_code == 200


def test_an_admin_restores_anyones_post(
    client: FlaskClient, app_db: Database, alice: Caller, admin: Caller
) -> None:
    post_id = post_of(app_db, alice)
    client.delete(f"/posts/{post_id}", headers=alice.headers | ANY_VERSION)

    response = client.post(f"/posts/{post_id}/restore", headers=admin.headers)

    assert response.status_code == 200
    listed = client.get(f"/users/{alice.id}/posts", headers=alice.headers).get_json()["items"]
    assert [post["id"] for post in listed] == [post_id]


def test_an_admin_restores_an_owner_with_their_pets(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        owner = make_owner(session)
        pet_id = make_pet(session, owner).id
    client.delete(f"/owners/{owner.id}", headers=admin.headers | ANY_VERSION)
    listed = client.get("/owners", headers=admin.headers).get_json()

    response = client.post(f"/owners/{owner.id}/restore", headers=admin.headers)

    assert (listed["total"], listed["items"]) == (0, [])
    assert (response.status_code, response.get_json()["id"]) == (200, owner.id)
    detail = client.get(f"/owners/{owner.id}", headers=admin.headers).get_json()
    assert [pet["id"] for pet in detail["pets"]] == [pet_id]


def test_restoring_an_owner_is_for_admins(
    client: FlaskClient, app_db: Database, alice: Caller, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        owner_id = make_owner(session).id
    client.delete(f"/owners/{owner_id}", headers=admin.headers | ANY_VERSION)

    response = client.post(f"/owners/{owner_id}/restore", headers=alice.headers)

    assert response.status_code == 403
    assert client.get(f"/owners/{owner_id}", headers=admin.headers).status_code == 404


def test_restoring_an_owner_whose_email_was_taken_since_is_a_409_naming_email(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        owner_id = make_owner(session, email="ada@example.com").id
    client.delete(f"/owners/{owner_id}", headers=admin.headers | ANY_VERSION)
    again = {"name": "Ada II", "email": "ada@example.com"}
    assert client.post("/owners", json=again, headers=admin.headers).status_code == 201

    response = client.post(f"/owners/{owner_id}/restore", headers=admin.headers)

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert (problem["type"], problem["field"]) == ("/problems/email_taken", "email")
    assert "ada@example.com" in problem["detail"]
    assert client.get(f"/owners/{owner_id}", headers=admin.headers).status_code == 404


def test_restoring_an_unknown_owner_or_post_is_404(
    client: FlaskClient, alice: Caller, admin: Caller
) -> None:
    assert client.post("/owners/424242/restore", headers=admin.headers).status_code == 404
    assert client.post("/posts/424242/restore", headers=alice.headers).status_code == 404

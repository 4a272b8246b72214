"""Bad requests get a 4xx problem+json saying what is wrong, never a 500."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.web.conftest import Caller

PROBLEM = "application/problem+json"


def test_malformed_json_is_a_400(client: FlaskClient) -> None:
    response = client.post(
        "/auth/register", data='{"username": "ada",', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.mimetype == PROBLEM


def test_a_body_that_is_not_json_is_a_415(client: FlaskClient) -> None:
    response = client.post("/auth/register", data="username=ada", content_type="text/plain")

    assert response.status_code == 415
    assert response.mimetype == PROBLEM


def test_a_megabyte_field_is_a_413(client: FlaskClient) -> None:
    response = client.put(
        "/me/profile", json={"bio": "x" * 1_000_000}, headers={"Authorization": "Bearer x"}
    )

    assert response.status_code == 413
    assert response.mimetype == PROBLEM


def test_a_json_array_instead_of_an_object_is_a_422(client: FlaskClient) -> None:
    response = client.post("/auth/register", json=["ada"])

    assert response.status_code == 422
    assert response.mimetype == PROBLEM


def test_an_unknown_path_is_a_404_problem(client: FlaskClient) -> None:
    response = client.get("/nowhere")

    assert response.status_code == 404
    assert response.get_json()["type"] == "/problems/not_found"


def test_a_wrong_method_is_a_405_that_says_what_is_allowed(client: FlaskClient) -> None:
    response = client.delete("/auth/login")

    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert response.mimetype == PROBLEM


def test_a_bad_path_parameter_is_a_404(client: FlaskClient, admin: Caller) -> None:
    response = client.put("/users/abc/role", json={"role": "user"}, headers=admin.headers)

    assert response.status_code == 404


def test_text_with_a_nul_character_is_a_422_naming_the_field(
    client: FlaskClient, alice: Caller
) -> None:
    response = client.put("/me/profile", json={"bio": "a\x00b"}, headers=alice.headers)

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["bio"]


def test_a_search_with_a_nul_character_is_a_422(client: FlaskClient) -> None:
    response = client.get("/products", query_string={"search": "a\x00b"})

    assert response.status_code == 422

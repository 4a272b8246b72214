"""Bad requests get a 4xx problem+json saying what is wrong, never a 500."""

from __future__ import annotations

import io
import json

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from alchemy_patterns.web.app import MAX_BODY_BYTES
from tests.web.conftest import Caller

PROBLEM = "application/problem+json"


def registration(size: int | None = None) -> bytes:
    """A valid registration body, padded with trailing whitespace to ``size`` bytes."""
    body = json.dumps(
        {"username": "ada", "email": "ada@example.com", "password": "correct horse battery"}
    ).encode()
    return body if size is None else body.ljust(size)


def post_chunked(client: FlaskClient, path: str, body: bytes) -> TestResponse:
    """``body`` as a server hands over a chunked one: no Content-Length, de-chunked, ended."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_malformed_json_is_a_400_naming_line_and_column(client: FlaskClient) -> None:
    response = client.post(
        "/auth/register", data='{"username": "ada",\n "email": }', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert response.get_json()["detail"] == (
        "the body is not valid JSON: Expecting value at line 2, column 11"
    )


def test_a_body_that_is_not_utf8_is_a_400_saying_so(client: FlaskClient) -> None:
    response = client.post(
        "/auth/register", data=b'{"username": "ad\xe9"}', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert response.get_json()["detail"].startswith("the body is not valid UTF-8:")
    assert "at byte 16" in response.get_json()["detail"]


def test_a_body_that_is_not_json_is_a_415(client: FlaskClient) -> None:
    response = client.post("/auth/register", data="username=ada", content_type="text/plain")

    assert response.status_code == 415
    assert response.mimetype == PROBLEM


def test_a_megabyte_field_is_a_413_naming_the_limit(client: FlaskClient) -> None:
    response = client.put(
        "/me/profile", json={"bio": "x" * 1_000_000}, headers={"Authorization": "Bearer x"}
    )

    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    assert (
        response.get_json()["detail"]
        == f"the body is larger than the limit of {MAX_BODY_BYTES} bytes"
    )


def test_a_5_mb_chunked_body_is_a_413_naming_the_limit(client: FlaskClient) -> None:
    response = post_chunked(client, "/auth/register", registration(5_000_000))

    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    assert (
        response.get_json()["detail"]
        == f"the body is larger than the limit of {MAX_BODY_BYTES} bytes"
    )


@pytest.mark.parametrize(
    ("size", "status"), [(1024, 201), (MAX_BODY_BYTES, 201), (MAX_BODY_BYTES + 1, 413)]
)
def test_a_chunked_body_is_served_up_to_the_limit_and_refused_past_it(
    client: FlaskClient, size: int, status: int
) -> None:
    response = post_chunked(client, "/auth/register", registration(size))

    assert response.status_code == status, response.get_json()


def test_malformed_chunked_json_is_a_400_naming_line_and_column(client: FlaskClient) -> None:
    response = post_chunked(client, "/auth/register", b'{"username":\n\n  "ada" "x"}')

    assert response.status_code == 400
    assert response.get_json()["detail"] == (
        "the body is not valid JSON: Expecting ',' delimiter at line 3, column 9"
    )


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

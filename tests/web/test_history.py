"""History over HTTP: a product's replaced versions, "as of", and revert (admins, If-Match)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from alchemy_patterns.db import Database
from tests.builders import make_product
from tests.web.conftest import Caller


def a_product(db: Database) -> int:
    with db.session_scope() as session:
        return make_product(session, price=Decimal("19.99"), stock=5).id


def body(response: TestResponse) -> Any:
    """The JSON body (a failing test if there is none)."""
    assert response.json is not None, response.get_data(as_text=True)
    return response.json


def reprice(client: FlaskClient, admin: Caller, product_id: int, price: str) -> str:
    tag = client.get(f"/products/{product_id}").headers["ETag"]
    changed = client.patch(
        f"/products/{product_id}",
        json={"price": price},
        headers={**admin.headers, "If-Match": tag},
    )
    assert changed.status_code == 200
    return changed.headers["ETag"]


def test_history_is_paged_newest_first_with_who_changed_it(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    product_id = a_product(app_db)
    for price in ("20.00", "20.01"):
        reprice(client, admin, product_id, price)

    first = client.get(f"/products/{product_id}/history?per_page=1")
    second = client.get(f"/products/{product_id}/history?per_page=1&page=2")

    assert first.status_code == 200
    [newest], [oldest] = body(first)["items"], body(second)["items"]
    assert (newest["version"], newest["price"], newest["changed_by"]) == (2, "20.00", admin.id)
    assert (oldest["version"], oldest["price"]) == (1, "19.99")
    assert body(first)["total"] == 2


def test_as_of_gives_the_product_as_it_was_and_404_before_it_existed(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    product_id = a_product(app_db)
    unchanged = body(client.get(f"/products/{product_id}/history"))
    reprice(client, admin, product_id, "24.57")
    [replaced] = body(client.get(f"/products/{product_id}/history"))["items"]
    changed_at = replaced["changed_at"]

    then = client.get(f"/products/{product_id}", query_string={"as_of": "2000-01-01T00:00:00Z"})
    now = client.get(f"/products/{product_id}", query_string={"as_of": "2999-01-01T00:00:00+02:00"})
    at_change = client.get(f"/products/{product_id}", query_string={"as_of": changed_at})

    assert unchanged["items"] == []
    assert then.status_code == 404
    assert body(now)["price"] == "24.57"
    assert "ETag" not in now.headers  # an answer "as of" is not a version to base a change on
    assert body(at_change)["price"] == "24.57"  # from the instant of the change, the new version


def test_a_naive_or_bad_as_of_is_422_naming_the_field(
    client: FlaskClient, app_db: Database
) -> None:
    product_id = a_product(app_db)

    for value in ("2026-12-01T09:00:00", "yesterday"):
        response = client.get(f"/products/{product_id}", query_string={"as_of": value})
        assert response.status_code == 422
        assert "as_of" in response.get_data(as_text=True)


def test_an_admin_reverts_to_the_cent_as_a_new_version(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    product_id = a_product(app_db)
    tag = reprice(client, admin, product_id, "24.57")

    without = client.post(
        f"/products/{product_id}/revert", json={"version": 1}, headers=admin.headers
    )
    stale = client.post(
        f"/products/{product_id}/revert",
        json={"version": 1},
        headers={**admin.headers, "If-Match": f'"{product_id}.1"'},
    )
    reverted = client.post(
        f"/products/{product_id}/revert",
        json={"version": 1},
        headers={**admin.headers, "If-Match": tag},
    )

    assert (without.status_code, stale.status_code, reverted.status_code) == (428, 412, 200)
    assert (body(reverted)["price"], body(reverted)["version"]) == ("19.99", 3)
    assert reverted.headers["ETag"] == f'"{product_id}.3"'
    versions = body(client.get(f"/products/{product_id}/history"))
    assert [(v["version"], v["price"]) for v in versions["items"]] == [(2, "24.57"), (1, "19.99")]


def test_reverting_is_for_admins_and_to_versions_that_exist(
    client: FlaskClient, app_db: Database, admin: Caller, alice: Caller
) -> None:
    product_id = a_product(app_db)
    tag = client.get(f"/products/{product_id}").headers["ETag"]

    anonymous = client.post(f"/products/{product_id}/revert", json={"version": 1})
    user = client.post(
        f"/products/{product_id}/revert",
        json={"version": 1},
        headers={**alice.headers, "If-Match": tag},
    )
    missing = client.post(
        f"/products/{product_id}/revert",
        json={"version": 9},
        headers={**admin.headers, "If-Match": tag},
    )

    assert (anonymous.status_code, user.status_code, missing.status_code) == (401, 403, 404)

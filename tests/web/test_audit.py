"""The audit trail over HTTP: admins read it, and every record names the caller who acted."""

from __future__ import annotations

from flask.testing import FlaskClient

from alchemy_patterns.db import Database
from tests.builders import make_product
from tests.web.conftest import Caller, queries


def test_a_change_made_through_the_api_is_recorded_with_its_author(
    client: FlaskClient, admin: Caller
) -> None:
    created = client.post(
        "/products",
        json={"sku": "AUD-1", "name": "Audited", "price": "1.00"},
        headers=admin.headers,
    ).get_json()

    response = client.get(
        f"/audit?entity=products&entity_id={created['id']}", headers=admin.headers
    )

    assert response.status_code == 200
    [record] = response.get_json()["items"]
    assert (record["action"], record["actor_id"]) == ("insert", admin.id)
    assert {"field": "sku", "old_value": None, "new_value": "AUD-1"} in record["details"]


def test_only_admins_read_the_trail(client: FlaskClient, alice: Caller) -> None:
    assert client.get("/audit").status_code == 401
    assert client.get("/audit", headers=alice.headers).status_code == 403


def test_the_trail_costs_the_same_statements_for_1_record_and_for_50(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        make_product(session)
    one = client.get("/audit?entity=products&per_page=100", headers=admin.headers)
    with app_db.session_scope() as session:
        for _ in range(49):
            make_product(session)

    fifty = client.get("/audit?entity=products&per_page=100", headers=admin.headers)

    assert len(fifty.get_json()["items"]) == 50
    assert queries(one) == queries(fifty)

"""Offset pages over HTTP: counted by default, uncounted with ``count=false`` for deep pages.

Shown on the catalogue (public, so no sign-in statement muddles the counts);
every offset list takes the same query and answers the same shape.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from alchemy_patterns.db import Database
from tests.builders import make_product
from tests.web.conftest import Caller, queries


def products(db: Database, count: int) -> None:
    with db.session_scope() as session:
        for _ in range(count):
            make_product(session)


def page_of(client: FlaskClient, path: str, **query: object) -> tuple[dict[str, Any], int]:
    response = client.get(path, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), queries(response)


def query_of(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


def test_an_uncounted_page_runs_one_statement_fewer_and_has_no_total_and_no_last_link(
    client: FlaskClient, app_db: Database
) -> None:
    products(app_db, 5)

    counted, with_count = page_of(client, "/products", per_page=2, page=2)
    uncounted, without = page_of(client, "/products", per_page=2, page=2, count="false")

    assert without == with_count - 1
    assert uncounted["items"] == counted["items"]
    assert (uncounted["total"], uncounted["pages"]) == (None, None)
    assert "last" not in uncounted["links"]
    assert query_of(uncounted["links"]["next"]) == {
        "per_page": ["2"],
        "page": ["3"],
        "count": ["false"],
    }
    assert (counted["total"], query_of(counted["links"]["last"])["page"]) == (5, ["3"])


@pytest.mark.parametrize(("rows", "last"), [(5, 3), (6, 3)])
def test_an_uncounted_list_links_to_a_next_page_up_to_the_last_one(
    client: FlaskClient, app_db: Database, rows: int, last: int
) -> None:
    """A short last page and an exactly full one: neither links on, the page before does."""
    products(app_db, rows)

    before_last, _ = page_of(client, "/products", per_page=2, page=last - 1, count="false")
    final, _ = page_of(client, "/products", per_page=2, page=last, count="false")

    assert query_of(before_last["links"]["next"])["page"] == [str(last)]
    assert len(final["items"]) == rows - 2 * (last - 1)
    assert final["links"]["next"] is None
    assert query_of(final["links"]["prev"])["page"] == [str(last - 1)]


def test_a_signed_in_list_takes_count_false_too(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    response = client.get("/vets?count=false", headers=alice.headers)

    assert response.status_code == 200
    assert (response.get_json()["total"], response.get_json()["links"]["next"]) == (None, None)


def test_the_count_parameter_is_documented(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()

    parameters = document["paths"]["/products"]["get"]["parameters"]
    [count] = [parameter for parameter in parameters if parameter["name"] == "count"]
    assert count["schema"]["type"] == "boolean"
    assert "links.last" in count["description"]

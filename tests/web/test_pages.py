"""Offset pages over HTTP: counted by default, uncounted with ``count=false`` or estimated
with ``count=estimate``, and walked deep by cursor instead of page numbers.

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
    response = client.get(path, query_string=query or None)
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


def test_the_count_and_cursor_parameters_are_documented_on_every_offset_list(
    client: FlaskClient,
) -> None:
    document = client.get("/openapi.json").get_json()
    checked = []

    for path, operations in document["paths"].items():
        get = operations.get("get", {})
        page = str(get.get("responses", {}).get("200"))
        if "Page'" not in page or "CursorPage'" in page or "RosterPage'" in page:
            continue
        parameters = {parameter["name"]: parameter for parameter in get["parameters"]}
        assert {"page", "per_page", "count", "cursor"} <= set(parameters), path
        schemas = parameters["count"]["schema"]["anyOf"]
        assert {"type": "boolean"} in schemas
        assert {"const": "estimate", "type": "string"} in schemas
        assert "estimate" in parameters["count"]["description"], path
        assert "next_cursor" in parameters["cursor"]["description"], path
        checked.append(path)

    assert "/products" in checked
    assert len(checked) >= 12


def test_a_list_walked_by_cursor_gives_every_row_once_in_order_while_rows_are_added(
    client: FlaskClient, app_db: Database
) -> None:
    with app_db.session_scope() as session:
        for number in range(0, 40, 2):
            make_product(session, name=f"P{number:02}")
    before = [f"P{number:02}" for number in range(0, 40, 2)]
    page, _ = page_of(client, "/products", per_page=3)
    seen = [item["name"] for item in page["items"]]
    added = iter(range(1, 40, 2))

    while page["next_cursor"] is not None:
        with app_db.session_scope() as session:  # one row before the cursor, one after it
            make_product(session, name=f"P{next(added):02}")
            make_product(session, name=f"Q{next(added):02}")
        page, _ = page_of(client, "/products", per_page=3, cursor=page["next_cursor"])
        seen += [item["name"] for item in page["items"]]

    assert [name for name in seen if name in before] == before  # each once, in order
    assert seen == sorted(set(seen))  # nothing twice, nothing out of order
    assert any(name.startswith("Q") for name in seen)  # rows added ahead were read


def test_a_page_read_by_cursor_links_on_by_cursor_and_back_to_page_one(
    client: FlaskClient, app_db: Database
) -> None:
    products(app_db, 7)
    first, _ = page_of(client, "/products", per_page=3, count="false")

    second, statements = page_of(
        client, "/products", per_page=3, count="false", cursor=first["next_cursor"]
    )

    assert statements == 1  # the page: no OFFSET, no count
    assert (second["page"], second["total"], second["links"]["prev"]) == (None, None, None)
    assert query_of(second["links"]["self"])["cursor"] == [first["next_cursor"]]
    assert query_of(second["links"]["first"]) == {
        "per_page": ["3"],
        "count": ["false"],
        "page": ["1"],
    }
    assert query_of(second["links"]["next"]) == {
        "per_page": ["3"],
        "count": ["false"],
        "cursor": [second["next_cursor"]],
    }
    third, _ = page_of(client, second["links"]["next"])
    assert (len(third["items"]), third["next_cursor"], third["links"]["next"]) == (1, None, None)


def test_a_cursor_pages_links_keep_the_other_parameters_wherever_the_cursor_stood(
    client: FlaskClient, app_db: Database
) -> None:
    products(app_db, 5)
    first, _ = page_of(client, "/products", per_page=2)

    second, _ = page_of(client, f"/products?cursor={first['next_cursor']}&per_page=2")

    assert second["links"]["self"] == f"/products?cursor={first['next_cursor']}&per_page=2"
    assert second["links"]["next"] == f"/products?cursor={second['next_cursor']}&per_page=2"
    assert second["links"]["first"] == "/products?per_page=2&page=1"


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "WyJQIiwgIm9uZSJd",  # ["P", "one"]: text where the id goes
        "WyJQIl0",  # ["P"]: one value where the order has two
        "WzEsIDJd",  # [1, 2]: a number where the name goes
    ],
)
def test_a_cursor_changed_by_hand_is_a_422_on_cursor(
    client: FlaskClient, app_db: Database, cursor: str
) -> None:
    products(app_db, 3)

    response = client.get("/products", query_string={"cursor": cursor})

    assert response.status_code == 422
    assert response.get_json()["field"] == "cursor"


def test_a_cursor_with_a_page_number_is_a_422_on_cursor(
    client: FlaskClient, app_db: Database
) -> None:
    products(app_db, 5)
    first, _ = page_of(client, "/products", per_page=2)

    response = client.get("/products", query_string={"page": 2, "cursor": first["next_cursor"]})

    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"][0]["field"] == "cursor"
    assert "not both" in problem["errors"][0]["message"]


def test_count_estimate_on_a_short_list_is_the_exact_total(
    client: FlaskClient, app_db: Database
) -> None:
    products(app_db, 5)

    page, _ = page_of(client, "/products", per_page=2, count="estimate")

    assert (page["total"], page["pages"], page["total_is_estimate"]) == (5, 3, False)
    assert query_of(page["links"]["next"])["count"] == ["estimate"]


def test_every_page_says_whether_its_total_is_an_estimate(
    client: FlaskClient, app_db: Database
) -> None:
    products(app_db, 3)

    counted, _ = page_of(client, "/products")
    uncounted, _ = page_of(client, "/products", count="false")

    assert (counted["total_is_estimate"], uncounted["total_is_estimate"]) == (False, False)

"""The catalogue filtered and sorted: each filter, each sort, their 422s, with cursor pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient

from alchemy_patterns.db import Database
from tests.builders import make_product
from tests.web.conftest import queries

#: (name, price, stock) of the catalogue every test reads.
CATALOGUE = [
    ("Apple juice", "3.50", 10),
    ("Apricot jam", "4.00", 0),
    ("Banana bread", "4.00", 5),
    ("Black tea", "2.25", 0),
    ("Cherry pie", "12.00", 1),
    ("Coffee beans", "9.75", 30),
]


@pytest.fixture
def catalogue(app_db: Database) -> None:
    with app_db.session_scope() as session:
        for name, price, stock in CATALOGUE:
            make_product(session, name=name, price=Decimal(price), stock=stock)


def names(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"/products?per_page=100&{query}")
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def walk(client: FlaskClient, query: str) -> list[dict[str, Any]]:
    """Every item of the list, two a page, by cursor."""
    page = client.get(f"/products?per_page=2&{query}").get_json()
    items = page["items"]
    while page["next_cursor"]:
        response = client.get(f"/products?per_page=2&{query}&cursor={page['next_cursor']}")
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        items += page["items"]
    return items


@pytest.mark.usefixtures("catalogue")
def test_the_catalogue_is_by_name_unless_sorted(client: FlaskClient) -> None:
    assert names(client, "") == sorted(name for name, _, _ in CATALOGUE)


@pytest.mark.usefixtures("catalogue")
def test_sort_by_price_descending_then_name(client: FlaskClient) -> None:
    by_price = sorted(CATALOGUE, key=lambda product: (-Decimal(product[1]), product[0]))

    assert names(client, "sort=-price,name") == [name for name, _, _ in by_price]
    assert names(client, "sort=-price,name")[:2] == ["Cherry pie", "Coffee beans"]


@pytest.mark.usefixtures("catalogue")
def test_sort_by_price_ties_are_broken_by_id(client: FlaskClient) -> None:
    assert names(client, "sort=price")[2:4] == ["Apricot jam", "Banana bread"]  # made in that order


@pytest.mark.usefixtures("catalogue")
def test_a_price_range_keeps_the_bounds(client: FlaskClient) -> None:
    in_range = ["Apricot jam", "Banana bread", "Coffee beans"]  # 4.00, 4.00 and 9.75

    assert names(client, "min_price=4.00&max_price=9.75") == in_range
    assert names(client, "min_price=10") == ["Cherry pie"]
    assert names(client, "max_price=2.25") == ["Black tea"]


@pytest.mark.usefixtures("catalogue")
def test_in_stock_keeps_or_leaves_out_the_sold_out(client: FlaskClient) -> None:
    assert names(client, "in_stock=false") == ["Apricot jam", "Black tea"]
    assert "Apricot jam" not in names(client, "in_stock=true")
    assert len(names(client, "in_stock=true")) == 4


@pytest.mark.usefixtures("catalogue")
def test_name_is_a_prefix_in_any_case(client: FlaskClient) -> None:
    assert names(client, "name=ap") == ["Apple juice", "Apricot jam"]
    assert names(client, "name=juice") == []


@pytest.mark.usefixtures("catalogue")
def test_filters_and_sort_compose_with_cursor_pages(client: FlaskClient) -> None:
    query = "in_stock=true&min_price=3&sort=-price,name"

    walked = [item["name"] for item in walk(client, query)]

    assert (
        walked
        == names(client, query)
        == ["Cherry pie", "Coffee beans", "Banana bread", "Apple juice"]
    )


@pytest.mark.usefixtures("catalogue")
def test_filters_and_sort_compose_with_numbered_pages(client: FlaskClient) -> None:
    page = client.get("/products?per_page=2&page=2&sort=price&in_stock=true").get_json()

    assert page["total"] == 4
    assert [item["name"] for item in page["items"]] == ["Coffee beans", "Cherry pie"]


@pytest.mark.usefixtures("catalogue")
def test_a_filtered_sorted_page_costs_the_statements_of_a_plain_one(client: FlaskClient) -> None:
    plain = client.get("/products?per_page=2")
    chosen = client.get("/products?per_page=2&sort=-price&min_price=1&in_stock=true&name=c")

    assert queries(chosen) == queries(plain)


@pytest.mark.parametrize("sort", ["colour", "-price,stock", "name,-sku"])
def test_an_unknown_sort_field_is_a_422_naming_it(client: FlaskClient, sort: str) -> None:
    response = client.get(f"/products?sort={sort}")

    assert response.status_code == 422
    problem = response.get_json()
    assert problem["field"] == "sort"
    unknown = next(
        part.lstrip("-") for part in sort.split(",") if part.lstrip("-") not in ("name", "price")
    )
    assert repr(unknown) in problem["detail"]
    assert "name, price" in problem["detail"]


@pytest.mark.parametrize(
    "query",
    ["sort=", "sort=price,,name", "sort=PRICE", "min_price=-1", "in_stock=maybe", "max_price=abc"],
)
def test_a_malformed_filter_or_sort_is_a_422(client: FlaskClient, query: str) -> None:
    response = client.get(f"/products?{query}")

    assert response.status_code == 422
    field = query.split("=")[0]
    assert field in [error["field"] for error in response.get_json()["errors"]]

"""A user's orders filtered by status and date and sorted, with cursor pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient

from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.shop.models import OrderStatus
from tests.builders import make_order, make_product
from tests.web.conftest import Caller, queries

#: (total, status, UTC day placed) of alice's orders, in the order they are made.
HISTORY = [
    ("5.00", OrderStatus.PLACED, dt.date(2026, 3, 1)),
    ("1.00", OrderStatus.SHIPPED, dt.date(2026, 3, 2)),
    ("3.00", OrderStatus.PLACED, dt.date(2026, 3, 3)),
    ("2.00", OrderStatus.CANCELLED, dt.date(2026, 3, 3)),
]


@pytest.fixture
def history(app_db: Database, alice: Caller, bob: Caller) -> list[int]:
    """Alice's orders' ids, as made; bob has one order too (never listed to alice)."""
    ids = []
    with app_db.session_scope() as session:
        buyer = session.get_one(User, alice.id)
        for total, status, day in HISTORY:
            product = make_product(session, price=Decimal(total))
            order = make_order(session, buyer, [(product, 1)])
            order.status = status
            order.created_at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
            ids.append(order.id)
        make_order(session, session.get_one(User, bob.id), [(make_product(session), 1)])
    return ids


def totals(client: FlaskClient, caller: Caller, query: str) -> list[str]:
    response = client.get(f"/orders?per_page=100&{query}", headers=caller.headers)
    assert response.status_code == 200, response.get_json()
    return [order["total"] for order in response.get_json()["items"]]


def walk(client: FlaskClient, caller: Caller, query: str) -> list[dict[str, Any]]:
    """Every order of the list, one a page, by cursor."""
    page = client.get(f"/orders?per_page=1&{query}", headers=caller.headers).get_json()
    orders = page["items"]
    while page["next_cursor"]:
        url = f"/orders?per_page=1&{query}&cursor={page['next_cursor']}"
        page = client.get(url, headers=caller.headers).get_json()
        orders += page["items"]
    return orders


@pytest.mark.usefixtures("history")
def test_orders_are_newest_first_unless_sorted(client: FlaskClient, alice: Caller) -> None:
    assert totals(client, alice, "") == ["2.00", "3.00", "1.00", "5.00"]


@pytest.mark.usefixtures("history")
def test_orders_sorted_by_total_and_by_date(client: FlaskClient, alice: Caller) -> None:
    assert totals(client, alice, "sort=-total") == ["5.00", "3.00", "2.00", "1.00"]
    assert totals(client, alice, "sort=created_at") == ["5.00", "1.00", "3.00", "2.00"]


@pytest.mark.usefixtures("history")
def test_orders_filtered_by_status(client: FlaskClient, alice: Caller) -> None:
    assert totals(client, alice, "status=placed&sort=total") == ["3.00", "5.00"]
    assert totals(client, alice, "status=paid") == []


@pytest.mark.usefixtures("history")
def test_orders_filtered_by_days_placed_both_included(client: FlaskClient, alice: Caller) -> None:
    assert totals(client, alice, "placed_from=2026-03-02&placed_to=2026-03-03&sort=total") == [
        "1.00",
        "2.00",
        "3.00",
    ]
    assert totals(client, alice, "placed_to=2026-03-01") == ["5.00"]
    assert totals(client, alice, "placed_from=2026-03-04") == []


@pytest.mark.usefixtures("history")
def test_order_filters_and_sort_compose_with_cursor_pages(
    client: FlaskClient, alice: Caller
) -> None:
    query = "placed_from=2026-03-02&sort=-created_at,-total"

    walked = [order["total"] for order in walk(client, alice, query)]

    assert walked == totals(client, alice, query) == ["3.00", "2.00", "1.00"]


@pytest.mark.usefixtures("history")
def test_a_filtered_sorted_order_page_costs_the_statements_of_a_plain_one(
    client: FlaskClient, alice: Caller
) -> None:
    plain = client.get("/orders?per_page=2", headers=alice.headers)
    chosen = client.get(
        "/orders?per_page=2&sort=-total&status=placed&placed_from=2026-03-01", headers=alice.headers
    )

    assert queries(chosen) == queries(plain)


@pytest.mark.parametrize("sort", ["status", "-total,id"])
def test_an_unknown_order_sort_field_is_a_422_naming_it(
    client: FlaskClient, alice: Caller, sort: str
) -> None:
    response = client.get(f"/orders?sort={sort}", headers=alice.headers)
    problem = response.get_json()

    assert (response.status_code, problem["field"]) == (422, "sort")
    assert "created_at, total" in problem["detail"]
    assert repr(sort.split(",")[-1]) in problem["detail"]


@pytest.mark.parametrize("query", ["status=lost", "placed_from=yesterday", "sort=-"])
def test_a_malformed_order_filter_is_a_422(client: FlaskClient, alice: Caller, query: str) -> None:
    response = client.get(f"/orders?{query}", headers=alice.headers)

    assert response.status_code == 422
    assert query.split("=")[0] in [error["field"] for error in response.get_json()["errors"]]

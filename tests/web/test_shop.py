"""The shop over HTTP: catalogue, cart, checkout with an idempotency key, orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.shop.models import Cart, CartItem, Order, Product
from alchemy_patterns.web.app import Api
from tests.builders import make_order, make_product
from tests.threads import race
from tests.web.conftest import Caller, queries

NEW_PRODUCT = {"sku": "TEA-1", "name": "Green tea", "price": "4.50", "stock": 10}


def products(db: Database, **overrides: object) -> list[int]:
    with db.session_scope() as session:
        return [make_product(session, **overrides).id for _ in range(3)]


def fill_cart(db: Database, caller: Caller, lines: list[tuple[int, int]]) -> None:
    with db.session_scope() as session:
        cart_id = session.scalars(select(Cart.id).where(Cart.user_id == caller.id)).one()
        session.add_all(
            CartItem(cart_id=cart_id, product_id=product_id, quantity=quantity)
            for product_id, quantity in lines
        )


def snapshot(db: Database) -> tuple[list[int], int, int]:
    """Stock of every product, cart lines, orders: what a failed checkout must not change."""
    with db.session_scope() as session:
        stock = list(session.scalars(select(Product.stock).order_by(Product.id)))
        lines = session.scalar(select(func.count()).select_from(CartItem)) or 0
        orders = session.scalar(select(func.count()).select_from(Order)) or 0
    return stock, lines, orders


# --- catalogue --------------------------------------------------------------------------------


def test_products_are_listed_a_page_at_a_time_with_links(
    client: FlaskClient, app_db: Database
) -> None:
    products(app_db)

    response = client.get("/products?per_page=2")

    assert response.status_code == 200
    page = response.get_json()
    assert (len(page["items"]), page["total"], page["pages"]) == (2, 3, 2)
    assert page["links"]["next"] == "/products?per_page=2&page=2"
    assert page["links"]["prev"] is None
    assert client.get(page["links"]["next"]).get_json()["items"][0]["sku"]


@pytest.mark.parametrize("per_page", ["10000", "0", "abc"])
def test_a_page_size_out_of_range_is_a_422_not_a_silent_cap(
    client: FlaskClient, per_page: str
) -> None:
    response = client.get(f"/products?per_page={per_page}")

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["per_page"]


def test_an_unknown_query_parameter_is_a_422(client: FlaskClient) -> None:
    assert client.get("/products?colour=red").status_code == 422


def test_an_admin_adds_a_product(client: FlaskClient, admin: Caller) -> None:
    response = client.post("/products", json=NEW_PRODUCT, headers=admin.headers)

    assert response.status_code == 201
    product = response.get_json()
    assert response.headers["Location"] == f"/products/{product['id']}"
    assert (product["price"], product["stock"]) == ("4.50", 10)
    assert client.get(response.headers["Location"]).status_code == 200


def test_a_user_may_not_add_products(client: FlaskClient, alice: Caller) -> None:
    assert client.post("/products", json=NEW_PRODUCT, headers=alice.headers).status_code == 403
    assert client.post("/products", json=NEW_PRODUCT).status_code == 401


def test_a_taken_sku_is_a_409_naming_it(client: FlaskClient, admin: Caller) -> None:
    client.post("/products", json=NEW_PRODUCT, headers=admin.headers)

    response = client.post("/products", json=NEW_PRODUCT, headers=admin.headers)

    assert response.status_code == 409
    assert response.get_json()["field"] == "sku"


def test_a_negative_price_is_a_422_naming_it(client: FlaskClient, admin: Caller) -> None:
    response = client.post("/products", json=NEW_PRODUCT | {"price": "-1"}, headers=admin.headers)

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["price"]


def test_an_unknown_product_is_a_404(client: FlaskClient) -> None:
    assert client.get("/products/999999").status_code == 404


def test_admins_restock_and_reprice(client: FlaskClient, app_db: Database, admin: Caller) -> None:
    first, *_ = products(app_db, price=Decimal("10.00"), stock=1)

    restocked = client.post(
        f"/products/{first}/restock", json={"quantity": 4}, headers=admin.headers
    )
    repriced = client.post("/products/reprice", json={"percent": "10"}, headers=admin.headers)

    assert restocked.get_json()["stock"] == 5
    assert repriced.get_json() == {"repriced": 3}
    assert client.get(f"/products/{first}").get_json()["price"] == "11.00"


# --- cart -------------------------------------------------------------------------------------


def test_adding_twice_adds_up_and_the_cart_shows_the_total(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    first, second, _ = products(app_db, price=Decimal("0.10"))

    client.post("/cart/items", json={"product_id": first, "quantity": 2}, headers=alice.headers)
    added = client.post("/cart/items", json={"product_id": first}, headers=alice.headers)
    client.post("/cart/items", json={"product_id": second}, headers=alice.headers)

    assert added.get_json() == {"product_id": first, "quantity": 3}
    cart = client.get("/cart", headers=alice.headers).get_json()
    assert [(line["product_id"], line["quantity"]) for line in cart["items"]] == [
        (first, 3),
        (second, 1),
    ]
    assert cart["total"] == "0.40"


def test_a_cart_line_is_set_and_removed(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    first, *_ = products(app_db)
    fill_cart(app_db, alice, [(first, 1)])

    assert client.put(
        f"/cart/items/{first}", json={"quantity": 7}, headers=alice.headers
    ).get_json() == {"product_id": first, "quantity": 7}
    assert client.delete(f"/cart/items/{first}", headers=alice.headers).status_code == 204
    assert client.delete(f"/cart/items/{first}", headers=alice.headers).status_code == 404
    assert client.get("/cart", headers=alice.headers).get_json()["items"] == []


def test_each_user_sees_and_changes_only_their_own_cart(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    first, *_ = products(app_db)
    fill_cart(app_db, alice, [(first, 2)])

    assert client.get("/cart", headers=bob.headers).get_json()["items"] == []
    assert client.delete(f"/cart/items/{first}", headers=bob.headers).status_code == 404
    assert client.delete("/cart", headers=bob.headers).status_code == 204
    assert len(client.get("/cart", headers=alice.headers).get_json()["items"]) == 1


def test_adding_an_unknown_product_is_a_404(client: FlaskClient, alice: Caller) -> None:
    response = client.post("/cart/items", json={"product_id": 999999}, headers=alice.headers)

    assert response.status_code == 404


def test_the_cart_costs_the_same_statements_for_1_line_and_for_50(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    with app_db.session_scope() as session:
        ids = [make_product(session).id for _ in range(50)]
    fill_cart(app_db, alice, [(ids[0], 1)])
    fill_cart(app_db, bob, [(i, 1) for i in ids])

    one = client.get("/cart", headers=alice.headers)
    fifty = client.get("/cart", headers=bob.headers)

    assert len(fifty.get_json()["items"]) == 50
    assert queries(one) == queries(fifty) <= 2


# --- checkout ---------------------------------------------------------------------------------


def test_checkout_places_the_order(client: FlaskClient, app_db: Database, alice: Caller) -> None:
    first, second, _ = products(app_db, price=Decimal("2.50"))
    fill_cart(app_db, alice, [(first, 2), (second, 1)])

    response = client.post("/checkout", headers=alice.headers)

    assert response.status_code == 201
    order = response.get_json()
    assert response.headers["Location"] == f"/orders/{order['id']}"
    assert order["total"] == "7.50"
    assert client.get("/cart", headers=alice.headers).get_json()["items"] == []


def test_a_checkout_short_on_its_third_line_changes_nothing(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    with app_db.session_scope() as session:
        ids = [make_product(session, stock=stock).id for stock in (5, 5, 1)]
    fill_cart(app_db, alice, [(ids[0], 2), (ids[1], 2), (ids[2], 3)])
    before = snapshot(app_db)

    response = client.post("/checkout", headers=alice.headers)

    assert response.status_code == 409
    problem = response.get_json()
    assert problem["type"] == "/problems/out_of_stock"
    assert [(s["product_id"], s["requested"], s["available"]) for s in problem["shortages"]] == [
        (ids[2], 3, 1)
    ]
    assert snapshot(app_db) == before


def test_checking_out_an_empty_cart_is_a_422(client: FlaskClient, alice: Caller) -> None:
    response = client.post("/checkout", headers=alice.headers)

    assert response.status_code == 422
    assert response.get_json()["type"] == "/problems/empty_cart"


def test_a_retried_checkout_with_the_same_key_returns_the_first_order(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    first, *_ = products(app_db)
    fill_cart(app_db, alice, [(first, 1)])
    headers = alice.headers | {"Idempotency-Key": "retry-1"}

    placed = client.post("/checkout", headers=headers)
    retried = client.post("/checkout", headers=headers)

    assert (placed.status_code, retried.status_code) == (201, 200)
    assert retried.get_json()["id"] == placed.get_json()["id"]
    assert snapshot(app_db)[2] == 1


def test_a_new_key_is_a_new_checkout(client: FlaskClient, app_db: Database, alice: Caller) -> None:
    first, *_ = products(app_db)
    fill_cart(app_db, alice, [(first, 1)])
    client.post("/checkout", headers=alice.headers | {"Idempotency-Key": "one"})

    response = client.post("/checkout", headers=alice.headers | {"Idempotency-Key": "two"})

    assert response.status_code == 422  # the cart is empty now: a new checkout was attempted


def test_two_checkouts_with_one_key_at_the_same_time_make_one_order(
    app: Api, app_db: Database, alice: Caller
) -> None:
    first, *_ = products(app_db)
    fill_cart(app_db, alice, [(first, 1)])
    headers = alice.headers | {"Idempotency-Key": "double-click"}

    outcomes = race(4, lambda _: app.test_client().post("/checkout", headers=headers))

    statuses = sorted(outcome.status_code for outcome in outcomes)  # type: ignore[union-attr]
    assert statuses == [200, 200, 200, 201]
    assert len({outcome.get_json()["id"] for outcome in outcomes}) == 1  # type: ignore[union-attr]
    assert snapshot(app_db)[2] == 1


# --- orders -----------------------------------------------------------------------------------


def test_another_users_order_is_a_404(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    with app_db.session_scope() as session:
        product = make_product(session)
        order_id = make_order(session, session.get_one(User, alice.id), [(product, 1)]).id

    assert client.get(f"/orders/{order_id}", headers=alice.headers).status_code == 200
    assert client.get(f"/orders/{order_id}", headers=bob.headers).status_code == 404


def test_order_history_costs_the_same_statements_for_1_order_and_for_50(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    with app_db.session_scope() as session:
        product = make_product(session)
        make_order(session, session.get_one(User, alice.id), [(product, 1)])
        buyer = session.get_one(User, bob.id)
        for _ in range(50):
            make_order(session, buyer, [(product, 2)])

    one = client.get("/orders?per_page=100", headers=alice.headers)
    fifty = client.get("/orders?per_page=100", headers=bob.headers)

    assert len(fifty.get_json()["items"]) == 50
    assert queries(one) == queries(fifty) <= 4

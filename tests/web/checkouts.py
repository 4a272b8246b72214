"""A buyer with a cart, and a client that checks out with an ``Idempotency-Key``."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from alchemy_patterns.db import Database
from alchemy_patterns.domains.shop.models import Cart, CartItem, Order, Product
from tests.builders import make_product
from tests.web.conftest import Caller, sign_in

#: The product's stock and the quantity bought: stock that moved twice would show.
STOCK, QUANTITY = 5, 2
KEY = "order-1"


def buyer(db: Database) -> tuple[Caller, int]:
    """A signed-in user with ``QUANTITY`` of a product in the cart; the product's id."""
    caller = sign_in(db)
    with db.session_scope() as session:
        product = make_product(session, stock=STOCK)
        cart_id = session.scalars(select(Cart.id).where(Cart.user_id == caller.id)).one()
        session.add(CartItem(cart_id=cart_id, product_id=product.id, quantity=QUANTITY))
    return caller, product.id


def checkout(client: FlaskClient, caller: Caller) -> TestResponse:
    return client.post("/checkout", headers=caller.headers | {"Idempotency-Key": KEY})


def checkout_until_answered(
    client: FlaskClient, caller: Caller, first: TestResponse
) -> list[TestResponse]:
    """What a client sees that retries with the same key while it is told 503 (three at most)."""
    responses = [first]
    while responses[-1].status_code == 503 and len(responses) < 3:
        responses.append(checkout(client, caller))
    return responses


def orders_and_stock(db: Database, caller: Caller, product_id: int) -> tuple[list[int], int]:
    with db.session_scope() as session:
        orders = list(session.scalars(select(Order.id).where(Order.user_id == caller.id)))
        return orders, session.get_one(Product, product_id).stock

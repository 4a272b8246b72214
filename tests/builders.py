"""Small builders for the application's tests: ``make_user(session, **overrides)``.

They insert rows directly, with a password hash computed once, so a test that
needs thirty users does not spend seconds in Argon2. Services that hash are
tested through the services themselves.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alchemy_patterns.domains.accounts.models import Role, User
from alchemy_patterns.domains.accounts.passwords import hash_password
from alchemy_patterns.domains.shop.models import Cart, CartItem, Order, OrderItem, Product

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def make_user(session: Session, *, with_cart: bool = True, **overrides: Any) -> User:
    """A flushed user (with an empty cart unless ``with_cart=False``)."""
    number = next(_numbers)
    values: dict[str, Any] = {
        "username": f"user{number}",
        "email": f"user{number}@example.com",
        "password_hash": password_hash(),
        "role": Role.USER,
    }
    user = User(**(values | overrides))
    session.add(user)
    session.flush()
    if with_cart:
        session.add(Cart(user_id=user.id))
        session.flush()
    return user


def make_product(session: Session, **overrides: Any) -> Product:
    number = next(_numbers)
    values: dict[str, Any] = {
        "sku": f"SKU-{number:05d}",
        "name": f"Product {number}",
        "price": Decimal("9.99"),
        "stock": 100,
    }
    product = Product(**(values | overrides))
    session.add(product)
    session.flush()
    return product


def put_in_cart(session: Session, user: User, product: Product, quantity: int = 1) -> CartItem:
    """A cart line written directly (the service under test may be ``add_to_cart`` itself)."""
    cart_id = session.scalar(select(Cart.id).where(Cart.user_id == user.id))
    item = CartItem(cart_id=cart_id, product_id=product.id, quantity=quantity)
    session.add(item)
    session.flush()
    return item


def make_order(session: Session, user: User, lines: list[tuple[Product, int]]) -> Order:
    """A flushed order written directly, with consistent snapshots (no service, no SELECT)."""
    items = [
        OrderItem(
            product_id=product.id,
            quantity=quantity,
            price_at_purchase=product.price,
            subtotal=product.price * quantity,
        )
        for product, quantity in lines
    ]
    order = Order(
        user_id=user.id,
        total=sum((item.subtotal for item in items), Decimal("0.00")),
        items=items,
    )
    session.add(order)
    session.flush()
    return order

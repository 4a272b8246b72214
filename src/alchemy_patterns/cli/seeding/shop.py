"""The shop: a catalogue, a cart per user (some with lines), and past orders.

An order's lines snapshot the product's price, each line's subtotal is its
quantity times that price, and the order's total is the sum of its lines:
the same rules the checkout follows, and the CHECK constraints hold them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select

from alchemy_patterns.cli.seeding.context import Seeding
from alchemy_patterns.cli.seeding.loading import Family, Row
from alchemy_patterns.cli.seeding.plan import (
    FILLED_CART_SHARE,
    ITEMS_PER_FILLED_CART,
    LINES_PER_ORDER,
)
from alchemy_patterns.domains.shop.models import (
    Cart,
    CartItem,
    Order,
    OrderItem,
    OrderStatus,
    Product,
)

ADJECTIVES = (
    "Small", "Ergonomic", "Rustic", "Intelligent", "Gorgeous", "Incredible", "Practical",
    "Sleek", "Handcrafted", "Durable", "Lightweight", "Refined", "Vintage", "Compact",
)  # fmt: skip
MATERIALS = (
    "Steel", "Wooden", "Concrete", "Plastic", "Cotton", "Granite", "Rubber", "Leather",
    "Silk", "Wool", "Linen", "Marble", "Bronze", "Bamboo", "Ceramic", "Glass",
)  # fmt: skip
PRODUCTS = (
    "Chair", "Car", "Computer", "Keyboard", "Mouse", "Bike", "Ball", "Gloves", "Pants",
    "Shirt", "Table", "Shoes", "Hat", "Towels", "Soap", "Tuna", "Chicken", "Fish", "Cheese",
    "Bacon", "Pizza", "Salad", "Sausages", "Chips", "Lamp", "Clock", "Wallet", "Backpack",
)  # fmt: skip
ORDER_STATUSES = {
    OrderStatus.PLACED: 15,
    OrderStatus.PAID: 20,
    OrderStatus.SHIPPED: 55,
    OrderStatus.CANCELLED: 10,
}
ACTIVE_SHARE = 0.95
ORDERS_WITHIN_DAYS = 365


class Listed(NamedTuple):
    """A stored product, as the generators of carts and orders need it."""

    id: int
    price: Decimal
    is_active: bool


def seed_shop(seeding: Seeding, user_ids: Sequence[int]) -> None:
    """The catalogue, then the users' carts, then their orders."""
    rng = seeding.rng("shop")
    catalogue = _seed_products(seeding, rng)
    on_sale = [product.id for product in catalogue if product.is_active]
    seeding.loader.insert_families(Cart, _carts(rng, user_ids, on_sale), key="cart_id")
    orders = _orders(seeding, rng, user_ids, catalogue)
    seeding.loader.insert_families(Order, orders, key="order_id")


def _seed_products(seeding: Seeding, rng: random.Random) -> list[Listed]:
    serial = seeding.loader.max_id(Product)
    rows = (_product(rng, serial + i + 1) for i in range(seeding.plan.products))
    seeding.loader.insert(Product, rows)
    return _catalogue(seeding, floor=serial)


def _product(rng: random.Random, serial: int) -> Row:
    name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {rng.choice(PRODUCTS)}"
    return {
        "sku": f"SKU-{serial:07d}",
        "name": name,
        "price": _cents(rng.randint(99, 49_999)),
        "stock": rng.randint(0, 500),
        "is_active": rng.random() < ACTIVE_SHARE,
    }


def _cents(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


def _catalogue(seeding: Seeding, floor: int) -> list[Listed]:
    """The products just inserted: ids, prices and whether they are on sale, in id order."""
    stmt = (
        select(Product.id, Product.price, Product.is_active)
        .where(Product.id > floor)
        .order_by(Product.id)
    )
    with seeding.loader.db.session_scope(read_only=True) as session:
        return [Listed(*row) for row in session.execute(stmt)]


def _carts(rng: random.Random, user_ids: Sequence[int], on_sale: Sequence[int]) -> Iterator[Family]:
    """One cart per user, as registration makes it; some hold a few products."""
    for user_id in user_ids:
        lines = rng.random() < FILLED_CART_SHARE and len(on_sale) > 0
        yield {"user_id": user_id}, {CartItem: _cart_items(rng, on_sale) if lines else []}


def _cart_items(rng: random.Random, on_sale: Sequence[int]) -> list[Row]:
    count = min(rng.randint(*ITEMS_PER_FILLED_CART), len(on_sale))
    return [
        {"product_id": product_id, "quantity": rng.randint(1, 3)}
        for product_id in rng.sample(on_sale, count)
    ]


def _orders(
    seeding: Seeding, rng: random.Random, user_ids: Sequence[int], catalogue: Sequence[Listed]
) -> Iterator[Family]:
    statuses, weights = list(ORDER_STATUSES), list(ORDER_STATUSES.values())
    for _ in range(seeding.plan.orders if catalogue and user_ids else 0):
        lines = _order_lines(rng, catalogue)
        order = {
            "user_id": rng.choice(user_ids),
            "status": rng.choices(statuses, weights)[0],
            "total": sum((line["subtotal"] for line in lines), Decimal("0.00")),
            "created_at": seeding.days_ago(rng, ORDERS_WITHIN_DAYS),
        }
        yield order, {OrderItem: lines}


def _order_lines(rng: random.Random, catalogue: Sequence[Listed]) -> list[Row]:
    """Distinct products (one line each), the price as it was, subtotal = quantity * price."""
    count = min(rng.randint(*LINES_PER_ORDER), len(catalogue))
    lines = []
    for product in rng.sample(catalogue, count):
        quantity = rng.randint(1, 5)
        lines.append(
            {
                "product_id": product.id,
                "quantity": quantity,
                "price_at_purchase": product.price,
                "subtotal": quantity * product.price,
            }
        )
    return lines

"""Checkout: the cart becomes an order with price snapshots, all or nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from alchemy_patterns.db import Database, count_queries
from alchemy_patterns.domains.audit.models import AuditDetail, AuditRecord
from alchemy_patterns.domains.shop.errors import EmptyCart, OutOfStock, Shortage
from alchemy_patterns.domains.shop.models import (
    Cart,
    CartItem,
    Order,
    OrderItem,
    OrderStatus,
    Product,
)
from alchemy_patterns.domains.shop.services import checkout, checkout_once
from tests.builders import make_product, make_user, put_in_cart
from tests.direct import directly_run


def stock_of(db: Database) -> dict[int, int]:
    with db.session_scope(read_only=True) as session:
        return {row.id: row.stock for row in session.execute(select(Product.id, Product.stock))}


def everything(db: Database) -> dict[str, Any]:
    """What a checkout may change, as committed: stock, cart lines, orders, audit trail."""
    with db.session_scope(read_only=True) as session:

        def rows_of(*columns: Any) -> list[tuple[Any, ...]]:
            return sorted(tuple(row) for row in session.execute(select(*columns)))

        return {
            "products": rows_of(Product.id, Product.stock, Product.price, Product.is_active),
            "cart_items": rows_of(CartItem.cart_id, CartItem.product_id, CartItem.quantity),
            "orders": rows_of(Order.id, Order.user_id, Order.total),
            "order_items": rows_of(OrderItem.order_id, OrderItem.product_id),
            "audit_records": session.scalar(select(func.count()).select_from(AuditRecord)),
            "audit_details": session.scalar(select(func.count()).select_from(AuditDetail)),
        }


def shop_with_a_cart(db: Database, *lines: tuple[str, int, int]) -> tuple[int, list[int]]:
    """A user whose cart holds one line per (price, stock, quantity); products in id order."""
    with db.session_scope() as session:
        user = make_user(session)
        ids = []
        for price, stock, quantity in lines:
            product = make_product(session, price=Decimal(price), stock=stock)
            put_in_cart(session, user, product, quantity)
            ids.append(product.id)
    return user.id, ids


# --- success -----------------------------------------------------------------------------


def test_checkout_creates_an_order_with_price_snapshots_subtotals_and_total(
    app_db: Database,
) -> None:
    user_id, [mug, tea] = shop_with_a_cart(app_db, ("7.50", 10, 2), ("3.99", 10, 3))

    with app_db.session_scope() as session:
        order = checkout(session, user_id)

    assert (order.status, order.total) == (OrderStatus.PLACED, Decimal("26.97"))
    assert [(i.product_id, i.quantity, i.price_at_purchase, i.subtotal) for i in order.items] == [
        (mug, 2, Decimal("7.50"), Decimal("15.00")),
        (tea, 3, Decimal("3.99"), Decimal("11.97")),
    ]
    with app_db.session_scope(read_only=True) as session:
        stored = session.execute(select(Order.id, Order.user_id, Order.total, Order.status)).all()
        items = session.execute(
            select(
                OrderItem.order_id,
                OrderItem.product_id,
                OrderItem.quantity,
                OrderItem.price_at_purchase,
                OrderItem.subtotal,
            ).order_by(OrderItem.product_id)
        ).all()
    assert [tuple(row) for row in stored] == [
        (order.id, user_id, Decimal("26.97"), OrderStatus.PLACED)
    ]
    assert [tuple(row) for row in items] == [
        (order.id, mug, 2, Decimal("7.50"), Decimal("15.00")),
        (order.id, tea, 3, Decimal("3.99"), Decimal("11.97")),
    ]


def test_checkout_takes_the_quantities_from_stock(app_db: Database) -> None:
    user_id, [mug, tea] = shop_with_a_cart(app_db, ("7.50", 10, 2), ("3.99", 3, 3))

    with app_db.session_scope() as session:
        checkout(session, user_id)

    assert stock_of(app_db) == {mug: 8, tea: 0}


def test_checkout_empties_the_cart_and_keeps_it(app_db: Database) -> None:
    user_id, _ = shop_with_a_cart(app_db, ("7.50", 10, 2), ("3.99", 10, 3))

    with app_db.session_scope() as session:
        checkout(session, user_id)

    state = everything(app_db)
    assert state["cart_items"] == []
    with app_db.session_scope(read_only=True) as session:
        assert session.scalars(select(Cart.user_id)).all() == [user_id]


def test_checkout_leaves_other_users_carts_alone(app_db: Database) -> None:
    user_id, [product_id] = shop_with_a_cart(app_db, ("1.00", 10, 1))
    with app_db.session_scope() as session:
        other = make_user(session)
        product = session.get(Product, product_id)
        assert product is not None
        put_in_cart(session, other, product, 4)

    with app_db.session_scope() as session:
        checkout(session, user_id)

    lines = everything(app_db)["cart_items"]
    assert [(product_id, quantity) for _, product_id, quantity in lines] == [(product_id, 4)]


def test_checkout_records_the_order_in_the_audit_trail(app_db: Database) -> None:
    user_id, _ = shop_with_a_cart(app_db, ("7.50", 10, 2))

    with app_db.session_scope() as session:
        order = checkout(session, user_id)

    with app_db.session_scope(read_only=True) as session:
        recorded = session.execute(
            select(AuditRecord.action, AuditRecord.entity_id).where(AuditRecord.entity == "orders")
        ).all()
    assert [tuple(row) for row in recorded] == [("insert", str(order.id))]


def test_checkout_brings_products_loaded_in_the_session_up_to_date(app_db: Database) -> None:
    user_id, [product_id] = shop_with_a_cart(app_db, ("7.50", 10, 4))

    with app_db.session_scope() as session:
        loaded = session.get(Product, product_id)
        assert loaded is not None
        assert loaded.stock == 10
        checkout(session, user_id)
        seen = loaded.stock

    assert seen == 6


# --- refusals -------------------------------------------------------------------------------


def test_checkout_of_an_empty_cart_is_refused(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user_id = make_user(session).id
    before = everything(app_db)

    with pytest.raises(EmptyCart) as failure, app_db.session_scope() as session:
        checkout(session, user_id)

    assert failure.value.code == "empty_cart"
    assert everything(app_db) == before


def test_checkout_with_one_line_short_names_exactly_that_line(app_db: Database) -> None:
    user_id, [_, _, short] = shop_with_a_cart(
        app_db, ("1.00", 10, 2), ("2.00", 10, 3), ("3.00", 1, 4)
    )

    with pytest.raises(OutOfStock) as failure, app_db.session_scope() as session:
        checkout(session, user_id)

    assert [(s.product_id, s.requested, s.available) for s in failure.value.shortages] == [
        (short, 4, 1)
    ]


def test_a_checkout_refused_for_stock_changes_nothing_even_when_the_caller_commits(
    app_db: Database,
) -> None:
    # The first two lines can be served and are taken before the third is found short.
    user_id, _ = shop_with_a_cart(app_db, ("1.00", 10, 2), ("2.00", 10, 3), ("3.00", 1, 4))
    before = everything(app_db)

    # pytest.raises() inside the scope: the caller handles the refusal and the scope commits.
    with app_db.session_scope() as session, pytest.raises(OutOfStock):
        checkout(session, user_id)

    assert everything(app_db) == before


def test_a_refused_checkout_leaves_products_loaded_in_the_session_as_stored(
    app_db: Database,
) -> None:
    user_id, [served, short] = shop_with_a_cart(app_db, ("1.00", 10, 2), ("3.00", 1, 4))

    with app_db.session_scope() as session:
        loaded = session.get(Product, served)
        assert loaded is not None
        assert loaded.stock == 10
        with pytest.raises(OutOfStock):
            checkout(session, user_id)
        seen = loaded.stock

    assert seen == 10
    assert stock_of(app_db) == {served: 10, short: 1}


def test_checkout_with_two_lines_short_names_both(app_db: Database) -> None:
    user_id, [first_short, _, second_short] = shop_with_a_cart(
        app_db, ("1.00", 0, 1), ("2.00", 10, 3), ("3.00", 5, 6)
    )
    before = everything(app_db)

    with pytest.raises(OutOfStock) as failure, app_db.session_scope() as session:
        checkout(session, user_id)

    assert [(s.product_id, s.requested, s.available) for s in failure.value.shortages] == [
        (first_short, 1, 0),
        (second_short, 6, 5),
    ]
    assert everything(app_db) == before


def test_checkout_with_an_inactive_product_names_it_with_nothing_available(
    app_db: Database,
) -> None:
    user_id, [kept, retired] = shop_with_a_cart(app_db, ("1.00", 10, 1), ("2.00", 50, 2))
    with app_db.session_scope() as session:
        product = session.get(Product, retired)
        assert product is not None
        product.is_active = False
    before = everything(app_db)

    with pytest.raises(OutOfStock) as failure, app_db.session_scope() as session:
        checkout(session, user_id)

    assert [(s.product_id, s.requested, s.available) for s in failure.value.shortages] == [
        (retired, 2, 0)
    ]
    assert everything(app_db) == before
    assert stock_of(app_db) == {kept: 10, retired: 50}


def test_out_of_stock_names_the_product_by_sku_and_name(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        product = make_product(session, sku="LAMP-9", name="Desk lamp", stock=2)
        put_in_cart(session, user, product, 5)

    with pytest.raises(OutOfStock) as failure, app_db.session_scope() as session:
        checkout(session, user.id)

    assert failure.value.shortages == [
        Shortage(product_id=product.id, sku="LAMP-9", name="Desk lamp", requested=5, available=2)
    ]
    assert failure.value.field == "stock"


# --- statements -------------------------------------------------------------------------------


def checkout_statements(db: Database, lines: int, key: str | None = None) -> int:
    """How many statements a checkout of ``lines`` lines runs (with ``key``: checkout_once)."""
    with db.session_scope() as session:
        user_id = make_user(session).id
        cart_id = session.scalars(select(Cart.id).where(Cart.user_id == user_id)).one()
        products = [make_product(session, price=Decimal("1.00"), stock=10) for _ in range(lines)]
        session.add_all(CartItem(cart_id=cart_id, product_id=p.id, quantity=1) for p in products)
    with db.session_scope() as session, count_queries() as counter:
        if key is None:
            order = checkout(session, user_id)
        else:
            order, _ = checkout_once(session, user_id, key)
    assert len(order.items) == lines
    return counter.count


def test_checkout_runs_nine_statements_for_one_line_and_for_fifty(app_db: Database) -> None:
    # lines, products, their versions to history, stock, order, its lines, audit record,
    # its details, cart emptied
    assert checkout_statements(app_db, 1) == checkout_statements(app_db, 50) == 9


def test_checkout_with_a_key_adds_two_statements_and_no_savepoint(app_db: Database) -> None:
    # the key claimed before, and given its order after
    assert checkout_statements(app_db, 1, key="k") == checkout_statements(app_db, 50, key="k") == 11


def test_on_psycopg_every_statement_of_a_checkout_runs_directly(
    app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id, _ = shop_with_a_cart(app_db, ("2.00", 5, 1), ("3.00", 5, 2))
    seen = directly_run(monkeypatch)
    with app_db.session_scope() as session, count_queries() as counter:
        order, new = checkout_once(session, user_id, "k")

    assert (new, order.total) == (True, Decimal("8.00"))
    # The hot path's statements are prepared; only psycopg (sync) runs them directly.
    direct = app_db.engine.driver == "psycopg"
    assert counter.count == 11
    assert [ran for _, ran in seen] == [direct] * 11

"""Orders: the history, one order, and prices that stay as they were sold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from alchemy_patterns.db import Database, NotFound, count_queries
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.shop.models import Order, OrderItem, Product
from alchemy_patterns.domains.shop.schemas import Reprice
from alchemy_patterns.domains.shop.services import checkout, get_order, order_history, reprice
from tests.builders import make_order, make_product, make_user, put_in_cart


def bought(db: Database, user_id: int, product_id: int, quantity: int) -> int:
    """Check out ``quantity`` of a product for the user, in a unit of work of its own."""
    with db.session_scope() as session:
        user, product = session.get(User, user_id), session.get(Product, product_id)
        assert user is not None
        assert product is not None
        put_in_cart(session, user, product, quantity)
        return checkout(session, user_id).id


# --- prices stay as sold ---------------------------------------------------------------------


def test_an_order_keeps_its_prices_and_total_after_a_reprice(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        product = make_product(session, price=Decimal("9.99"), stock=10)
    order_id = bought(app_db, user.id, product.id, 3)

    with app_db.session_scope() as session:
        reprice(session, Reprice(percent=Decimal("10")))

    with app_db.session_scope(read_only=True) as session:
        order = get_order(session, user.id, order_id)
        price_now = session.scalar(select(Product.price).where(Product.id == product.id))
    assert price_now == Decimal("10.99")
    assert order.total == Decimal("29.97")
    assert [(i.price_at_purchase, i.subtotal) for i in order.items] == [
        (Decimal("9.99"), Decimal("29.97"))
    ]


def test_the_stored_order_rows_keep_their_prices_after_a_reprice(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        product = make_product(session, price=Decimal("19.99"), stock=10)
    order_id = bought(app_db, user.id, product.id, 2)

    with app_db.session_scope() as session:
        reprice(session, Reprice(percent=Decimal("-15")))

    with app_db.session_scope(read_only=True) as session:
        total = session.scalar(select(Order.total).where(Order.id == order_id))
        item = session.execute(
            select(OrderItem.price_at_purchase, OrderItem.subtotal).where(
                OrderItem.order_id == order_id
            )
        ).one()
    assert total == Decimal("39.98")
    assert tuple(item) == (Decimal("19.99"), Decimal("39.98"))


# --- order_history ------------------------------------------------------------------------------


def test_order_history_lists_the_newest_order_first(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        product = make_product(session, stock=10)
    placed = [bought(app_db, user.id, product.id, quantity) for quantity in (1, 2, 3)]

    with app_db.session_scope(read_only=True) as session:
        history = order_history(session, user.id)

    assert [order.id for order in history.items] == placed[::-1]
    assert [order.items[0].quantity for order in history.items] == [3, 2, 1]


def test_order_history_is_paginated(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        product = make_product(session, stock=10)
    placed = [bought(app_db, user.id, product.id, 1) for _ in range(3)]

    with app_db.session_scope(read_only=True) as session:
        first = order_history(session, user.id, page=1, per_page=2)
        second = order_history(session, user.id, page=2, per_page=2)

    assert [order.id for order in first.items] == [placed[2], placed[1]]
    assert (first.total, first.pages, first.has_next) == (3, 2, True)
    assert [order.id for order in second.items] == [placed[0]]
    assert second.has_next is False


def test_order_history_gives_each_order_its_lines_with_product_names(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        mug = make_product(session, sku="MUG-1", name="Mug", price=Decimal("7.50"))
        tea = make_product(session, sku="TEA-1", name="Tea", price=Decimal("3.99"))
        put_in_cart(session, user, mug, 2)
        put_in_cart(session, user, tea, 1)
        order_id = checkout(session, user.id).id

    with app_db.session_scope(read_only=True) as session:
        [order] = order_history(session, user.id).items

    assert (order.id, order.total) == (order_id, Decimal("18.99"))
    assert [
        (i.product_id, i.sku, i.name, i.quantity, i.price_at_purchase, i.subtotal)
        for i in order.items
    ] == [
        (mug.id, "MUG-1", "Mug", 2, Decimal("7.50"), Decimal("15.00")),
        (tea.id, "TEA-1", "Tea", 1, Decimal("3.99"), Decimal("3.99")),
    ]


def test_order_history_shows_only_the_users_own_orders(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user, other = make_user(session), make_user(session)
        product = make_product(session)
        make_order(session, other, [(product, 1)])
        mine = make_order(session, user, [(product, 2)])

    with app_db.session_scope(read_only=True) as session:
        history = order_history(session, user.id)

    assert [order.id for order in history.items] == [mine.id]
    assert history.total == 1


def test_order_history_of_a_user_without_orders_is_empty(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user_id = make_user(session).id

    with app_db.session_scope(read_only=True) as session:
        history = order_history(session, user_id)

    assert (history.items, history.total) == ([], 0)


def history_statements(db: Database, orders: int, *, page: int = 1, per_page: int = 50) -> int:
    """Statements ``order_history`` runs for a user with ``orders`` orders of three lines."""
    with db.session_scope() as session:
        user = make_user(session)
        products = [make_product(session) for _ in range(3)]
        for _ in range(orders):
            make_order(session, user, [(product, 1) for product in products])

    with db.session_scope(read_only=True) as session, count_queries() as counter:
        history = order_history(session, user.id, page=page, per_page=per_page)
        names = [item.name for order in history.items for item in order.items]
    assert len(names) == 3 * len(history.items)
    return counter.count


def test_order_history_costs_the_same_statements_for_one_order_and_for_thirty(
    app_db: Database,
) -> None:
    one = history_statements(app_db, 1)
    thirty = history_statements(app_db, 30)

    assert one == thirty
    assert thirty <= 3


def test_a_full_page_of_order_history_with_its_count_costs_three_statements(
    app_db: Database,
) -> None:
    assert history_statements(app_db, 30, page=2, per_page=10) == 3


# --- get_order --------------------------------------------------------------------------------


def test_get_order_returns_the_users_order_with_its_lines(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        product = make_product(session, name="Kettle", price=Decimal("25.00"))
        order_id = make_order(session, user, [(product, 2)]).id

    with app_db.session_scope(read_only=True) as session:
        order = get_order(session, user.id, order_id)

    assert (order.id, order.total) == (order_id, Decimal("50.00"))
    assert [(i.name, i.quantity, i.subtotal) for i in order.items] == [
        ("Kettle", 2, Decimal("50.00"))
    ]


def test_get_order_of_another_users_order_is_not_found(app_db: Database) -> None:
    with app_db.session_scope() as session:
        owner, stranger = make_user(session), make_user(session)
        order = make_order(session, owner, [(make_product(session), 1)])

    with pytest.raises(NotFound) as failure, app_db.session_scope(read_only=True) as session:
        get_order(session, stranger.id, order.id)

    assert (failure.value.entity, failure.value.key) == ("order", order.id)


def test_get_order_of_an_unknown_order_is_not_found(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user_id = make_user(session).id

    with pytest.raises(NotFound) as failure, app_db.session_scope(read_only=True) as session:
        get_order(session, user_id, 424242)

    assert (failure.value.entity, failure.value.key) == ("order", 424242)

"""The shop's schema: CHECKs and uniqueness, cascades, and the lazy="raise" guard against N+1.

Every rule is proven on what the database holds afterwards, read in a new
unit of work, never on what the session that wrote it believes.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session, selectinload

from alchemy_patterns.db import (
    Conflict,
    Database,
    InvalidReference,
    ValidationFailed,
    count_queries,
)
from alchemy_patterns.domains import metadata
from alchemy_patterns.domains.accounts.models import Profile, User
from alchemy_patterns.domains.shop.models import Cart, CartItem, Order, OrderItem, Product
from tests.builders import make_order, make_product, make_user, put_in_cart


def count_rows(db: Database, model: type[object]) -> int:
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def cart_lines(db: Database) -> list[tuple[int, int, int]]:
    """Every stored cart line as (cart_id, product_id, quantity), sorted."""
    with db.session_scope(read_only=True) as session:
        stmt = select(CartItem.cart_id, CartItem.product_id, CartItem.quantity)
        return sorted((row.cart_id, row.product_id, row.quantity) for row in session.execute(stmt))


def cart_of(session: Session, user_id: int) -> Cart:
    return session.scalars(select(Cart).where(Cart.user_id == user_id)).one()


# --- CHECK and UNIQUE constraints -------------------------------------------------


def test_a_negative_price_written_directly_is_refused_naming_the_column(app_db: Database) -> None:
    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        make_product(session, price=Decimal("-0.01"))

    assert failure.value.field == "price"
    assert count_rows(app_db, Product) == 0


def test_a_negative_stock_written_directly_is_refused_naming_the_column(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product_id = make_product(session, stock=5).id

    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        session.execute(update(Product).where(Product.id == product_id).values(stock=-1))

    assert failure.value.field == "stock"
    with app_db.session_scope(read_only=True) as session:
        assert session.scalar(select(Product.stock).where(Product.id == product_id)) == 5


def test_a_cart_line_above_the_maximum_quantity_is_refused(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user, product = make_user(session), make_product(session)

    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        put_in_cart(session, user, product, quantity=1000)

    assert failure.value.field == "quantity"
    assert cart_lines(app_db) == []


def test_a_second_cart_line_for_the_same_product_is_a_conflict(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user, product = make_user(session), make_product(session)
        put_in_cart(session, user, product, quantity=2)
        cart_id = cart_of(session, user.id).id

    with pytest.raises(Conflict), app_db.session_scope() as session:
        put_in_cart(session, user, product, quantity=3)

    assert cart_lines(app_db) == [(cart_id, product.id, 2)]


def test_a_second_cart_for_the_same_user_is_a_conflict_on_user_id(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user_id = make_user(session).id

    with pytest.raises(Conflict) as failure, app_db.session_scope() as session:
        session.add(Cart(user_id=user_id))

    assert failure.value.field == "user_id"
    assert count_rows(app_db, Cart) == 1


def test_an_order_line_whose_subtotal_is_not_quantity_times_price_is_refused(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        user, product = make_user(session), make_product(session, price=Decimal("2.50"))

    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        item = OrderItem(
            product_id=product.id,
            quantity=2,
            price_at_purchase=Decimal("2.50"),
            subtotal=Decimal("5.01"),
        )
        session.add(Order(user_id=user.id, total=Decimal("5.01"), items=[item]))

    assert failure.value.field == "subtotal"
    assert count_rows(app_db, Order) == 0
    assert count_rows(app_db, OrderItem) == 0


# --- cascades -----------------------------------------------------------------------


def test_deleting_a_cart_through_the_session_deletes_its_lines(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user, other = make_user(session), make_user(session)
        first, second = make_product(session), make_product(session)
        put_in_cart(session, user, first)
        put_in_cart(session, user, second)
        put_in_cart(session, other, first, quantity=4)
        other_cart_id = cart_of(session, other.id).id

    with app_db.session_scope() as session:
        session.delete(cart_of(session, user.id))

    assert cart_lines(app_db) == [(other_cart_id, first.id, 4)]
    assert count_rows(app_db, Cart) == 1
    assert count_rows(app_db, Product) == 2


def test_deleting_a_cart_row_in_sql_deletes_its_lines_by_on_delete_cascade(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        user, other = make_user(session), make_user(session)
        product = make_product(session)
        put_in_cart(session, user, product, quantity=2)
        put_in_cart(session, other, product, quantity=3)
        cart_id = cart_of(session, user.id).id
        other_cart_id = cart_of(session, other.id).id

    with app_db.session_scope() as session:
        carts = metadata.tables["carts"]
        session.execute(delete(carts).where(carts.c.id == cart_id))

    assert cart_lines(app_db) == [(other_cart_id, product.id, 3)]


def test_removing_a_line_from_the_cart_collection_deletes_the_row(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        first, second = make_product(session), make_product(session)
        put_in_cart(session, user, first)
        put_in_cart(session, user, second, quantity=2)
        cart_id = cart_of(session, user.id).id

    with app_db.session_scope() as session:
        stmt = select(Cart).where(Cart.id == cart_id).options(selectinload(Cart.items))
        cart = session.scalars(stmt).one()
        cart.items.remove(cart.items[0])

    assert cart_lines(app_db) == [(cart_id, second.id, 2)]


def test_deleting_an_order_deletes_its_lines(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        first, second = make_product(session), make_product(session)
        doomed = make_order(session, user, [(first, 1), (second, 2)]).id
        kept = make_order(session, user, [(first, 3)]).id

    with app_db.session_scope() as session:
        session.delete(session.get(Order, doomed))

    with app_db.session_scope(read_only=True) as session:
        stmt = select(OrderItem.order_id, OrderItem.quantity)
        remaining = [(row.order_id, row.quantity) for row in session.execute(stmt)]
        assert remaining == [(kept, 3)]
        assert session.scalars(select(Order.id)).all() == [kept]


def test_deleting_a_user_deletes_their_cart_its_lines_and_their_profile(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user, other = make_user(session), make_user(session)
        product = make_product(session)
        put_in_cart(session, user, product)
        put_in_cart(session, other, product, quantity=2)
        session.add_all([Profile(user_id=user.id, bio="leaving"), Profile(user_id=other.id)])
        other_cart_id = cart_of(session, other.id).id

    with app_db.session_scope() as session:
        session.delete(session.get(User, user.id))

    with app_db.session_scope(read_only=True) as session:
        assert session.scalars(select(Cart.user_id)).all() == [other.id]
        assert session.scalars(select(Profile.user_id)).all() == [other.id]
    assert cart_lines(app_db) == [(other_cart_id, product.id, 2)]


def test_deleting_a_product_that_is_in_a_cart_is_refused_and_deletes_nothing(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        user, product = make_user(session), make_product(session)
        put_in_cart(session, user, product, quantity=2)
        cart_id = cart_of(session, user.id).id

    with pytest.raises(InvalidReference), app_db.session_scope() as session:
        session.delete(session.get(Product, product.id))

    assert count_rows(app_db, Product) == 1
    assert cart_lines(app_db) == [(cart_id, product.id, 2)]


def test_deleting_a_product_that_was_ordered_is_refused_and_deletes_nothing(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        user, product = make_user(session), make_product(session)
        make_order(session, user, [(product, 2)])

    with pytest.raises(InvalidReference), app_db.session_scope() as session:
        session.delete(session.get(Product, product.id))

    assert count_rows(app_db, Product) == 1
    assert count_rows(app_db, OrderItem) == 1


def test_deleting_a_user_who_has_orders_is_refused(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user, product = make_user(session), make_product(session)
        make_order(session, user, [(product, 1)])

    with pytest.raises(InvalidReference), app_db.session_scope() as session:
        session.delete(session.get(User, user.id))

    assert count_rows(app_db, User) == 1
    assert count_rows(app_db, Order) == 1
    assert count_rows(app_db, Cart) == 1


# --- lazy="raise": the N+1 guard ------------------------------------------------------


def test_reading_cart_items_that_were_not_loaded_raises(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        put_in_cart(session, user, make_product(session))

    with app_db.session_scope(read_only=True) as session:
        cart = cart_of(session, user.id)
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            _ = cart.items


def test_reading_order_items_that_were_not_loaded_raises(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        order_id = make_order(session, user, [(make_product(session), 1)]).id

    with app_db.session_scope(read_only=True) as session:
        order = session.get(Order, order_id)
        assert order is not None
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            _ = order.items


def test_reading_the_product_of_a_cart_line_that_was_not_loaded_raises(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        put_in_cart(session, user, make_product(session))

    with app_db.session_scope(read_only=True) as session:
        line = session.scalars(select(CartItem)).one()
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            _ = line.product


def test_carts_loaded_with_their_items_eagerly_cost_two_statements(app_db: Database) -> None:
    with app_db.session_scope() as session:
        products = [make_product(session) for _ in range(3)]
        users = [make_user(session) for _ in range(6)]
        carts = {row.user_id: row.id for row in session.execute(select(Cart.user_id, Cart.id))}
        session.add_all(
            CartItem(cart_id=carts[user.id], product_id=product.id, quantity=1)
            for user in users
            for product in products
        )

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        loaded = session.scalars(select(Cart).options(selectinload(Cart.items))).all()
        quantities = [line.quantity for cart in loaded for line in cart.items]

    assert counter.count == 2
    assert quantities == [1] * 18

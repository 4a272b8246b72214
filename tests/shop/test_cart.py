"""The cart: adding, setting, removing and clearing lines, and viewing it in one statement."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alchemy_patterns.db import Database, NotFound, ValidationFailed, count_queries
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.shop.models import Cart, CartItem, Product
from alchemy_patterns.domains.shop.services import (
    add_to_cart,
    cart_id_for,
    cart_view,
    clear_cart,
    remove_from_cart,
    set_quantity,
)
from tests.builders import make_product, make_user, put_in_cart


def lines_of(db: Database, user_id: int) -> dict[int, int]:
    """The user's stored cart lines, product id -> quantity, read in a new unit of work."""
    with db.session_scope(read_only=True) as session:
        stmt = (
            select(CartItem.product_id, CartItem.quantity)
            .join(CartItem.cart)
            .where(Cart.user_id == user_id)
        )
        return {row.product_id: row.quantity for row in session.execute(stmt)}


def user_and_products(db: Database, count: int = 1, **product: object) -> tuple[int, list[int]]:
    with db.session_scope() as session:
        user = make_user(session)
        return user.id, [make_product(session, **product).id for _ in range(count)]


def fill_cart(session: Session, user: User, products: list[Product], quantity: int = 1) -> None:
    """Lines written directly, with the cart looked up once (no SELECT per line)."""
    cart_id = session.scalar(select(Cart.id).where(Cart.user_id == user.id))
    session.add_all(
        CartItem(cart_id=cart_id, product_id=product.id, quantity=quantity) for product in products
    )
    session.flush()


# --- add_to_cart ----------------------------------------------------------------------------


def test_add_to_cart_creates_a_line(app_db: Database) -> None:
    user_id, [product_id] = user_and_products(app_db)

    with app_db.session_scope() as session:
        line = add_to_cart(session, user_id, product_id, 2)

    assert (line.product_id, line.quantity) == (product_id, 2)
    assert lines_of(app_db, user_id) == {product_id: 2}


def test_add_to_cart_adds_to_the_line_already_there(app_db: Database) -> None:
    user_id, [product_id] = user_and_products(app_db)
    with app_db.session_scope() as session:
        add_to_cart(session, user_id, product_id, 2)

    with app_db.session_scope() as session:
        line = add_to_cart(session, user_id, product_id, 3)

    assert line.quantity == 5
    assert lines_of(app_db, user_id) == {product_id: 5}


def test_add_to_cart_of_an_unknown_product_is_not_found(app_db: Database) -> None:
    user_id, _ = user_and_products(app_db, count=0)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        add_to_cart(session, user_id, 424242)

    assert (failure.value.entity, failure.value.key) == ("product", 424242)
    assert lines_of(app_db, user_id) == {}


def test_add_to_cart_of_an_inactive_product_is_not_found(app_db: Database) -> None:
    user_id, [product_id] = user_and_products(app_db, is_active=False)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        add_to_cart(session, user_id, product_id)

    assert (failure.value.entity, failure.value.key) == ("product", product_id)
    assert lines_of(app_db, user_id) == {}


@pytest.mark.parametrize("quantity", [0, -1, 1000])
def test_add_to_cart_refuses_a_quantity_out_of_range(app_db: Database, quantity: int) -> None:
    user_id, [product_id] = user_and_products(app_db)

    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        add_to_cart(session, user_id, product_id, quantity)

    assert failure.value.field == "quantity"
    assert lines_of(app_db, user_id) == {}


def test_adding_past_999_in_total_is_refused_and_the_line_and_the_transaction_survive(
    app_db: Database,
) -> None:
    user_id, [full, other] = user_and_products(app_db, count=2)
    with app_db.session_scope() as session:
        add_to_cart(session, user_id, full, 998)

    with app_db.session_scope() as session:
        with pytest.raises(ValidationFailed) as failure:
            add_to_cart(session, user_id, full, 2)
        # The savepoint took only the failed add: the unit of work goes on and commits.
        add_to_cart(session, user_id, other, 1)

    assert failure.value.field == "quantity"
    assert lines_of(app_db, user_id) == {full: 998, other: 1}


def test_adding_up_to_exactly_999_in_total_is_accepted(app_db: Database) -> None:
    user_id, [product_id] = user_and_products(app_db)
    with app_db.session_scope() as session:
        add_to_cart(session, user_id, product_id, 998)

    with app_db.session_scope() as session:
        line = add_to_cart(session, user_id, product_id, 1)

    assert line.quantity == 999
    assert lines_of(app_db, user_id) == {product_id: 999}


def test_add_to_cart_gives_a_user_without_a_cart_one(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user_id = make_user(session, with_cart=False).id
        product_id = make_product(session).id

    with app_db.session_scope() as session:
        add_to_cart(session, user_id, product_id, 4)

    assert lines_of(app_db, user_id) == {product_id: 4}


# --- cart_id_for -------------------------------------------------------------------------------


def test_cart_id_for_creates_the_cart_of_a_user_who_has_none(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user_id = make_user(session, with_cart=False).id

    with app_db.session_scope() as session:
        cart_id = cart_id_for(session, user_id)

    with app_db.session_scope(read_only=True) as session:
        carts = session.execute(select(Cart.id, Cart.user_id)).all()
    assert [tuple(row) for row in carts] == [(cart_id, user_id)]


def test_cart_id_for_returns_the_existing_cart_and_creates_no_other(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user_id = make_user(session).id
        existing = session.scalar(select(Cart.id).where(Cart.user_id == user_id))

    with app_db.session_scope() as session:
        cart_id = cart_id_for(session, user_id)

    with app_db.session_scope(read_only=True) as session:
        carts = session.scalar(select(func.count()).select_from(Cart))
    assert cart_id == existing
    assert carts == 1


def test_cart_id_for_an_unknown_user_is_not_found_and_creates_nothing(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        cart_id_for(session, 424242)

    assert (failure.value.entity, failure.value.key) == ("user", 424242)
    with app_db.session_scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Cart)) == 0


def test_add_to_cart_for_an_unknown_user_is_not_found(app_db: Database) -> None:
    _, [product_id] = user_and_products(app_db)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        add_to_cart(session, 424242, product_id)

    assert failure.value.entity == "user"


# --- set_quantity, remove_from_cart, clear_cart -------------------------------------------


def test_set_quantity_sets_the_quantity_outright(app_db: Database) -> None:
    user_id, [product_id] = user_and_products(app_db)
    with app_db.session_scope() as session:
        add_to_cart(session, user_id, product_id, 5)

    with app_db.session_scope() as session:
        line = set_quantity(session, user_id, product_id, 2)

    assert line.quantity == 2
    assert lines_of(app_db, user_id) == {product_id: 2}


def test_set_quantity_to_the_quantity_already_there_is_not_a_missing_line(
    app_db: Database,
) -> None:
    user_id, [product_id] = user_and_products(app_db)
    with app_db.session_scope() as session:
        add_to_cart(session, user_id, product_id, 3)

    with app_db.session_scope() as session:
        line = set_quantity(session, user_id, product_id, 3)

    assert line.quantity == 3
    assert lines_of(app_db, user_id) == {product_id: 3}


def test_set_quantity_to_zero_removes_the_line(app_db: Database) -> None:
    user_id, [removed, kept] = user_and_products(app_db, count=2)
    with app_db.session_scope() as session:
        add_to_cart(session, user_id, removed, 5)
        add_to_cart(session, user_id, kept, 1)

    with app_db.session_scope() as session:
        line = set_quantity(session, user_id, removed, 0)

    assert line.quantity == 0
    assert lines_of(app_db, user_id) == {kept: 1}


def test_set_quantity_of_a_product_not_in_the_cart_is_not_found(app_db: Database) -> None:
    user_id, [in_cart, absent] = user_and_products(app_db, count=2)
    with app_db.session_scope() as session:
        add_to_cart(session, user_id, in_cart, 1)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        set_quantity(session, user_id, absent, 4)

    assert (failure.value.entity, failure.value.key) == ("cart item", absent)
    assert lines_of(app_db, user_id) == {in_cart: 1}


@pytest.mark.parametrize("quantity", [-1, 1000])
def test_set_quantity_refuses_a_quantity_out_of_range(app_db: Database, quantity: int) -> None:
    user_id, [product_id] = user_and_products(app_db)
    with app_db.session_scope() as session:
        add_to_cart(session, user_id, product_id, 5)

    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        set_quantity(session, user_id, product_id, quantity)

    assert failure.value.field == "quantity"
    assert lines_of(app_db, user_id) == {product_id: 5}


def test_remove_from_cart_deletes_the_line(app_db: Database) -> None:
    user_id, [removed, kept] = user_and_products(app_db, count=2)
    with app_db.session_scope() as session:
        add_to_cart(session, user_id, removed, 2)
        add_to_cart(session, user_id, kept, 3)

    with app_db.session_scope() as session:
        remove_from_cart(session, user_id, removed)

    assert lines_of(app_db, user_id) == {kept: 3}


def test_remove_from_cart_of_a_product_not_in_the_cart_is_not_found(app_db: Database) -> None:
    user_id, [in_cart, absent] = user_and_products(app_db, count=2)
    with app_db.session_scope() as session:
        add_to_cart(session, user_id, in_cart, 2)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        remove_from_cart(session, user_id, absent)

    assert (failure.value.entity, failure.value.key) == ("cart item", absent)
    assert lines_of(app_db, user_id) == {in_cart: 2}


def test_remove_from_cart_leaves_another_users_line_for_the_same_product(
    app_db: Database,
) -> None:
    user_id, [product_id] = user_and_products(app_db)
    with app_db.session_scope() as session:
        other_id = make_user(session).id
        add_to_cart(session, user_id, product_id, 1)
        add_to_cart(session, other_id, product_id, 6)

    with app_db.session_scope() as session:
        remove_from_cart(session, user_id, product_id)

    assert lines_of(app_db, user_id) == {}
    assert lines_of(app_db, other_id) == {product_id: 6}


def test_clear_cart_removes_every_line_and_returns_how_many(app_db: Database) -> None:
    user_id, products = user_and_products(app_db, count=3)
    with app_db.session_scope() as session:
        other_id = make_user(session).id
        for product_id in products:
            add_to_cart(session, user_id, product_id, 2)
        add_to_cart(session, other_id, products[0], 1)

    with app_db.session_scope() as session:
        removed = clear_cart(session, user_id)

    assert removed == 3
    assert lines_of(app_db, user_id) == {}
    assert lines_of(app_db, other_id) == {products[0]: 1}


def test_clear_cart_of_an_empty_cart_returns_zero(app_db: Database) -> None:
    user_id, _ = user_and_products(app_db, count=0)

    with app_db.session_scope() as session:
        removed = clear_cart(session, user_id)

    assert removed == 0


# --- cart_view -----------------------------------------------------------------------------


def test_cart_view_shows_each_line_with_name_price_subtotal_and_the_total(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        mug = make_product(session, sku="MUG-1", name="Mug", price=Decimal("7.50"), stock=10)
        tea = make_product(session, sku="TEA-1", name="Tea", price=Decimal("3.99"), stock=10)
        put_in_cart(session, user, mug, 2)
        put_in_cart(session, user, tea, 3)

    with app_db.session_scope(read_only=True) as session:
        view = cart_view(session, user.id)

    assert [
        (line.product_id, line.sku, line.name, line.unit_price, line.quantity, line.subtotal)
        for line in view.items
    ] == [
        (mug.id, "MUG-1", "Mug", Decimal("7.50"), 2, Decimal("15.00")),
        (tea.id, "TEA-1", "Tea", Decimal("3.99"), 3, Decimal("11.97")),
    ]
    assert all(line.available for line in view.items)
    assert view.total == Decimal("26.97")
    assert view.quantity == 5


def test_cart_view_shows_only_the_users_own_lines(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user, other = make_user(session), make_user(session)
        mine, theirs = make_product(session), make_product(session)
        put_in_cart(session, user, mine, 1)
        put_in_cart(session, other, theirs, 4)

    with app_db.session_scope(read_only=True) as session:
        view = cart_view(session, user.id)

    assert [line.product_id for line in view.items] == [mine.id]
    assert view.total == mine.price


def test_cart_view_of_three_times_ten_cents_is_exactly_thirty_cents(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        put_in_cart(session, user, make_product(session, price=Decimal("0.10")), 3)

    with app_db.session_scope(read_only=True) as session:
        view = cart_view(session, user.id)

    [line] = view.items
    assert isinstance(line.unit_price, Decimal)
    assert str(line.unit_price) == "0.10"
    assert isinstance(line.subtotal, Decimal)
    assert str(line.subtotal) == "0.30"
    assert isinstance(view.total, Decimal)
    assert str(view.total) == "0.30"


def test_cart_view_total_of_three_ten_cent_lines_is_exactly_thirty_cents(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        products = [make_product(session, price=Decimal("0.10")) for _ in range(3)]
        fill_cart(session, user, products)

    with app_db.session_scope(read_only=True) as session:
        view = cart_view(session, user.id)

    assert [str(line.subtotal) for line in view.items] == ["0.10", "0.10", "0.10"]
    assert isinstance(view.total, Decimal)
    assert str(view.total) == "0.30"  # 0.1 + 0.1 + 0.1 in floats is 0.30000000000000004


def test_cart_view_marks_a_line_unavailable_when_stock_is_short(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        short = make_product(session, stock=2)
        exact = make_product(session, stock=3)
        put_in_cart(session, user, short, 3)
        put_in_cart(session, user, exact, 3)

    with app_db.session_scope(read_only=True) as session:
        view = cart_view(session, user.id)

    assert [(line.product_id, line.available) for line in view.items] == [
        (short.id, False),
        (exact.id, True),
    ]


def test_cart_view_marks_a_line_of_an_inactive_product_unavailable(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        retired = make_product(session, stock=50)
        put_in_cart(session, user, retired, 1)
        retired.is_active = False

    with app_db.session_scope(read_only=True) as session:
        view = cart_view(session, user.id)

    assert [(line.product_id, line.available) for line in view.items] == [(retired.id, False)]


def test_cart_view_of_an_empty_cart_has_no_lines_and_a_total_of_zero(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user_id = make_user(session).id

    with app_db.session_scope(read_only=True) as session:
        view = cart_view(session, user_id)

    assert view.items == []
    assert isinstance(view.total, Decimal)
    assert str(view.total) == "0.00"


def view_statements(db: Database, lines: int) -> int:
    """How many statements ``cart_view`` runs for a cart of ``lines`` lines."""
    with db.session_scope() as session:
        user = make_user(session)
        fill_cart(session, user, [make_product(session) for _ in range(lines)], quantity=2)

    with db.session_scope(read_only=True) as session, count_queries() as counter:
        view = cart_view(session, user.id)
    assert len(view.items) == lines
    return counter.count


def test_cart_view_runs_one_statement_for_one_line_and_for_fifty(app_db: Database) -> None:
    one = view_statements(app_db, 1)
    fifty = view_statements(app_db, 50)

    assert one == fifty == 1


def test_add_to_cart_runs_two_statements_for_a_new_line_and_for_one_already_there(
    app_db: Database,
) -> None:
    user_id, [product_id] = user_and_products(app_db)
    counts = []

    for quantity in (1, 2):
        with app_db.session_scope() as session, count_queries() as counter:
            line = add_to_cart(session, user_id, product_id, quantity)
        counts.append(counter.count)

    assert line.quantity == 3
    assert counts == [2, 2]  # the product and the cart in one SELECT; the upsert RETURNING

"""Product history: written only by committed changes, read "as of" an instant, reverted exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from alchemy_patterns.db import (
    Database,
    HistoryBypassed,
    NotFound,
    bulk_update,
    count_queries,
    history_table,
    upsert,
)
from alchemy_patterns.domains.audit.services import set_actor
from alchemy_patterns.domains.shop import services
from alchemy_patterns.domains.shop.models import Product
from alchemy_patterns.domains.shop.schemas import ProductUpdate
from tests.builders import make_product, make_user

HISTORY = history_table(Product)
TICK = dt.timedelta(microseconds=1)


def a_product(db: Database, price: str = "19.99", stock: int = 5) -> int:
    with db.session_scope() as session:
        return make_product(session, price=Decimal(price), stock=stock).id


def reprice_to(db: Database, product_id: int, price: str, actor: int | None = None) -> None:
    with db.session_scope() as session:
        set_actor(session, actor)
        services.update_product(session, product_id, ProductUpdate(price=Decimal(price)))


def stored_history(db: Database, product_id: int) -> list[tuple[int, Decimal, int | None]]:
    with db.session_scope(read_only=True) as session:
        rows = session.execute(
            select(HISTORY.c.version, HISTORY.c.price, HISTORY.c.changed_by)
            .where(HISTORY.c.id == product_id)
            .order_by(HISTORY.c.version)
        )
        return [tuple(row) for row in rows]


def test_a_committed_change_keeps_the_version_it_replaced_with_who_and_when(
    app_db: Database,
) -> None:
    product_id = a_product(app_db)
    with app_db.session_scope() as session:
        admin_id = make_user(session).id

    reprice_to(app_db, product_id, "24.50", actor=admin_id)

    assert stored_history(app_db, product_id) == [(1, Decimal("19.99"), admin_id)]
    with app_db.session_scope(read_only=True) as session:
        changed_at = session.scalars(select(HISTORY.c.changed_at)).one()
        current = session.get_one(Product, product_id)
    assert changed_at.tzinfo == dt.UTC
    assert (current.price, current.version) == (Decimal("24.50"), 2)


def test_a_rolled_back_change_leaves_no_history_row(app_db: Database) -> None:
    product_id = a_product(app_db)

    with pytest.raises(RuntimeError), app_db.session_scope() as session:
        services.update_product(session, product_id, ProductUpdate(price=Decimal("1.00")))
        session.flush()
        assert session.scalar(select(func.count()).select_from(HISTORY)) == 1  # written...
        raise RuntimeError("the unit fails after the flush")

    assert stored_history(app_db, product_id) == []  # ...and gone with the change


def test_a_change_to_nothing_new_keeps_no_version(app_db: Database) -> None:
    product_id = a_product(app_db, price="19.99")

    reprice_to(app_db, product_id, "19.99")

    assert stored_history(app_db, product_id) == []


def price_as_of(db: Database, product_id: int, when: dt.datetime) -> Decimal:
    with db.session_scope(read_only=True) as session:
        return services.product_as_of(session, product_id, when).price


def test_as_of_gives_each_version_exact_to_the_cent(app_db: Database) -> None:
    product_id = a_product(app_db, price="19.99")
    reprice_to(app_db, product_id, "20.01")
    reprice_to(app_db, product_id, "0.10")
    with app_db.session_scope(read_only=True) as session:
        created = session.get_one(Product, product_id).created_at
        first, second = session.scalars(
            select(HISTORY.c.changed_at).where(HISTORY.c.id == product_id).order_by("version")
        )

    instants = (created, first - TICK, first, second - TICK, second, second + dt.timedelta(days=1))
    prices = [price_as_of(app_db, product_id, when) for when in instants]
    with pytest.raises(NotFound), app_db.session_scope(read_only=True) as session:
        services.product_as_of(session, product_id, created - dt.timedelta(seconds=1))

    assert prices == [Decimal(p) for p in ("19.99", "19.99", "20.01", "20.01", "0.10", "0.10")]


def test_as_of_is_one_statement(app_db: Database) -> None:
    product_id = a_product(app_db)
    reprice_to(app_db, product_id, "1.00")

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        services.product_as_of(session, product_id, dt.datetime.now(dt.UTC))

    assert counter.count == 1


def test_revert_restores_the_old_price_to_the_cent_as_a_new_version_and_keeps_the_stock(
    app_db: Database,
) -> None:
    product_id = a_product(app_db, price="19.99", stock=5)
    reprice_to(app_db, product_id, "24.57")
    with app_db.session_scope() as session:
        services.restock(session, product_id, 3)

    with app_db.session_scope() as session:
        reverted = services.revert_product(session, product_id, 1, expected_version=3)

    assert (reverted.price, reverted.stock, reverted.version) == (Decimal("19.99"), 8, 4)
    assert stored_history(app_db, product_id) == [
        (1, Decimal("19.99"), None),
        (2, Decimal("24.57"), None),
        (3, Decimal("24.57"), None),
    ]


def test_reverting_to_a_version_never_stored_is_not_found_and_changes_nothing(
    app_db: Database,
) -> None:
    product_id = a_product(app_db)

    with pytest.raises(NotFound), app_db.session_scope() as session:
        services.revert_product(session, product_id, 7)

    assert stored_history(app_db, product_id) == []


def test_history_is_paged_newest_first(app_db: Database) -> None:
    product_id = a_product(app_db, price="1.00")
    for cents in ("1.01", "1.02", "1.03"):
        reprice_to(app_db, product_id, cents)

    with app_db.session_scope(read_only=True) as session:
        first = services.product_history(session, product_id, page=1, per_page=2)
        second = services.product_history(session, product_id, page=2, per_page=2)

    assert [v.version for v in first.items] == [3, 2]
    assert [v.price for v in second.items] == [Decimal("1.00")]
    assert (first.total, first.has_next, second.has_next) == (3, True, False)


def test_the_history_of_a_product_that_never_was_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound), app_db.session_scope(read_only=True) as session:
        services.product_history(session, 999_999, page=1, per_page=20)


def test_bulk_paths_keep_history_or_refuse(app_db: Database) -> None:
    product_id = a_product(app_db, stock=5)

    with app_db.session_scope() as session:
        services.restock(session, product_id, 2)  # update_where: the version copied first
    with pytest.raises(HistoryBypassed, match="products"), app_db.session_scope() as session:
        bulk_update(session, Product, [{"id": product_id, "stock": 1}])
    with pytest.raises(HistoryBypassed, match="products"), app_db.session_scope() as session:
        upsert(
            session,
            Product,
            [{"id": product_id, "sku": "X", "name": "X", "price": 1}],
            conflict=["id"],
        )

    assert [(v, s) for v, s, _ in stored_history_stock(app_db, product_id)] == [(1, 5)]


def stored_history_stock(db: Database, product_id: int) -> list[tuple[int, int, int]]:
    with db.session_scope(read_only=True) as session:
        rows = session.execute(
            select(HISTORY.c.version, HISTORY.c.stock, HISTORY.c.id).where(
                HISTORY.c.id == product_id
            )
        )
        return [tuple(row) for row in rows]


def test_a_checkout_keeps_the_versions_its_stock_moves_replace(app_db: Database) -> None:
    product_id = a_product(app_db, stock=5)
    with app_db.session_scope() as session:
        user = make_user(session)
        services.add_to_cart(session, user.id, product_id, 2)

    with app_db.session_scope() as session:
        services.checkout(session, user.id)

    assert [(v, s) for v, s, _ in stored_history_stock(app_db, product_id)] == [(1, 5)]

"""The catalogue: creating, changing, finding, listing, restocking and repricing products."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from alchemy_patterns.db import Conflict, Database, NotFound, ValidationFailed
from alchemy_patterns.domains.audit.models import AuditDetail, AuditRecord
from alchemy_patterns.domains.shop.models import Product
from alchemy_patterns.domains.shop.schemas import ProductIn, ProductOut, ProductUpdate, Reprice
from alchemy_patterns.domains.shop.services import (
    create_product,
    get_product,
    list_products,
    reprice,
    restock,
    update_product,
)
from tests.builders import make_product


def stored(db: Database, product_id: int) -> Product:
    """The product as committed, read in a unit of work of its own."""
    with db.session_scope(read_only=True) as session:
        product = session.get(Product, product_id)
        assert product is not None
        return product


def prices_by_sku(db: Database) -> dict[str, Decimal]:
    with db.session_scope(read_only=True) as session:
        return {row.sku: row.price for row in session.execute(select(Product.sku, Product.price))}


def product_in(**overrides: Any) -> ProductIn:
    values: dict[str, Any] = {"sku": "MUG-1", "name": "Blue mug", "price": Decimal("7.50")}
    return ProductIn(**(values | overrides))


# --- ProductIn: what may reach the database -----------------------------------------


def test_product_in_reads_a_float_price_as_its_exact_decimal() -> None:
    data = product_in(price=9.99)

    assert data.price == Decimal("9.99")
    assert isinstance(data.price, Decimal)


def test_a_float_price_is_stored_as_exactly_the_decimal_written(app_db: Database) -> None:
    with app_db.session_scope() as session:
        created = create_product(session, product_in(price=9.99))

    price = stored(app_db, created.id).price
    assert isinstance(price, Decimal)
    assert str(price) == "9.99"


def test_product_in_refuses_a_float_that_is_not_the_decimal_it_looks_like() -> None:
    with pytest.raises(ValidationError) as failure:
        product_in(price=0.1 + 0.2)  # 0.30000000000000004

    assert failure.value.errors()[0]["loc"] == ("price",)


def test_product_in_refuses_a_price_with_more_than_two_decimal_places() -> None:
    with pytest.raises(ValidationError) as failure:
        product_in(price=Decimal("9.999"))

    assert [(e["loc"], e["type"]) for e in failure.value.errors()] == [
        (("price",), "decimal_max_places")
    ]


def test_product_in_refuses_a_negative_price() -> None:
    with pytest.raises(ValidationError) as failure:
        product_in(price=Decimal("-0.01"))

    assert [(e["loc"], e["type"]) for e in failure.value.errors()] == [
        (("price",), "greater_than_equal")
    ]


def test_product_in_refuses_fields_it_does_not_know() -> None:
    with pytest.raises(ValidationError) as failure:
        product_in(is_active=False)

    assert [(e["loc"], e["type"]) for e in failure.value.errors()] == [
        (("is_active",), "extra_forbidden")
    ]


# --- create, update, get ----------------------------------------------------------------


def test_create_product_stores_the_product_and_returns_it(app_db: Database) -> None:
    with app_db.session_scope() as session:
        created = create_product(session, product_in(stock=3))

    product = stored(app_db, created.id)
    assert (product.sku, product.name, product.price, product.stock, product.is_active) == (
        "MUG-1",
        "Blue mug",
        Decimal("7.50"),
        3,
        True,
    )
    assert (created.sku, created.price, created.stock, created.is_active) == (
        "MUG-1",
        Decimal("7.50"),
        3,
        True,
    )


def test_create_product_with_a_taken_sku_is_a_conflict_and_writes_nothing_even_if_committed(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        original = create_product(session, product_in(name="Original"))

    # pytest.raises() inside the scope: the caller handles the Conflict and the scope commits.
    with app_db.session_scope() as session, pytest.raises(Conflict) as failure:
        create_product(session, product_in(name="Impostor"))

    assert failure.value.field == "sku"
    with app_db.session_scope(read_only=True) as session:
        names = session.execute(select(Product.id, Product.name)).all()
        inserts = session.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.entity == "products", AuditRecord.action == "insert")
        )
    assert [tuple(row) for row in names] == [(original.id, "Original")]
    assert inserts == 1


def test_update_product_changes_only_the_fields_given(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product_id = make_product(
            session, sku="LAMP-1", name="Lamp", price=Decimal("20.00"), stock=4
        ).id

    with app_db.session_scope() as session:
        returned = update_product(session, product_id, ProductUpdate(price=Decimal("24.50")))

    product = stored(app_db, product_id)
    assert (product.sku, product.name, product.price, product.stock, product.is_active) == (
        "LAMP-1",
        "Lamp",
        Decimal("24.50"),
        4,
        True,
    )
    assert (returned.name, returned.price) == ("Lamp", Decimal("24.50"))


def test_update_product_can_deactivate_a_product(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product_id = make_product(session, name="Lamp", price=Decimal("20.00")).id

    with app_db.session_scope() as session:
        update_product(session, product_id, ProductUpdate(is_active=False))

    product = stored(app_db, product_id)
    assert (product.is_active, product.name, product.price) == (False, "Lamp", Decimal("20.00"))


def test_update_product_of_an_unknown_product_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        update_product(session, 424242, ProductUpdate(name="Ghost"))

    assert (failure.value.entity, failure.value.key) == ("product", 424242)


def test_get_product_returns_the_stored_product(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product_id = make_product(session, sku="PEN-1", price=Decimal("1.20")).id

    with app_db.session_scope(read_only=True) as session:
        found = get_product(session, product_id)

    assert (found.id, found.sku, found.price) == (product_id, "PEN-1", Decimal("1.20"))


def test_get_product_of_an_unknown_id_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope(read_only=True) as session:
        get_product(session, 424242)

    assert (failure.value.entity, failure.value.key) == ("product", 424242)


# --- list_products ------------------------------------------------------------------------


def add_named(session: Session, *names: str, is_active: bool = True) -> None:
    for name in names:
        make_product(session, name=name, is_active=is_active)


def test_list_products_gives_pages_of_products_in_name_order(app_db: Database) -> None:
    with app_db.session_scope() as session:
        add_named(session, "Egg cup", "Apron", "Candle", "Dish", "Bowl")

    with app_db.session_scope(read_only=True) as session:
        first = list_products(session, page=1, per_page=2)
        last = list_products(session, page=3, per_page=2)

    assert [p.name for p in first.items] == ["Apron", "Bowl"]
    assert (first.total, first.pages, first.has_next) == (5, 3, True)
    assert [p.name for p in last.items] == ["Egg cup"]
    assert last.has_next is False


def test_list_products_search_ignores_case(app_db: Database) -> None:
    with app_db.session_scope() as session:
        add_named(session, "Blue MUG", "Red mug", "Mugwort tea", "Plate")

    with app_db.session_scope(read_only=True) as session:
        found = list_products(session, search="mUg")

    assert [p.name for p in found.items] == ["Blue MUG", "Mugwort tea", "Red mug"]
    assert found.total == 3


def test_list_products_search_takes_wildcards_literally(app_db: Database) -> None:
    with app_db.session_scope() as session:
        add_named(session, "50% off voucher", "500 g coffee", "A_B cable", "AXB cable")

    with app_db.session_scope(read_only=True) as session:
        percent = list_products(session, search="50%")
        underscore = list_products(session, search="a_b")

    assert [p.name for p in percent.items] == ["50% off voucher"]
    assert [p.name for p in underscore.items] == ["A_B cable"]


def test_list_products_hides_inactive_products(app_db: Database) -> None:
    with app_db.session_scope() as session:
        add_named(session, "Kept")
        add_named(session, "Retired", is_active=False)

    with app_db.session_scope(read_only=True) as session:
        listed = list_products(session)

    assert [p.name for p in listed.items] == ["Kept"]
    assert listed.total == 1


def test_list_products_shows_inactive_products_when_asked(app_db: Database) -> None:
    with app_db.session_scope() as session:
        add_named(session, "Kept")
        add_named(session, "Retired", is_active=False)

    with app_db.session_scope(read_only=True) as session:
        listed = list_products(session, include_inactive=True)

    assert [(p.name, p.is_active) for p in listed.items] == [("Kept", True), ("Retired", False)]


def test_list_products_refuses_more_than_100_per_page(app_db: Database) -> None:
    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        list_products(session, per_page=101)

    assert failure.value.field == "per_page"


# --- restock ------------------------------------------------------------------------------


def test_restock_adds_to_the_stock(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product_id = make_product(session, stock=5).id

    with app_db.session_scope() as session:
        returned = restock(session, product_id, 7)

    assert returned.stock == 12
    assert stored(app_db, product_id).stock == 12


def restock_behind_a_stale_copy(db: Database) -> tuple[int, ProductOut]:
    """Load a product (stock 100), change its row behind the loaded copy (to 7), restock 5.

    The UPDATE in the same session stands for another transaction's committed
    write, which a READ COMMITTED transaction sees when it writes next.
    """
    with db.session_scope() as session:
        product_id = make_product(session, stock=100).id

    with db.session_scope() as session:
        loaded = session.get(Product, product_id)
        assert loaded is not None
        assert loaded.stock == 100
        session.execute(text("UPDATE products SET stock = 7 WHERE id = :id"), {"id": product_id})
        returned = restock(session, product_id, 5)
    return product_id, returned


def test_restock_adds_in_sql_to_the_stock_the_database_holds(app_db: Database) -> None:
    product_id, _ = restock_behind_a_stale_copy(app_db)

    assert stored(app_db, product_id).stock == 12  # 7 + 5, not 100 + 5


def test_restock_returns_the_stock_the_database_holds_not_a_stale_copy_plus_n(
    app_db: Database,
) -> None:
    product_id, returned = restock_behind_a_stale_copy(app_db)

    assert returned.stock == stored(app_db, product_id).stock == 12


def test_restock_of_an_unknown_product_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        restock(session, 424242, 1)

    assert failure.value.entity == "product"


@pytest.mark.parametrize("quantity", [0, -3])
def test_restock_by_less_than_one_is_refused_and_changes_nothing(
    app_db: Database, quantity: int
) -> None:
    with app_db.session_scope() as session:
        product_id = make_product(session, stock=5).id

    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        restock(session, product_id, quantity)

    assert failure.value.field == "quantity"
    assert stored(app_db, product_id).stock == 5


# --- reprice ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "percent", "expected"),
    [
        ("9.99", "10", "10.99"),  # 10.989
        ("0.05", "10", "0.06"),  # 0.055, half up
        ("19.99", "-15", "16.99"),  # 16.9915
        ("0.15", "-50", "0.08"),  # 0.075, half up
        ("12.34", "0.5", "12.40"),  # 12.4017
        ("0.00", "25", "0.00"),
    ],
)
def test_reprice_rounds_half_up_to_the_cent(
    app_db: Database, price: str, percent: str, expected: str
) -> None:
    with app_db.session_scope() as session:
        product_id = make_product(session, price=Decimal(price)).id

    with app_db.session_scope() as session:
        reprice(session, Reprice(percent=Decimal(percent)))

    new_price = stored(app_db, product_id).price
    assert isinstance(new_price, Decimal)
    assert str(new_price) == expected


def test_reprice_changes_only_the_skus_with_the_prefix_and_returns_the_count(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        make_product(session, sku="TEA-1", price=Decimal("10.00"))
        make_product(session, sku="TEA-2", price=Decimal("20.00"))
        make_product(session, sku="COFFEE-1", price=Decimal("30.00"))
        make_product(session, sku="XTEA-1", price=Decimal("40.00"))

    with app_db.session_scope() as session:
        repriced = reprice(session, Reprice(percent=Decimal("10"), sku_prefix="TEA-"))

    assert repriced == 2
    assert prices_by_sku(app_db) == {
        "TEA-1": Decimal("11.00"),
        "TEA-2": Decimal("22.00"),
        "COFFEE-1": Decimal("30.00"),
        "XTEA-1": Decimal("40.00"),
    }


def test_reprice_takes_the_sku_prefix_literally(app_db: Database) -> None:
    with app_db.session_scope() as session:
        make_product(session, sku="A_1", price=Decimal("10.00"))
        make_product(session, sku="AB1", price=Decimal("10.00"))

    with app_db.session_scope() as session:
        repriced = reprice(session, Reprice(percent=Decimal("10"), sku_prefix="A_"))

    assert repriced == 1
    assert prices_by_sku(app_db) == {"A_1": Decimal("11.00"), "AB1": Decimal("10.00")}


def test_reprice_changes_only_the_products_given_by_id(app_db: Database) -> None:
    with app_db.session_scope() as session:
        chosen = make_product(session, sku="P-1", price=Decimal("10.00")).id
        make_product(session, sku="P-2", price=Decimal("10.00"))
        also = make_product(session, sku="P-3", price=Decimal("10.00")).id

    with app_db.session_scope() as session:
        repriced = reprice(session, Reprice(percent=Decimal("-10"), product_ids=[chosen, also]))

    assert repriced == 2
    assert prices_by_sku(app_db) == {
        "P-1": Decimal("9.00"),
        "P-2": Decimal("10.00"),
        "P-3": Decimal("9.00"),
    }


def test_reprice_leaves_inactive_products_alone(app_db: Database) -> None:
    with app_db.session_scope() as session:
        make_product(session, sku="ON", price=Decimal("10.00"))
        make_product(session, sku="OFF", price=Decimal("10.00"), is_active=False)

    with app_db.session_scope() as session:
        repriced = reprice(session, Reprice(percent=Decimal("50")))

    assert repriced == 1
    assert prices_by_sku(app_db) == {"ON": Decimal("15.00"), "OFF": Decimal("10.00")}


def test_reprice_writes_one_audit_record_of_what_it_did(app_db: Database) -> None:
    with app_db.session_scope() as session:
        make_product(session, sku="TEA-1")
        make_product(session, sku="TEA-2")
        make_product(session, sku="MUG-1")

    with app_db.session_scope() as session:
        reprice(session, Reprice(percent=Decimal("12.5"), sku_prefix="TEA"))

    with app_db.session_scope(read_only=True) as session:
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "products.repriced")
        ).all()
        assert len(records) == 1
        details = session.execute(
            select(AuditDetail.field, AuditDetail.new_value).where(
                AuditDetail.record_id == records[0].id
            )
        ).all()
    assert records[0].entity == "products"
    found = {row.field: row.new_value for row in details}
    assert (found["percent"], found["sku_prefix"], found["rows"]) == ("12.5", "TEA", "2")


def test_reprice_brings_products_loaded_in_the_session_up_to_date(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product_id = make_product(session, price=Decimal("9.99")).id

    with app_db.session_scope() as session:
        loaded = session.get(Product, product_id)
        assert loaded is not None
        assert loaded.price == Decimal("9.99")
        reprice(session, Reprice(percent=Decimal("10")))
        seen = loaded.price

    assert seen == Decimal("10.99")

"""The audit listener: one record per inserted, updated or deleted auditable object.

Records are written by the flush itself, so they commit or roll back with the
change they describe; values are rendered as text, exactly; nothing is loaded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, selectinload

from alchemy_patterns.db import Conflict, Database, count_queries, savepoint, table_of
from alchemy_patterns.domains.accounts.models import Role, User
from alchemy_patterns.domains.audit.models import AuditDetail, AuditRecord
from alchemy_patterns.domains.audit.recording import record_inserted
from alchemy_patterns.domains.audit.services import record_event, set_actor
from alchemy_patterns.domains.shop.models import Order, OrderStatus, Product
from alchemy_patterns.domains.shop.schemas import ProductUpdate
from alchemy_patterns.domains.shop.services import update_product
from tests.builders import make_product, make_user


@dataclass(frozen=True)
class Recorded:
    action: str
    entity: str
    entity_id: str | None
    actor_id: int | None
    details: dict[str, tuple[str | None, str | None]]


def recorded(db: Database) -> list[Recorded]:
    """Every audit record and its details, oldest first, read in a new session."""
    with db.session_scope(read_only=True) as session:
        records = session.scalars(
            select(AuditRecord).options(selectinload(AuditRecord.details)).order_by(AuditRecord.id)
        ).all()
        return [
            Recorded(
                r.action,
                r.entity,
                r.entity_id,
                r.actor_id,
                {d.field: (d.old_value, d.new_value) for d in r.details},
            )
            for r in records
        ]


def audit_row_counts(db: Database) -> tuple[int, int]:
    with db.session_scope(read_only=True) as session:
        records = session.scalar(select(func.count()).select_from(AuditRecord)) or 0
        details = session.scalar(select(func.count()).select_from(AuditDetail)) or 0
    return records, details


def make_order(session: Session) -> Order:
    order = Order(user_id=make_user(session, with_cart=False).id, total=Decimal("19.98"))
    session.add(order)
    session.flush()
    return order


def forget_audit(db: Database) -> None:
    """Start a test's story after its set-up: the set-up's own records are not the point."""
    with db.session_scope() as session:
        session.execute(delete(AuditDetail))
        session.execute(delete(AuditRecord))


BUILDERS: dict[str, Callable[[Session], User | Product | Order]] = {
    "products": make_product,
    "users": lambda session: make_user(session, with_cart=False),
    "orders": make_order,
}


# --- insert ----------------------------------------------------------------------------------


def test_an_insert_writes_one_record_with_every_value(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product = make_product(session, sku="SKU-1", name="Widget", price=Decimal("9.99"), stock=3)

    assert recorded(app_db) == [
        Recorded(
            "insert",
            "products",
            str(product.id),
            None,
            {
                "id": (None, str(product.id)),
                "sku": (None, "SKU-1"),
                "name": (None, "Widget"),
                "description": (None, ""),
                "price": (None, "9.99"),
                "stock": (None, "3"),
                "is_active": (None, "true"),
            },
        )
    ]


def test_an_insert_details_the_defaults_the_flush_applied(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product = Product(sku="SKU-2", name="Gizmo", price=Decimal("0.10"))
        session.add(product)

    [record] = recorded(app_db)
    assert record.details["stock"] == (None, "0")
    assert record.details["is_active"] == (None, "true")
    assert record.details["price"] == (None, "0.10")


def test_an_inserted_user_has_its_role_as_text_and_its_hash_redacted(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session, with_cart=False, username="ada", role=Role.ADMIN)
        stored_hash = user.password_hash

    [record] = recorded(app_db)
    assert (record.action, record.entity, record.entity_id) == ("insert", "users", str(user.id))
    assert record.details["role"] == (None, "admin")
    assert record.details["username"] == (None, "ada")
    assert record.details["password_hash"] == (None, "[redacted]")
    assert stored_hash not in {value for pair in record.details.values() for value in pair}


@pytest.mark.parametrize("entity", list(BUILDERS))
def test_each_auditable_insert_writes_exactly_one_record(app_db: Database, entity: str) -> None:
    with app_db.session_scope() as session:
        inserted = BUILDERS[entity](session)

    records = [r for r in recorded(app_db) if r.entity == entity]
    assert [(r.action, r.entity_id) for r in records] == [("insert", str(inserted.id))]


def test_timestamps_get_no_detail_rows(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product = make_product(session, name="Widget")
        product.created_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        product.updated_at = dt.datetime(2020, 1, 2, tzinfo=dt.UTC)
        product.name = "Renamed"
        session.flush()
        make_order(session)  # orders have a created_at of their own

    records = recorded(app_db)
    assert {(r.action, r.entity) for r in records} == {
        ("insert", "products"),
        ("update", "products"),
        ("insert", "users"),
        ("insert", "orders"),
    }
    assert [r.details for r in records if r.action == "update"] == [{"name": ("Widget", "Renamed")}]
    assert {field for r in records for field in r.details}.isdisjoint({"created_at", "updated_at"})


def test_record_inserted_writes_for_a_core_insert_what_the_listener_writes_for_the_orm(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        user_id = make_user(session, with_cart=False).id
    forget_audit(app_db)
    values = {"user_id": user_id, "status": OrderStatus.PLACED, "total": Decimal("19.98")}

    with app_db.session_scope() as session:
        set_actor(session, user_id)
        by_orm = Order(**values)
        session.add(by_orm)
        session.flush()
        by_core = session.execute(insert(table_of(Order)).returning(Order.id), values).scalar_one()
        record_inserted(session, Order, values | {"id": by_core})

    from_orm, from_core = recorded(app_db)
    assert from_orm.details["status"] == (None, "placed")
    assert from_core == replace(
        from_orm,
        entity_id=str(by_core),
        details=from_orm.details | {"id": (None, str(by_core))},
    )


# --- update ----------------------------------------------------------------------------------


def test_an_update_details_only_the_changed_columns_old_to_new(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product = make_product(session, price=Decimal("9.99"), stock=5)
    forget_audit(app_db)

    with app_db.session_scope() as session:
        loaded = session.get(Product, product.id)
        assert loaded is not None
        loaded.price = Decimal("12.50")
        loaded.is_active = False

    assert recorded(app_db) == [
        Recorded(
            "update",
            "products",
            str(product.id),
            None,
            {"price": ("9.99", "12.50"), "is_active": ("true", "false")},
        )
    ]


def test_an_update_renders_an_enum_by_its_value(app_db: Database) -> None:
    with app_db.session_scope() as session:
        order = make_order(session)
    forget_audit(app_db)

    with app_db.session_scope() as session:
        loaded = session.get(Order, order.id)
        assert loaded is not None
        loaded.status = OrderStatus.SHIPPED

    assert [(r.action, r.entity, r.details) for r in recorded(app_db)] == [
        ("update", "orders", {"status": ("placed", "shipped")})
    ]


def test_an_update_of_a_password_hash_is_recorded_but_redacted(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session, with_cart=False)
    forget_audit(app_db)

    with app_db.session_scope() as session:
        loaded = session.get(User, user.id)
        assert loaded is not None
        loaded.password_hash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA"

    assert [r.details for r in recorded(app_db)] == [
        {"password_hash": ("[redacted]", "[redacted]")}
    ]


def test_setting_a_column_to_the_value_it_has_writes_nothing(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product = make_product(session, name="Widget", price=Decimal("9.99"))
    forget_audit(app_db)

    with app_db.session_scope() as session:
        loaded = session.get(Product, product.id)
        assert loaded is not None
        loaded.name = "Widget"
        loaded.price = Decimal("9.990")

    assert audit_row_counts(app_db) == (0, 0)


def test_an_update_after_a_failed_savepoint_still_records_the_old_value(
    app_db: Database,
) -> None:
    """A caller retries after a conflict, in the same unit of work, on the same product."""
    with app_db.session_scope() as session:
        make_product(session, sku="SKU-TAKEN")
        product = make_product(session, name="Widget")
    forget_audit(app_db)

    with app_db.session_scope() as session:
        loaded = session.get(Product, product.id)
        assert loaded is not None
        with pytest.raises(Conflict), savepoint(session):
            loaded.sku = "SKU-TAKEN"  # unique: refused at the savepoint's flush
        update_product(session, product.id, ProductUpdate(name="Gadget"))

    assert [(r.action, r.details) for r in recorded(app_db)] == [
        ("update", {"name": ("Widget", "Gadget")})
    ]


# --- delete ----------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", list(BUILDERS))
def test_each_auditable_delete_writes_exactly_one_record(app_db: Database, entity: str) -> None:
    with app_db.session_scope() as session:
        doomed = BUILDERS[entity](session)
    forget_audit(app_db)

    with app_db.session_scope() as session:
        loaded = session.get(type(doomed), doomed.id)
        session.delete(loaded)

    [record] = recorded(app_db)
    assert (record.action, record.entity, record.entity_id) == ("delete", entity, str(doomed.id))
    assert record.details["id"] == (str(doomed.id), None)


def test_a_delete_records_the_last_values(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product = make_product(session, sku="SKU-GONE", price=Decimal("0.50"), is_active=False)
    forget_audit(app_db)

    with app_db.session_scope() as session:
        loaded = session.get(Product, product.id)
        session.delete(loaded)

    [record] = recorded(app_db)
    assert record.details["sku"] == ("SKU-GONE", None)
    assert record.details["price"] == ("0.50", None)
    assert record.details["is_active"] == ("false", None)


# --- the same transaction as the change ------------------------------------------------------


def test_no_audit_row_survives_a_rolled_back_transaction(app_db: Database) -> None:
    with pytest.raises(RuntimeError, match="abandon"), app_db.session_scope() as session:
        make_product(session)
        make_user(session)
        session.flush()
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == 2
        raise RuntimeError("abandon the unit of work")

    assert audit_row_counts(app_db) == (0, 0)


def test_no_audit_row_survives_a_rolled_back_savepoint(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product = make_product(session, sku="SKU-KEPT", price=Decimal("9.99"))
        product_id = product.id
        with pytest.raises(Conflict), savepoint(session):
            product.price = Decimal("1.00")
            session.flush()  # the update and its audit record reach the database...
            make_product(session, sku="SKU-KEPT")  # ...then the savepoint fails

    records = recorded(app_db)
    assert [(r.action, r.entity, r.entity_id) for r in records] == [
        ("insert", "products", str(product_id))
    ]
    assert records[0].details["price"] == (None, "9.99")
    with app_db.session_scope(read_only=True) as session:
        assert session.scalar(select(Product.price).where(Product.id == product_id)) == Decimal(
            "9.99"
        )


# --- actor -----------------------------------------------------------------------------------


def test_set_actor_puts_the_actor_on_every_record_of_the_session(app_db: Database) -> None:
    with app_db.session_scope() as session:
        admin = make_user(session, with_cart=False)
    forget_audit(app_db)

    with app_db.session_scope() as session:
        set_actor(session, admin.id)
        product = make_product(session)
        product.stock = 7
        session.flush()
        record_event(session, "products.counted", "products", product.id)

    assert [(r.action, r.actor_id) for r in recorded(app_db)] == [
        ("insert", admin.id),
        ("update", admin.id),
        ("products.counted", admin.id),
    ]


def test_without_an_actor_records_carry_none(app_db: Database) -> None:
    with app_db.session_scope() as session:
        make_product(session)

    assert [r.actor_id for r in recorded(app_db)] == [None]


# --- record_event ----------------------------------------------------------------------------


def test_record_event_writes_a_record_and_its_details(app_db: Database) -> None:
    with app_db.session_scope() as session:
        out = record_event(
            session,
            "products.repriced",
            "products",
            details={
                "percent": (None, Decimal("10.00")),
                "active_only": (False, True),
                "sku_prefix": (None, None),
                "rows": (None, 3),
            },
        )

    assert recorded(app_db) == [
        Recorded(
            "products.repriced",
            "products",
            None,
            None,
            {
                "percent": (None, "10.00"),
                "active_only": ("false", "true"),
                "sku_prefix": (None, None),
                "rows": (None, "3"),
            },
        )
    ]
    assert [(d.field, d.new_value) for d in out.details] == [
        ("percent", "10.00"),
        ("active_only", "true"),
        ("sku_prefix", None),
        ("rows", "3"),
    ]


def test_record_event_returns_the_new_id_and_an_aware_utc_time(app_db: Database) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)

    with app_db.session_scope() as session:
        out = record_event(session, "users.exported", "users", 42)

    with app_db.session_scope(read_only=True) as session:
        stored = session.get(AuditRecord, out.id)
        assert stored is not None
    assert (out.action, out.entity, out.entity_id) == ("users.exported", "users", "42")
    assert out.created_at.utcoffset() == dt.timedelta(0)
    assert before < out.created_at < dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    assert stored.created_at == out.created_at


def test_record_event_rolls_back_with_its_transaction(app_db: Database) -> None:
    with pytest.raises(RuntimeError, match="abandon"), app_db.session_scope() as session:
        record_event(session, "users.exported", "users", 42, details={"rows": (None, 1)})
        raise RuntimeError("abandon the unit of work")

    assert audit_row_counts(app_db) == (0, 0)


# --- auditing loads nothing ------------------------------------------------------------------


def test_a_flush_that_inserts_an_auditable_object_runs_no_select(app_db: Database) -> None:
    with app_db.session_scope() as session:
        session.add(User(username="ada", email="ada@example.com", password_hash="x" * 20))
        with count_queries() as counter:
            session.flush()

    assert counter.matching("SELECT") == [], counter.report()
    assert len(counter.matching("INSERT INTO audit_records")) == 1, counter.report()
    assert len(counter.matching("INSERT INTO audit_details")) == 1, counter.report()


def test_a_flush_that_updates_and_deletes_auditable_objects_runs_no_select(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        kept, doomed = make_product(session), make_product(session)
        kept.stock = 1
        session.delete(doomed)
        with count_queries() as counter:
            session.flush()

    assert counter.matching("SELECT") == [], counter.report()
    assert len(counter.matching("INSERT INTO audit_records")) == 2, counter.report()
    assert sorted((r.action, r.entity_id) for r in recorded(app_db) if r.action != "insert") == [
        ("delete", str(doomed.id)),
        ("update", str(kept.id)),
    ]

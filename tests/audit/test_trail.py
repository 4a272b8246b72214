"""Reading the audit trail: filtered, newest first, paginated, in a fixed number of statements."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from alchemy_patterns.db import Database, ValidationFailed, count_queries
from alchemy_patterns.domains.audit.models import AuditDetail, AuditRecord
from alchemy_patterns.domains.audit.services import audit_trail
from alchemy_patterns.domains.shop.models import Product
from tests.builders import make_product, make_user

DETAILS_EACH = 3


def add_records(session: Session, how_many: int, *, entity: str = "products") -> list[int]:
    """``how_many`` records of ``entity`` written directly, each with a few details; their ids."""
    records = [
        AuditRecord(
            action="update",
            entity=entity,
            entity_id=str(number),
            details=[
                AuditDetail(field=f"field{d}", old_value=str(d), new_value=str(d + 1))
                for d in range(DETAILS_EACH)
            ],
        )
        for number in range(1, how_many + 1)
    ]
    session.add_all(records)
    session.flush()
    return [record.id for record in records]


def test_the_trail_of_one_entity_is_its_records_newest_first(app_db: Database) -> None:
    with app_db.session_scope() as session:
        product = make_product(session, name="Widget")
        other = make_product(session)
        make_user(session, with_cart=False)
    with app_db.session_scope() as session:
        renamed, restocked = session.get(Product, product.id), session.get(Product, other.id)
        assert renamed is not None
        assert restocked is not None
        renamed.name = "Gadget"
        restocked.stock = 1

    with app_db.session_scope(read_only=True) as session:
        trail = audit_trail(session, entity="products", entity_id=product.id)

    assert [(r.action, r.entity, r.entity_id) for r in trail.items] == [
        ("update", "products", str(product.id)),
        ("insert", "products", str(product.id)),
    ]
    assert [(d.field, d.old_value, d.new_value) for d in trail.items[0].details] == [
        ("name", "Widget", "Gadget")
    ]
    assert trail.total == 2


def test_the_trail_filtered_by_entity_only_shows_every_row_of_that_entity(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        products = add_records(session, 3, entity="products")
        add_records(session, 2, entity="users")

    with app_db.session_scope(read_only=True) as session:
        trail = audit_trail(session, entity="products")

    assert [r.id for r in trail.items] == sorted(products, reverse=True)
    assert {r.entity for r in trail.items} == {"products"}


def test_the_unfiltered_trail_shows_every_record_newest_first(app_db: Database) -> None:
    with app_db.session_scope() as session:
        ids = add_records(session, 2, entity="products") + add_records(session, 2, entity="users")

    with app_db.session_scope(read_only=True) as session:
        trail = audit_trail(session)

    assert [r.id for r in trail.items] == sorted(ids, reverse=True)


def test_the_trail_is_paginated(app_db: Database) -> None:
    with app_db.session_scope() as session:
        ids = add_records(session, 30)
    newest_first = sorted(ids, reverse=True)

    with app_db.session_scope(read_only=True) as session:
        second = audit_trail(session, page=2, per_page=10)
        last = audit_trail(session, page=3, per_page=10)

    assert [r.id for r in second.items] == newest_first[10:20]
    assert [r.id for r in last.items] == newest_first[20:30]
    assert (second.total, second.pages, second.has_next, last.has_next) == (30, 3, True, False)


def test_the_trail_refuses_a_page_size_beyond_the_cap(app_db: Database) -> None:
    with pytest.raises(ValidationFailed) as refused, app_db.session_scope() as session:
        audit_trail(session, per_page=10_000)

    assert refused.value.field == "per_page"


def test_the_trail_gives_each_record_its_details_in_order_and_an_aware_utc_time(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        add_records(session, 2)

    with app_db.session_scope(read_only=True) as session:
        trail = audit_trail(session)

    for record in trail.items:
        assert [(d.field, d.old_value, d.new_value) for d in record.details] == [
            ("field0", "0", "1"),
            ("field1", "1", "2"),
            ("field2", "2", "3"),
        ]
        assert record.created_at.utcoffset() == dt.timedelta(0)


def count_trail_statements(db: Database, per_page: int) -> tuple[int, int]:
    """(statements, records shown) for one page of the whole trail."""
    with db.session_scope(read_only=True) as session, count_queries() as counter:
        trail = audit_trail(session, per_page=per_page)
        shown = sum(len(record.details) for record in trail.items) // DETAILS_EACH
    return counter.count, shown


def test_the_trail_runs_the_same_few_statements_for_one_record_and_for_thirty(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        add_records(session, 1)
    one, shown_one = count_trail_statements(app_db, per_page=50)
    with app_db.session_scope() as session:
        add_records(session, 29)

    thirty, shown_thirty = count_trail_statements(app_db, per_page=50)

    assert (shown_one, shown_thirty) == (1, 30)
    assert one == thirty
    assert thirty <= 3


def test_a_full_page_with_its_count_is_still_a_fixed_number_of_statements(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        add_records(session, 30)

    statements, shown = count_trail_statements(app_db, per_page=10)

    assert shown == 10
    assert statements == 3  # the page, its details, the count

"""Pagination and counting: a numbered page and its total, against a keyset page.

``paginate()`` reads the page with LIMIT/OFFSET (the database still walks
past every skipped row) and the total with one ``COUNT(*)`` over the
statement without its ORDER BY. ``keyset_paginate()`` starts after the last
row seen (an opaque cursor): one statement, as cheap on page 1000 as on page
1, and rows inserted meanwhile do not shift the pages. Both read the same rows.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, measure
from alchemy_patterns.db import Database, bulk_insert, keyset_paginate, paginate
from alchemy_patterns.db.pagination import encode_cursor
from alchemy_patterns.domains.shop.models import Product

ROWS = 200
PER_PAGE = 20
PAGE = 9


def add_products(db: Database) -> list[int]:
    rows = [
        {"sku": f"TOUR-{i:04d}", "name": f"Product {i}", "price": Decimal("1.00"), "stock": 1}
        for i in range(ROWS)
    ]
    with db.session_scope() as session:
        bulk_insert(session, Product, rows)
    with db.session_scope(read_only=True) as session:
        return list(session.scalars(select(Product.id).order_by(Product.id)))


def offset_page(db: Database) -> tuple[Variant, list[int]]:
    stmt = select(Product).order_by(Product.id)
    with (
        measure(f"offset: page {PAGE} and COUNT(*)") as m,
        db.session_scope(read_only=True) as session,
    ):
        page = paginate(session, stmt, page=PAGE, per_page=PER_PAGE)
    ids = [product.id for product in page.items]
    variant = m.result(
        items=len(page.items),
        total=page.total,
        pages=page.pages,
        rows_skipped=(PAGE - 1) * PER_PAGE,
    )
    return variant, ids


def keyset_page(db: Database, ids: list[int], offset_ids: list[int]) -> Variant:
    last_seen = ids[(PAGE - 1) * PER_PAGE - 1]
    cursor = encode_cursor([last_seen])  # what the previous page handed out
    with (
        measure("keyset: the page after a cursor") as m,
        db.session_scope(read_only=True) as session,
    ):
        page = keyset_paginate(
            session, select(Product), [Product.id.asc()], cursor=cursor, per_page=PER_PAGE
        )
    return m.result(
        items=len(page.items),
        same_rows_as_offset=[product.id for product in page.items] == offset_ids,
        has_next=page.next_cursor is not None,
    )


def run(db: Database) -> list[Variant]:
    ids = add_products(db)
    offset, offset_ids = offset_page(db)
    return [offset, keyset_page(db, ids, offset_ids)]


CHAPTER = Chapter(
    name="pagination",
    title="Pagination and counting: offset + COUNT vs keyset",
    module="db/pagination.py paginate(), keyset_paginate()",
    test="tests/db/test_pagination.py",
    lesson="A numbered page needs its rows and a COUNT(*); a keyset page is one statement "
    "that starts where the last one ended.",
    run=run,
)

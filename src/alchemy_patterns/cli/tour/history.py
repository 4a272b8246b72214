"""History "as of": every change keeps the version it replaced; read any instant; revert.

A product is changed, a change is rolled back, the product is read as it was
before the change, and put back as it was. The history row is written by the
database in the change's own flush (``INSERT ... SELECT ... FOR UPDATE``,
then the UPDATE), so it costs one statement per change and a rollback takes
it away; reading "as of" an instant is one statement.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, count_rows, measure
from alchemy_patterns.db import Database, as_of, history_table, revert
from alchemy_patterns.domains.shop.models import Product

HISTORY = history_table(Product)


def new_product(db: Database) -> int:
    with db.session_scope() as session:
        product = Product(sku="LAMP-1", name="Desk lamp", price=Decimal("19.99"), stock=5)
        session.add(product)
        session.flush()
        return product.id


def change(db: Database, product_id: int) -> Variant:
    with measure("change, committed: history kept") as m, db.session_scope() as session:
        session.get_one(Product, product_id).price = Decimal("24.57")
    return m.result(history_rows=count_rows(db, HISTORY), kept_price=str(kept_price(db)))


def kept_price(db: Database) -> Decimal:
    with db.session_scope(read_only=True) as session:
        price: Decimal = session.scalars(
            select(HISTORY.c.price).where(HISTORY.c.version == 1)
        ).one()
        return price


def rolled_back(db: Database, product_id: int) -> Variant:
    with measure("change, rolled back: no history") as m, db.sessionmaker() as session:
        session.get_one(Product, product_id).price = Decimal("0.01")
        session.flush()
        session.rollback()
    return m.result(history_rows=count_rows(db, HISTORY))


def read_as_of(db: Database, product_id: int) -> Variant:
    with db.session_scope(read_only=True) as session:
        replaced = session.scalars(select(HISTORY.c.changed_at)).one()
    before = replaced - dt.timedelta(microseconds=1)
    with measure("as_of(): before the change") as m, db.session_scope(read_only=True) as session:
        row = as_of(session, Product, product_id, before)
    return m.result(price=str(row.price), version=row.version)


def put_back(db: Database, product_id: int) -> Variant:
    with measure("revert(): to version 1, a new version") as m, db.session_scope() as session:
        product = session.get_one(Product, product_id)
        revert(session, product, 1)
        session.flush()
        price, version = str(product.price), product.version
    return m.result(price=price, version=version, history_rows=count_rows(db, HISTORY))


def run(db: Database) -> list[Variant]:
    product_id = new_product(db)
    return [step(db, product_id) for step in (change, rolled_back, read_as_of, put_back)]


CHAPTER = Chapter(
    name="history",
    title="History as of, and revert",
    module="db/history.py Historied, as_of(), revert()",
    test="tests/shop/test_history.py, tests/web/test_history.py",
    lesson="Copy the replaced version in the change's own flush: one statement more per change, "
    "gone with a rollback, and any instant is one statement away.",
    run=run,
)

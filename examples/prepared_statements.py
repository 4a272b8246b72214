"""Prepared statements: SQLAlchemy compiles a hot statement once, psycopg runs it directly.

A request that reads one row spends more of its Python in SQLAlchemy's
``Connection.execute`` (cache lookup, execution context, cursor result) than
in the driver. ``prepared()`` marks a statement built once, at import;
``execute_core()`` then sends it to psycopg's cursor with SQLAlchemy's SQL,
type processing and error handling, and answers with the same rows. On any
other driver, or whenever something would miss the statement, SQLAlchemy
runs it as usual: the code below is the same on every backend.

    python examples/prepared_statements.py                      # SQLite, in memory
    DATABASE_URL=postgresql+psycopg://localhost/mydb python examples/prepared_statements.py
"""

from __future__ import annotations

import os
from decimal import Decimal

from sqlalchemy import String, bindparam, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alchemy_patterns.db import (
    Base,
    Database,
    DirectResult,
    count_queries,
    execute_core,
    prepared,
    table_of,
)


class Model(DeclarativeBase):
    type_annotation_map = Base.type_annotation_map  # Decimal is Money: exact everywhere


class Book(Model):
    __tablename__ = "example_books"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    price: Mapped[Decimal]


books = table_of(Book)

#: Built once, at import, with a bindparam for what changes: the statement worth preparing.
BOOK_BY_ID = prepared(
    select(books.c.id, books.c.title, books.c.price).where(books.c.id == bindparam("book_id"))
)


def main() -> None:
    db = Database(os.environ.get("DATABASE_URL", "sqlite://"), metadata=Model.metadata)
    db.create_all()
    try:
        with db.session_scope() as session:
            session.execute(
                insert(Book),
                [{"title": f"Book {n}", "price": Decimal(n) + Decimal("0.99")} for n in (1, 2, 3)],
            )
        with db.session_scope(read_only=True) as session, count_queries() as counter:
            for book_id in (1, 2, 3):
                result = execute_core(session, BOOK_BY_ID, {"book_id": book_id})
                book = result.one()
                print(f"{book.id} {book.title} {book.price}")
        how = "on the driver's cursor" if isinstance(result, DirectResult) else "by SQLAlchemy"
        print(f"{counter.count} statements, run {how} ({db.engine.driver})")
    finally:
        db.drop_all()
        db.dispose()


if __name__ == "__main__":
    main()

"""The peer of ``api.py``: ``GET /products`` written the Flask-SQLAlchemy 3.1 way.

A ``db.Model`` mapped on our ``products`` table, ``db.paginate()`` reading
``page`` and ``per_page`` from the request (it counts every time), and the
same JSON bytes as our app (the baseline's encoder). Its engine pings a
connection when it is taken, as ours does.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import Flask, Response
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Numeric, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from raw_api import MAX_PER_PAGE, json_response, page_links, position


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Product(db.Model):  # type: ignore[name-defined,misc]  # Flask-SQLAlchemy's dynamic base
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000))
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    stock: Mapped[int]
    is_active: Mapped[bool]
    version: Mapped[int]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


def create_app(url: str) -> Flask:
    """The peer on ``url`` (an SQLAlchemy URL), with our engine's pool settings."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "pool_size": 5,
        "max_overflow": 10,
        "pool_pre_ping": True,
        "connect_args": {"application_name": "bench-flask-sqlalchemy"},
    }
    db.init_app(app)
    app.add_url_rule("/products", "products", list_products)
    return app


def list_products() -> Response:
    stmt = select(Product).where(Product.is_active).order_by(Product.name, Product.id)
    page = db.paginate(stmt, max_per_page=MAX_PER_PAGE)
    last = page.items[-1] if page.items and page.has_next else None
    body: dict[str, Any] = {
        "items": [_product(product) for product in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
        "total_is_estimate": False,
        "next_cursor": position([last.name, last.id]) if last else None,
        "links": page_links(page.page, page.pages, page.has_next, page.has_prev),
    }
    return json_response(body)


def _product(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "price": product.price,
        "stock": product.stock,
        "is_active": product.is_active,
        "version": product.version,
    }

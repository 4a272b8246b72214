"""Page 50 of 20 with the total: our ``paginate()`` against its peers', and raw psycopg.

Every variant reads the same 20 products (``select(Product).order_by(Product.id)``,
rows 981-1000) and the same total, in a unit of work of its own: a pooled
connection, pinged when it is taken, one transaction, closed.

* ``raw``: psycopg 3 + psycopg_pool: ``SELECT ... LIMIT 20 OFFSET 980`` and
  ``SELECT count(*)``, rows as tuples;
* ``ours``: ``alchemy_patterns.db.paginate()`` in a ``Session``;
* ``flask-sqlalchemy``: Flask-SQLAlchemy 3.1's ``db.paginate()`` in an app
  context, its session removed after each call (as at the end of a request);
* ``advanced-alchemy``: ``SQLAlchemySyncRepository.list_and_count()`` with a
  ``LimitOffset`` in a ``Session``: its default, one statement with
  ``count(*) OVER ()``; ``advanced-alchemy/2`` is its two-statement variant.

Ours and Advanced Alchemy share our engine; Flask-SQLAlchemy builds its own
with the same pool settings, whose statements are observed as ours are
(``observe_statements()``, a few microseconds per statement) so that they are
counted. The variants run in ``--rounds`` interleaved
rounds (the order rotates), ``--iterations`` calls each; the table gives
statements per call, microseconds per call and the ratio to raw, as the
median of the rounds and their spread (min-max). Goal: ``paginate()`` cheaper
than both peers.

    .venv/bin/python benchmarks/pagination.py [--rows 5000] [--rounds 5] [--iterations 300]
        [--json FILE|-]

PostgreSQL only: the products go into a database of its own,
``alchemy_patterns_bench``, and are dropped at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from advanced_alchemy.filters import LimitOffset
from advanced_alchemy.repository import SQLAlchemySyncRepository
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from psycopg_pool import ConnectionPool
from sqlalchemy import select

from alchemy_patterns.db import Database, bulk_insert, count_queries, observe_statements, paginate
from alchemy_patterns.domains.shop.models import Product
from common import interleaved, libpq, scratch_database, show_spread, spread, write_json

PAGE, PER_PAGE = 50, 20
STMT = select(Product).order_by(Product.id)
RAW_PAGE = (
    "SELECT id, sku, name, price, stock, is_active, created_at, updated_at"
    " FROM products ORDER BY id LIMIT %s OFFSET %s"
)
RAW_COUNT = "SELECT count(*) FROM products"

#: What each variant returns: the ids of the page's rows, and the total.
Result = tuple[list[int], int]


class ProductRepository(SQLAlchemySyncRepository[Product]):
    model_type = Product


def raw(pool: ConnectionPool) -> Result:
    with pool.connection() as conn:
        rows = conn.execute(RAW_PAGE, (PER_PAGE, (PAGE - 1) * PER_PAGE)).fetchall()
        counted = conn.execute(RAW_COUNT).fetchone()
    assert counted is not None
    return [row[0] for row in rows], counted[0]


def ours(db: Database) -> Result:
    with db.sessionmaker() as session:
        page = paginate(session, STMT, page=PAGE, per_page=PER_PAGE)
        return [product.id for product in page.items], page.total


def flask_sqlalchemy(fsa: SQLAlchemy) -> Result:
    try:
        page = fsa.paginate(STMT, page=PAGE, per_page=PER_PAGE, max_per_page=100, error_out=False)
        return [product.id for product in page.items], page.total or 0
    finally:
        fsa.session.remove()


def advanced_alchemy(db: Database, *, window: bool = True) -> Result:
    with db.sessionmaker() as session:
        repository = ProductRepository(session=session, count_with_window_function=window)
        items, total = repository.list_and_count(
            LimitOffset(limit=PER_PAGE, offset=(PAGE - 1) * PER_PAGE), order_by=(Product.id, False)
        )
        return [product.id for product in items], total


def fill(db: Database, rows: int) -> None:
    products = [
        {"sku": f"P{i:07d}", "name": f"Product {i}", "price": Decimal("9.99"), "stock": i % 50}
        for i in range(rows)
    ]
    with db.session_scope() as session:
        bulk_insert(session, Product, products)
    with db.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE products")  # the planner knows the table is not empty
        connection.commit()


def flask_app(db: Database) -> tuple[Flask, SQLAlchemy]:
    """Flask-SQLAlchemy on the same database, with our engine's pool settings."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = db.url.render_as_string(hide_password=False)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "pool_size": 5,
        "max_overflow": 10,
        "pool_pre_ping": True,
    }
    fsa = SQLAlchemy()
    fsa.init_app(app)
    with app.app_context():
        observe_statements(fsa.engine)  # counted as ours are
    return app, fsa


def per_call_us(call: Callable[[], Result], iterations: int) -> float:
    started = time.perf_counter()
    for _ in range(iterations):
        call()
    return (time.perf_counter() - started) / iterations * 1e6


def statements(call: Callable[[], Result]) -> int | None:
    """Statements per call, as our statement counters see them."""
    with count_queries() as counter:
        call()
    return counter.count


def run(rows: int, rounds: int, iterations: int) -> list[dict[str, Any]]:
    with scratch_database("postgresql") as db:
        fill(db, rows)
        app, fsa = flask_app(db)
        conninfo = libpq(db.url)
        with (
            app.app_context(),
            ConnectionPool(
                conninfo, min_size=1, max_size=5, check=ConnectionPool.check_connection
            ) as pool,
        ):
            variants: dict[str, Callable[[], Result]] = {
                "raw": lambda: raw(pool),
                "ours": lambda: ours(db),
                "flask-sqlalchemy": lambda: flask_sqlalchemy(fsa),
                "advanced-alchemy": lambda: advanced_alchemy(db),
                "advanced-alchemy/2": lambda: advanced_alchemy(db, window=False),
            }
            check_same_rows(variants)
            counts = {name: statements(call) for name, call in variants.items()}
            counts["raw"] = None  # psycopg alone, not observed (it runs 2)
            times = interleaved(variants, rounds, iterations, per_call_us)
            fsa.engines[None].dispose()
    return [result(name, counts[name], times) for name in variants]


def check_same_rows(variants: dict[str, Callable[[], Result]]) -> None:
    expected = variants["raw"]()
    assert len(expected[0]) == PER_PAGE, "too few rows: --rows must be 1000 or more"
    for name, call in variants.items():
        got = call()
        if got != expected:
            raise SystemExit(f"{name} returned {got}, raw {expected}")


def result(name: str, count: int | None, times: dict[str, list[float]]) -> dict[str, Any]:
    ratios = [mine / base for mine, base in zip(times[name], times["raw"], strict=True)]
    return {
        "variant": name,
        "statements": count,
        "us": [round(t, 1) for t in times[name]],
        "over_raw": [round(r, 3) for r in ratios],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--json", help="write the results to FILE ('-' for stdout)")
    args = parser.parse_args()
    results = run(args.rows, args.rounds, args.iterations)
    print(f"page {PAGE} of {PER_PAGE} with the total, {args.rows} rows, {args.rounds} rounds")
    print(f"{'variant':<20}{'stmts':>6}  {'µs/call median (min-max)':<28}{'/raw median (min-max)'}")
    for r in results:
        stmts = "2*" if r["statements"] is None else str(r["statements"])
        over_raw = show_spread(r["over_raw"], unit="x")
        print(f"{r['variant']:<20}{stmts:>6}  {show_spread(r['us'], 1):<28}{over_raw}")
    print("* raw psycopg: not observed; it runs a SELECT and a count")
    ours_median = spread(next(r for r in results if r["variant"] == "ours")["us"])[0]
    for peer in ("flask-sqlalchemy", "advanced-alchemy"):
        peer_median = spread(next(r for r in results if r["variant"] == peer)["us"])[0]
        verdict = "met" if ours_median < peer_median else "NOT met"
        print(f"goal: paginate() cheaper than {peer}: {verdict} ({ours_median / peer_median:.2f}x)")
    write_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One statement's CPU: raw psycopg, SQLAlchemy Core, and Core through our data layer.

The floor under every endpoint ``api.py`` measures: each statement a request
runs costs the app this much Python, whatever the framework above it does.
All three variants read one product by its id (the 7 columns the catalogue
shows) from a table of ``--rows``, on one connection, inside one open
transaction, so what is timed is the statement and its rows, not a
checkout, a BEGIN or a COMMIT:

* ``raw``: ``psycopg.Connection.execute(sql, (id,)).fetchone()``, rows as tuples;
* ``sqlalchemy``: a plain ``create_engine()``, ``Connection.execute(stmt, params).one_or_none()``
  of a Core ``select()`` built once: SQLAlchemy's own execution, with no
  event listener (ours observe only the engines they are given);
* ``ours``: the same statement through a ``Database``'s session with
  :func:`alchemy_patterns.db.execute_core`, with a query counter open and a
  unit of work tracked, as in a web request;
* ``prepared``: as ``ours``, the statement marked
  :func:`~alchemy_patterns.db.prepared`: SQLAlchemy compiles it once and it
  runs on psycopg's cursor directly, as the API's hot statements do.

Timed by this process's CPU clock (the round trip's wait is the same for
all three and is not the app's work), in ``--rounds`` interleaved rounds of
``--iterations`` statements; prints microseconds per statement, median and
spread, and the ratio to raw.

    .venv/bin/python benchmarks/statement.py [--rows 1000] [--rounds 5] [--iterations 3000]

PostgreSQL only, in ``alchemy_patterns_bench`` (its tables dropped at the end).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import Select, bindparam, create_engine, insert, select

from alchemy_patterns.db import (
    count_queries,
    execute_core,
    prepared,
    retrying_a_stale_connection,
    table_of,
)
from alchemy_patterns.domains.shop.models import Product
from common import interleaved, libpq, scratch_database, show_spread, spread

_products = table_of(Product)


def by_id() -> Select[int, str, str, str | None, Decimal, int, bool]:
    """One product by id, the 7 columns the catalogue shows (a new object each call)."""
    return select(
        _products.c.id,
        _products.c.sku,
        _products.c.name,
        _products.c.description,
        _products.c.price,
        _products.c.stock,
        _products.c.is_active,
    ).where(_products.c.id == bindparam("product_id"))


BY_ID = by_id()
#: The same statement, another object, marked for the direct path (``alchemy_patterns.db.direct``).
PREPARED_BY_ID = prepared(by_id())
RAW_SQL = "SELECT id, sku, name, description, price, stock, is_active FROM products WHERE id = %s"

Statement = Callable[[int], Any]


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rows", type=int, default=1000)
    options.add_argument("--rounds", type=int, default=5)
    options.add_argument("--iterations", type=int, default=3000)
    args = options.parse_args()
    with scratch_database("postgresql") as db:
        with db.session_scope() as session:
            session.execute(
                insert(Product),
                [
                    {"sku": f"S-{n}", "name": f"Product {n}", "price": Decimal("9.99"), "stock": n}
                    for n in range(1, args.rows + 1)
                ],
            )
        plain = create_engine(db.engine.url)
        with (
            psycopg.connect(libpq(db.engine.url)) as raw,
            plain.connect() as core,
            db.session_scope() as session,
            count_queries(),
        ):
            variants: dict[str, Statement] = {
                "raw": lambda n: raw.execute(RAW_SQL, (n,)).fetchone(),
                "sqlalchemy": lambda n: core.execute(BY_ID, {"product_id": n}).one_or_none(),
                "ours": lambda n: retrying_a_stale_connection(
                    lambda: execute_core(session, BY_ID, {"product_id": n}).one_or_none()
                ),
                "prepared": lambda n: retrying_a_stale_connection(
                    lambda: execute_core(session, PREPARED_BY_ID, {"product_id": n}).one_or_none()
                ),
            }
            report(variants, args.rows, args.rounds, args.iterations)
        plain.dispose()
    return 0


def report(variants: dict[str, Statement], rows: int, rounds: int, iterations: int) -> None:
    def cpu_per_statement(run: Statement, count: int) -> float:
        start = time.process_time()
        for n in range(count):
            run(1 + n % rows)  # the products in turn
        return (time.process_time() - start) / count * 1e6

    cpu = interleaved(variants, rounds, iterations, cpu_per_statement)
    raw = cpu["raw"]
    print(f"one SELECT by id, {iterations} per round, {rounds} rounds: CPU us per statement")
    for name, values in cpu.items():
        ratio = spread([mine / base for mine, base in zip(values, raw, strict=True)])[0]
        print(f"  {name:11} {show_spread(values, 1):24} {ratio:.2f}x raw")


if __name__ == "__main__":
    sys.exit(main())

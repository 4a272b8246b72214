"""The cart total: ``cart_view()`` (one statement) against the guide's ``get_cart_total``.

The guide loads the cart, then each line's product lazily, and adds the prices
in Python: 2 + N statements for N lines. ``cart_view()`` asks the database for
the lines, subtotals and total in one. Both run on the same cart, in the same
run; the table gives statements per call, microseconds per call (best of
``--repeat``), and the guide's time as a multiple of ours.

    .venv/bin/python benchmarks/cart.py [--backends sqlite,postgresql,mariadb] [--lines 1,10,50]

Server backends use a database of their own, ``alchemy_patterns_bench``
(created when missing), so a benchmark never touches the test databases.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from alchemy_patterns.db import Database, bulk_insert
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.shop.models import Cart, CartItem, Product
from alchemy_patterns.domains.shop.services import cart_view
from common import parser, scratch_database, timed, write_json


def guide_cart_total(session: Session, user_id: int) -> Decimal:
    """The guide's get_cart_total (without its prints), lazy loads made explicit."""
    cart = session.scalars(
        select(Cart)
        .where(Cart.user_id == user_id)
        .options(lazyload(Cart.items).lazyload(CartItem.product))
    ).one()
    total = Decimal("0.00")
    for item in cart.items:
        total += item.product.price * item.quantity
    return total


def make_cart(db: Database, lines: int) -> int:
    with db.session_scope() as session:
        user = User(username=f"bench{lines}", email=f"bench{lines}@example.com", password_hash="x")
        session.add(user)
        session.flush()
        cart = Cart(user_id=user.id)
        session.add(cart)
        products = [
            {"sku": f"B{lines}-{i}", "name": f"Item {i}", "price": Decimal("1.10"), "stock": 9}
            for i in range(lines)
        ]
        bulk_insert(session, Product, products)
        session.flush()
        ids = session.scalars(select(Product.id).where(Product.sku.startswith(f"B{lines}-")))
        bulk_insert(
            session, CartItem, [{"cart_id": cart.id, "product_id": i, "quantity": 3} for i in ids]
        )
        return user.id


def run(backend: str, line_counts: list[int], iterations: int, repeat: int) -> list[dict[str, Any]]:
    results = []
    with scratch_database(backend) as db:
        for lines in line_counts:
            user_id = make_cart(db, lines)
            ours_us, ours_n = timed(db, partial(cart_view, user_id=user_id), iterations, repeat)
            guide = partial(guide_cart_total, user_id=user_id)
            guide_us, guide_n = timed(db, guide, iterations, repeat)
            with db.session_scope() as session:
                assert cart_view(session, user_id).total == guide_cart_total(session, user_id)
            results.append(
                {
                    "backend": backend,
                    "lines": lines,
                    "cart_view_statements": ours_n,
                    "guide_statements": guide_n,
                    "cart_view_us": round(ours_us, 1),
                    "guide_us": round(guide_us, 1),
                    "guide_over_cart_view": round(guide_us / ours_us, 2),
                }
            )
    return results


def main() -> int:
    options = parser(__doc__, iterations=200)
    options.add_argument("--lines", default="1,10,50")
    args = options.parse_args()
    line_counts = [int(n) for n in args.lines.split(",")]
    results = []
    for backend in args.backends.split(","):
        results += run(backend, line_counts, args.iterations, args.repeat)
    header = ("backend", "lines", "stmts ours", "stmts guide", "µs ours", "µs guide", "guide/ours")
    print("{:<11}{:>6}{:>12}{:>13}{:>10}{:>10}{:>12}".format(*header))
    for r in results:
        print(
            f"{r['backend']:<11}{r['lines']:>6}{r['cart_view_statements']:>12}{r['guide_statements']:>13}"
            f"{r['cart_view_us']:>10}{r['guide_us']:>10}{r['guide_over_cart_view']:>11}x"
        )
    write_json(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

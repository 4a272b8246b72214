"""A concurrency-safe cart: the guide's read-modify-write loses increments, one upsert does not.

``THREADS`` shoppers add one more of the same product to a line that holds 1,
at the same moment, each in its own transaction.

* The guide's ``add_to_cart`` reads the line, adds in Python and writes the
  sum back. Here every thread reads before any thread writes (a barrier makes
  the interleaving certain rather than likely): they all read 1 and all write
  2. It runs on the guide's engine, a plain ``create_engine()``: on SQLite
  that leaves transactions to pysqlite, which runs the SELECT outside any
  transaction, so SQLite loses the increments too. (The app's SQLite engine
  begins every write transaction IMMEDIATE, which would serialise the threads.)
* ``add_to_cart()`` is one ``INSERT ... ON CONFLICT DO UPDATE SET quantity =
  cart_items.quantity + excluded.quantity``: the database adds to whatever is
  stored when the statement runs.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, measure
from alchemy_patterns.cli.tour.data import new_user
from alchemy_patterns.db import Database, observe_statements
from alchemy_patterns.domains.shop.models import Cart, CartItem, Product
from alchemy_patterns.domains.shop.services import add_to_cart

THREADS = 10
#: A race that takes longer is a hang: its threads are reported, not waited for.
RACE_TIMEOUT_S = 60.0


def add_cart_line(db: Database, shopper: str) -> tuple[int, int, int]:
    """A shopper whose cart holds 1 of a product: (user id, cart id, product id)."""
    with db.session_scope() as session:
        user = new_user(shopper)
        product = Product(sku=f"TEA-{shopper}", name="Tea", price=Decimal("3.50"), stock=100)
        session.add_all([user, product])
        session.flush()
        cart = Cart(user_id=user.id, items=[CartItem(product_id=product.id, quantity=1)])
        session.add(cart)
        session.flush()
        return user.id, cart.id, product.id


def race(work: Callable[[int], object]) -> list[Exception]:
    """Run ``work(0..THREADS-1)`` in threads released at once; what they raised.

    Each thread runs in a copy of this thread's context, so its statements
    reach the counters open here.
    """
    start = threading.Barrier(THREADS, timeout=RACE_TIMEOUT_S)
    failures: list[Exception] = []

    def run(index: int) -> None:
        try:
            start.wait()
            work(index)
        except Exception as error:
            failures.append(error)

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(run, i), daemon=True)
        for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RACE_TIMEOUT_S)
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError(f"the cart race did not finish within {RACE_TIMEOUT_S:.0f} s")
    return failures


def guide_add_to_cart(
    session: Session, cart_id: int, product_id: int, all_read: threading.Barrier
) -> None:
    """The guide's add_to_cart for a line that exists: read, add in Python, write back."""
    existing = session.scalars(
        select(CartItem).where(CartItem.cart_id == cart_id, CartItem.product_id == product_id)
    ).one()
    all_read.wait()
    existing.quantity += 1
    session.commit()


def stored_quantity(db: Database, product_id: int) -> int:
    with db.session_scope(read_only=True) as session:
        stmt = select(CartItem.quantity).where(CartItem.product_id == product_id)
        return session.scalars(stmt).one()


def outcome(db: Database, product_id: int, failures: list[Exception]) -> dict[str, Any]:
    stored = stored_quantity(db, product_id)
    expected = 1 + THREADS
    figures: dict[str, Any] = {
        "threads": THREADS,
        "expected": expected,
        "stored_quantity": stored,
        "lost": expected - stored,
        "errors": len(failures),
    }
    if failures:
        figures["first_error"] = f"{type(failures[0]).__name__}: {failures[0]}"
    return figures


def naive(db: Database) -> Variant:
    _, cart_id, product_id = add_cart_line(db, "guide")
    engine = create_engine(db.url, pool_size=THREADS, max_overflow=0)
    observe_statements(engine)  # the chapter counts its statements too
    guide_sessions = sessionmaker(engine)
    all_read = threading.Barrier(THREADS, timeout=RACE_TIMEOUT_S / 2)

    def add(_: int) -> None:
        try:
            with guide_sessions() as session:
                guide_add_to_cart(session, cart_id, product_id, all_read)
        except BaseException:
            all_read.abort()  # the others stop waiting for a reader who will not come
            raise

    try:
        with measure("guide: read, add in Python, write back") as m:
            failures = race(add)
    finally:
        engine.dispose()
    return m.result(**outcome(db, product_id, failures))


def atomic(db: Database) -> Variant:
    user_id, _, product_id = add_cart_line(db, "atomic")
    retried: list[BaseException] = []  # list.append: safe from the racing threads

    def add(_: int) -> None:
        db.transaction(
            lambda session: add_to_cart(session, user_id, product_id, quantity=1),
            on_retry=lambda _attempt, error: retried.append(error),
        )

    with measure("add_to_cart(): one upsert") as m:
        failures = race(add)
    return m.result(**outcome(db, product_id, failures), retries=len(retried))


def run(db: Database) -> list[Variant]:
    return [naive(db), atomic(db)]


#: Why 11 with 10 shoppers, and why the safe variant may issue more statements than the broken one.
READING = (
    f"expected = {1 + THREADS}: the line holds 1 before the {THREADS} shoppers add one "
    "each. Each add is 2 statements in both variants (the guide's SELECT, then UPDATE; "
    "add_to_cart()'s SELECT that checks the product and finds the cart, then the upsert), "
    f"so {2 * THREADS} each: equal counts, and only one keeps every add. When the database "
    "refuses a shopper who waited on another (a deadlock, a busy SQLite file: retries "
    "counts them), add_to_cart() runs that unit again, and the safe variant issues more "
    "statements than the broken one. That is right: the refusal is the database catching "
    "the conflict that the guide's code never sees, and the rerun adds to the quantity "
    "stored by then. The guide's count never grows because nothing stops it from "
    "overwriting: its statements are cheap and its answer is wrong."
)

CHAPTER = Chapter(
    name="cart",
    title=f"A concurrency-safe cart: {THREADS} shoppers add one each to 1",
    module="domains/shop/services.py add_to_cart()",
    test="tests/shop/test_concurrency.py, tests/shop/test_cart.py",
    lesson="Read-modify-write in Python loses every increment but one when the reads "
    "interleave; one upsert that adds to the stored quantity loses none.",
    run=run,
    reading=READING,
)

"""The shop under real concurrency: threads, one session and connection each, real commits.

Each atomic service is raced against a deliberately naive variant written the
guide's way (read, compute in Python, write back). The naive variant is made
to lose deterministically: every thread reads before any thread writes. The
same assertions that pass for the service fail for it, which shows the test
can see the bug. On SQLite every write transaction begins IMMEDIATE and holds
the database's one write lock, so the naive variant cannot interleave there:
it is raced on the servers only.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.util import await_

from alchemy_patterns.db import Database, EngineOptions, table_of
from alchemy_patterns.domains.shop.errors import OutOfStock
from alchemy_patterns.domains.shop.models import Cart, CartItem, Order, Product
from alchemy_patterns.domains.shop.schemas import OrderOut
from alchemy_patterns.domains.shop.services import add_to_cart, checkout
from tests.builders import make_product, make_user, put_in_cart
from tests.threads import race, race_in_tasks

ADDERS = 20
SHOPPERS = 30
STOCK = 10


def stored_quantity(app_db: Database, product_id: int) -> int:
    with app_db.session_scope() as session:
        return session.scalars(
            select(CartItem.quantity).where(CartItem.product_id == product_id)
        ).one()


def stock_of(app_db: Database, product_id: int) -> int:
    with app_db.session_scope() as session:
        return session.scalars(select(Product.stock).where(Product.id == product_id)).one()


def orders_placed(app_db: Database) -> int:
    with app_db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(Order)) or 0


class Racer:
    """``racer(count, work)``: ``work(session, i)`` for i in range(count), all at once.

    Each call is its own retried transaction; the outcomes (results or
    exceptions) come back in order. The sync services race from threads
    (``Database``) or from asyncio tasks: an async application's way,
    ``AsyncDatabase.transaction()`` in tasks gathered on one event loop, each
    calling the same sync service unchanged through ``run_sync``.
    """

    def __init__(self, kind: str, app_db: Database) -> None:
        self.kind = kind
        self.app_db = app_db

    def __call__(self, count: int, work: Callable[[Session, int], Any]) -> list[Any]:
        if self.kind == "threads":
            db = self.app_db
            return race(count, lambda i: db.transaction(lambda session: work(session, i)))
        url = self.app_db.url.render_as_string(hide_password=False)
        # The sync pool's idle connections closed first: the two pools never hold
        # a server's connections at once (a shared server allows 100 in all).
        self.app_db.engine.dispose()
        options = EngineOptions(pool_size=ADDERS, max_overflow=0)
        return race_in_tasks(
            url, count, work, metadata=self.app_db.metadata, engine_options=options
        )

    def barrier(self, parties: int) -> AllRead:
        """A barrier the racing units wait at from their sync code: a thread's, or a task's."""
        if self.kind == "threads":
            return threading.Barrier(parties, timeout=30)
        return TasksBarrier(asyncio.Barrier(parties))


class AllRead(Protocol):
    def wait(self) -> object: ...


class TasksBarrier:
    """An asyncio barrier waited at from sync code run by ``run_sync`` (in the greenlet)."""

    def __init__(self, barrier: asyncio.Barrier) -> None:
        self.barrier = barrier

    def wait(self) -> object:
        return await_(asyncio.wait_for(self.barrier.wait(), 30))


@pytest.fixture(params=["threads", "asyncio"])
def racer(request: pytest.FixtureRequest, app_db: Database) -> Racer:
    return Racer(request.param, app_db)


# --- add_to_cart: no lost increments ----------------------------------------------


def test_concurrent_adds_of_the_same_product_all_count(app_db: Database, racer: Racer) -> None:
    with app_db.session_scope() as session:
        user_id = make_user(session).id
        product_id = make_product(session).id

    outcomes = racer(ADDERS, lambda s, _: add_to_cart(s, user_id, product_id, quantity=1))

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert stored_quantity(app_db, product_id) == ADDERS


def naive_add_to_cart(session: Session, cart_id: int, product_id: int, all_read: AllRead) -> None:
    """The guide's add_to_cart: read the line, add in Python, write the sum back."""
    item = session.scalars(
        select(CartItem).where(CartItem.cart_id == cart_id, CartItem.product_id == product_id)
    ).one()
    all_read.wait()
    item.quantity += 1


@pytest.mark.backends("postgresql", "mariadb")
def test_the_naive_read_modify_write_loses_increments(app_db: Database, racer: Racer) -> None:
    """The race above can see the bug, from threads and from tasks alike."""
    with app_db.session_scope() as session:
        user = make_user(session)
        product_id = make_product(session).id
        cart_id = put_in_cart(session, user, session.get_one(Product, product_id)).cart_id
    all_read = racer.barrier(ADDERS)

    outcomes = racer(ADDERS, lambda s, _: naive_add_to_cart(s, cart_id, product_id, all_read))

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    # Twenty adds to a line of 1 should make 21; every thread read 1 and wrote 2.
    assert stored_quantity(app_db, product_id) == 2


# --- checkout: no overselling ---------------------------------------------------


def shoppers_with_one_unit_each(app_db: Database, count: int) -> tuple[list[int], int]:
    with app_db.session_scope() as session:
        product = make_product(session, stock=STOCK, price=Decimal("5.00"))
        users = [make_user(session, with_cart=False) for _ in range(count)]
        session.add_all(
            Cart(user_id=user.id, items=[CartItem(product_id=product.id, quantity=1)])
            for user in users
        )
        return [user.id for user in users], product.id


def test_concurrent_checkouts_never_oversell(app_db: Database, racer: Racer) -> None:
    user_ids, product_id = shoppers_with_one_unit_each(app_db, SHOPPERS)

    outcomes = racer(SHOPPERS, lambda s, i: checkout(s, user_ids[i]))

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"OrderOut": STOCK, "OutOfStock": SHOPPERS - STOCK}
    assert stock_of(app_db, product_id) == 0
    assert orders_placed(app_db) == STOCK
    refused = [o for o in outcomes if isinstance(o, OutOfStock)]
    assert all(o.shortages[0].product_id == product_id for o in refused)
    assert all(o.shortages[0].available == 0 for o in refused)


def test_a_refused_checkout_keeps_its_cart(app_db: Database) -> None:
    user_ids, _ = shoppers_with_one_unit_each(app_db, SHOPPERS)

    outcomes = race(SHOPPERS, lambda i: app_db.transaction(lambda s: checkout(s, user_ids[i])))

    refused = {user_ids[i] for i, o in enumerate(outcomes) if isinstance(o, OutOfStock)}
    served = {user_ids[i] for i, o in enumerate(outcomes) if isinstance(o, OrderOut)}
    with app_db.session_scope() as session:
        with_lines = set(
            session.scalars(select(Cart.user_id).join(CartItem, CartItem.cart_id == Cart.id))
        )
    assert with_lines == refused
    assert not with_lines & served


def naive_checkout(
    session: Session,
    user_id: int,
    product_id: int,
    all_read: threading.Barrier,
    *,
    versioned: bool,
) -> None:
    """Check the stock, then write ``stock - 1`` computed in Python: the check is stale.

    ``versioned``: through the ORM, whose UPDATE checks the version read;
    otherwise by a plain UPDATE of the value, as code without versions writes it.
    """
    product = session.get_one(Product, product_id)
    all_read.wait()
    if product.stock < 1:
        raise OutOfStock([])
    if versioned:
        product.stock -= 1
    else:
        products = table_of(Product)
        session.execute(
            update(products).where(products.c.id == product_id).values(stock=product.stock - 1)
        )
    session.add(Order(user_id=user_id, total=product.price))


@pytest.mark.backends("postgresql", "mariadb")
def test_the_naive_check_then_write_oversells(app_db: Database) -> None:
    user_ids, product_id = shoppers_with_one_unit_each(app_db, SHOPPERS)
    all_read = threading.Barrier(SHOPPERS, timeout=30)

    def buy(i: int) -> None:
        with app_db.session_scope() as session:
            naive_checkout(session, user_ids[i], product_id, all_read, versioned=False)

    outcomes = race(SHOPPERS, buy)

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    # Thirty orders for ten units; the stock says nine are left.
    assert orders_placed(app_db) == SHOPPERS
    assert stock_of(app_db, product_id) == STOCK - 1


@pytest.mark.backends("postgresql", "mariadb")
def test_the_product_version_turns_the_naive_lost_update_into_stale_version(
    app_db: Database,
) -> None:
    # The same naive code through the ORM: the product is versioned, so every
    # UPDATE but the first finds the version it read replaced.
    user_ids, product_id = shoppers_with_one_unit_each(app_db, SHOPPERS)
    all_read = threading.Barrier(SHOPPERS, timeout=30)

    def buy(i: int) -> None:
        with app_db.session_scope() as session:
            naive_checkout(session, user_ids[i], product_id, all_read, versioned=True)

    outcomes = race(SHOPPERS, buy)

    assert Counter(type(o).__name__ for o in outcomes) == {
        "NoneType": 1,
        "StaleVersion": SHOPPERS - 1,
    }
    assert orders_placed(app_db) == 1
    assert stock_of(app_db, product_id) == STOCK - 1


def test_checkouts_of_the_same_products_in_any_order_do_not_deadlock(app_db: Database) -> None:
    with app_db.session_scope() as session:
        first, second = make_product(session), make_product(session)
        users = [make_user(session, with_cart=False) for _ in range(SHOPPERS)]
        for i, user in enumerate(users):
            # Half the carts hold the products one way round, half the other.
            products = (first, second) if i % 2 else (second, first)
            session.add(
                Cart(
                    user_id=user.id,
                    items=[CartItem(product_id=p.id, quantity=1) for p in products],
                )
            )
        user_ids = [user.id for user in users]
    retries: list[BaseException] = []

    outcomes = race(
        SHOPPERS,
        lambda i: app_db.transaction(
            lambda s: checkout(s, user_ids[i]),
            on_retry=lambda attempt, error: retries.append(error),
        ),
    )

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    # Stock rows are locked in product order, so no two checkouts wait on each other in a cycle.
    assert retries == []
    assert stock_of(app_db, first.id) == stock_of(app_db, second.id) == 100 - SHOPPERS

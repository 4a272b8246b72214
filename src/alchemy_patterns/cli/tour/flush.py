"""flush() vs commit(): the new id is known after a flush, and a rollback still takes it all.

The guide's ``register_user_with_cart``: the cart needs the user's id, which
the database generates. ``add()`` sends nothing, so the id is ``None``;
``flush()`` sends the INSERT inside the transaction and the id is there; the
transaction still decides: a rollback removes the user and the cart alike.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, count_rows, measure
from alchemy_patterns.cli.tour.data import new_user
from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.shop.models import Cart


class Abandoned(RuntimeError):
    """The unit of work is given up after the flushes."""


def user_with_cart(session: Session) -> tuple[int, int]:
    """The user, flushed for its id, then a cart that carries it: (user id, cart's user id)."""
    user = new_user("alice")
    session.add(user)
    session.flush()
    cart = Cart(user_id=user.id)
    session.add(cart)
    session.flush()
    return user.id, cart.user_id


def add_without_flush(db: Database) -> Variant:
    with measure("add() only: the id is None") as m, db.session_scope() as session:
        user = new_user("alice")
        session.add(user)
        user_id = user.id
        session.expunge(user)  # the guide's Cart(user_id=None) would fail; stop here
    return m.result(user_id_before_flush=user_id, users_after=count_rows(db, User))


def flush_then_roll_back(db: Database) -> Variant:
    ids: tuple[int, int] | None = None
    with measure("flush(), then roll back") as m:
        try:
            with db.session_scope() as session:
                ids = user_with_cart(session)
                raise Abandoned
        except Abandoned:
            pass
    assert ids is not None
    return m.result(
        user_id_after_flush=ids[0],
        cart_carries_the_user_id=ids[0] == ids[1],
        users_after_rollback=count_rows(db, User),
        carts_after_rollback=count_rows(db, Cart),
    )


def flush_then_commit(db: Database) -> Variant:
    with measure("flush(), then commit") as m, db.session_scope() as session:
        user_id, cart_user_id = user_with_cart(session)
    return m.result(
        user_id_after_flush=user_id,
        cart_carries_the_user_id=user_id == cart_user_id,
        users_after_commit=count_rows(db, User),
        carts_after_commit=count_rows(db, Cart),
    )


def run(db: Database) -> list[Variant]:
    return [add_without_flush(db), flush_then_roll_back(db), flush_then_commit(db)]


CHAPTER = Chapter(
    name="flush",
    title="flush() vs commit(): the new id mid-transaction",
    module="domains/shop/services.py register_user_with_cart(), db/session.py",
    test="tests/db/test_session.py, tests/accounts/test_registration.py",
    lesson="flush() sends the INSERT and fills in the id; only commit() makes it stay, "
    "and a rollback takes the user and the cart together.",
    run=run,
)

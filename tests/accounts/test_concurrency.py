"""Registration under real concurrency: the unique constraint, not a prior SELECT, decides."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from alchemy_patterns.db import Conflict, Database
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.accounts.schemas import RegisterUser
from alchemy_patterns.domains.shop.models import Cart
from alchemy_patterns.domains.shop.services import register_user_with_cart
from tests.threads import race

RIVALS = 8


def test_rivals_registering_one_email_at_once_make_one_account(app_db: Database) -> None:
    def register(i: int) -> object:
        # Each rival writes the address in its own case; all mean the same mailbox.
        email = "Ada@Example.com" if i % 2 else "ada@example.COM"
        data = RegisterUser(username=f"ada{i}", email=email, password="analytical engine")
        return app_db.transaction(lambda session: register_user_with_cart(session, data))

    outcomes = race(RIVALS, register)

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"UserOut": 1, "Conflict": RIVALS - 1}
    assert {o.field for o in outcomes if isinstance(o, Conflict)} == {"email"}
    with app_db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
        assert session.scalar(select(func.count()).select_from(Cart)) == 1

"""Self-referential follows: ``alice.following`` and ``bob.followers`` are one table seen twice.

``follows`` links users to users. Two ``relationship()``s name each other
with ``back_populates`` (the guide uses the legacy ``backref``); the
composite primary key makes a second follow a no-op; following oneself is
refused by the service before the database's CHECK has to, and the CHECK
refuses a self-follow written directly.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, count_rows, measure
from alchemy_patterns.cli.tour.data import add_users
from alchemy_patterns.db import Database, ValidationFailed
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.social.models import follows
from alchemy_patterns.domains.social.services import follow


def follow_twice_and_read_both_sides(db: Database, alice: int, bob: int) -> Variant:
    with measure("follow() twice, then both sides") as m:
        for _ in range(2):
            with db.session_scope() as session:
                follow(session, alice, bob)
        with db.session_scope(read_only=True) as session:
            options = selectinload(User.following), selectinload(User.followers)
            users = session.scalars(select(User).where(User.id.in_([alice, bob])).options(*options))
            by_id = {user.id: user for user in users}
            following = [user.username for user in by_id[alice].following]
            followers = [user.username for user in by_id[bob].followers]
    return m.result(
        alice_following=following, bob_followers=followers, links=count_rows(db, follows)
    )


def refusal(db: Database, name: str, attempt: Callable[[Session], object]) -> Variant:
    """Measure an attempt that must be refused, and what it left behind."""
    error: ValidationFailed | None = None
    with measure(name) as m:
        try:
            with db.session_scope() as session:
                attempt(session)
        except ValidationFailed as failure:
            error = failure
    assert error is not None, f"{name} was not refused"
    return m.result(
        refused=error.code,
        constraint=error.constraint,
        field=error.field,
        links=count_rows(db, follows),
    )


def self_follow(db: Database, alice: int) -> Variant:
    return refusal(db, "follow(alice, alice)", lambda session: follow(session, alice, alice))


def self_follow_written_directly(db: Database, alice: int) -> Variant:
    link = insert(follows).values(follower_id=alice, followed_id=alice)
    return refusal(db, "a self-follow INSERT, past the service", lambda s: s.execute(link))


def run(db: Database) -> list[Variant]:
    alice, bob = add_users(db, "alice", "bob")
    return [
        follow_twice_and_read_both_sides(db, alice, bob),
        self_follow(db, alice),
        self_follow_written_directly(db, alice),
    ]


CHAPTER = Chapter(
    name="follows",
    title="Self-referential many-to-many: following",
    module="domains/social/models.py, services.py follow()",
    test="tests/social/test_follows.py",
    lesson="One follows row shows on both sides (alice.following, bob.followers); "
    "the key keeps it single and a CHECK keeps anyone from following themselves.",
    run=run,
)

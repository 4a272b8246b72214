"""Follows and likes under real concurrency: threads, one session and connection each, real commits.

The services insert-or-ignore on the link's primary key, so rivals making the
same link at once make one row and none of them fails. Each race is also run
against the guide's way, check first and insert if absent: every rival sees
no row, all insert, and all but one fail. That variant is raced on the
servers only; SQLite's one write lock (IMMEDIATE transactions) serialises it.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from alchemy_patterns.db import Database
from alchemy_patterns.domains.social.models import follows, likes
from alchemy_patterns.domains.social.schemas import LikeState
from alchemy_patterns.domains.social.services import follow, like
from tests.social.builders import make_post, make_users
from tests.threads import race

RIVALS = 8


def rows_of(db: Database, table: Table) -> int:
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def two_users(db: Database) -> tuple[int, int]:
    with db.session_scope() as session:
        alice, bob = make_users(session, 2)
        return alice.id, bob.id


def test_rivals_following_the_same_user_at_once_make_one_link(app_db: Database) -> None:
    alice, bob = two_users(app_db)

    outcomes = race(RIVALS, lambda _: app_db.transaction(lambda s: follow(s, alice, bob)))

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert rows_of(app_db, follows) == 1


def test_rivals_liking_the_same_post_at_once_make_one_like(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, fan = make_users(session, 2)
        post_id, fan_id = make_post(session, author).id, fan.id

    outcomes = race(RIVALS, lambda _: app_db.transaction(lambda s: like(s, fan_id, post_id)))

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert rows_of(app_db, likes) == 1
    # Each rival reads the state after its write, so each sees the one like.
    assert {(o.like_count, o.liked) for o in outcomes if isinstance(o, LikeState)} == {(1, True)}


def naive_link(
    session: Session, table: Table, row: dict[str, int], all_read: threading.Barrier
) -> None:
    """The guide's way: look for the link, and insert it if it is not there."""
    found = session.scalar(select(func.count()).select_from(table).filter_by(**row))
    all_read.wait()
    if not found:
        session.execute(insert(table).values(row))


@pytest.mark.backends("postgresql", "mariadb")
@pytest.mark.parametrize("table", [follows, likes], ids=["follows", "likes"])
def test_the_naive_check_then_insert_fails_for_all_rivals_but_one(
    app_db: Database, table: Table
) -> None:
    with app_db.session_scope() as session:
        alice, bob = make_users(session, 2)
        post_id = make_post(session, bob).id
    row = (
        {"follower_id": alice.id, "followed_id": bob.id}
        if table is follows
        else {"user_id": alice.id, "post_id": post_id}
    )
    all_read = threading.Barrier(RIVALS, timeout=30)

    def link(_: int) -> None:
        with app_db.session_scope() as session:
            naive_link(session, table, row, all_read)

    outcomes = race(RIVALS, link)

    # Every rival saw no link and inserted one; the key refused all but the first.
    failures = Counter(type(o).__name__ for o in outcomes if isinstance(o, Exception))
    assert failures == {"Conflict": RIVALS - 1}
    assert rows_of(app_db, table) == 1

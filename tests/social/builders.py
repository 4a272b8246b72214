"""Builders for the social tests: rows written directly, many at a time, no service involved.

Posts get explicit ``created_at`` values where a test needs to know the
order in advance (timezone-aware UTC, in the past, so that anything the
database stamps "now" is newer); leave it out to let the server default
stamp them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.social.models import Comment, Post, follows, likes
from tests.builders import make_user

#: Long before any test runs: posts stamped by the database are newer than these.
EPOCH = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)


def make_users(session: Session, count: int) -> list[User]:
    return [make_user(session, with_cart=False) for _ in range(count)]


def make_post(session: Session, author: User, **overrides: Any) -> Post:
    post = Post(**({"author_id": author.id, "body": "a post"} | overrides))
    session.add(post)
    session.flush()
    return post


def make_posts(
    session: Session, authors: list[User], created: Sequence[dt.datetime | None]
) -> list[Post]:
    """One post per timestamp (``None``: the server's default), authors taken in turn; one flush."""
    posts = [
        Post(author_id=authors[i % len(authors)].id, body=f"post {i}")
        if at is None
        else Post(author_id=authors[i % len(authors)].id, body=f"post {i}", created_at=at)
        for i, at in enumerate(created)
    ]
    session.add_all(posts)
    session.flush()
    return posts


def tied_times(count: int, tie: int, start: dt.datetime = EPOCH) -> list[dt.datetime]:
    """``count`` timestamps a second apart, each repeated ``tie`` times in a row."""
    return [start + dt.timedelta(seconds=i // tie) for i in range(count)]


def make_follows(session: Session, follower: User, followed: list[User]) -> None:
    rows = [{"follower_id": follower.id, "followed_id": user.id} for user in followed]
    session.execute(insert(follows), rows)


def make_followers(session: Session, followed: User, fans: list[User]) -> None:
    rows = [{"follower_id": fan.id, "followed_id": followed.id} for fan in fans]
    session.execute(insert(follows), rows)


def make_likes(session: Session, post: Post, users: list[User]) -> None:
    session.execute(insert(likes), [{"user_id": user.id, "post_id": post.id} for user in users])


def make_comments(session: Session, post: Post, author: User, count: int = 1) -> list[Comment]:
    comments = [
        Comment(post_id=post.id, author_id=author.id, body=f"comment {i}") for i in range(count)
    ]
    session.add_all(comments)
    session.flush()
    return comments

"""The feed: one statement per page, every post once, newest first, while new posts arrive.

The feed world has 125 posts by five users taken in turn: three the viewer
follows, the viewer, and a stranger who follows the viewer but is not
followed back, whose 25 posts must never show. Timestamps come in runs of
seven equal values, so page boundaries fall inside runs of ties and only the
id can order them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from alchemy_patterns.db import Database, KeysetPage, NotFound, ValidationFailed, count_queries
from alchemy_patterns.domains.social.models import Post
from alchemy_patterns.domains.social.schemas import FeedItem
from alchemy_patterns.domains.social.services import feed, user_posts
from tests.social.builders import (
    make_comments,
    make_follows,
    make_likes,
    make_post,
    make_posts,
    make_users,
    tied_times,
)

TIE = 7


@dataclass(frozen=True)
class World:
    viewer_id: int
    followed_ids: list[int]
    stranger_id: int
    #: The ids of the posts the viewer should see, newest first.
    expected: list[int]


def feed_world(db: Database) -> World:
    with db.session_scope() as session:
        viewer, first, second, third, stranger = make_users(session, 5)
        make_follows(session, viewer, [first, second, third])
        make_follows(session, stranger, [viewer])  # the other way round: no reason to see them
        posts = make_posts(session, [first, second, viewer, third, stranger], tied_times(125, TIE))
        visible = [post for post in posts if post.author_id != stranger.id]
        newest_first = sorted(visible, key=lambda post: (post.created_at, post.id), reverse=True)
        return World(
            viewer.id,
            [first.id, second.id, third.id],
            stranger.id,
            [post.id for post in newest_first],
        )


@dataclass
class Reading:
    items: list[FeedItem]
    statements_per_page: list[int]


def read_all(
    db: Database,
    read_page: Callable[..., KeysetPage[FeedItem]],
    per_page: int,
    between_pages: Callable[[list[FeedItem]], None] | None = None,
) -> Reading:
    """Follow the cursors to the end, each page in its own unit of work, counting statements."""
    reading = Reading([], [])
    cursor: str | None = None
    while True:
        with db.session_scope(read_only=True) as session, count_queries() as counter:
            page = read_page(session, cursor=cursor, per_page=per_page)
        reading.items += page.items
        reading.statements_per_page.append(counter.count)
        if page.next_cursor is None:
            return reading
        cursor = page.next_cursor
        if between_pages is not None:
            between_pages(page.items)


def the_feed_of(viewer_id: int) -> Callable[..., KeysetPage[FeedItem]]:
    return lambda session, **paging: feed(session, viewer_id, **paging)


# --- statements and order ----------------------------------------------------------------------


@pytest.mark.parametrize("per_page", [5, 20, 100])
def test_the_feed_runs_one_statement_per_page_whatever_the_page_size(
    app_db: Database, per_page: int
) -> None:
    world = feed_world(app_db)

    reading = read_all(app_db, the_feed_of(world.viewer_id), per_page)

    assert reading.statements_per_page == [1] * math.ceil(100 / per_page)


@pytest.mark.parametrize("per_page", [5, 20, 100])
def test_paging_through_the_feed_returns_every_post_once_newest_first(
    app_db: Database, per_page: int
) -> None:
    world = feed_world(app_db)

    reading = read_all(app_db, the_feed_of(world.viewer_id), per_page)

    assert [item.id for item in reading.items] == world.expected


def test_the_feed_leaves_out_people_the_viewer_does_not_follow(app_db: Database) -> None:
    world = feed_world(app_db)

    reading = read_all(app_db, the_feed_of(world.viewer_id), 100)

    authors = {item.author_id for item in reading.items}
    assert authors == {world.viewer_id, *world.followed_ids}


def test_a_viewer_who_follows_nobody_sees_their_own_posts_only(app_db: Database) -> None:
    with app_db.session_scope() as session:
        viewer, other = make_users(session, 2)
        make_follows(session, other, [viewer])
        own = make_posts(session, [viewer, other], tied_times(6, 1))

    with app_db.session_scope(read_only=True) as session:
        page = feed(session, viewer.id)

    assert [item.id for item in page.items] == [p.id for p in own[::-1] if p.author_id == viewer.id]
    assert page.next_cursor is None


def test_new_posts_arriving_between_pages_neither_repeat_nor_push_others_out(
    app_db: Database,
) -> None:
    world = feed_world(app_db)
    stamped_now: list[int] = []

    def post_more(page: list[FeedItem]) -> None:
        """Posts by followed users: two stamped now, one tied with the last post read."""
        first, second, _ = world.followed_ids
        with app_db.session_scope() as session:
            new = [Post(author_id=first, body="new"), Post(author_id=second, body="new")]
            tied = Post(author_id=first, body="tied", created_at=page[-1].created_at)
            session.add_all([*new, tied])
            session.flush()
            stamped_now.extend(post.id for post in new)

    reading = read_all(app_db, the_feed_of(world.viewer_id), 7, between_pages=post_more)

    assert [item.id for item in reading.items] == world.expected
    assert len(stamped_now) == 2 * (math.ceil(100 / 7) - 1)
    with app_db.session_scope(read_only=True) as session:
        fresh = feed(session, world.viewer_id, per_page=100)
    # A new read starts with what arrived since, newest first.
    assert [item.id for item in fresh.items[: len(stamped_now)]] == stamped_now[::-1]


def test_posts_stamped_by_the_database_in_one_transaction_page_without_loss(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        viewer, friend = make_users(session, 2)
        make_follows(session, viewer, [friend])
        make_posts(session, [friend, viewer], [None] * 30)
    with app_db.session_scope(read_only=True) as session:
        stored = session.execute(select(Post.created_at, Post.id)).all()
    newest_first = [row.id for row in sorted(stored, reverse=True)]

    reading = read_all(app_db, the_feed_of(viewer.id), 4)

    assert [item.id for item in reading.items] == newest_first
    # One transaction (PostgreSQL's now()) or one statement: the stamps tie.
    assert len({row.created_at for row in stored}) < len(stored)


# --- what an item carries -----------------------------------------------------------------------


def test_a_feed_item_carries_its_author_its_counts_and_the_viewers_like(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        viewer, friend, *fans = make_users(session, 5)
        make_follows(session, viewer, [friend])
        at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
        liked = make_post(session, friend, body="liked", created_at=at)
        unliked = make_post(session, viewer, body="mine", created_at=at + dt.timedelta(hours=1))
        make_likes(session, liked, [viewer, *fans])
        make_likes(session, unliked, fans[:2])
        make_comments(session, liked, fans[0], count=2)

    with app_db.session_scope(read_only=True) as session:
        first, second = feed(session, viewer.id).items

    assert first.model_dump() == {
        "id": unliked.id,
        "body": "mine",
        "created_at": at + dt.timedelta(hours=1),
        "author_id": viewer.id,
        "author_username": viewer.username,
        "like_count": 2,
        "comment_count": 0,
        "liked_by_viewer": False,
    }
    assert (second.id, second.author_username) == (liked.id, friend.username)
    assert (second.like_count, second.comment_count, second.liked_by_viewer) == (4, 2, True)


def test_liked_by_viewer_is_the_viewers_like_not_anyones(app_db: Database) -> None:
    with app_db.session_scope() as session:
        viewer, friend, fan = make_users(session, 3)
        make_follows(session, viewer, [friend])
        post = make_post(session, friend)
        make_likes(session, post, [fan])

    with app_db.session_scope(read_only=True) as session:
        [item] = feed(session, viewer.id).items

    assert (item.like_count, item.liked_by_viewer) == (1, False)


def test_a_damaged_cursor_is_a_validation_error(app_db: Database) -> None:
    world = feed_world(app_db)

    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        feed(session, world.viewer_id, cursor="not-a-cursor")

    assert failure.value.field == "cursor"


# --- one author's posts ---------------------------------------------------------------------


@pytest.mark.parametrize("per_page", [5, 100])
def test_user_posts_pages_one_authors_posts_newest_first_one_statement_a_page(
    app_db: Database, per_page: int
) -> None:
    world = feed_world(app_db)
    author = world.followed_ids[1]
    with app_db.session_scope(read_only=True) as session:
        stmt = select(Post.id).where(Post.author_id == author)
        theirs = set(session.scalars(stmt))

    reading = read_all(
        app_db,
        lambda session, **paging: user_posts(session, world.viewer_id, author, **paging),
        per_page,
    )

    assert [item.id for item in reading.items] == [i for i in world.expected if i in theirs]
    assert set(reading.statements_per_page) == {1}


def test_the_posts_of_an_unknown_author_are_not_found(app_db: Database) -> None:
    with app_db.session_scope() as session:
        [viewer] = make_users(session, 1)

    with pytest.raises(NotFound), app_db.session_scope(read_only=True) as session:
        user_posts(session, viewer.id, 424242)

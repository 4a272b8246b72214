"""The social schema: a post owns its comments weakly, a user's departure takes their traces.

Every rule is proven on what the database holds afterwards, read in a new
unit of work.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import selectinload

from alchemy_patterns.db import Database, count_queries
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.social.models import Comment, Post, follows, likes
from tests.social.builders import (
    make_comments,
    make_followers,
    make_follows,
    make_likes,
    make_post,
    make_users,
)


def comment_posts(db: Database) -> dict[int, int | None]:
    """Every stored comment's post: comment id -> post_id (None when detached)."""
    with db.session_scope(read_only=True) as session:
        return {row.id: row.post_id for row in session.execute(select(Comment.id, Comment.post_id))}


def rows_of(db: Database, table: type[object] | Table) -> int:
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def post_with_comments(db: Database, post_id: int) -> Post:
    stmt = select(Post).where(Post.id == post_id).options(selectinload(Post.comments))
    with db.session_scope(read_only=True) as session:
        return session.scalars(stmt).one()


# --- comments: weak ownership -------------------------------------------------------------------


def test_removing_a_comment_from_its_post_detaches_it_without_deleting_it(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        author, commenter = make_users(session, 2)
        post = make_post(session, author)
        removed, kept = make_comments(session, post, commenter, count=2)

    with app_db.session_scope() as session:
        stmt = select(Post).where(Post.id == post.id).options(selectinload(Post.comments))
        loaded = session.scalars(stmt).one()
        loaded.comments.remove(loaded.comments[0])

    assert comment_posts(app_db) == {removed.id: None, kept.id: post.id}


def test_moving_a_comment_to_another_posts_collection_moves_it(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, commenter = make_users(session, 2)
        source, target = make_post(session, author), make_post(session, author)
        moved, stays = make_comments(session, source, commenter, count=2)

    with app_db.session_scope() as session:
        stmt = (
            select(Post)
            .where(Post.id.in_([source.id, target.id]))
            .options(selectinload(Post.comments))
        )
        posts = {post.id: post for post in session.scalars(stmt)}
        comment = posts[source.id].comments[0]
        posts[target.id].comments.append(comment)

    assert comment_posts(app_db) == {moved.id: target.id, stays.id: source.id}
    assert [c.id for c in post_with_comments(app_db, target.id).comments] == [moved.id]
    assert [c.id for c in post_with_comments(app_db, source.id).comments] == [stays.id]


def test_deleting_a_post_through_the_session_deletes_its_comments_without_loading_them(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        author, commenter = make_users(session, 2)
        doomed, kept = make_post(session, author), make_post(session, author)
        make_comments(session, doomed, commenter, count=5)
        [survivor] = make_comments(session, kept, commenter)
        make_likes(session, doomed, [author, commenter])

    with app_db.session_scope() as session, count_queries() as counter:
        session.delete(session.get_one(Post, doomed.id))

    # passive_deletes: the post is loaded and deleted; ON DELETE CASCADE does the rest.
    assert not [s for s in counter.statements if "comments" in s.sql or "likes" in s.sql]
    assert comment_posts(app_db) == {survivor.id: kept.id}
    assert rows_of(app_db, likes) == 0


# --- deleting a user -----------------------------------------------------------------------------


def test_deleting_a_user_deletes_their_posts_comments_likes_and_follows(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        leaver, friend, other = make_users(session, 3)
        leavers_post, friends_post = make_post(session, leaver), make_post(session, friend)
        make_comments(session, leavers_post, friend)  # goes with the post
        make_comments(session, friends_post, leaver)  # goes with its author
        [kept_comment] = make_comments(session, friends_post, other)
        make_likes(session, friends_post, [leaver, other])
        make_likes(session, leavers_post, [friend])
        make_follows(session, leaver, [friend, other])
        make_followers(session, leaver, [friend])
        make_follows(session, friend, [other])

    with app_db.session_scope() as session:
        session.delete(session.get_one(User, leaver.id))

    with app_db.session_scope(read_only=True) as session:
        assert session.scalars(select(Post.id)).all() == [friends_post.id]
        assert session.execute(select(likes.c.user_id, likes.c.post_id)).all() == [
            (other.id, friends_post.id)
        ]
        assert session.execute(select(follows.c.follower_id, follows.c.followed_id)).all() == [
            (friend.id, other.id)
        ]
    assert comment_posts(app_db) == {kept_comment.id: friends_post.id}


# --- lazy="raise" ---------------------------------------------------------------------------


@pytest.mark.parametrize("attribute", ["following", "followers"])
def test_reading_follow_collections_that_were_not_loaded_raises(
    app_db: Database, attribute: str
) -> None:
    with app_db.session_scope() as session:
        alice, bob = make_users(session, 2)
        make_follows(session, alice, [bob])

    with app_db.session_scope(read_only=True) as session:
        user = session.get_one(User, alice.id)
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            getattr(user, attribute)


@pytest.mark.parametrize("attribute", ["comments", "liked_by", "author"])
def test_reading_post_relationships_that_were_not_loaded_raises(
    app_db: Database, attribute: str
) -> None:
    with app_db.session_scope() as session:
        [author] = make_users(session, 1)
        post = make_post(session, author)

    with app_db.session_scope(read_only=True) as session:
        loaded = session.get_one(Post, post.id)
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            getattr(loaded, attribute)


@pytest.mark.parametrize("count", [1, 50])
def test_users_with_their_followers_load_in_two_statements_for_1_and_for_50(
    app_db: Database, count: int
) -> None:
    with app_db.session_scope() as session:
        stars = make_users(session, 3)
        fans = make_users(session, count)
        for star in stars:
            make_followers(session, star, fans)

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        stmt = select(User).where(User.id.in_([s.id for s in stars]))
        loaded = session.scalars(stmt.options(selectinload(User.followers))).all()
        sizes = [len(user.followers) for user in loaded]

    assert counter.count == 2
    assert sizes == [count] * 3

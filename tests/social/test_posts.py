"""Posts and comments through the services: who may delete what, and what goes with a post."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Table, func, select

from alchemy_patterns.db import Database, NotFound, count_queries
from alchemy_patterns.domains.social.models import Comment, Post, likes
from alchemy_patterns.domains.social.schemas import CommentIn, PostIn
from alchemy_patterns.domains.social.services import (
    comment,
    create_post,
    delete_comment,
    delete_post,
    get_comment,
    get_post,
    post_comments,
)
from tests.social.builders import make_comments, make_likes, make_post, make_users


def post_ids(db: Database) -> list[int]:
    with db.session_scope(read_only=True) as session:
        return list(session.scalars(select(Post.id).order_by(Post.id)))


def comments_by_post(db: Database) -> list[tuple[int | None, int]]:
    """Every stored comment as (post_id, id), sorted (a detached comment has post_id None)."""
    with db.session_scope(read_only=True) as session:
        rows = session.execute(select(Comment.post_id, Comment.id))
        return sorted(((row.post_id, row.id) for row in rows), key=lambda r: (r[0] or 0, r[1]))


def likes_by_post(db: Database) -> dict[int, int]:
    with db.session_scope(read_only=True) as session:
        stmt = select(likes.c.post_id, func.count().label("likes")).group_by(likes.c.post_id)
        return {row.post_id: row.likes for row in session.execute(stmt)}


def rows_of(db: Database, table: type[object] | Table) -> int:
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


# --- create_post ---------------------------------------------------------------------------


def test_create_post_stores_the_stripped_body_and_stamps_it_in_utc(app_db: Database) -> None:
    with app_db.session_scope() as session:
        [author] = make_users(session, 1)

    with app_db.session_scope() as session:
        post = create_post(session, author.id, PostIn(body="  hello world \n"))

    assert (post.author_id, post.body) == (author.id, "hello world")
    assert post.created_at.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - post.created_at) < dt.timedelta(minutes=5)
    with app_db.session_scope(read_only=True) as session:
        assert session.scalars(select(Post.body).where(Post.id == post.id)).one() == "hello world"


def test_a_post_by_an_unknown_author_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        create_post(session, 424242, PostIn(body="who am I"))

    assert (failure.value.entity, failure.value.key) == ("user", 424242)
    assert post_ids(app_db) == []


# --- get_post ------------------------------------------------------------------------------


@pytest.mark.parametrize("children", [1, 50])
def test_get_post_shows_its_counts_and_the_viewers_like_in_one_statement(
    app_db: Database, children: int
) -> None:
    with app_db.session_scope() as session:
        author, viewer = make_users(session, 2)
        post = make_post(session, author, body="hello")
        make_likes(session, post, [viewer, *make_users(session, children - 1)])
        make_comments(session, post, author, count=children)

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        as_viewer = get_post(session, viewer.id, post.id)
        as_author = get_post(session, author.id, post.id)

    assert (as_viewer.body, as_viewer.author_username) == ("hello", author.username)
    assert (as_viewer.like_count, as_viewer.comment_count) == (children, children)
    assert (as_viewer.liked_by_viewer, as_author.liked_by_viewer) == (True, False)
    assert counter.count == 2  # one each


def test_get_post_of_an_unknown_post_is_not_found(app_db: Database) -> None:
    with app_db.session_scope() as session:
        [viewer] = make_users(session, 1)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        get_post(session, viewer.id, 424242)

    assert (failure.value.entity, failure.value.key) == ("post", 424242)


# --- delete_post ---------------------------------------------------------------------------


def test_deleting_a_post_hides_it_and_keeps_its_comments_and_likes_for_a_restore(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        author, *fans = make_users(session, 4)
        doomed, kept = make_post(session, author), make_post(session, author)
        make_comments(session, doomed, fans[0], count=3)
        kept_comments = make_comments(session, kept, fans[1], count=2)
        make_likes(session, doomed, fans)
        make_likes(session, kept, fans[:2])

    with app_db.session_scope() as session:
        delete_post(session, author.id, doomed.id)

    assert post_ids(app_db) == [kept.id]
    assert len(comments_by_post(app_db)) == 3 + len(kept_comments)
    assert likes_by_post(app_db) == {doomed.id: 3, kept.id: 2}


@pytest.mark.parametrize("children", [1, 50])
def test_deleting_a_post_is_one_update_whatever_it_holds(app_db: Database, children: int) -> None:
    with app_db.session_scope() as session:
        author, fan = make_users(session, 2)
        post = make_post(session, author)
        make_comments(session, post, fan, count=children)
        make_likes(session, post, make_users(session, children))

    with app_db.session_scope() as session, count_queries() as counter:
        delete_post(session, author.id, post.id)

    # One UPDATE marks the post, one INSERT records it in the audit trail: no child is read.
    assert [s.sql.split()[0].upper() for s in counter.statements] == ["UPDATE", "INSERT"]
    assert post_ids(app_db) == []
    assert rows_of(app_db, likes) == children


def test_another_user_cannot_delete_a_post_it_is_not_found(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, intruder = make_users(session, 2)
        post = make_post(session, author)
        make_comments(session, post, intruder)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        delete_post(session, intruder.id, post.id)

    assert (failure.value.entity, failure.value.key) == ("post", post.id)
    assert post_ids(app_db) == [post.id]
    assert rows_of(app_db, Comment) == 1


def test_deleting_an_unknown_post_is_not_found(app_db: Database) -> None:
    with app_db.session_scope() as session:
        [author] = make_users(session, 1)

    with pytest.raises(NotFound), app_db.session_scope() as session:
        delete_post(session, author.id, 424242)


# --- comments --------------------------------------------------------------------------------


def test_comment_stores_it_with_its_author(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, commenter = make_users(session, 2)
        post_id = make_post(session, author).id

    with app_db.session_scope() as session:
        made = comment(session, commenter.id, post_id, CommentIn(body=" first! "))

    assert (made.post_id, made.author_id, made.body) == (post_id, commenter.id, "first!")
    assert made.author_username == commenter.username
    assert comments_by_post(app_db) == [(post_id, made.id)]


def test_commenting_on_an_unknown_post_is_not_found(app_db: Database) -> None:
    with app_db.session_scope() as session:
        [commenter] = make_users(session, 1)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        comment(session, commenter.id, 424242, CommentIn(body="hello?"))

    assert (failure.value.entity, failure.value.key) == ("post", 424242)
    assert rows_of(app_db, Comment) == 0


def test_post_comments_pages_them_oldest_first_with_their_authors(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, first, second = make_users(session, 3)
        post, other = make_post(session, author), make_post(session, author)
        made = [*make_comments(session, post, first, 3), *make_comments(session, post, second, 2)]
        make_comments(session, other, first, 4)

    with app_db.session_scope(read_only=True) as session:
        page_one = post_comments(session, post.id, per_page=3)
        page_two = post_comments(session, post.id, page=2, per_page=3)

    assert page_one.total == 5
    items = page_one.items + page_two.items
    assert [c.id for c in items] == [c.id for c in made]
    assert [c.author_username for c in items] == [first.username] * 3 + [second.username] * 2


@pytest.mark.parametrize("count", [1, 50])
def test_a_page_of_comments_costs_the_same_statements_for_1_and_for_50(
    app_db: Database, count: int
) -> None:
    with app_db.session_scope() as session:
        author, *commenters = make_users(session, 3)
        post = make_post(session, author)
        session.add_all(
            Comment(post_id=post.id, author_id=commenters[i % 2].id, body=f"comment {i}")
            for i in range(count)
        )

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        page = post_comments(session, post.id, per_page=100)

    assert len(page.items) == count
    assert counter.count == 2  # the post exists; the page with its authors


def test_the_author_deletes_their_comment(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, commenter = make_users(session, 2)
        post = make_post(session, author)
        doomed, kept = make_comments(session, post, commenter, count=2)

    with app_db.session_scope() as session:
        delete_comment(session, commenter.id, doomed.id)

    assert comments_by_post(app_db) == [(post.id, kept.id)]


def test_another_user_cannot_delete_a_comment_it_is_not_found(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, commenter = make_users(session, 2)
        post = make_post(session, author)
        [made] = make_comments(session, post, commenter)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        delete_comment(session, author.id, made.id)

    assert (failure.value.entity, failure.value.key) == ("comment", made.id)
    assert comments_by_post(app_db) == [(post.id, made.id)]


def test_get_comment_shows_it_with_its_author(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, commenter = make_users(session, 2)
        post = make_post(session, author)
        [made] = make_comments(session, post, commenter)

    with app_db.session_scope(read_only=True) as session:
        shown = get_comment(session, made.id)

    assert (shown.id, shown.post_id, shown.body) == (made.id, post.id, made.body)
    assert (shown.author_id, shown.author_username) == (commenter.id, commenter.username)


def test_get_comment_of_a_detached_or_unknown_comment_is_not_found(app_db: Database) -> None:
    with app_db.session_scope() as session:
        [author] = make_users(session, 1)
        detached = Comment(post_id=None, author_id=author.id, body="moderated")
        session.add(detached)
        session.flush()

    for comment_id in (detached.id, 424242):
        with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
            get_comment(session, comment_id)
        assert (failure.value.entity, failure.value.key) == ("comment", comment_id)

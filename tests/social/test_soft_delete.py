"""Posts and comments are deleted softly: out of every read, until restored."""

from __future__ import annotations

import pytest

from alchemy_patterns.db import Database, NotFound
from alchemy_patterns.domains.accounts.access import Viewer
from alchemy_patterns.domains.audit.services import audit_trail
from alchemy_patterns.domains.social.services import (
    delete_comment,
    delete_post,
    feed,
    get_comment,
    get_post,
    post_comments,
    restore_post,
    user_posts,
)
from tests.social.builders import make_comments, make_follows, make_post, make_users


def as_user(user_id: int) -> Viewer:
    return Viewer(user_id=user_id, is_staff=False)


def reads_of(db: Database, viewer_id: int, author_id: int) -> dict[str, object]:
    """What the feed, an author's posts and a post's counts show ``viewer_id``."""
    with db.session_scope(read_only=True) as session:
        page = feed(session, viewer_id)
        theirs = user_posts(session, viewer_id, author_id)
        return {
            "feed": [item.id for item in page.items],
            "user_posts": [item.id for item in theirs.items],
            "comment_counts": {item.id: item.comment_count for item in page.items},
        }


def test_a_deleted_post_leaves_the_feed_and_the_authors_posts_and_comes_back_restored(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        author, reader = make_users(session, 2)
        make_follows(session, reader, [author])
        older, doomed = make_post(session, author), make_post(session, author)
    before = reads_of(app_db, reader.id, author.id)

    with app_db.session_scope() as session:
        delete_post(session, author.id, doomed.id)
    during = reads_of(app_db, reader.id, author.id)
    with app_db.session_scope() as session:
        restored = restore_post(session, as_user(author.id), doomed.id)

    assert before["feed"] == before["user_posts"] == [doomed.id, older.id]
    assert during["feed"] == during["user_posts"] == [older.id]
    assert restored.id == doomed.id
    assert reads_of(app_db, reader.id, author.id) == before


def test_a_deleted_comment_leaves_the_list_and_the_count(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, commenter = make_users(session, 2)
        post = make_post(session, author)
        kept, doomed = make_comments(session, post, commenter, count=2)

    with app_db.session_scope() as session:
        delete_comment(session, commenter.id, doomed.id)

    with app_db.session_scope(read_only=True) as session:
        page = post_comments(session, post.id)
        assert ([c.id for c in page.items], page.total) == ([kept.id], 1)
        assert get_post(session, author.id, post.id).comment_count == 1
        with pytest.raises(NotFound):
            get_comment(session, doomed.id)


def test_only_the_author_or_staff_restore_a_post(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, stranger, admin = make_users(session, 3)
        post = make_post(session, author)
    with app_db.session_scope() as session:
        delete_post(session, author.id, post.id)

    with pytest.raises(NotFound), app_db.session_scope() as session:
        restore_post(session, as_user(stranger.id), post.id)
    with app_db.session_scope() as session:
        restore_post(session, Viewer(user_id=admin.id, is_staff=True), post.id)

    with app_db.session_scope(read_only=True) as session:
        assert get_post(session, stranger.id, post.id).id == post.id


def test_deleting_and_restoring_a_post_is_in_the_audit_trail(app_db: Database) -> None:
    with app_db.session_scope() as session:
        [author] = make_users(session, 1)
        post = make_post(session, author)

    with app_db.session_scope() as session:
        delete_post(session, author.id, post.id)
    with app_db.session_scope() as session:
        restore_post(session, as_user(author.id), post.id)
        restore_post(session, as_user(author.id), post.id)  # already live: nothing to record

    with app_db.session_scope(read_only=True) as session:
        trail = audit_trail(session, entity="posts", entity_id=post.id)
    assert [record.action for record in reversed(trail.items)] == ["soft_delete", "restore"]


def test_a_deleted_post_takes_no_place_in_a_feed_page(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, reader = make_users(session, 2)
        make_follows(session, reader, [author])
        posts = [make_post(session, author) for _ in range(4)]
    with app_db.session_scope() as session:
        delete_post(session, author.id, posts[-1].id)

    # The page is chosen from the author's live posts (the filter reaches the
    # per-author subqueries), so it is full, and its cursor leads to the rest.
    with app_db.session_scope(read_only=True) as session:
        first = feed(session, reader.id, per_page=2)
        second = feed(session, reader.id, cursor=first.next_cursor, per_page=2)
    assert [item.id for item in first.items] == [posts[2].id, posts[1].id]
    assert ([item.id for item in second.items], second.next_cursor) == ([posts[0].id], None)

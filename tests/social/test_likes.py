"""Likes: one per user and post however often asked, counted by the database."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from alchemy_patterns.db import Conflict, Database, NotFound, count_queries
from alchemy_patterns.domains.social.models import likes
from alchemy_patterns.domains.social.services import like, unlike
from tests.social.builders import make_likes, make_post, make_users


def like_rows(db: Database) -> list[tuple[int, int]]:
    """Every stored (user_id, post_id), sorted."""
    with db.session_scope(read_only=True) as session:
        stmt = select(likes.c.user_id, likes.c.post_id)
        return sorted((row.user_id, row.post_id) for row in session.execute(stmt))


def a_post_and_fans(db: Database, fans: int) -> tuple[int, list[int]]:
    with db.session_scope() as session:
        author, *others = make_users(session, fans + 1)
        return make_post(session, author).id, [user.id for user in others]


def test_like_stores_one_like_and_reports_it(app_db: Database) -> None:
    post_id, [fan] = a_post_and_fans(app_db, 1)

    with app_db.session_scope() as session:
        state = like(session, fan, post_id)

    assert (state.post_id, state.like_count, state.liked) == (post_id, 1, True)
    assert like_rows(app_db) == [(fan, post_id)]


def test_liking_twice_is_one_like_and_no_error(app_db: Database) -> None:
    post_id, [fan] = a_post_and_fans(app_db, 1)
    with app_db.session_scope() as session:
        like(session, fan, post_id)

    with app_db.session_scope() as session:
        like(session, fan, post_id)
        state = like(session, fan, post_id)

    assert (state.like_count, state.liked) == (1, True)
    assert like_rows(app_db) == [(fan, post_id)]


def test_a_second_identical_like_written_directly_is_a_conflict(app_db: Database) -> None:
    post_id, [fan] = a_post_and_fans(app_db, 1)
    with app_db.session_scope() as session:
        like(session, fan, post_id)

    with pytest.raises(Conflict), app_db.session_scope() as session:
        session.execute(insert(likes).values(user_id=fan, post_id=post_id))

    assert like_rows(app_db) == [(fan, post_id)]


def test_the_like_count_counts_every_user_once(app_db: Database) -> None:
    post_id, fans = a_post_and_fans(app_db, 4)
    for fan in fans[:3]:
        with app_db.session_scope() as session:
            like(session, fan, post_id)
            like(session, fan, post_id)

    with app_db.session_scope() as session:
        state = like(session, fans[3], post_id)

    assert state.like_count == 4


def test_the_like_count_is_of_this_post_only(app_db: Database) -> None:
    with app_db.session_scope() as session:
        author, *fans = make_users(session, 4)
        post, other = make_post(session, author), make_post(session, author)
        make_likes(session, other, fans)
        make_likes(session, post, fans[:1])

    with app_db.session_scope() as session:
        state = like(session, fans[1].id, post.id)

    assert state.like_count == 2


def test_like_reports_the_state_in_two_statements(app_db: Database) -> None:
    post_id, [fan] = a_post_and_fans(app_db, 1)

    with app_db.session_scope() as session, count_queries() as counter:
        like(session, fan, post_id)

    assert counter.count == 2, counter.report()


def test_liking_an_unknown_post_is_not_found_and_the_transaction_goes_on(
    app_db: Database,
) -> None:
    post_id, [fan] = a_post_and_fans(app_db, 1)

    with app_db.session_scope() as session:
        with pytest.raises(NotFound) as failure:
            like(session, fan, 424242)
        like(session, fan, post_id)

    assert (failure.value.entity, failure.value.key) == ("post", 424242)
    assert like_rows(app_db) == [(fan, post_id)]


def test_a_like_by_an_unknown_user_is_not_found(app_db: Database) -> None:
    post_id, _ = a_post_and_fans(app_db, 0)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        like(session, 424242, post_id)

    assert (failure.value.entity, failure.value.key) == ("user", 424242)
    assert like_rows(app_db) == []


def test_unlike_removes_the_users_like_only(app_db: Database) -> None:
    post_id, [fan, other] = a_post_and_fans(app_db, 2)
    with app_db.session_scope() as session:
        like(session, fan, post_id)
        like(session, other, post_id)

    with app_db.session_scope() as session:
        state = unlike(session, fan, post_id)

    assert (state.like_count, state.liked) == (1, False)
    assert like_rows(app_db) == [(other, post_id)]


def test_unliking_a_post_not_liked_changes_nothing(app_db: Database) -> None:
    post_id, [fan, other] = a_post_and_fans(app_db, 2)
    with app_db.session_scope() as session:
        like(session, other, post_id)

    with app_db.session_scope() as session:
        state = unlike(session, fan, post_id)
        state = unlike(session, fan, post_id)

    assert (state.like_count, state.liked) == (1, False)
    assert like_rows(app_db) == [(other, post_id)]


def test_unliking_an_unknown_post_is_not_found(app_db: Database) -> None:
    _, [fan] = a_post_and_fans(app_db, 1)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        unlike(session, fan, 424242)

    assert (failure.value.entity, failure.value.key) == ("post", 424242)

"""Following: once per pair however often asked, never oneself, both sides agreeing.

Every rule is proven on what the database holds afterwards, read in a new
unit of work.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from alchemy_patterns.db import Database, NotFound, ValidationFailed, count_queries
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.social.errors import SelfFollow
from alchemy_patterns.domains.social.models import follows
from alchemy_patterns.domains.social.services import follow, followers, following, unfollow
from tests.social.builders import make_followers, make_follows, make_users


def follow_links(db: Database) -> list[tuple[int, int]]:
    """Every stored (follower_id, followed_id), sorted."""
    with db.session_scope(read_only=True) as session:
        stmt = select(follows.c.follower_id, follows.c.followed_id)
        return sorted((row.follower_id, row.followed_id) for row in session.execute(stmt))


def user_ids(db: Database, count: int) -> list[int]:
    with db.session_scope() as session:
        return [user.id for user in make_users(session, count)]


def user_ids_stored(db: Database) -> list[int]:
    with db.session_scope(read_only=True) as session:
        return list(session.scalars(select(User.id)))


def load_with(db: Database, user_id: int, *collections: str) -> User:
    """The user with the named collections loaded eagerly, in a new unit of work."""
    options = [selectinload(getattr(User, name)) for name in collections]
    with db.session_scope(read_only=True) as session:
        return session.scalars(select(User).where(User.id == user_id).options(*options)).one()


# --- follow / unfollow -------------------------------------------------------------------


def test_follow_stores_one_link(app_db: Database) -> None:
    alice, bob = user_ids(app_db, 2)

    with app_db.session_scope() as session:
        state = follow(session, alice, bob)

    assert (state.follower_id, state.followed_id, state.following) == (alice, bob, True)
    assert follow_links(app_db) == [(alice, bob)]


def test_following_twice_is_one_link_and_no_error(app_db: Database) -> None:
    alice, bob = user_ids(app_db, 2)
    with app_db.session_scope() as session:
        follow(session, alice, bob)

    with app_db.session_scope() as session:
        follow(session, alice, bob)
        state = follow(session, alice, bob)

    assert state.following
    assert follow_links(app_db) == [(alice, bob)]


def test_following_is_one_way(app_db: Database) -> None:
    alice, bob = user_ids(app_db, 2)

    with app_db.session_scope() as session:
        follow(session, alice, bob)
        follow(session, bob, alice)

    assert follow_links(app_db) == [(alice, bob), (bob, alice)]


def test_following_oneself_is_refused_naming_followed_id(app_db: Database) -> None:
    [alice] = user_ids(app_db, 1)

    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        follow(session, alice, alice)

    assert isinstance(failure.value, SelfFollow)
    assert failure.value.field == "followed_id"
    assert failure.value.code == "self_follow"
    assert follow_links(app_db) == []


def test_a_self_follow_written_directly_is_refused_by_the_check(app_db: Database) -> None:
    [alice] = user_ids(app_db, 1)

    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        session.execute(insert(follows).values(follower_id=alice, followed_id=alice))

    assert failure.value.constraint == "ck_follows_no_self_follow"
    assert follow_links(app_db) == []


@pytest.mark.parametrize("missing", ["follower", "followed"])
def test_following_with_an_unknown_user_is_not_found(app_db: Database, missing: str) -> None:
    [alice] = user_ids(app_db, 1)
    pair = (424242, alice) if missing == "follower" else (alice, 424242)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        follow(session, *pair)

    assert (failure.value.entity, failure.value.key) == ("user", 424242)
    assert follow_links(app_db) == []


def test_a_refused_follow_leaves_the_transaction_usable(app_db: Database) -> None:
    alice, bob = user_ids(app_db, 2)

    with app_db.session_scope() as session:
        with pytest.raises(NotFound):
            follow(session, alice, 424242)
        follow(session, alice, bob)

    assert follow_links(app_db) == [(alice, bob)]


def test_unfollow_removes_the_link_and_only_it(app_db: Database) -> None:
    alice, bob, carol = user_ids(app_db, 3)
    with app_db.session_scope() as session:
        follow(session, alice, bob)
        follow(session, alice, carol)
        follow(session, bob, alice)

    with app_db.session_scope() as session:
        state = unfollow(session, alice, bob)

    assert not state.following
    assert follow_links(app_db) == [(alice, carol), (bob, alice)]


def test_unfollowing_someone_not_followed_changes_nothing(app_db: Database) -> None:
    alice, bob, carol = user_ids(app_db, 3)
    with app_db.session_scope() as session:
        follow(session, alice, carol)

    with app_db.session_scope() as session:
        state = unfollow(session, alice, bob)

    assert not state.following
    assert follow_links(app_db) == [(alice, carol)]


def test_unfollowing_an_unknown_user_is_not_found(app_db: Database) -> None:
    [alice] = user_ids(app_db, 1)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        unfollow(session, alice, 424242)

    assert (failure.value.entity, failure.value.key) == ("user", 424242)


# --- the two relationships -------------------------------------------------------------


def test_after_a_follow_both_sides_of_the_relationship_agree(app_db: Database) -> None:
    alice, bob = user_ids(app_db, 2)
    with app_db.session_scope() as session:
        follow(session, alice, bob)

    alice_loaded = load_with(app_db, alice, "following", "followers")
    bob_loaded = load_with(app_db, bob, "following", "followers")

    assert [user.id for user in alice_loaded.following] == [bob]
    assert [user.id for user in bob_loaded.followers] == [alice]
    assert alice_loaded.followers == []
    assert bob_loaded.following == []


def test_appending_to_following_through_the_orm_shows_in_the_other_users_followers(
    app_db: Database,
) -> None:
    alice, bob, carol = user_ids(app_db, 3)
    with app_db.session_scope() as session:
        follow(session, alice, bob)

    with app_db.session_scope() as session:
        stmt = select(User).where(User.id == alice).options(selectinload(User.following))
        alice_user = session.scalars(stmt).one()
        alice_user.following.append(session.get_one(User, carol))

    assert [user.id for user in load_with(app_db, carol, "followers").followers] == [alice]
    assert [user.id for user in load_with(app_db, alice, "following").following] == [bob, carol]
    assert follow_links(app_db) == [(alice, bob), (alice, carol)]


def test_removing_from_followers_through_the_orm_deletes_the_link_only(app_db: Database) -> None:
    alice, bob = user_ids(app_db, 2)
    with app_db.session_scope() as session:
        follow(session, alice, bob)

    with app_db.session_scope() as session:
        stmt = select(User).where(User.id == bob).options(selectinload(User.followers))
        bob_user = session.scalars(stmt).one()
        bob_user.followers.clear()

    assert follow_links(app_db) == []
    assert len(user_ids_stored(app_db)) == 2


def test_a_follow_through_the_service_is_seen_by_a_collection_the_session_holds(
    app_db: Database,
) -> None:
    alice, bob = user_ids(app_db, 2)
    stmt = select(User).where(User.id == alice).options(selectinload(User.following))

    with app_db.session_scope() as session:
        alice_user = session.scalars(stmt).one()
        assert alice_user.following == []
        follow(session, alice, bob)
        # The upsert went around the unit of work; the held collection was
        # expired, so loading again reads the link instead of keeping [].
        session.scalars(stmt).one()
        seen = [user.id for user in alice_user.following]

    assert seen == [bob]


# --- lists of people -----------------------------------------------------------------------


def test_followers_and_following_list_the_right_people_by_username(app_db: Database) -> None:
    with app_db.session_scope() as session:
        star, fan, other = make_users(session, 3)
        fans = sorted([*make_users(session, 4), fan], key=lambda user: user.username)
        make_followers(session, star, fans)
        make_follows(session, star, [fan, other])
        make_follows(session, other, [fan])  # not about the star

    with app_db.session_scope(read_only=True) as session:
        their_followers = followers(session, star.id, per_page=3)
        rest = followers(session, star.id, page=2, per_page=3)
        they_follow = following(session, star.id)

    assert their_followers.total == 5
    assert [u.username for u in their_followers.items + rest.items] == [u.username for u in fans]
    by_name = sorted([fan, other], key=lambda user: user.username)
    assert [u.id for u in they_follow.items] == [user.id for user in by_name]


@pytest.mark.parametrize("count", [1, 50])
def test_a_page_of_followers_costs_the_same_statements_for_1_and_for_50(
    app_db: Database, count: int
) -> None:
    with app_db.session_scope() as session:
        star = make_users(session, 1)[0]
        make_followers(session, star, make_users(session, count))

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        page = followers(session, star.id, per_page=100)

    assert len(page.items) == count
    assert counter.count == 1


def test_followers_of_an_unknown_user_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound), app_db.session_scope(read_only=True) as session:
        followers(session, 424242)


def test_a_user_nobody_follows_has_an_empty_page(app_db: Database) -> None:
    [alice] = user_ids(app_db, 1)

    with app_db.session_scope(read_only=True) as session:
        page = followers(session, alice)

    assert (page.items, page.total) == ([], 0)

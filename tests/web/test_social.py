"""The social network over HTTP: posts, comments, likes, follows and a feed paged by cursor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from alchemy_patterns.db import Database
from alchemy_patterns.db.pagination import encode_cursor
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.social.models import Comment, Post
from tests.social.builders import (
    EPOCH,
    make_comments,
    make_followers,
    make_follows,
    make_likes,
    make_post,
    make_posts,
    make_users,
    tied_times,
)
from tests.web.conftest import Caller, queries

UNKNOWN = 999999


def post_of(db: Database, author: Caller) -> int:
    with db.session_scope() as session:
        return make_post(session, session.get_one(User, author.id)).id


def comment_of(db: Database, post_id: int, author: Caller) -> int:
    with db.session_scope() as session:
        post = session.get_one(Post, post_id)
        return make_comments(session, post, session.get_one(User, author.id))[0].id


def stored_posts(db: Database) -> list[int]:
    with db.session_scope(read_only=True) as session:
        return list(session.scalars(select(Post.id).order_by(Post.id)))


def stored_comments(db: Database) -> list[int]:
    with db.session_scope(read_only=True) as session:
        return list(session.scalars(select(Comment.id).order_by(Comment.id)))


def fans_of(db: Database, caller: Caller, count: int) -> None:
    """``count`` new users who follow ``caller``."""
    with db.session_scope() as session:
        make_followers(session, session.get_one(User, caller.id), make_users(session, count))


def followed_by(db: Database, caller: Caller, count: int) -> None:
    """``count`` new users whom ``caller`` follows."""
    with db.session_scope() as session:
        make_follows(session, session.get_one(User, caller.id), make_users(session, count))


def ids(response_items: list[dict[str, object]]) -> list[object]:
    return [item["id"] for item in response_items]


# --- authentication ------------------------------------------------------------------------------

EVERY_OPERATION = [
    ("post", "/posts"),
    ("get", "/posts/1"),
    ("patch", "/posts/1"),
    ("delete", "/posts/1"),
    ("get", "/users/1/posts"),
    ("post", "/posts/1/comments"),
    ("get", "/posts/1/comments"),
    ("get", "/comments/1"),
    ("delete", "/comments/1"),
    ("put", "/posts/1/like"),
    ("delete", "/posts/1/like"),
    ("put", "/users/1/follow"),
    ("delete", "/users/1/follow"),
    ("get", "/users/1/followers"),
    ("get", "/users/1/following"),
    ("get", "/feed"),
]


def test_every_operation_needs_a_signed_in_user(client: FlaskClient) -> None:
    responses = {
        f"{method.upper()} {path}": client.open(
            path,
            method=method.upper(),
            json={"body": "hello"} if method in ("post", "patch") else None,
        )
        for method, path in EVERY_OPERATION
    }

    statuses = {operation: response.status_code for operation, response in responses.items()}
    assert statuses == dict.fromkeys(statuses, 401)
    assert all(r.headers["WWW-Authenticate"].startswith("Bearer") for r in responses.values())


# --- posts ---------------------------------------------------------------------------------------


def test_a_user_posts_and_reads_it_back_as_the_feed_shows_it(
    client: FlaskClient, alice: Caller
) -> None:
    response = client.post("/posts", json={"body": "  hello world "}, headers=alice.headers)

    assert response.status_code == 201
    post = response.get_json()
    assert response.headers["Location"] == f"/posts/{post['id']}"
    assert (post["author_id"], post["body"]) == (alice.id, "hello world")
    shown = client.get(response.headers["Location"], headers=alice.headers).get_json()
    assert shown == post | {
        "author_username": alice.username,
        "like_count": 0,
        "comment_count": 0,
        "liked_by_viewer": False,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "   "}, "body"),
        ({"body": "x" * 2001}, "body"),
        ({"body": "hi", "author_id": 1}, "author_id"),
        ({}, "body"),
    ],
)
def test_a_blank_long_or_overreaching_post_is_a_422_naming_the_field(
    client: FlaskClient, app_db: Database, alice: Caller, body: dict[str, object], field: str
) -> None:
    response = client.post("/posts", json=body, headers=alice.headers)

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
    assert stored_posts(app_db) == []


def test_a_post_shows_its_counts_and_whether_the_viewer_likes_it(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    with app_db.session_scope() as session:
        author, viewer = session.get_one(User, alice.id), session.get_one(User, bob.id)
        post = make_post(session, author)
        make_likes(session, post, [viewer, *make_users(session, 2)])
        make_comments(session, post, author, count=3)

    as_bob = client.get(f"/posts/{post.id}", headers=bob.headers).get_json()
    as_alice = client.get(f"/posts/{post.id}", headers=alice.headers).get_json()

    counts = (as_bob["like_count"], as_bob["comment_count"], as_bob["liked_by_viewer"])
    assert counts == (3, 3, True)
    assert as_alice["liked_by_viewer"] is False


def test_an_unknown_post_is_a_404(client: FlaskClient, alice: Caller) -> None:
    response = client.get(f"/posts/{UNKNOWN}", headers=alice.headers)

    assert response.status_code == 404
    assert response.get_json()["type"] == "/problems/not_found"


def test_a_post_costs_the_same_statements_for_1_like_and_comment_and_for_50(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    with app_db.session_scope() as session:
        author = session.get_one(User, alice.id)
        small, big = make_post(session, author), make_post(session, author)
        fans = make_users(session, 50)
        make_likes(session, small, fans[:1])
        make_likes(session, big, fans)
        make_comments(session, small, author, count=1)
        make_comments(session, big, author, count=50)

    one = client.get(f"/posts/{small.id}", headers=alice.headers)
    fifty = client.get(f"/posts/{big.id}", headers=alice.headers)

    assert (fifty.get_json()["like_count"], fifty.get_json()["comment_count"]) == (50, 50)
    assert queries(one) == queries(fifty) == 2  # the caller's token; the post with its counts


def test_the_author_deletes_their_post(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    post_id = post_of(app_db, alice)
    comment_id = comment_of(app_db, post_id, alice)

    read_at = alice.headers | {"If-Match": f'"{post_id}.1"'}
    response = client.delete(f"/posts/{post_id}", headers=read_at)

    assert response.status_code == 204
    assert stored_posts(app_db) == []
    assert client.get(f"/posts/{post_id}", headers=alice.headers).status_code == 404
    assert client.get(f"/comments/{comment_id}", headers=alice.headers).status_code == 404
    assert client.delete(f"/posts/{post_id}", headers=read_at).status_code == 404


def test_another_users_post_cannot_be_deleted_it_is_a_404(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    post_id = post_of(app_db, alice)

    response = client.delete(f"/posts/{post_id}", headers=bob.headers | {"If-Match": "*"})

    assert response.status_code == 404
    assert stored_posts(app_db) == [post_id]


def test_a_users_posts_are_paged_newest_first_by_cursor(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    with app_db.session_scope() as session:
        author = session.get_one(User, alice.id)
        posts = make_posts(session, [author], tied_times(5, 2))
        make_posts(session, [session.get_one(User, bob.id)], tied_times(3, 1))
    newest_first = [post.id for post in sorted(posts, key=lambda p: (p.created_at, p.id))][::-1]

    first = client.get(f"/users/{alice.id}/posts?per_page=3", headers=bob.headers).get_json()
    second = client.get(first["next"], headers=bob.headers).get_json()

    assert first["next"].startswith(f"/users/{alice.id}/posts?per_page=3&cursor=")
    assert ids(first["items"]) + ids(second["items"]) == newest_first
    assert (second["next"], second["next_cursor"]) == (None, None)


def test_the_posts_of_an_unknown_user_are_a_404(client: FlaskClient, alice: Caller) -> None:
    assert client.get(f"/users/{UNKNOWN}/posts", headers=alice.headers).status_code == 404


def test_a_users_posts_cost_the_same_statements_for_1_post_and_for_50(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    with app_db.session_scope() as session:
        make_posts(session, [session.get_one(User, alice.id)], [None])
        make_posts(session, [session.get_one(User, bob.id)], [None] * 50)

    one = client.get(f"/users/{alice.id}/posts?per_page=100", headers=alice.headers)
    fifty = client.get(f"/users/{bob.id}/posts?per_page=100", headers=alice.headers)

    assert len(fifty.get_json()["items"]) == 50
    assert queries(one) == queries(fifty) == 2


# --- comments ------------------------------------------------------------------------------------


def test_a_user_comments_on_a_post(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    post_id = post_of(app_db, alice)

    response = client.post(
        f"/posts/{post_id}/comments", json={"body": " first! "}, headers=bob.headers
    )

    assert response.status_code == 201
    made = response.get_json()
    assert response.headers["Location"] == f"/comments/{made['id']}"
    assert (made["post_id"], made["author_id"], made["author_username"], made["body"]) == (
        post_id,
        bob.id,
        bob.username,
        "first!",
    )
    assert client.get(response.headers["Location"], headers=alice.headers).get_json() == made


def test_commenting_on_an_unknown_post_is_a_404(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    response = client.post(
        f"/posts/{UNKNOWN}/comments", json={"body": "hello?"}, headers=alice.headers
    )

    assert response.status_code == 404
    assert stored_comments(app_db) == []


def test_a_blank_comment_is_a_422(client: FlaskClient, app_db: Database, alice: Caller) -> None:
    post_id = post_of(app_db, alice)

    response = client.post(f"/posts/{post_id}/comments", json={"body": " "}, headers=alice.headers)

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["body"]


def test_a_posts_comments_are_paged_oldest_first_with_links(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    post_id = post_of(app_db, alice)
    made = [comment_of(app_db, post_id, caller) for caller in (alice, bob, alice)]

    first = client.get(f"/posts/{post_id}/comments?per_page=2", headers=bob.headers).get_json()
    second = client.get(first["links"]["next"], headers=bob.headers).get_json()

    assert (first["total"], first["pages"]) == (3, 2)
    assert ids(first["items"]) + ids(second["items"]) == made
    assert [c["author_username"] for c in first["items"]] == [alice.username, bob.username]


def test_the_comments_of_an_unknown_post_are_a_404(client: FlaskClient, alice: Caller) -> None:
    assert client.get(f"/posts/{UNKNOWN}/comments", headers=alice.headers).status_code == 404


def test_more_than_100_comments_a_page_is_a_422(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    post_id = post_of(app_db, alice)

    response = client.get(f"/posts/{post_id}/comments?per_page=101", headers=alice.headers)

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["per_page"]


def test_a_page_of_comments_costs_the_same_statements_for_1_and_for_50(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    with app_db.session_scope() as session:
        author, commenter = session.get_one(User, alice.id), session.get_one(User, bob.id)
        small, big = make_post(session, author), make_post(session, author)
        make_comments(session, small, commenter, count=1)
        make_comments(session, big, commenter, count=50)

    one = client.get(f"/posts/{small.id}/comments?per_page=100", headers=alice.headers)
    fifty = client.get(f"/posts/{big.id}/comments?per_page=100", headers=alice.headers)

    assert len(fifty.get_json()["items"]) == 50
    assert queries(one) == queries(fifty) == 3  # the caller's token; the post exists; the page


def test_the_author_deletes_their_comment(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    post_id = post_of(app_db, alice)
    doomed, kept = comment_of(app_db, post_id, bob), comment_of(app_db, post_id, bob)

    response = client.delete(f"/comments/{doomed}", headers=bob.headers)

    assert response.status_code == 204
    assert stored_comments(app_db) == [kept]
    assert client.get(f"/comments/{doomed}", headers=bob.headers).status_code == 404


def test_another_users_comment_cannot_be_deleted_it_is_a_404(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    post_id = post_of(app_db, alice)
    comment_id = comment_of(app_db, post_id, bob)

    response = client.delete(f"/comments/{comment_id}", headers=alice.headers)

    assert response.status_code == 404
    assert stored_comments(app_db) == [comment_id]


def test_an_unknown_comment_is_a_404(client: FlaskClient, alice: Caller) -> None:
    assert client.get(f"/comments/{UNKNOWN}", headers=alice.headers).status_code == 404
    assert client.delete(f"/comments/{UNKNOWN}", headers=alice.headers).status_code == 404


# --- likes ---------------------------------------------------------------------------------------


def test_liking_twice_likes_once(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    post_id = post_of(app_db, alice)

    first = client.put(f"/posts/{post_id}/like", headers=bob.headers)
    again = client.put(f"/posts/{post_id}/like", headers=bob.headers)

    assert (first.status_code, again.status_code) == (200, 200)
    liked = {"post_id": post_id, "like_count": 1, "liked": True}
    assert first.get_json() == again.get_json() == liked
    assert client.get(f"/posts/{post_id}", headers=bob.headers).get_json()["liked_by_viewer"]


def test_unliking_twice_unlikes_once_and_leaves_other_likes(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    post_id = post_of(app_db, alice)
    client.put(f"/posts/{post_id}/like", headers=alice.headers)
    client.put(f"/posts/{post_id}/like", headers=bob.headers)

    first = client.delete(f"/posts/{post_id}/like", headers=bob.headers)
    again = client.delete(f"/posts/{post_id}/like", headers=bob.headers)

    assert (first.status_code, again.status_code) == (200, 200)
    only_alices = {"post_id": post_id, "like_count": 1, "liked": False}
    assert first.get_json() == again.get_json() == only_alices


@pytest.mark.parametrize("method", ["put", "delete"])
def test_liking_or_unliking_an_unknown_post_is_a_404(
    client: FlaskClient, alice: Caller, method: str
) -> None:
    response = client.open(f"/posts/{UNKNOWN}/like", method=method.upper(), headers=alice.headers)

    assert response.status_code == 404


# --- follows -------------------------------------------------------------------------------------


def test_following_twice_follows_once(client: FlaskClient, alice: Caller, bob: Caller) -> None:
    first = client.put(f"/users/{bob.id}/follow", headers=alice.headers)
    again = client.put(f"/users/{bob.id}/follow", headers=alice.headers)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json() == {"follower_id": alice.id, "followed_id": bob.id, "following": True}
    fans = client.get(f"/users/{bob.id}/followers", headers=bob.headers).get_json()
    assert (fans["total"], fans["items"]) == (1, [{"id": alice.id, "username": alice.username}])
    heroes = client.get(f"/users/{alice.id}/following", headers=bob.headers).get_json()
    assert heroes["items"] == [{"id": bob.id, "username": bob.username}]


def test_unfollowing_twice_unfollows_once(client: FlaskClient, alice: Caller, bob: Caller) -> None:
    client.put(f"/users/{bob.id}/follow", headers=alice.headers)

    first = client.delete(f"/users/{bob.id}/follow", headers=alice.headers)
    again = client.delete(f"/users/{bob.id}/follow", headers=alice.headers)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json() == {"follower_id": alice.id, "followed_id": bob.id, "following": False}
    assert client.get(f"/users/{bob.id}/followers", headers=bob.headers).get_json()["total"] == 0


def test_following_oneself_is_a_422_naming_followed_id(client: FlaskClient, alice: Caller) -> None:
    response = client.put(f"/users/{alice.id}/follow", headers=alice.headers)

    assert response.status_code == 422
    problem = response.get_json()
    assert (problem["type"], problem["field"]) == ("/problems/self_follow", "followed_id")
    assert [e["field"] for e in problem["errors"]] == ["followed_id"]


@pytest.mark.parametrize("method", ["put", "delete"])
def test_following_or_unfollowing_an_unknown_user_is_a_404(
    client: FlaskClient, alice: Caller, method: str
) -> None:
    response = client.open(f"/users/{UNKNOWN}/follow", method=method.upper(), headers=alice.headers)

    assert response.status_code == 404


@pytest.mark.parametrize("people", ["followers", "following"])
def test_the_people_of_an_unknown_user_are_a_404(
    client: FlaskClient, alice: Caller, people: str
) -> None:
    assert client.get(f"/users/{UNKNOWN}/{people}", headers=alice.headers).status_code == 404


def test_followers_are_paged_by_username_with_links(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    fans_of(app_db, alice, 3)

    first = client.get(f"/users/{alice.id}/followers?per_page=2", headers=alice.headers).get_json()
    second = client.get(first["links"]["next"], headers=alice.headers).get_json()

    names = [user["username"] for user in first["items"] + second["items"]]
    assert (first["total"], len(names), names) == (3, 3, sorted(names))


@pytest.mark.parametrize(("people", "linked"), [("followers", fans_of), ("following", followed_by)])
def test_followers_and_following_cost_the_same_statements_for_1_and_for_50(
    client: FlaskClient,
    app_db: Database,
    alice: Caller,
    bob: Caller,
    people: str,
    linked: Callable[[Database, Caller, int], None],
) -> None:
    linked(app_db, alice, 1)
    linked(app_db, bob, 50)

    one = client.get(f"/users/{alice.id}/{people}?per_page=100", headers=alice.headers)
    fifty = client.get(f"/users/{bob.id}/{people}?per_page=100", headers=alice.headers)

    assert (len(one.get_json()["items"]), len(fifty.get_json()["items"])) == (1, 50)
    assert queries(one) == queries(fifty) == 2  # the caller's token; the page


# --- feed ----------------------------------------------------------------------------------------


def test_the_feed_shows_the_followed_and_ones_own_posts_newest_first(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    with app_db.session_scope() as session:
        me, hero = session.get_one(User, alice.id), session.get_one(User, bob.id)
        [stranger] = make_users(session, 1)
        make_follows(session, me, [hero])
        made = make_posts(session, [me, hero, stranger], tied_times(6, 1))
        make_likes(session, made[1], [me])

    response = client.get("/feed", headers=alice.headers)

    assert response.status_code == 200
    feed = response.get_json()
    assert ids(feed["items"]) == [made[4].id, made[3].id, made[1].id, made[0].id]
    assert [item["liked_by_viewer"] for item in feed["items"]] == [False, False, True, False]
    assert (feed["next"], feed["next_cursor"]) == (None, None)


def test_a_page_of_the_feed_costs_the_same_statements_for_5_posts_and_for_50(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    with app_db.session_scope() as session:
        me, hero = session.get_one(User, alice.id), session.get_one(User, bob.id)
        make_follows(session, me, [hero])
        posts = make_posts(session, [me, hero], tied_times(100, 3))
        make_likes(session, posts[-1], [me, hero])
        make_comments(session, posts[-1], hero, count=2)

    five = client.get("/feed?per_page=5", headers=alice.headers)
    fifty = client.get("/feed?per_page=50", headers=alice.headers)

    assert (len(five.get_json()["items"]), len(fifty.get_json()["items"])) == (5, 50)
    # the caller's token; the page, its authors, counts and the caller's likes included
    assert queries(five) == queries(fifty) == 2


def test_following_next_links_reads_every_post_once_while_new_ones_arrive(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    with app_db.session_scope() as session:
        me, hero = session.get_one(User, alice.id), session.get_one(User, bob.id)
        make_follows(session, me, [hero])
        made = make_posts(session, [me, hero], tied_times(30, 4))
    newest_first = [post.id for post in sorted(made, key=lambda p: (p.created_at, p.id))][::-1]

    seen: list[object] = []
    link: str | None = "/feed?per_page=7"
    while link is not None:
        page = client.get(link, headers=alice.headers).get_json()
        seen += ids(page["items"])
        client.post("/posts", json={"body": "meanwhile"}, headers=bob.headers)
        link = page["next"]

    assert seen == newest_first
    fresh = client.get("/feed?per_page=5", headers=alice.headers).get_json()["items"]
    assert [item["body"] for item in fresh] == ["meanwhile"] * 5


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        encode_cursor([1]),
        encode_cursor([EPOCH, "seven"]),
        encode_cursor([dt.datetime(2024, 1, 1), 7]),  # naive
        encode_cursor(["yesterday", 7]),
    ],
)
def test_a_damaged_cursor_is_a_422_naming_it(
    client: FlaskClient, alice: Caller, cursor: str
) -> None:
    response = client.get("/feed", query_string={"cursor": cursor}, headers=alice.headers)

    assert response.status_code == 422
    assert response.get_json()["field"] == "cursor"


@pytest.mark.parametrize("post_id", [2**31, 2**63])
def test_a_cursor_beyond_the_ids_range_is_a_422_naming_it(
    client: FlaskClient, alice: Caller, post_id: int
) -> None:
    cursor = encode_cursor([EPOCH, post_id])

    response = client.get("/feed", query_string={"cursor": cursor}, headers=alice.headers)

    assert response.status_code == 422
    assert response.get_json()["field"] == "cursor"


@pytest.mark.parametrize("query", ["per_page=101", "per_page=0", "page=2"])
def test_a_bad_feed_query_is_a_422(client: FlaskClient, alice: Caller, query: str) -> None:
    assert client.get(f"/feed?{query}", headers=alice.headers).status_code == 422


@pytest.mark.parametrize("path", [f"/posts/{2**31}", f"/users/{2**63}/followers", "/comments/0"])
def test_an_id_out_of_range_is_a_422_not_a_driver_error(
    client: FlaskClient, alice: Caller, path: str
) -> None:
    response = client.get(path, headers=alice.headers)

    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"].endswith("_id")

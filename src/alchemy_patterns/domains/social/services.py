"""Social services: each takes a ``Session``, does one unit of work, never commits.

Where the guide goes wrong, and what is done instead:

* its ``likes`` and ``following`` tables have no key, so liking twice counts
  twice; here the composite primary key makes a link unique, and
  :func:`like` / :func:`follow` insert-or-ignore in one statement, so a
  second click or a concurrent one is a no-op rather than a duplicate or an
  error;
* its feed loads the posts and then, per post, the author and the likes; here
  :func:`feed` is one statement per page (the counts are subqueries), paged
  by keyset on ``(created_at, id)`` so posts arriving while a reader scrolls
  neither repeat nor push others out of sight, and its cost is bounded by the
  page size and the accounts followed, not by the size of the posts table.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any, Unpack

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.orm import Session

from alchemy_patterns.db import (
    INCLUDE_DELETED,
    Base,
    Expected,
    InvalidReference,
    KeysetPage,
    NotFound,
    Page,
    PageArgs,
    check_version,
    exists,
    get_or_raise,
    keyset_paginate,
    live,
    paginate,
    prepared,
    restore,
    rowcount,
    savepoint,
    table_of,
    update_where,
    upsert,
)
from alchemy_patterns.db.search import ranked, text_search
from alchemy_patterns.domains.accounts.access import Viewer
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.audit.services import record_event
from alchemy_patterns.domains.editing import edit
from alchemy_patterns.domains.social import queries
from alchemy_patterns.domains.social.errors import SelfFollow
from alchemy_patterns.domains.social.models import POST_SORTING, Comment, Post, follows, likes
from alchemy_patterns.domains.social.schemas import (
    CommentIn,
    CommentOut,
    FeedItem,
    FollowState,
    LikeState,
    PostDetail,
    PostIn,
    PostRecord,
    PostUpdate,
    UserSummary,
)

#: Newest first; the id breaks ties between posts made at the same instant
#: (one transaction on PostgreSQL, one millisecond on SQLite).
NEWEST_FIRST = queries.NEWEST_FIRST

# The reads of posts as a timeline shows them are Core, on the tables (see
# :func:`_timeline`); their soft-deleted rows are left out by each statement.
_posts, _users, _comment_rows = queries.posts, table_of(User), table_of(Comment)

# --- posts ---------------------------------------------------------------------------


def create_post(session: Session, author_id: int, data: PostIn) -> PostRecord:
    """A new post by ``author_id``; ``NotFound`` if there is no such user."""
    post = Post(author_id=author_id, body=data.body)
    try:
        with savepoint(session):
            session.add(post)
    except InvalidReference as error:
        raise NotFound("user", author_id) from error
    return PostRecord.model_validate(post)


def get_post(session: Session, viewer_id: int, post_id: int) -> PostDetail:
    """One post as a timeline shows it to ``viewer_id``, in one statement; else ``NotFound``."""
    stmt = _timeline(viewer_id).add_columns(_posts.c.version).where(_posts.c.id == post_id)
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise NotFound("post", post_id)
    return PostDetail.model_validate(row._asdict())


def update_post(
    session: Session,
    user_id: int,
    post_id: int,
    data: PostUpdate,
    expected_version: Expected = None,
) -> PostRecord:
    """Change one of the user's posts, if it is at ``expected_version`` (else ``StaleVersion``).

    Another user's post is ``NotFound``, as for :func:`delete_post`.
    """
    post = _own_post(session, user_id, post_id)
    edit(session, post, data, expected_version, entity="post", kept=("body",))
    return PostRecord.model_validate(post)


def delete_post(
    session: Session, user_id: int, post_id: int, expected_version: Expected = None
) -> None:
    """Soft-delete one of the user's posts; another user's post is ``NotFound``, not forbidden.

    One UPDATE marks it (its comments and likes stay, unseen with it, for
    :func:`restore_post`), and the audit trail records a ``soft_delete``.
    A post already deleted is ``NotFound``. With ``expected_version`` the
    post is read ``FOR UPDATE`` first, and a changed one is ``StaleVersion``.
    """
    if expected_version is not None:
        check_version(_own_post(session, user_id, post_id), expected_version, entity="post")
    _mark(session, Post, "post", post_id, Post.author_id == user_id)


def restore_post(session: Session, viewer: Viewer, post_id: int) -> PostDetail:
    """Restore a soft-deleted post, for its author or staff; a live post is unchanged.

    Anyone else is ``NotFound``, as for a post that does not exist. The
    audit trail records a ``restore``.
    """
    post = session.get(Post, post_id, execution_options={INCLUDE_DELETED: True})
    if post is None or not (viewer.is_staff or post.author_id == viewer.user_id):
        raise NotFound("post", post_id)
    if post.deleted_at is not None:
        restore(session, post)
        record_event(session, "restore", "posts", post_id)
    return get_post(session, viewer.user_id, post_id)


def _mark(
    session: Session, model: type[Post | Comment], entity: str, ident: int, *mine: Any
) -> None:
    """Soft-delete the live row ``ident`` of ``model`` matching ``mine``, in one UPDATE; audited."""
    now = dt.datetime.now(dt.UTC)
    live_row = (model.id == ident, model.deleted_at.is_(None), *mine)
    if not update_where(session, model, *live_row, values={"deleted_at": now}):
        raise NotFound(entity, ident)
    record_event(session, "soft_delete", model.__tablename__, ident)


def _own_post(session: Session, user_id: int, post_id: int) -> Post:
    """The user's post, read ``FOR UPDATE``; another user's is ``NotFound``."""
    stmt = select(Post).where(Post.id == post_id, Post.author_id == user_id).with_for_update()
    post = session.scalars(stmt).one_or_none()
    if post is None:
        raise NotFound("post", post_id)
    return post


def _require_post(session: Session, post_id: int) -> None:
    if not exists(session, select(Post.id).where(Post.id == post_id)):
        raise NotFound("post", post_id)


# --- comments ------------------------------------------------------------------------


def comment(session: Session, user_id: int, post_id: int, data: CommentIn) -> CommentOut:
    """A new comment by the user on a live post; ``NotFound`` for an unknown user or post."""
    author = get_or_raise(session, User, user_id)
    _require_post(session, post_id)
    new = Comment(post_id=post_id, author_id=user_id, body=data.body)
    with savepoint(session):
        session.add(new)
    return CommentOut(
        id=new.id,
        post_id=post_id,
        author_id=user_id,
        author_username=author.username,
        body=new.body,
        created_at=new.created_at,
    )


def post_comments(
    session: Session,
    post_id: int,
    **paging: Unpack[PageArgs],
) -> Page[CommentOut]:
    """A post's comments, oldest first, each with its author's name: the join, not a lazy load."""
    _require_post(session, post_id)
    stmt = _comments().where(Comment.post_id == post_id).order_by(Comment.id)
    rows = paginate(session, stmt, **paging)
    return rows.map(lambda row: CommentOut.model_validate(row._asdict()))


def get_comment(session: Session, comment_id: int) -> CommentOut:
    """One comment with its author's name; one detached from its post, or whose post
    was deleted, is ``NotFound``."""
    stmt = _comments().join(Post, Comment.post_id == Post.id).where(Comment.id == comment_id)
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise NotFound("comment", comment_id)
    return CommentOut.model_validate(row._asdict())


def _comments() -> Select[*tuple[Any, ...]]:
    return select(
        Comment.id,
        Comment.post_id,
        Comment.author_id,
        User.username.label("author_username"),
        Comment.body,
        Comment.created_at,
    ).join(User, Comment.author_id == User.id)


def delete_comment(session: Session, user_id: int, comment_id: int) -> None:
    """Soft-delete one of the user's comments; another user's comment is ``NotFound``."""
    _mark(session, Comment, "comment", comment_id, Comment.author_id == user_id)


# --- likes ---------------------------------------------------------------------------


def like(session: Session, user_id: int, post_id: int) -> LikeState:
    """Like a post, once however often (or however concurrently) it is asked.

    One insert-or-ignore on the ``likes`` key, so two requests at once cannot
    both insert, and neither fails. The state is read after the write, so it
    includes a like a rival committed first.
    """
    try:
        with savepoint(session):
            upsert(
                session,
                likes,
                [{"user_id": user_id, "post_id": post_id}],
                conflict=["user_id", "post_id"],
                update=[],
            )
    except InvalidReference:
        _require_post(session, post_id)
        get_or_raise(session, User, user_id)
        raise
    _expire_held(session, Post, post_id, "liked_by")
    return _like_state(session, user_id, post_id)


def unlike(session: Session, user_id: int, post_id: int) -> LikeState:
    """Take a like back; unliking what is not liked changes nothing."""
    session.execute(delete(likes).where(likes.c.user_id == user_id, likes.c.post_id == post_id))
    _expire_held(session, Post, post_id, "liked_by")
    return _like_state(session, user_id, post_id)


def _like_state(session: Session, user_id: int, post_id: int) -> LikeState:
    stmt = select(_like_count(), _liked_by(user_id)).where(_posts.c.id == post_id, live(_posts))
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise NotFound("post", post_id)
    return LikeState(post_id=post_id, like_count=row[0], liked=row[1])


def _like_count() -> ColumnElement[int]:
    """The likes of the post in the enclosing statement (a correlated subquery)."""
    counted = select(func.count()).select_from(likes).where(likes.c.post_id == _posts.c.id)
    return counted.correlate(_posts).scalar_subquery().label("like_count")


def _comment_count() -> ColumnElement[int]:
    """The live comments of the post in the enclosing statement."""
    counted = (
        select(func.count())
        .select_from(_comment_rows)
        .where(_comment_rows.c.post_id == _posts.c.id, live(_comment_rows))
    )
    return counted.correlate(_posts).scalar_subquery().label("comment_count")


def _liked_by(user_id: int | ColumnElement[int]) -> ColumnElement[bool]:
    """Whether ``user_id`` likes the post in the enclosing statement."""
    liked = select(likes.c.post_id).where(
        likes.c.post_id == _posts.c.id, likes.c.user_id == user_id
    )
    return liked.correlate(_posts).exists().label("liked_by_viewer")


def _expire_held(session: Session, model: type[Base], ident: int, attribute: str) -> None:
    """A write that went around the unit of work: forget a collection the session holds."""
    held = session.identity_map.get(session.identity_key(model, ident))
    if held is not None:
        session.expire(held, [attribute])


# --- follows -------------------------------------------------------------------------


def follow(session: Session, follower_id: int, followed_id: int) -> FollowState:
    """Follow a user, once however often it is asked; following oneself is refused.

    The refusal comes before the database's CHECK, which stays as the
    backstop for writes that do not come through here.
    """
    if follower_id == followed_id:
        raise SelfFollow(follower_id)
    try:
        with savepoint(session):
            upsert(
                session,
                follows,
                [{"follower_id": follower_id, "followed_id": followed_id}],
                conflict=["follower_id", "followed_id"],
                update=[],
            )
    except InvalidReference:
        _require_users(session, (follower_id, followed_id))
        raise
    _expire_follow_collections(session, follower_id, followed_id)
    return FollowState(follower_id=follower_id, followed_id=followed_id, following=True)


def unfollow(session: Session, follower_id: int, followed_id: int) -> FollowState:
    """Stop following; not following already changes nothing, an unknown user is ``NotFound``."""
    result = session.execute(
        delete(follows).where(
            follows.c.follower_id == follower_id, follows.c.followed_id == followed_id
        )
    )
    if not rowcount(result):
        _require_users(session, (follower_id, followed_id))
    _expire_follow_collections(session, follower_id, followed_id)
    return FollowState(follower_id=follower_id, followed_id=followed_id, following=False)


def _require_users(session: Session, user_ids: Iterable[int]) -> None:
    """``NotFound`` naming the first of ``user_ids`` that does not exist; one statement."""
    wanted = list(user_ids)
    found = set(session.scalars(select(User.id).where(User.id.in_(wanted))))
    for user_id in wanted:
        if user_id not in found:
            raise NotFound("user", user_id)


def _expire_follow_collections(session: Session, follower_id: int, followed_id: int) -> None:
    _expire_held(session, User, follower_id, "following")
    _expire_held(session, User, followed_id, "followers")


def followers(
    session: Session,
    user_id: int,
    **paging: Unpack[PageArgs],
) -> Page[UserSummary]:
    """Who follows the user, by username."""
    links = (follows.c.followed_id, follows.c.follower_id)
    return _people(session, user_id, links, **paging)


def following(
    session: Session,
    user_id: int,
    **paging: Unpack[PageArgs],
) -> Page[UserSummary]:
    """Whom the user follows, by username."""
    links = (follows.c.follower_id, follows.c.followed_id)
    return _people(session, user_id, links, **paging)


def _people(
    session: Session,
    user_id: int,
    links: tuple[ColumnElement[int], ColumnElement[int]],
    **paging: Unpack[PageArgs],
) -> Page[UserSummary]:
    """The users at the far end (``who``) of the user's (``whose``) follow links, a page of them."""
    whose, who = links
    stmt = (
        select(User.id, User.username)
        .join(follows, who == User.id)
        .where(whose == user_id)
        .order_by(User.username)
    )
    people = paginate(session, stmt, **paging)
    if not people.items:
        get_or_raise(session, User, user_id)  # an unknown user, or one with nobody
    return people.map(lambda row: UserSummary(id=row.id, username=row.username))


# --- timelines -----------------------------------------------------------------------


def feed(
    session: Session, viewer_id: int, *, cursor: str | None = None, per_page: int = 20
) -> KeysetPage[FeedItem]:
    """The posts of the people the viewer follows, and the viewer's own, newest first.

    One statement per page whatever its size: the author is joined, the
    counts and the viewer's like are subqueries of that same SELECT, computed
    for the page's posts only. The cursor is a position in ``(created_at,
    id)``, not an offset, so new posts appear at the top of the next fresh
    read and never shift the pages after the one a reader has.

    The page is chosen per author (:func:`queries.feed_page`): at most
    ``per_page + 1`` posts of each followed account, read from the
    ``(author_id, created_at, id)`` index after the cursor, merged by the
    database. A page costs the same on a hundred thousand posts as on ten
    million. What it grows with is the number of accounts followed: a viewer
    following 5,000 accounts has 5,000 index probes per page. Past a few
    thousand the next design is a timeline written at post time (fan-out on
    write: a post is appended to each follower's timeline table, and a feed
    page is one range of the viewer's own timeline), with the very followed
    accounts merged in at read time as here.
    """
    params = queries.feed_params(session, viewer_id, cursor, per_page)
    stmt = _feed(session.get_bind().dialect.name, cursor is not None)
    return _page(session, stmt, None, per_page, params)


@functools.cache
def _feed(dialect: str, after_cursor: bool) -> Select[*tuple[Any, ...]]:
    """The feed page's posts with their author and counts; built once per shape."""
    page = queries.feed_page(dialect, after_cursor)
    return prepared(_timeline(queries.VIEWER).join(page, page.c.id == _posts.c.id))


def list_posts(
    session: Session, viewer_id: int, *, q: str | None = None, **paging: Unpack[PageArgs]
) -> Page[FeedItem]:
    """Every post as ``viewer_id`` sees it, newest first; with ``q``, those holding its words.

    ``q`` is a full-text search of the body (:mod:`alchemy_patterns.db.search`),
    best match first, paged by number only (a cursor is ``ValidationFailed``).
    """
    stmt = _timeline(viewer_id).order_by(*NEWEST_FIRST)
    if q is not None:
        match = text_search(session, _posts, q)
        stmt = ranked(stmt, match, _posts.c.id, paging.get("cursor"))
    page = paginate(session, stmt, **paging)
    return page.map(lambda row: FeedItem.model_validate(row._asdict()))


def user_posts(
    session: Session,
    viewer_id: int,
    author_id: int,
    *,
    cursor: str | None = None,
    per_page: int = 20,
    sort: str | None = None,
) -> KeysetPage[FeedItem]:
    """One author's posts as ``viewer_id`` sees them, newest first; one statement per page.

    ``sort`` (``created_at``: oldest first) may turn the order; an unknown
    field is ``ValidationFailed`` on ``sort``. Either way the (author_id,
    created_at, id) index is the order, read forwards or backwards.
    """
    stmt = _timeline(viewer_id).where(_posts.c.author_id == author_id)
    order = NEWEST_FIRST if sort is None else POST_SORTING.terms(sort, on=_posts)
    posts = _page(session, stmt, cursor, per_page, order=order)
    if not posts.items and cursor is None:
        get_or_raise(session, User, author_id)  # an unknown author, or one who never posted
    return posts


def _timeline(viewer_id: int | ColumnElement[int]) -> Select[*tuple[Any, ...]]:
    """Live posts as a timeline shows them to ``viewer_id``: author, counts, the viewer's like.

    Core, on the tables: a page of them runs without the Session's ORM
    execution (whose soft-delete filter, seeing no entity, adds nothing: the
    statement says "live posts only" itself, and the comment count "live
    comments").
    """
    return (
        select(
            _posts.c.id,
            _posts.c.body,
            _posts.c.created_at,
            _posts.c.author_id,
            _users.c.username.label("author_username"),
            _like_count(),
            _comment_count(),
            _liked_by(viewer_id),
        )
        .join(_users, _posts.c.author_id == _users.c.id)
        .where(live(_posts))
    )


def _page(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    cursor: str | None,
    per_page: int,
    params: dict[str, Any] | None = None,
    order: Sequence[ColumnElement[Any]] = NEWEST_FIRST,
) -> KeysetPage[FeedItem]:
    rows = keyset_paginate(session, stmt, order, cursor=cursor, per_page=per_page, params=params)
    return rows.map(lambda row: FeedItem.model_validate(row._asdict()))

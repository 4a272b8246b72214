"""Posts, comments, likes, follows and the feed, all for a signed-in user.

Any signed-in user reads any post, comment and list of followers; writes act
as the caller (``current_user()``), who owns their posts, comments, likes and
follows. The services look an object up *with* its owner's id, so deleting
another user's post or comment answers 404, as an unknown one does. Deleting
is soft: a deleted post or comment is 404 to every read, and a post's author
(or an admin) can restore it. Likes and
follows are PUT and DELETE on the link itself: idempotent, each answering the
state it leaves.
"""

from __future__ import annotations

from flask import Response
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field

from alchemy_patterns.domains.schemas import Id
from alchemy_patterns.domains.social import services
from alchemy_patterns.domains.social.schemas import (
    CommentIn,
    CommentOut,
    FeedItem,
    FollowState,
    LikeState,
    PostDetail,
    PostFilter,
    PostIn,
    PostRecord,
    PostUpdate,
    UserSummary,
)
from alchemy_patterns.web import preconditions
from alchemy_patterns.web.auth import BEARER, FOUND, SIGNED_IN, current_user, current_viewer
from alchemy_patterns.web.database import db_session
from alchemy_patterns.web.responses import created, json_response, no_content
from alchemy_patterns.web.schemas import (
    SEARCH_HELP,
    CursorPageOut,
    CursorQuery,
    PageOut,
    PageQuery,
    cursor_page_out,
    page_out,
)

bp = APIBlueprint(
    "social",
    __name__,
    abp_tags=[
        Tag(
            name="social",
            description=("Posts, comments and likes, following other accounts, and the feed."),
        )
    ],
)


class PostPath(BaseModel):
    post_id: Id


class CommentPath(BaseModel):
    comment_id: Id


class UserPath(BaseModel):
    user_id: Id


class UserPostsQuery(CursorQuery, PostFilter):
    pass


# --- posts -----------------------------------------------------------------------------------


POST = "/posts/<int:post_id>"
preconditions.register(POST)


@bp.post("/posts", responses={201: PostRecord, **SIGNED_IN}, security=BEARER)
def create_post(body: PostIn) -> Response:
    """Publish a post as the caller."""
    post = services.create_post(db_session(), current_user().id, body)
    return preconditions.versioned(post, 201, Location=f"/posts/{post.id}")


class PostQuery(PageQuery):
    q: str | None = Field(None, min_length=1, max_length=200, description=SEARCH_HELP)


@bp.get("/posts", responses={200: PageOut[FeedItem], **SIGNED_IN}, security=BEARER)
def list_posts(query: PostQuery) -> Response:
    """Every post, newest first, or those holding the words of `q`, best match first.

    `q` searches the body (full-text); ordered by relevance, the list pages by
    `page` only, and a `cursor` with `q` is a 422. Without `q`, `cursor` walks
    back in time.
    """
    page = services.list_posts(db_session(), current_user().id, q=query.q, **query.paging())
    return json_response(page_out(page))


@bp.get(POST, responses={200: PostDetail, **FOUND}, security=BEARER)
def get_post(path: PostPath) -> Response:
    """A post as the feed shows it: author, counts, and whether the caller likes it.

    The `ETag` is the post's version and a digest of this answer, so likes
    and comments change it too (304 only if `If-None-Match` names it whole);
    a PATCH or DELETE with it in `If-Match` is checked against the post's
    version only.
    """
    post = services.get_post(db_session(), current_user().id, path.post_id)
    return preconditions.versioned(post, whole=True)


@bp.patch(POST, responses={200: PostRecord, **FOUND}, security=BEARER)
def update_post(path: PostPath, body: PostUpdate) -> Response:
    """Edit one of the caller's posts, if `If-Match` names its version (else 412); others' 404."""
    author = current_user()  # 401 before 428
    expected = preconditions.expected_version(path.post_id)
    post = services.update_post(db_session(), author.id, path.post_id, body, expected)
    return preconditions.versioned(post)


@bp.delete(POST, responses={204: None, **FOUND}, security=BEARER)
def delete_post(path: PostPath) -> Response:
    """Delete one of the caller's posts (softly: it can be restored); anyone else's is 404.

    From then on no read shows it, nor its comments and likes, to anyone.
    """
    author = current_user()  # 401 before 428
    expected = preconditions.expected_version(path.post_id)
    services.delete_post(db_session(), author.id, path.post_id, expected)
    return no_content()


@bp.post("/posts/<int:post_id>/restore", responses={200: PostDetail, **FOUND}, security=BEARER)
def restore_post(path: PostPath) -> Response:
    """Put a deleted post back, with its comments and likes: its author, or an admin.

    A post that was not deleted is answered as it is; anyone else gets 404.
    """
    post = services.restore_post(db_session(), current_viewer(), path.post_id)
    return preconditions.versioned(post, whole=True)


@bp.get(
    "/users/<int:user_id>/posts",
    responses={200: CursorPageOut[FeedItem], **FOUND},
    security=BEARER,
)
def list_user_posts(path: UserPath, query: UserPostsQuery) -> Response:
    """A user's posts, newest first; follow `next` for the older ones.

    `sort=created_at` reads them oldest first (`-created_at` is the default).
    An unknown sort field or parameter is a 422 naming it.
    """
    posts = services.user_posts(
        db_session(),
        current_user().id,
        path.user_id,
        cursor=query.cursor,
        per_page=query.per_page,
        sort=query.sort,
    )
    return json_response(cursor_page_out(posts.items, posts.next_cursor))


# --- comments --------------------------------------------------------------------------------


@bp.post("/posts/<int:post_id>/comments", responses={201: CommentOut, **FOUND}, security=BEARER)
def create_comment(path: PostPath, body: CommentIn) -> Response:
    """Comment on a post as the caller."""
    made = services.comment(db_session(), current_user().id, path.post_id, body)
    return created(made, f"/comments/{made.id}")


@bp.get(
    "/posts/<int:post_id>/comments",
    responses={200: PageOut[CommentOut], **FOUND},
    security=BEARER,
)
def list_comments(path: PostPath, query: PageQuery) -> Response:
    """A post's comments, oldest first."""
    current_user()
    page = services.post_comments(db_session(), path.post_id, **query.paging())
    return json_response(page_out(page))


@bp.get("/comments/<int:comment_id>", responses={200: CommentOut, **FOUND}, security=BEARER)
def get_comment(path: CommentPath) -> Response:
    """One comment."""
    current_user()
    return json_response(services.get_comment(db_session(), path.comment_id))


@bp.delete("/comments/<int:comment_id>", responses={204: None, **FOUND}, security=BEARER)
def delete_comment(path: CommentPath) -> Response:
    """Delete one of the caller's comments; anyone else's is 404."""
    services.delete_comment(db_session(), current_user().id, path.comment_id)
    return no_content()


# --- likes -----------------------------------------------------------------------------------


@bp.put("/posts/<int:post_id>/like", responses={200: LikeState, **FOUND}, security=BEARER)
def like_post(path: PostPath) -> Response:
    """Like a post; liking it again changes nothing."""
    return json_response(services.like(db_session(), current_user().id, path.post_id))


@bp.delete("/posts/<int:post_id>/like", responses={200: LikeState, **FOUND}, security=BEARER)
def unlike_post(path: PostPath) -> Response:
    """Take the like back; a post the caller does not like stays so."""
    return json_response(services.unlike(db_session(), current_user().id, path.post_id))


# --- follows ---------------------------------------------------------------------------------


@bp.put(
    "/users/<int:user_id>/follow",
    responses={200: FollowState, **FOUND},
    security=BEARER,
)
def follow_user(path: UserPath) -> Response:
    """Follow a user; following them again changes nothing, following oneself is 422."""
    return json_response(services.follow(db_session(), current_user().id, path.user_id))


@bp.delete("/users/<int:user_id>/follow", responses={200: FollowState, **FOUND}, security=BEARER)
def unfollow_user(path: UserPath) -> Response:
    """Stop following a user; not following them already changes nothing."""
    return json_response(services.unfollow(db_session(), current_user().id, path.user_id))


@bp.get(
    "/users/<int:user_id>/followers",
    responses={200: PageOut[UserSummary], **FOUND},
    security=BEARER,
)
def list_followers(path: UserPath, query: PageQuery) -> Response:
    """Who follows the user, by username."""
    current_user()
    page = services.followers(db_session(), path.user_id, **query.paging())
    return json_response(page_out(page))


@bp.get(
    "/users/<int:user_id>/following",
    responses={200: PageOut[UserSummary], **FOUND},
    security=BEARER,
)
def list_following(path: UserPath, query: PageQuery) -> Response:
    """Whom the user follows, by username."""
    current_user()
    page = services.following(db_session(), path.user_id, **query.paging())
    return json_response(page_out(page))


# --- feed ------------------------------------------------------------------------------------


@bp.get("/feed", responses={200: CursorPageOut[FeedItem], **SIGNED_IN}, security=BEARER)
def get_feed(query: CursorQuery) -> Response:
    """The posts of the people the caller follows, and the caller's own, newest first.

    Pages by cursor: posts made while the caller reads appear on a fresh read
    from the top, never repeated or skipped in the pages after this one. A
    damaged cursor is 422.
    """
    posts = services.feed(
        db_session(), current_user().id, cursor=query.cursor, per_page=query.per_page
    )
    return json_response(cursor_page_out(posts.items, posts.next_cursor))

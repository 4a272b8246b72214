"""What goes into and comes out of the social services.

A body is stripped (the shared ``Input`` base does it) before its length is
checked, so a post of spaces is empty, not one character long.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from alchemy_patterns.domains.schemas import Input, VersionOut, sort_field
from alchemy_patterns.domains.social.models import (
    COMMENT_MAX_LENGTH,
    POST_MAX_LENGTH,
    POST_SORTING,
)

PostBody = Annotated[str, Field(min_length=1, max_length=POST_MAX_LENGTH)]
CommentBody = Annotated[str, Field(min_length=1, max_length=COMMENT_MAX_LENGTH)]


class PostIn(Input):
    body: PostBody


class PostUpdate(Input):
    """The body may change; a null leaves it."""

    body: PostBody | None = None


class CommentIn(Input):
    body: CommentBody


class PostFilter(BaseModel):
    """The order of an author's posts."""

    sort: str | None = sort_field(POST_SORTING.fields, "-created_at (newest first)", "created_at")


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author_id: int
    body: str
    created_at: dt.datetime


class PostRecord(VersionOut, PostOut):
    """One post, with the version its `ETag` is made from."""


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    post_id: int
    author_id: int
    author_username: str
    body: str
    created_at: dt.datetime


class UserSummary(BaseModel):
    """Who a user is in a list of followers: enough to show and link, nothing private."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str


class LikeState(BaseModel):
    post_id: int
    like_count: int
    liked: bool


class FollowState(BaseModel):
    follower_id: int
    followed_id: int
    following: bool


class FeedItem(BaseModel):
    """A post as a timeline shows it: its author, its counts, and the viewer's like."""

    id: int
    body: str
    created_at: dt.datetime
    author_id: int
    author_username: str
    like_count: int
    comment_count: int
    liked_by_viewer: bool


class PostDetail(VersionOut, FeedItem):
    """One post as a timeline shows it, with its version (what `If-Match` is checked against).

    The version moves when the post is edited: its counts change without it,
    so its `ETag` adds a digest of the whole answer.
    """

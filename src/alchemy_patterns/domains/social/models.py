"""Posts, likes, follows and comments, on the accounts' users.

* ``likes`` is a plain association table (a user likes a post, nothing more),
  with a composite primary key so a like cannot be counted twice.
* ``follows`` is the guide's self-referential many-to-many: users following
  users. The guide builds it with the legacy ``backref``; here it is two
  ``relationship()``s naming each other with ``back_populates``, and the table
  refuses a duplicate (primary key) and a self-follow (CHECK).
* A post owns its comments weakly (the guide's ``cascade="delete"`` without
  ``delete-orphan``): deleting the post deletes them, but taking a comment out
  of ``post.comments`` only detaches it (moderation, or moving it to another
  post), it is not deleted.
* Posts and comments are soft-deleted (``deleted_at``): reads leave them
  out, and a post's author (or an admin) can restore it. The cascades are
  for the purge that deletes them for good.

``User`` belongs to accounts, which knows nothing of this domain; the follow
relationships are added to it here, the way SQLAlchemy allows a mapped class
to gain attributes after it is declared.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alchemy_patterns.db import Base, SoftDeletable, UTCDateTime, Versioned, table_of, utcnow
from alchemy_patterns.db.search import full_text
from alchemy_patterns.db.sorting import Sorting
from alchemy_patterns.domains.accounts.models import User

POST_MAX_LENGTH = 2000
COMMENT_MAX_LENGTH = 1000

likes = Table(
    "likes",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # Counting a post's likes reads by post: the key leads with the user.
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("created_at", UTCDateTime(), server_default=utcnow(), nullable=False),
)

follows = Table(
    "follows",
    Base.metadata,
    Column("follower_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("followed_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("created_at", UTCDateTime(), server_default=utcnow(), nullable=False),
    CheckConstraint("follower_id <> followed_id", "no_self_follow"),
)


class Post(SoftDeletable, Versioned, Base):
    __tablename__ = "posts"
    # The feed reads an author's posts newest first, and pages on (created_at, id).
    __table_args__ = (Index(None, "author_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow(), index=True)

    author: Mapped[User] = relationship(lazy="raise")
    liked_by: Mapped[list[User]] = relationship(
        secondary=likes, passive_deletes=True, order_by=User.id, lazy="raise"
    )
    # Weak ownership: "all" includes delete, but no delete-orphan.
    comments: Mapped[list[Comment]] = relationship(
        back_populates="post",
        cascade="all",
        passive_deletes=True,
        order_by="Comment.id",
        lazy="raise",
    )

    def __repr__(self) -> str:
        return f"<Post {self.id} author={self.author_id}>"


# GET /posts?q= searches the body.
full_text(table_of(Post), "body")


class Comment(SoftDeletable, Base):
    __tablename__ = "comments"
    # A post's comments, oldest first (by id), are a range of this index.
    __table_args__ = (Index(None, "post_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Nullable: a comment taken out of its post is detached, not deleted.
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())

    post: Mapped[Post | None] = relationship(back_populates="comments", lazy="raise")
    author: Mapped[User] = relationship(lazy="raise")

    def __repr__(self) -> str:
        return f"<Comment {self.id} post={self.post_id}>"


# The self-referential pair: who a user follows, and who follows them. Each
# names the other, so appending to alice.following shows in bob.followers.
User.following = relationship(
    User,
    secondary=follows,
    primaryjoin=User.id == follows.c.follower_id,
    secondaryjoin=User.id == follows.c.followed_id,
    back_populates="followers",
    passive_deletes=True,
    order_by=User.id,
    lazy="raise",
)
User.followers = relationship(
    User,
    secondary=follows,
    primaryjoin=User.id == follows.c.followed_id,
    secondaryjoin=User.id == follows.c.follower_id,
    back_populates="following",
    passive_deletes=True,
    order_by=User.id,
    lazy="raise",
)


#: What an author's posts may be sorted by; tests/test_indexes.py checks an index serves it.
POST_SORTING = Sorting({"created_at": Post.created_at}, Post.id)

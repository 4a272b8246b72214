"""Users and profiles.

Usernames and e-mail addresses are stored in one canonical form, lower case
(the schemas normalise them), and a CHECK keeps it so. That is what makes
uniqueness case-insensitive on every backend with a plain UNIQUE constraint,
and lets a lookup use the index: PostgreSQL and SQLite compare text
case-sensitively, MariaDB's default collation does not, and a ``lower(email)``
index would need an expression index MariaDB does not have.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alchemy_patterns.db import Base, TimestampMixin, text_enum, utcnow
from alchemy_patterns.domains.audit.models import Auditable

USERNAME_MAX_LENGTH = 30
EMAIL_MAX_LENGTH = 254  # RFC 5321's limit on a forward path
BIO_MAX_LENGTH = 500


class Role(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"


class User(Auditable, TimestampMixin, Base):
    __tablename__ = "users"
    __audit_redact__ = frozenset({"password_hash"})
    __table_args__ = (
        CheckConstraint("username = lower(username)", "username_lowercase"),
        CheckConstraint("email = lower(email)", "email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH), unique=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    role: Mapped[Role] = mapped_column(
        text_enum(Role, "role"), default=Role.USER, server_default=Role.USER.value
    )

    profile: Mapped[Profile | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )

    if TYPE_CHECKING:
        # Added by the social domain, which builds on this one (social/models.py).
        following: Mapped[list[User]]
        followers: Mapped[list[User]]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


class Profile(Base):
    """Optional one-to-one: the user's primary key is the profile's too."""

    __tablename__ = "profiles"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    bio: Mapped[str] = mapped_column(String(BIO_MAX_LENGTH), default="")

    user: Mapped[User] = relationship(back_populates="profile", lazy="raise")


class ApiToken(Base):
    """A bearer token: random, stored only as its SHA-256, expiring, revocable.

    The token itself is shown once, when it is issued. A stolen copy of this
    table gives nothing to log in with; a fast hash is enough because the
    token has 256 random bits, unlike a password.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(lazy="raise")


class LoginAttempts(Base):
    """The password checks one subject (an account or an address) made in its current window.

    One counter row per subject, not a row per failure: an attempt is counted
    *before* its password is verified, by locking the row, comparing it with
    the limit and counting up in one short transaction
    (:func:`~alchemy_patterns.domains.accounts.throttle.reserve`). Rows per
    failure, counted and then added to in separate steps, let every attempt
    that arrived while a hash was being verified through. A window that has
    ended starts again at the next attempt; rows of ended windows are deleted
    after successful logins.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (CheckConstraint("attempts >= 0", "attempts_not_negative"),)

    #: ``login:<name>`` or ``address:<ip>``.
    subject: Mapped[str] = mapped_column(String(300), primary_key=True)
    #: When the first attempt of the current window was counted.
    window_start: Mapped[dt.datetime] = mapped_column(index=True)
    attempts: Mapped[int]

    def __repr__(self) -> str:
        return f"<LoginAttempts {self.subject!r} {self.attempts} since {self.window_start}>"

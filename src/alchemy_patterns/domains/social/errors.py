"""Errors of the social domain."""

from __future__ import annotations

from alchemy_patterns.db import ValidationFailed


class SelfFollow(ValidationFailed):
    """Following oneself; refused before the database's CHECK has to."""

    code = "self_follow"

    def __init__(self, user_id: int) -> None:
        super().__init__(
            f"user {user_id} cannot follow themselves",
            constraint="ck_follows_no_self_follow",
            columns=("followed_id",),
            table="follows",
        )

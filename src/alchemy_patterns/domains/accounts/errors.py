"""Errors of the accounts domain."""

from __future__ import annotations

from alchemy_patterns.db import AppError


class InvalidCredentials(AppError):
    """Wrong login or password, or a disabled account: deliberately not told apart."""

    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("the login or the password is wrong")

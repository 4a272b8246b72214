"""Errors of the accounts domain."""

from __future__ import annotations

from alchemy_patterns.db import AppError


class InvalidCredentials(AppError):
    """Wrong login or password, or a disabled account: deliberately not told apart."""

    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("the login or the password is wrong")


class AuthenticationRequired(AppError):
    """No credentials, or credentials that are not (or no longer) valid."""

    code = "authentication_required"


class Forbidden(AppError):
    """Authenticated, but this operation needs a role the user does not have."""

    code = "forbidden"


class TooManyAttempts(AppError):
    """Too many failed logins: wait ``retry_after`` seconds."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins: try again in {retry_after} s")
        self.retry_after = retry_after

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
    """Too many failed logins: wait ``retry_after`` seconds.

    ``limit`` names the limit that was reached (``account`` or ``address``),
    ``quota`` its attempts per window of ``window_s`` seconds.
    """

    code = "too_many_attempts"

    def __init__(
        self, retry_after: int, *, limit: str = "login", quota: int = 0, window_s: int = 0
    ) -> None:
        super().__init__(f"too many failed logins: try again in {retry_after} s")
        self.retry_after = retry_after
        self.limit, self.quota, self.window_s = limit, quota, window_s

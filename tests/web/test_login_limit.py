"""The login limit under a real threaded WSGI server, hit by real HTTP clients at once.

Every guess that gets past the limit reaches the password verifier, which the
tests wrap: it counts the verifications, and holds each one until every
guess has either reached it or been answered without it. So all the guesses
a limit lets through are verifying at the same time, every run, with no
sleeping: the widest race a server can produce. A limit that is checked
before the hash and recorded after it (kept below as
:func:`check_then_verify_then_record`) lets all of them through, and fails
the very test the real one passes.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Response, current_app, request
from sqlalchemy import select
from werkzeug.serving import make_server

from alchemy_patterns.db import Database, upsert
from alchemy_patterns.domains.accounts import services, throttle
from alchemy_patterns.domains.accounts.errors import InvalidCredentials, TooManyAttempts
from alchemy_patterns.domains.accounts.models import LoginAttempts
from alchemy_patterns.domains.accounts.passwords import verify_password
from alchemy_patterns.domains.accounts.schemas import Credentials
from alchemy_patterns.web.app import Api
from alchemy_patterns.web.database import database
from tests.threads import RACE_TIMEOUT, race
from tests.web.conftest import Caller

LOGIN = "/auth/login"
NAIVE_LOGIN = "/test/naive-login"


class HeldVerifier:
    """``verify_password``, counted, each call held until every guess has been accounted for."""

    def __init__(self, guesses: int) -> None:
        self.guesses = guesses
        self.verified = 0
        self.answered_unverified = 0
        self._changed = threading.Condition()

    def __call__(self, password_hash: str | None, password: str) -> bool:
        with self._changed:
            self.verified += 1
            self._changed.notify_all()
            everyone = self._changed.wait_for(self._all_accounted_for, timeout=RACE_TIMEOUT)
        assert everyone, f"{self.verified} verifying, {self.answered_unverified} answered"
        return verify_password(password_hash, password)

    def answered_without_verifying(self) -> None:
        with self._changed:
            self.answered_unverified += 1
            self._changed.notify_all()

    def _all_accounted_for(self) -> bool:
        return self.verified + self.answered_unverified >= self.guesses


@contextmanager
def serving(app: Api) -> Iterator[int]:
    """The app on a threaded WSGI server on a free 127.0.0.1 port, for the block."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(RACE_TIMEOUT)
        server.server_close()


def post(port: int, path: str, body: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=RACE_TIMEOUT)
    try:
        headers = {"Content-Type": "application/json"}
        connection.request("POST", path, json.dumps(body), headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@dataclass
class Guesses:
    """Wrong passwords sent at once, each by its own HTTP client, to ``path``."""

    app: Api
    path: str
    logins: list[str]
    monkeypatch: pytest.MonkeyPatch

    def send(self) -> tuple[Counter[int], int]:
        """The statuses answered, and how many passwords were verified."""
        verifier = HeldVerifier(len(self.logins))
        self.monkeypatch.setattr(services, "verify_password", verifier)

        def guess(port: int, number: int) -> int:
            body = {"login": self.logins[number], "password": "a wrong guess"}
            status = post(port, self.path, body)
            if status != 401:  # only a verified password is a 401
                verifier.answered_without_verifying()
            return status

        with serving(self.app) as port:
            outcomes = race(len(self.logins), lambda number: guess(port, number))
        return Counter(outcomes), verifier.verified  # type: ignore[arg-type]


GuessesAt = Callable[[str, list[str]], Guesses]


@pytest.fixture
def guesses(fresh_app: Api, monkeypatch: pytest.MonkeyPatch) -> GuessesAt:
    fresh_app.add_url_rule(
        NAIVE_LOGIN, "naive_login", check_then_verify_then_record, methods=["POST"]
    )
    return lambda path, logins: Guesses(fresh_app, path, logins, monkeypatch)


def check_then_verify_then_record() -> Response:
    """The deliberately naive limit: count, then verify the password, then count the failure.

    The order the login view used to follow: every guess that arrives while
    another one's password is being verified passes the check.
    """
    credentials = Credentials.model_validate(request.get_json())
    policy: throttle.ThrottlePolicy = current_app.config["LOGIN_THROTTLE"]
    limits = throttle.subjects(credentials.login, request.remote_addr, policy)
    db = database()
    with db.session_scope(read_only=True) as session:
        counted = dict(
            session.execute(
                select(LoginAttempts.subject, LoginAttempts.attempts).where(
                    LoginAttempts.subject.in_(limits)
                )
            ).all()
        )
    if any(counted.get(subject, 0) >= limit for subject, limit in limits.items()):
        raise TooManyAttempts(retry_after=1)
    try:
        with db.session_scope(read_only=True) as session:
            services.check_credentials(session, credentials)
    except InvalidCredentials:
        record_failure(db, list(limits))
        raise
    return Response(status=204)


def record_failure(db: Database, subjects: list[str]) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.session_scope() as session:
        upsert(
            session,
            LoginAttempts,
            [{"subject": subject, "window_start": now, "attempts": 1} for subject in subjects],
            conflict=["subject"],
            update={"attempts": lambda current, new: current + new},
        )


# --- the limit per account -------------------------------------------------------------------


def assert_one_account_verifies_5_of_20(guesses: Guesses) -> None:
    statuses, verified = guesses.send()

    assert statuses == {401: 5, 429: 15}
    assert verified == 5


def test_20_guesses_at_once_for_one_account_verify_5_passwords(
    guesses: GuessesAt, alice: Caller
) -> None:
    assert_one_account_verifies_5_of_20(guesses(LOGIN, [alice.username] * 20))


def test_the_same_race_catches_a_limit_checked_before_the_hash(
    guesses: GuessesAt, alice: Caller
) -> None:
    with pytest.raises(AssertionError, match="401: 20"):
        assert_one_account_verifies_5_of_20(guesses(NAIVE_LOGIN, [alice.username] * 20))


# --- the limit per address -------------------------------------------------------------------


def assert_one_address_verifies_8_of_30(guesses: Guesses) -> None:
    statuses, verified = guesses.send()

    # The web tests' app allows 8 per address (tests/web/conftest.py); every
    # guess names another account, so only the address's limit applies.
    assert statuses == {401: 8, 429: 22}
    assert verified == 8


def test_30_guesses_at_once_from_one_address_verify_8_passwords(guesses: GuessesAt) -> None:
    logins = [f"nobody{number}" for number in range(30)]

    assert_one_address_verifies_8_of_30(guesses(LOGIN, logins))


def test_the_same_race_catches_an_address_limit_checked_before_the_hash(
    guesses: GuessesAt,
) -> None:
    logins = [f"nobody{number}" for number in range(30)]

    with pytest.raises(AssertionError, match="401: 30"):
        assert_one_address_verifies_8_of_30(guesses(NAIVE_LOGIN, logins))

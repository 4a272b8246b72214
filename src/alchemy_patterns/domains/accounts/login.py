"""Signing in under the login limit: reserve the attempt, then verify, then settle."""

from __future__ import annotations

from sqlalchemy.orm import Session

from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts import services, throttle
from alchemy_patterns.domains.accounts.schemas import Credentials, UserOut


def log_in(
    db: Database,
    session: Session,
    credentials: Credentials,
    address: str | None,
    policy: throttle.ThrottlePolicy = throttle.DEFAULT_POLICY,
) -> UserOut:
    """The user these credentials belong to; else ``InvalidCredentials`` or ``TooManyAttempts``.

    At most ``policy.per_login`` passwords are verified for one account in a
    window, and ``policy.per_address`` from one address, however many
    attempts arrive at once. Three units of work, in this order:

    1. the attempt is reserved against the account and the address, in a
       transaction of its own (retried whole on a deadlock) committed before
       the password is looked at; over a limit it is ``TooManyAttempts`` and
       nothing is counted;
    2. the password is verified in a read-only unit, so the slow hash holds
       no write lock; a wrong one needs nothing more, its attempt is counted;
    3. a success is settled in ``session``, the caller's unit of work (the
       web request's, which goes on to issue a token): the account's counter
       cleared, the address's attempt given back, a weak hash renewed.

    ``session`` must not have begun its transaction yet: on SQLite it would
    hold the write lock that step 1 waits for.
    """
    limits = throttle.subjects(credentials.login, address, policy)
    reservation = db.transaction(lambda own: throttle.reserve(own, limits, policy))
    # On the primary, never a replica: a password changed a moment ago must not verify there.
    with db.session_scope(read_only=True, on_replica=False) as reading:
        user = services.check_credentials(reading, credentials)
    throttle.record_success(session, reservation, policy)
    services.renew_weak_hash(session, user.id, credentials)
    return user

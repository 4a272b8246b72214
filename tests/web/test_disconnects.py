"""A request and a dead connection: no ping per request, the view run again only when nothing
was done, and a checkout cut off anywhere makes one order once the client retries with its key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import Connection
from werkzeug.test import TestResponse

from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts.models import User
from tests.disconnects import counted_pings, kill, killing_before, pooled
from tests.web.checkouts import (
    QUANTITY,
    STOCK,
    buyer,
    checkout,
    checkout_until_answered,
    orders_and_stock,
)
from tests.web.conftest import Caller, queries

REQUESTS = 100


def me(client: FlaskClient, caller: Caller) -> TestResponse:
    return client.get("/me", headers=caller.headers)


def count_users(db: Database) -> int:
    with db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


# --- the good path costs nothing --------------------------------------------------------------


def test_a_hundred_requests_send_their_statements_and_no_ping(
    client: FlaskClient, app_db: Database, alice: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = counted_pings(app_db.engine, monkeypatch)

    statements = [queries(me(client, alice)) for _ in range(REQUESTS)]

    assert pings == []
    assert statements == [1] * REQUESTS  # the token and its user, in one SELECT


# --- found dead before anything was done: the view runs again ---------------------------------


def test_a_request_succeeds_at_once_after_every_pooled_connection_was_killed(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    for connection in pooled(app_db, max(1, app_db.engine.pool.checkedin())):  # type: ignore[attr-defined]
        kill(app_db.engine, connection)

    assert me(client, alice).status_code == 200


def test_a_request_whose_first_statement_finds_its_connection_dead_runs_again(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    with killing_before(app_db.engine, lambda number, _sql: number == 1) as seen:
        response = me(client, alice)

    assert response.status_code == 200
    assert seen == [seen[0]] * 2  # the failed first statement, then the re-run


def test_a_request_whose_connection_dies_again_on_its_rerun_is_a_503(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    with killing_before(app_db.engine, lambda _number, _sql: True) as seen:
        response = me(client, alice)

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert len(seen) == 2  # one re-run, no more


# --- lost after something was done: a 503, never run again -----------------------------------


def test_a_request_that_loses_its_connection_after_a_statement_completed_is_a_503(
    client: FlaskClient, app_db: Database
) -> None:
    body = {"username": "halfway", "email": "halfway@example.com", "password": "long enough pw"}

    with killing_before(app_db.engine, lambda number, _sql: number == 2) as seen:
        response = client.post("/auth/register", json=body)

    assert response.status_code == 503
    assert len(seen) == 2  # not run again
    assert count_users(app_db) == 0


# --- a checkout cut off anywhere, retried with its key ----------------------------------------


@contextmanager
def killed_at_commit(engine: Engine) -> Iterator[None]:
    """Kill the connection as it is about to send COMMIT."""

    def at_commit(connection: Connection) -> None:
        kill(engine, connection.connection.dbapi_connection)

    event.listen(engine, "commit", at_commit)
    try:
        yield
    finally:
        event.remove(engine, "commit", at_commit)


def statements_of_a_checkout(client: FlaskClient, db: Database) -> int:
    caller, _ = buyer(db)
    with killing_before(db.engine, lambda _number, _sql: False) as seen:
        assert checkout(client, caller).status_code == 201
    return len(seen)


COMMIT = "COMMIT"


def cut_off(engine: Engine, point: int | str) -> AbstractContextManager[object]:
    """Kill the connection before the request's statement number ``point``, or at COMMIT."""
    if point == COMMIT:
        return killed_at_commit(engine)
    return killing_before(engine, lambda number, _sql: number == point)


def test_a_checkout_cut_off_anywhere_and_retried_with_its_key_makes_one_order(
    client: FlaskClient, app_db: Database
) -> None:
    points: list[int | str] = [*range(1, statements_of_a_checkout(client, app_db) + 1), COMMIT]
    seen: dict[int | str, tuple[int, ...]] = {}

    for point in points:
        caller, product_id = buyer(app_db)
        with cut_off(app_db.engine, point):
            first = checkout(client, caller)
        seen[point] = tuple(r.status_code for r in checkout_until_answered(client, caller, first))
        orders, stock = orders_and_stock(app_db, caller, product_id)
        assert (len(orders), stock) == (1, STOCK - QUANTITY), (point, seen[point])

    # Found dead by the first statement: the server ran it again, the client saw nothing.
    assert seen.pop(1) == (201,)
    # Anything later: a 503, nothing kept, and the client's retry placed the order.
    assert set(seen.values()) == {(503, 201)}

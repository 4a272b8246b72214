"""The API when the database cannot serve it: 503 problems with Retry-After, then recovery.

A request that finds no free connection, or no database at all, is answered
503 ``application/problem+json`` with ``Retry-After`` soon (within about the
pool timeout), never a 500 and never a hang; ``/readyz`` says 503 while the
database is away and ``/healthz`` stays 200; when the database is back the
same app serves again, without a restart, and no connection is left checked out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from werkzeug.test import TestResponse

from alchemy_patterns.db import Database, EngineOptions
from alchemy_patterns.domains import metadata
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.settings import Settings
from alchemy_patterns.web import create_app
from alchemy_patterns.web.app import Api
from alchemy_patterns.web.database import db_session
from alchemy_patterns.web.errors import UNAVAILABLE_DETAIL
from tests.web.checkouts import (
    QUANTITY,
    STOCK,
    buyer,
    checkout,
    checkout_until_answered,
    orders_and_stock,
)
from tests.web.conftest import Caller, sign_in
from tests.web.proxy import DatabaseProxy

#: The app's wait for a free connection, in seconds.
POOL_TIMEOUT = 0.5
#: A generous bound for "answered soon": far below a hang, far above the pool timeout.
SOON_S = 5.0

AppFactory = Callable[[str], tuple[Api, Database]]


@pytest.fixture
def make_app(app_db: Database) -> Iterator[AppFactory]:
    """Apps on a one-connection pool at a URL of the test's choice; disposed afterwards."""
    made: list[Database] = []

    def make(url: str) -> tuple[Api, Database]:
        options = EngineOptions(pool_size=1, max_overflow=0, pool_timeout=POOL_TIMEOUT)
        db = Database(url, metadata=metadata, engine_options=options, n_plus_one="raise")
        made.append(db)
        app = create_app(Settings(), db=db)
        app.config["TESTING"] = True
        return app, db

    yield make
    for db in made:
        db.dispose()


#: The servers' ports when the test URL names none.
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}


@pytest.fixture
def proxy(database_url: str) -> Iterator[DatabaseProxy]:
    """A proxy to the test server; closed, every thread stopped, at teardown."""
    url = make_url(database_url)
    port = url.port or DEFAULT_PORTS[url.get_backend_name()]
    with DatabaseProxy(url.host or "127.0.0.1", port) as running:
        yield running


@pytest.fixture
def proxied(make_app: AppFactory, database_url: str, proxy: DatabaseProxy) -> tuple[Api, Database]:
    """An app whose database is reached through ``proxy``."""
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    return make_app(url.render_as_string(hide_password=False))


def timed(call: Callable[[], TestResponse]) -> tuple[TestResponse, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_unavailable(response: TestResponse) -> None:
    """A 503 problem that says when to retry, and nothing of the driver's words."""
    assert response.status_code == 503, response.text
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "/problems/unavailable"
    assert problem["detail"] == UNAVAILABLE_DETAIL  # no host, port, pool size or driver message
    assert int(response.headers["Retry-After"]) >= 1


def checked_out(db: Database) -> int:
    return db.engine.pool.checkedout()  # type: ignore[attr-defined, no-any-return]


# --- an exhausted pool ------------------------------------------------------------------------


def test_an_exhausted_pool_is_a_503_with_retry_after_within_the_pool_timeout(
    make_app: AppFactory, database_url: str
) -> None:
    # An SQLite file gets a QueuePool of these sizes too (engine.py), so this holds there as well.
    app, db = make_app(database_url)
    client = app.test_client()

    with db.engine.connect():  # the pool's only connection
        response, waited = timed(lambda: client.get("/products"))

    assert_unavailable(response)
    assert POOL_TIMEOUT <= waited < SOON_S  # it waited for a connection, then gave up
    assert client.get("/products").status_code == 200  # the pool serves again once freed
    assert checked_out(db) == 0


def test_the_cause_of_a_503_is_logged_with_the_request_id(
    make_app: AppFactory, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, db = make_app(database_url)

    with db.engine.connect(), caplog.at_level(logging.WARNING, logger="alchemy_patterns.web"):
        response = app.test_client().get("/products", headers={"X-Request-ID": "req-pool-full"})

    assert response.status_code == 503
    assert "QueuePool limit" not in response.text
    assert any(
        "req-pool-full" in r.getMessage() and "QueuePool limit" in r.getMessage()
        for r in caplog.records
    )


def test_readiness_fails_and_liveness_holds_while_the_pool_is_exhausted(
    make_app: AppFactory, database_url: str
) -> None:
    app, db = make_app(database_url)
    client = app.test_client()

    with db.engine.connect():
        ready, waited = timed(lambda: client.get("/readyz"))
        alive = client.get("/healthz")

    assert_unavailable(ready)
    assert waited < SOON_S
    assert alive.status_code == 200
    assert client.get("/readyz").status_code == 200
    assert checked_out(db) == 0


# --- a database that goes away and comes back --------------------------------------------------


def me(client: FlaskClient, caller: Caller) -> TestResponse:
    return client.get("/me", headers=caller.headers)


@pytest.mark.backends("postgresql", "mariadb")  # an SQLite file cannot go away from under a pool
def test_while_the_database_is_down_requests_are_503_and_readyz_says_so(
    proxied: tuple[Api, Database], proxy: DatabaseProxy, app_db: Database
) -> None:
    app, db = proxied
    client = app.test_client()
    alice = sign_in(app_db)
    assert me(client, alice).status_code == 200  # a pooled connection, through the proxy

    proxy.down()
    response, waited = timed(lambda: me(client, alice))

    assert_unavailable(response)
    assert waited < SOON_S
    assert_unavailable(client.get("/readyz"))
    assert client.get("/healthz").status_code == 200
    assert checked_out(db) == 0


@pytest.mark.backends("postgresql", "mariadb")
def test_the_first_request_after_the_database_returns_succeeds_without_a_restart(
    proxied: tuple[Api, Database], proxy: DatabaseProxy, app_db: Database
) -> None:
    app, db = proxied
    client = app.test_client()
    alice = sign_in(app_db)
    assert me(client, alice).status_code == 200
    proxy.down()
    assert me(client, alice).status_code == 503
    assert client.get("/readyz").status_code == 503

    proxy.up()

    # The failed requests invalidated the pool: the first one after the return connects
    # afresh and succeeds; not one more 503.
    assert me(client, alice).status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert checked_out(db) == 0


@pytest.mark.backends("postgresql", "mariadb")
def test_a_pooled_connection_cut_while_idle_is_replaced_at_checkout(
    proxied: tuple[Api, Database], proxy: DatabaseProxy, app_db: Database
) -> None:
    app, db = proxied
    client = app.test_client()
    alice = sign_in(app_db)
    assert me(client, alice).status_code == 200
    forwarded = proxy.forwarded

    proxy.down()  # the pooled connection dies with no request to notice
    proxy.up()

    assert me(client, alice).status_code == 200  # its socket said so at checkout: no ping sent
    assert proxy.forwarded == forwarded + 1  # a new connection, not the dead one
    assert checked_out(db) == 0


@pytest.mark.backends("postgresql", "mariadb")
def test_a_request_in_the_middle_of_its_transaction_when_the_database_goes_is_a_503(
    proxied: tuple[Api, Database], proxy: DatabaseProxy, app_db: Database
) -> None:
    app, db = proxied

    def write_then_lose_the_database() -> tuple[str, int]:
        db_session().add(User(username="halfway", email="halfway@example.com", password_hash="x"))
        db_session().flush()  # the transaction is open, with a row in it
        proxy.down()
        db_session().execute(text("SELECT 1"))
        return "", 204

    app.add_url_rule("/test/halfway", "halfway", write_then_lose_the_database)
    client = app.test_client()

    response = client.get("/test/halfway")

    assert_unavailable(response)
    assert checked_out(db) == 0
    proxy.up()
    assert client.get("/readyz").status_code == 200
    with app_db.session_scope() as session:  # the half-done transaction was not kept
        assert session.scalar(select(func.count()).select_from(User)) == 0


# --- a COMMIT that landed, with its answer lost -------------------------------------------------


@pytest.mark.backends("postgresql", "mariadb")
def test_a_checkout_whose_commit_landed_unanswered_is_a_503_then_the_same_order_on_retry(
    proxied: tuple[Api, Database], proxy: DatabaseProxy, app_db: Database
) -> None:
    app, db = proxied
    client = app.test_client()
    caller, product_id = buyer(app_db)
    event.listen(db.engine, "commit", lambda _connection: proxy.cut_after_next_message(), once=True)

    first = checkout(client, caller)
    placed = orders_and_stock(app_db, caller, product_id)
    responses = checkout_until_answered(client, caller, first)

    # The server never runs it again (it cannot know whether COMMIT landed); the client's
    # key makes its own retry safe: the order it was not told of, not a second one.
    assert [response.status_code for response in responses] == [503, 200]
    assert placed == ([responses[-1].get_json()["id"]], STOCK - QUANTITY)
    assert orders_and_stock(app_db, caller, product_id) == placed
    assert checked_out(db) == 0

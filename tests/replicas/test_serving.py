"""Real ``serve`` processes over the cluster: a standby that stops, two API processes as one.

Nothing of a request lives in one process (tokens, login limits and
idempotency keys are rows), so a client may alternate between processes; and
a standby that goes away is skipped by the next read, never a 5xx.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from alchemy_patterns.db import Database
from tests.cluster import Cluster
from tests.replicas.http import PASSWORD, add_product, call, smoke_flow
from tests.serving import Server, serving

pytestmark = pytest.mark.backends("postgresql")

MakeDb = Callable[..., Database]
ONE_WORKER = ("--workers", "1", "--threads", "4", "--no-migrate")


@contextmanager
def served(tmp_path: Path, url: str, *args: str, count: int = 1) -> Iterator[list[Server]]:
    with ExitStack() as stack:
        servers = []
        for number in range(count):
            where = tmp_path / f"serve{number}"
            where.mkdir()
            arguments = ("--database-url", url, "serve", *ONE_WORKER, *args)
            servers.append(stack.enter_context(serving(where, *arguments)))
        yield servers


def test_a_standby_that_stops_costs_no_5xx_and_readyz_says_so(
    cluster: Cluster, make_db: MakeDb, tmp_path: Path
) -> None:
    add_product(make_db(replicas=[]), stock=100)
    replica = ("--replica", cluster.standby.url())
    with served(tmp_path, cluster.primary.url(), *replica) as (server,):
        before = smoke_flow([server.port], users=1, prefix="before")
        assert [r["up"] for r in call(server.port, "GET", "/readyz").body["replicas"]] == [True]

        cluster.stop_standby()
        after = smoke_flow([server.port], users=1, prefix="after")
        ready = call(server.port, "GET", "/readyz")

    assert [r for r in before + after if r[2] >= 500] == []
    assert len(after) == 8
    assert ready.status == 200
    assert [(r["up"], r["lag_s"]) for r in ready.body["replicas"]] == [(False, None)]


def test_two_serve_processes_over_one_database_are_one_api(
    cluster: Cluster, make_db: MakeDb, tmp_path: Path
) -> None:
    add_product(make_db(replicas=[]), stock=100)
    with served(tmp_path, cluster.primary.url(), count=2) as (first, second):
        # Signed in on one, the token works on the other.
        account = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
        assert call(first.port, "POST", "/auth/register", account).status == 201
        login = call(second.port, "POST", "/auth/login", {"login": "ada", "password": PASSWORD})
        auth = {"Authorization": f"Bearer {login.body['access_token']}"}
        assert call(first.port, "GET", "/me", headers=auth).body["username"] == "ada"

        # A checkout retried on the other process with the same key: the same order, one order.
        product = call(first.port, "GET", "/products").body["items"][0]["id"]
        item = {"product_id": product, "quantity": 1}
        assert call(second.port, "POST", "/cart/items", item, auth).status == 200
        key = auth | {"Idempotency-Key": "ada-1"}
        placed = call(first.port, "POST", "/checkout", headers=key)
        retried = call(second.port, "POST", "/checkout", headers=key)
        orders = call(first.port, "GET", "/orders", headers=auth).body

        # Wrong passwords alternate between the two: the limit (5 an account) counts them all.
        wrong = {"login": "ada", "password": "not the password"}
        statuses = [call(s.port, "POST", "/auth/login", wrong).status for s in [first, second] * 3]

    assert (placed.status, retried.status) == (201, 200)
    assert retried.body["id"] == placed.body["id"]
    assert [order["id"] for order in orders["items"]] == [placed.body["id"]]
    assert statuses == [401] * 5 + [429]

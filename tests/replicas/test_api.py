"""The API over a primary and its standby: GETs on the standby, a token to read one's own writes.

Flask's test client, in process; the servers are the private cluster's.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from alchemy_patterns.db import Database
from alchemy_patterns.domains import metadata
from alchemy_patterns.settings import Settings
from alchemy_patterns.web import create_app
from tests.cluster import Cluster, wait_until
from tests.replicas.http import PASSWORD
from tests.web.metrics import sample, scrape

pytestmark = pytest.mark.backends("postgresql")

MakeDb = Callable[..., Database]
TOKEN = "Consistency-Token"


def api(db: Database) -> FlaskClient:
    app = create_app(Settings(), db=db)
    app.config["TESTING"] = True
    return app.test_client()


def register_and_log_in(client: FlaskClient, name: str) -> tuple[dict[str, str], str]:
    """Bearer headers for a new account, and the ``Consistency-Token`` of its login."""
    account = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    registered = client.post("/auth/register", json=account)
    assert registered.status_code == 201
    assert registered.headers[TOKEN]
    login = client.post("/auth/login", json={"login": name, "password": PASSWORD})
    assert login.status_code == 200
    return {"Authorization": f"Bearer {login.json['access_token']}"}, login.headers[TOKEN]  # type: ignore[index]


def test_a_get_that_sends_back_the_token_of_a_write_sees_it_even_on_a_standby_behind(
    cluster: Cluster, make_db: MakeDb
) -> None:
    # The standby stays usable however far behind: only the token keeps the read current.
    client = api(make_db(metadata=metadata, max_replica_lag=3600, consistency_wait=0.2))
    cluster.standby.query("SELECT pg_wal_replay_pause()")
    wait_until(
        lambda: cluster.standby.query("SELECT pg_get_wal_replay_pause_state()") == "paused",
        "replay to pause",
    )

    auth, token = register_and_log_in(client, "ada")
    with_token = client.get("/me", headers=auth | {TOKEN: token})
    without = client.get("/me", headers=auth)

    assert with_token.status_code == 200  # on the primary: no replica had replayed the login
    assert without.status_code == 401  # on the standby, which has no such token yet
    cluster.standby.query("SELECT pg_wal_replay_resume()")
    cluster.wait_caught_up()
    assert client.get("/me", headers=auth).status_code == 200


def test_only_unsafe_requests_that_committed_answer_with_a_token(
    cluster: Cluster, make_db: MakeDb
) -> None:
    client = api(make_db(metadata=metadata))
    auth, _ = register_and_log_in(client, "bob")

    assert TOKEN not in client.get("/me", headers=auth).headers
    refused = client.post("/posts", json={"body": "x" * 100_000}, headers=auth)
    assert refused.status_code == 413
    assert TOKEN not in refused.headers
    without_replicas = api(make_db(metadata=metadata, replicas=[]))
    assert TOKEN not in without_replicas.post("/auth/logout", headers=auth).headers


def test_readyz_reports_the_primary_and_each_replica_and_stays_ready_without_them(
    cluster: Cluster, make_db: MakeDb
) -> None:
    client = api(make_db(metadata=metadata))

    up = client.get("/readyz")
    cluster.stop_standby()
    down = client.get("/readyz")

    name = f"127.0.0.1:{cluster.standby.port}"
    assert up.status_code == 200
    assert up.json == {
        "status": "ready",
        "primary": {"name": "primary", "up": True, "lag_s": 0.0},
        "replicas": [{"name": name, "up": True, "lag_s": 0.0}],
    }
    assert down.status_code == 200
    assert down.json["replicas"] == [{"name": name, "up": False, "lag_s": None}]  # type: ignore[index]


def test_the_openapi_document_describes_the_header(cluster: Cluster, make_db: MakeDb) -> None:
    document = api(make_db(metadata=metadata)).get("/openapi.json").json
    assert document is not None

    read = document["paths"]["/products"]["get"]["parameters"]
    written = document["paths"]["/posts"]["post"]["responses"]["201"]["headers"]

    assert [p["in"] for p in read if p["name"] == TOKEN] == ["header"]
    assert TOKEN in written


def test_metrics_name_each_node_the_lag_seen_and_each_fallback(
    cluster: Cluster, make_db: MakeDb
) -> None:
    db = make_db(replica_check_interval=3600)  # the failure, not a probe, finds it gone
    client = api(db)
    standby = f"127.0.0.1:{cluster.standby.port}"
    assert client.get("/products").status_code == 200  # on the standby: probed, lag measured
    before = scrape(client)

    cluster.stop_standby()
    assert client.get("/products").status_code == 200  # the standby fails it: the primary reads
    after = scrape(client)

    assert (("db_replica_lag_seconds", frozenset({("node", standby)}))) in before
    failed = {"reason": "replica_failed"}
    assert (
        sample(after, "db_replica_fallbacks_total", **failed)
        - sample(before, "db_replica_fallbacks_total", **failed)
        == 1
    )
    for node in ("primary", standby):  # each pool is watched under its own name
        assert ("db_pool_connections_in_use", frozenset({("node", node)})) in after

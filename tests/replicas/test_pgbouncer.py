"""Behind PgBouncer in transaction pooling mode: what breaks there, and the API working through it.

Each transaction may run on another server connection. psycopg prepares a
statement on the server after it ran five times, then sends only its name:
the next transaction, on another server connection, finds no such statement.
``pgbouncer=True`` (``ALCHEMY_PATTERNS_PGBOUNCER=1``) turns that off.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from alchemy_patterns.db import Database, EngineOptions
from tests.cluster import DATABASE, Cluster
from tests.replicas.conftest import authors
from tests.replicas.http import add_product, smoke_flow
from tests.serving import serving
from tests.threads import race

pytestmark = pytest.mark.backends("postgresql")

MakeDb = Callable[..., Database]
ONE_CONNECTION = EngineOptions(pool_size=1, max_overflow=0)


def count_after_pgbouncer_switched_servers(cluster: Cluster, db: Database) -> int:
    """Run one statement often on one server connection, then again once another client holds it."""

    def count() -> int:
        return int(db.transaction(lambda s: s.scalar(select(func.count()).select_from(authors))))

    for _ in range(8):  # past psycopg's prepare_threshold (5): prepared on that server connection
        count()
    with psycopg.connect(
        host="127.0.0.1", port=cluster.pgbouncer_port, user="postgres", dbname=DATABASE
    ) as other:
        # Its open transaction holds the server connection used last (PgBouncer reuses it first).
        other.execute("SELECT 1")
        return count()


def test_without_the_setting_a_prepared_statement_is_lost_between_transactions(
    cluster: Cluster, make_db: MakeDb
) -> None:
    db = make_db(cluster.pgbouncer_url, replicas=[], engine_options=ONE_CONNECTION)

    with pytest.raises(sa_exc.ProgrammingError, match='prepared statement "_pg3_'):
        count_after_pgbouncer_switched_servers(cluster, db)


def test_pgbouncer_true_prepares_nothing_so_every_transaction_works_on_any_server_connection(
    cluster: Cluster, make_db: MakeDb
) -> None:
    db = make_db(cluster.pgbouncer_url, replicas=[], engine_options=ONE_CONNECTION, pgbouncer=True)

    assert count_after_pgbouncer_switched_servers(cluster, db) == 0


@pytest.mark.sync_only  # the API is a sync Flask app
def test_the_api_smoke_flow_passes_through_pgbouncer_in_transaction_mode(
    cluster: Cluster, make_db: MakeDb, tmp_path: Path
) -> None:
    add_product(make_db(replicas=[]), stock=100)
    args = ("--database-url", cluster.pgbouncer_url, "serve", "--workers", "2", "--threads", "4")
    env = {"ALCHEMY_PATTERNS_PGBOUNCER": "1"}

    with serving(tmp_path, *args, "--no-migrate", env=env) as server:
        # Three clients at once, so their transactions share PgBouncer's server connections;
        # each repeats its statements past psycopg's prepare_threshold.
        flows = race(3, lambda n: smoke_flow([server.port], users=1, prefix=f"c{n}u", rounds=3))

    assert [flow for flow in flows if isinstance(flow, Exception)] == []
    requests = [request for flow in flows for request in flow]  # type: ignore[union-attr]
    assert len(requests) == 3 * (2 + 3 * 6)
    assert [r for r in requests if r[2] >= 300] == []

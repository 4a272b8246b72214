"""Fixtures for the replica tests: one private primary + synchronous standby + PgBouncer per run.

The cluster (:mod:`tests.cluster`) is built once per session, with the
application's schema migrated on the primary, and put back between tests:
the standby running, replaying, synchronous and caught up, every table empty.
Only the tests here start it, and only when PostgreSQL is among the chosen
backends.

The router's tests (``BOTH_WAYS``) run each test twice, as the contract suite
does (:mod:`tests.db.ways`): ``make_db`` makes sync ``Database`` objects, then
:class:`~alchemy_patterns.db.AsyncDatabase` ones in the sync shape, with the
test run in SQLAlchemy's greenlet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from sqlalchemy import Table

from alchemy_patterns import migrations
from alchemy_patterns.db import AsyncDatabase, Database
from alchemy_patterns.domains import metadata as app_metadata
from tests.cleanup import empty_tables
from tests.cluster import Cluster, running_cluster
from tests.db.models import Author
from tests.db.models import metadata as layer_metadata
from tests.db.ways import AsyncWay, parametrize_ways

#: The data layer's tests read and write this table (the app's schema is there too, for the API).
authors = cast(Table, Author.__table__)

BOTH_WAYS = frozenset({"tests.replicas.test_routing", "tests.replicas.test_pgbouncer"})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_ways(metafunc, BOTH_WAYS)


@pytest.fixture(scope="session")
def _cluster(backend: str) -> Iterator[Cluster]:
    with running_cluster() as cluster:
        migrations.upgrade(cluster.primary.url())
        setup = Database(cluster.primary.url())
        layer_metadata.create_all(setup.engine)
        setup.dispose()
        yield cluster


@pytest.fixture
def cluster(_cluster: Cluster) -> Iterator[Cluster]:
    """The private cluster, as every test finds it: both up, in sync, caught up, tables empty."""
    _cluster.reset()
    yield _cluster
    _cluster.reset()
    cleaner = Database(_cluster.primary.url())
    try:
        empty_tables(cleaner, app_metadata)
        empty_tables(cleaner, layer_metadata)
    finally:
        cleaner.dispose()
    _cluster.wait_caught_up()


@pytest.fixture
def make_db(
    cluster: Cluster, way: str, event_loop_for_db: asyncio.AbstractEventLoop
) -> Iterator[Callable[..., Database]]:
    """Databases of the test's way on the cluster (the primary, its standby as replica by default).

    The async way's are :class:`AsyncWay`\\ s: an ``AsyncDatabase`` made with the
    same arguments, and a sync ``Database`` for anything outside the test's greenlet.
    """
    made: list[Database | AsyncWay] = []

    def make(url: str | None = None, **options: Any) -> Database:
        options.setdefault("replicas", [cluster.standby.url()])
        options.setdefault("n_plus_one", "raise")
        url = url or cluster.primary.url()
        database = Database(url, **options)
        if way == "async":
            made.append(AsyncWay(AsyncDatabase(url, **options), event_loop_for_db, database))
        else:
            made.append(database)
        return made[-1]  # type: ignore[return-value]

    yield make
    for database in made:
        if isinstance(database, AsyncWay):
            database.dispose_all()
        else:
            database.dispose()

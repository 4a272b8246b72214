"""Fixtures for the replica tests: one private primary + synchronous standby + PgBouncer per run.

The cluster (:mod:`tests.cluster`) is built once per session, with the
application's schema migrated on the primary, and put back between tests:
the standby running, replaying, synchronous and caught up, every table empty.
Only the tests here start it, and only when PostgreSQL is among the chosen
backends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from sqlalchemy import Table

from alchemy_patterns import migrations
from alchemy_patterns.db import Database
from alchemy_patterns.domains import metadata as app_metadata
from tests.cleanup import empty_tables
from tests.cluster import Cluster, running_cluster
from tests.db.models import Author
from tests.db.models import metadata as layer_metadata

#: The data layer's tests read and write this table (the app's schema is there too, for the API).
authors = cast(Table, Author.__table__)


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
def make_db(cluster: Cluster) -> Iterator[Callable[..., Database]]:
    """``Database`` objects on the cluster (the primary, its standby as replica by default)."""
    made: list[Database] = []

    def make(url: str | None = None, **options: Any) -> Database:
        options.setdefault("replicas", [cluster.standby.url()])
        options.setdefault("n_plus_one", "raise")
        database = Database(url or cluster.primary.url(), **options)
        made.append(database)
        return database

    yield make
    for database in made:
        database.dispose()

"""Failover: the primary dies, its standby is promoted, the app writes on through a multi-host URL.

The app's URL names both servers with ``target_session_attrs=read-write``
(libpq keeps the first that accepts writes; psycopg's async connections do
the same). Synchronous replication means a commit that returned is on the
standby: none is lost by the failover. The test builds a cluster of its own,
since it leaves no primary behind, and runs once with a ``Database`` writing
and once with an ``AsyncDatabase`` writing (from its own event loop).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from alchemy_patterns.db import AsyncDatabase, Database, EngineOptions, Unavailable
from tests.cluster import Cluster, running_cluster, wait_until
from tests.replicas.conftest import authors, layer_metadata

pytestmark = pytest.mark.backends("postgresql")

#: Writes must succeed again within this many seconds of the primary's death.
RECOVERY_S = 10.0


@pytest.fixture
def own_cluster(backend: str) -> Iterator[Cluster]:
    with running_cluster(pgbouncer=False) as cluster:
        setup = Database(cluster.primary.url())
        layer_metadata.create_all(setup.engine)
        setup.dispose()
        yield cluster


def insert_named(name: str) -> Callable[[Session], object]:
    return lambda session: session.execute(insert(authors).values(name=name))


class Writer(threading.Thread):
    """Writes one row after another through a ``Database`` or an ``AsyncDatabase`` (``way``),
    noting each write acknowledged and when."""

    def __init__(self, url: str, options: EngineOptions, way: str) -> None:
        super().__init__(daemon=True)
        self.url, self.options, self.way = url, options, way
        self.acknowledged: list[tuple[float, str]] = []
        self.refused = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        if self.way == "sync":
            db = Database(self.url, engine_options=self.options)
            try:
                self.write_until_stopped(lambda name: db.transaction(insert_named(name)))
            finally:
                db.dispose()
            return
        loop = asyncio.new_event_loop()  # this thread's: the async database's pool belongs to it
        twin = AsyncDatabase(self.url, engine_options=self.options)
        try:
            self.write_until_stopped(
                lambda name: loop.run_until_complete(
                    twin.transaction(lambda s: s.run_sync(insert_named(name)))
                )
            )
        finally:
            loop.run_until_complete(twin.dispose())
            loop.close()

    def write_until_stopped(self, write: Callable[[str], object]) -> None:
        number = 0
        while not self.stopping.is_set():
            number += 1
            name = f"write {number}"
            try:
                write(name)
            except Unavailable:
                self.refused += 1
                self.stopping.wait(0.01)  # a dead primary refuses at once: no need to spin
                continue
            self.acknowledged.append((time.monotonic(), name))

    def since(self, moment: float) -> int:
        return sum(1 for at, _ in self.acknowledged if at > moment)


@pytest.mark.parametrize("writes", ["sync", "async"])
def test_after_the_primary_dies_and_its_standby_is_promoted_writes_resume_and_none_is_lost(
    own_cluster: Cluster, writes: str
) -> None:
    cluster = own_cluster
    options = EngineOptions(pool_size=2, max_overflow=0, connect_timeout=2)
    writer = Writer(cluster.failover_url, options, writes)
    writer.start()
    try:
        wait_until(lambda: len(writer.acknowledged) >= 50, "50 writes before the failure")

        died = time.monotonic()
        cluster.primary.stop("immediate")  # a crash: nothing flushed, nothing said to clients
        cluster.standby.promote()
        wait_until(lambda: writer.since(died) >= 20, "writes on the new primary", RECOVERY_S)
    finally:
        writer.stopping.set()
        writer.join(RECOVERY_S)

    first_after = min(at for at, _ in writer.acknowledged if at > died)
    assert first_after - died < RECOVERY_S
    with cluster.standby.connect() as connection:
        kept = {row[0] for row in connection.execute("SELECT name FROM authors")}
    lost = [name for _, name in writer.acknowledged if name not in kept]
    assert lost == []
    assert cluster.standby.query("SELECT pg_is_in_recovery()") is False

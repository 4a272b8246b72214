"""Read-only units on the standby, writes on the primary, read-your-writes by token.

Every test runs on the private cluster (a primary and its synchronous hot
standby); which server did the work is read from the servers' own
statistics or from the session's node, not assumed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from alchemy_patterns.db import AsyncDatabase, Database, EngineOptions
from alchemy_patterns.db.replicas import NODE, PRIMARY, format_position, parse_token
from tests.cluster import Cluster, Server, wait_until
from tests.replicas.conftest import authors

pytestmark = pytest.mark.backends("postgresql")

MakeDb = Callable[..., Database]
#: How long the servers may take to publish their statistics (a backend sends them as it exits).
STATS_S = 10.0


def scans_of_authors(server: Server) -> int:
    """Scans of ``authors`` that ``server`` itself ran (a standby counts its own)."""
    with server.connect() as connection:
        connection.execute("SELECT pg_stat_clear_snapshot()")
        row = connection.execute(
            "SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
            " WHERE relname = 'authors'"
        ).fetchone()
        return int(row[0]) if row else 0


def read_names(session: Session) -> list[str]:
    return list(session.scalars(select(authors.c.name).order_by(authors.c.id)))


def write_author(db: Database, body: str) -> None:
    db.transaction(lambda session: session.execute(insert(authors).values(name=body)))


def node_and_names(session: Session) -> tuple[str, list[str]]:
    return session.info[NODE], read_names(session)


def checkouts(db: Database) -> list[Any]:
    """Every connection checked out of the standby's pool from now on."""
    assert db.replicas is not None
    seen: list[Any] = []
    event.listen(db.replicas.replicas[0].engine, "checkout", lambda *args: seen.append(args))
    return seen


# --- where units run ------------------------------------------------------------------------


def test_read_only_units_run_on_the_standby_and_writes_never_touch_it(
    cluster: Cluster, make_db: MakeDb
) -> None:
    db = make_db(replica_check_interval=3600)  # one probe, at the first read
    write_author(db, "first")
    cluster.wait_caught_up()
    primary_before = scans_of_authors(cluster.primary)
    standby_before = scans_of_authors(cluster.standby)

    read = [db.transaction(node_and_names, read_only=True) for _ in range(10)]
    with db.session_scope(read_only=True) as session:
        read.append(node_and_names(session))
    to_the_standby = checkouts(db)
    for number in range(5):
        write_author(db, f"write {number}")
    with db.session_scope() as session:
        session.execute(insert(authors).values(name="in a scope"))
    db.dispose()  # its backends exit, and send their statistics as they do

    assert read == [(f"127.0.0.1:{cluster.standby.port}", ["first"])] * 11
    assert to_the_standby == []  # no unit that may write checked out a standby connection
    wait_until(
        lambda: scans_of_authors(cluster.standby) == standby_before + 11,
        "the standby to count the 11 reads",
        STATS_S,
    )
    assert scans_of_authors(cluster.primary) == primary_before  # none ran on the primary


def test_a_write_in_a_read_only_unit_is_an_error_on_the_replica_and_on_the_primary(
    cluster: Cluster, make_db: MakeDb
) -> None:
    def write(session: Session) -> None:
        session.execute(insert(authors).values(name="sneaked in"))

    for db in (make_db(), make_db(replicas=[])):
        with pytest.raises(sa_exc.InternalError, match="read-only transaction"):
            db.transaction(write, read_only=True)
        with (
            pytest.raises(sa_exc.InternalError, match="read-only transaction"),
            db.session_scope(read_only=True) as session,
        ):
            write(session)

    assert cluster.primary.query("SELECT count(*) FROM authors") == 0


def test_replicas_are_refused_on_other_backends(backend: str, way: str, tmp_path: Any) -> None:
    kind = AsyncDatabase if way == "async" else Database
    with pytest.raises(ValueError, match="PostgreSQL feature"):
        kind(f"sqlite:///{tmp_path / 'x.sqlite3'}", replicas=["sqlite:///other.sqlite3"])


def test_a_unit_given_on_replica_false_reads_the_primary(cluster: Cluster, make_db: MakeDb) -> None:
    db = make_db()
    with db.session_scope(read_only=True, on_replica=False) as session:
        assert session.info[NODE] == PRIMARY
    assert db.transaction(lambda s: s.info[NODE], read_only=True, on_replica=False) == PRIMARY


def test_a_routed_unit_gets_the_sessions_of_the_chosen_node(
    cluster: Cluster, make_db: MakeDb
) -> None:
    def node_of(sessions: Callable[[], Session]) -> str:
        with sessions() as session:
            return node_and_names(session)[0]

    db = make_db()

    assert db.routed(node_of) == f"127.0.0.1:{cluster.standby.port}"
    assert db.routed(node_of, "not a token") == PRIMARY
    assert db.routed(node_of, None, False) == PRIMARY


# --- lag and read-your-writes ---------------------------------------------------------------


def paused(cluster: Cluster) -> None:
    cluster.standby.query("SELECT pg_wal_replay_pause()")
    wait_until(
        lambda: cluster.standby.query("SELECT pg_get_wal_replay_pause_state()") == "paused",
        "replay to pause",
    )


def test_with_replay_paused_a_read_with_the_writes_token_sees_it_and_one_without_does_not(
    cluster: Cluster, make_db: MakeDb
) -> None:
    # The standby stays usable however far behind (max lag of an hour): only the token decides.
    db = make_db(max_replica_lag=3600, consistency_wait=0.3)
    write_author(db, "before")
    cluster.wait_caught_up()
    paused(cluster)

    write_author(db, "mine")  # synchronous: flushed on the standby, not replayed there
    token = db.consistency_token()
    assert token is not None
    without = db.transaction(node_and_names, read_only=True)
    started = time.monotonic()
    with_token = db.transaction(node_and_names, read_only=True, consistency=token)
    waited = time.monotonic() - started
    with db.session_scope(read_only=True, consistency=token) as session:
        in_a_scope = node_and_names(session)

    standby = f"127.0.0.1:{cluster.standby.port}"
    assert without == (standby, ["before"])  # a replica a little behind: the write not there yet
    assert with_token == (PRIMARY, ["before", "mine"])  # no replica had it: the primary
    assert in_a_scope == (PRIMARY, ["before", "mine"])
    assert waited < 0.3 + 2.0  # the bounded wait, not the replica's pause
    cluster.standby.query("SELECT pg_wal_replay_resume()")
    patient = make_db(max_replica_lag=3600, consistency_wait=30)
    assert patient.transaction(node_and_names, read_only=True, consistency=token) == (
        standby,
        ["before", "mine"],
    )


def test_a_replica_further_behind_than_the_maximum_lag_is_skipped(
    cluster: Cluster, make_db: MakeDb
) -> None:
    db = make_db(max_replica_lag=0.0, replica_check_interval=0.0)
    paused(cluster)
    write_author(db, "new")

    node, seen = db.transaction(node_and_names, read_only=True)

    assert (node, seen) == (PRIMARY, ["new"])
    lag = db.replica_statuses()[0].lag_s
    assert lag is not None
    assert lag > 0


def test_tokens_are_wal_positions_and_anything_else_reads_the_primary(
    cluster: Cluster, make_db: MakeDb
) -> None:
    db = make_db(consistency_wait=30)
    assert parse_token("16/B374D848") == (0x16 << 32) + 0xB374D848
    assert format_position(parse_token("16/B374D848") or 0) == "16/B374D848"
    assert parse_token("not a token") is None
    token = db.consistency_token()
    assert token is not None
    assert parse_token(token) is not None

    started = time.monotonic()
    assert db.transaction(lambda s: s.info[NODE], read_only=True, consistency="x") == PRIMARY
    assert time.monotonic() - started < 5  # at once: no replica is waited for
    assert db.transaction(lambda s: s.info[NODE], read_only=True, consistency=token) != PRIMARY


def test_a_replica_answers_its_probe_after_serving_read_only_units(
    cluster: Cluster, make_db: MakeDb
) -> None:
    # One connection, used by sessions and then by the probe: its next BEGIN must not be
    # READ WRITE (the reset after a read-only session), which a standby refuses.
    db = make_db(engine_options=EngineOptions(pool_size=1, max_overflow=0))
    for _ in range(3):
        db.transaction(read_names, read_only=True)

    assert [status.up for status in db.replica_statuses()] == [True]


def test_lag_is_measured_once_per_interval_not_once_per_unit(
    cluster: Cluster, make_db: MakeDb
) -> None:
    db = make_db(replica_check_interval=3600)
    db.transaction(read_names, read_only=True)
    opened = checkouts(db)

    for _ in range(5):
        db.transaction(read_names, read_only=True)

    assert len(opened) == 5  # one checkout per unit: no probe among them


# --- a replica that goes away ---------------------------------------------------------------


def test_a_stopped_standby_is_skipped_and_reads_run_on_the_primary(
    cluster: Cluster, make_db: MakeDb
) -> None:
    db = make_db(replica_check_interval=3600)  # the failure, not a probe, must find it gone
    write_author(db, "kept")
    cluster.wait_caught_up()
    assert db.transaction(node_and_names, read_only=True)[0] != PRIMARY

    cluster.stop_standby()

    assert db.transaction(node_and_names, read_only=True) == (PRIMARY, ["kept"])
    with db.session_scope(read_only=True) as session:
        assert node_and_names(session) == (PRIMARY, ["kept"])
    assert [status.up for status in db.replica_statuses()] == [False]


def test_a_standby_lost_in_the_middle_of_a_read_only_unit_runs_it_again_on_the_primary(
    cluster: Cluster, make_db: MakeDb
) -> None:
    db = make_db()
    write_author(db, "kept")
    cluster.wait_caught_up()
    nodes: list[str] = []

    def read_twice(session: Session) -> list[str]:
        nodes.append(session.info[NODE])
        first = read_names(session)  # a statement completed: not the "first statement" case
        if len(nodes) == 1:
            pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            cluster.standby.query("SELECT pg_terminate_backend(%s, 5000)", pid)
        return first + read_names(session)

    assert db.transaction(read_twice, read_only=True) == ["kept", "kept"]
    assert nodes == [f"127.0.0.1:{cluster.standby.port}", PRIMARY]

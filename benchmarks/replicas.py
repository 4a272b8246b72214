"""The cost of routing reads to a replica, and how long a read with a token waits.

Builds a private primary and synchronous hot standby (``tests/cluster.py``:
``/usr/lib/postgresql/15/bin``, run as the OS user ``postgres``, removed at
the end), then measures:

1. **Routing cost**: a read-only unit of work (``db.transaction(read,
   read_only=True)``, one primary-key SELECT) through a ``Database`` with the
   standby as its replica, against the same unit straight on the standby
   (``Database(standby_url).transaction(read)``). Interleaved rounds, the
   median time per unit of each, and their ratio (goal: at most 1.15x); the
   same for this process's CPU time, which a busy machine distorts less.
2. **Token waits**, with replay running normally: after each write, the time
   until a replica has replayed the write's consistency token
   (``ReplicaSet.candidates``: the cached position, else probes), and how
   many reads fell back to the primary.

    .venv/bin/python benchmarks/replicas.py [--units N] [--rounds N] [--writes N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, String, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.cluster, from the checkout

from tests.cluster import running_cluster

from alchemy_patterns.db import Database
from alchemy_patterns.db.replicas import parse_token

GOAL_RATIO = 1.15


class BenchBase(DeclarativeBase):
    pass


class BenchRow(BenchBase):
    __tablename__ = "bench_replica_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(40))


def read_one(session: Session) -> str | None:
    return session.scalar(select(BenchRow.label).where(BenchRow.id == 1))


def per_unit(db: Database, units: int, **options: Any) -> tuple[float, float]:
    """Seconds per unit: wall clock, and this process's CPU (what routing itself adds)."""
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(units):
        db.transaction(read_one, **options)
    return (time.perf_counter() - started) / units, (time.process_time() - cpu) / units


def routing_cost(routed: Database, straight: Database, units: int, rounds: int) -> dict[str, Any]:
    per_unit(routed, 200, read_only=True)  # warm both pools and the probe
    per_unit(straight, 200)
    through, direct = [], []
    for _ in range(rounds):  # interleaved: drift on a shared machine hits both alike
        through.append(per_unit(routed, units, read_only=True))
        direct.append(per_unit(straight, units))
    wall = [median([t[0] for t in times]) for times in (through, direct)]
    cpu = [median([t[1] for t in times]) for times in (through, direct)]
    return {
        "routed_us": round(wall[0] * 1e6, 1),
        "straight_us": round(wall[1] * 1e6, 1),
        "ratio": round(wall[0] / wall[1], 3),
        "ratios_per_round": [round(t[0] / d[0], 3) for t, d in zip(through, direct, strict=True)],
        "cpu_ratio": round(cpu[0] / cpu[1], 3),
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


def token_waits(db: Database, writes: int) -> dict[str, Any]:
    assert db.replicas is not None
    waits, on_primary = [], 0
    for number in range(writes):
        db.transaction(lambda s, n=number: s.execute(insert(BenchRow).values(label=f"w{n}")))
        token = db.consistency_token()
        assert token is not None
        started = time.perf_counter()
        ready = list(db.replicas.candidates(parse_token(token)))
        waits.append(time.perf_counter() - started)
        on_primary += not ready
    ms = sorted(wait * 1000 for wait in waits)
    return {
        "writes": writes,
        "p50_ms": round(ms[len(ms) // 2], 3),
        "p90_ms": round(ms[int(len(ms) * 0.9)], 3),
        "p99_ms": round(ms[int(len(ms) * 0.99)], 3),
        "max_ms": round(ms[-1], 3),
        "fell_back_to_primary": on_primary,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=2000, help="read-only units per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--writes", type=int, default=500, help="writes whose token is waited for")
    parser.add_argument("--json", help="write the results to FILE (- for stdout)")
    args = parser.parse_args()
    with running_cluster(pgbouncer=False) as cluster:
        setup = Database(cluster.primary.url())
        BenchBase.metadata.create_all(setup.engine)
        setup.transaction(lambda s: s.execute(insert(BenchRow).values(label="one")))
        setup.dispose()
        cluster.wait_caught_up()
        routed = Database(cluster.primary.url(), replicas=[cluster.standby.url()])
        straight = Database(cluster.standby.url())
        try:
            results = {
                "routing": routing_cost(routed, straight, args.units, args.rounds),
                "token_waits": token_waits(routed, args.writes),
            }
        finally:
            routed.dispose()
            straight.dispose()
    report(results, args.json)
    return 0 if results["routing"]["ratio"] <= GOAL_RATIO else 1


def report(results: dict[str, Any], destination: str | None) -> None:
    routing, waits = results["routing"], results["token_waits"]
    print(
        f"read-only unit through the router: {routing['routed_us']} us, straight to the standby:"
        f" {routing['straight_us']} us, ratio {routing['ratio']}x (goal <= {GOAL_RATIO}x);"
        f" per round {routing['ratios_per_round']}; CPU of this process {routing['cpu_ratio']}x"
    )
    print(
        f"token waits over {waits['writes']} writes: p50 {waits['p50_ms']} ms, p90"
        f" {waits['p90_ms']} ms, p99 {waits['p99_ms']} ms, max {waits['max_ms']} ms;"
        f" {waits['fell_back_to_primary']} fell back to the primary"
    )
    if destination == "-":
        print(json.dumps(results, indent=2))
    elif destination:
        Path(destination).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())

"""What the benchmark scripts share: where the servers are, and a database of their own there."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from alchemy_patterns.db import Database, count_queries
from alchemy_patterns.domains import metadata

SERVERS = {
    "postgresql": os.environ.get(
        "ALCHEMY_PATTERNS_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/x"
    ),
    "mariadb": os.environ.get(
        "ALCHEMY_PATTERNS_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/x"
    ),
}
BENCH_DATABASE = "alchemy_patterns_bench"

V = TypeVar("V")


def libpq(url: str | URL) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL, for psycopg itself."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def rotated(names: Sequence[str], by: int) -> list[str]:
    """The names in this round's order: each goes first in turn, so drift hits all alike."""
    k = by % len(names)
    return [*names[k:], *names[:k]]


def interleaved(
    variants: dict[str, V], rounds: int, iterations: int, timed: Callable[[V, int], float]
) -> dict[str, list[float]]:
    """``timed(variant, iterations)`` of each variant, round by round, the order rotating.

    Each variant first runs a tenth of the iterations unrecorded: pools
    filled, statements compiled, cached and prepared.
    """
    for variant in variants.values():
        timed(variant, max(1, iterations // 10))
    times: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(rounds):
        for name in rotated(list(variants), round_):
            times[name].append(timed(variants[name], iterations))
    return times


def bench_url(backend: str, workdir: Path) -> str:
    """A SQLite file in ``workdir``, or ``alchemy_patterns_bench`` on the server (created)."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    url = make_url(SERVERS[backend]).set(database=BENCH_DATABASE)
    admin = url.set(database="postgres" if backend == "postgresql" else "")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if backend == "postgresql":
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": BENCH_DATABASE}
            )
            if not exists:
                connection.exec_driver_sql(f'CREATE DATABASE "{BENCH_DATABASE}"')
        else:
            connection.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS `{BENCH_DATABASE}`")
    engine.dispose()
    return url.render_as_string(hide_password=False)


def timed(
    db: Database, work: Callable[[Session], Any], iterations: int, repeat: int
) -> tuple[float, int]:
    """Best microseconds per call, and statements per call."""
    with db.session_scope(read_only=True) as session, count_queries() as counter:
        work(session)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(iterations):
            with db.session_scope(read_only=True) as session:
                work(session)
        best = min(best, (time.perf_counter() - start) / iterations * 1e6)
    return best, counter.count


@contextmanager
def scratch_database(backend: str) -> Iterator[Database]:
    """The application's schema, new, on ``backend``; dropped afterwards."""
    with tempfile.TemporaryDirectory() as workdir:
        db = Database(bench_url(backend, Path(workdir)), metadata=metadata, n_plus_one="off")
        metadata.drop_all(db.engine)
        metadata.create_all(db.engine)
        try:
            yield db
        finally:
            metadata.drop_all(db.engine)
            db.dispose()


def parser(doc: str, *, iterations: int) -> argparse.ArgumentParser:
    """The options every timing script takes."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql,mariadb")
    parser.add_argument("--iterations", type=int, default=iterations)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the results to FILE ('-' for stdout)")
    return parser


def write_json(results: list[dict[str, Any]], target: str | None) -> None:
    if target:
        out = json.dumps(results, indent=2)
        sys.stdout.write(out + "\n") if target == "-" else Path(target).write_text(out)


def spread(values: list[float]) -> tuple[float, float, float]:
    """Median, minimum and maximum of a measurement repeated over rounds."""
    return statistics.median(values), min(values), max(values)


def show_spread(values: list[float], digits: int = 2, unit: str = "") -> str:
    """``median (min-max)``, as the round-based scripts print it."""
    middle, low, high = spread(values)
    return f"{middle:.{digits}f}{unit} ({low:.{digits}f}-{high:.{digits}f})"

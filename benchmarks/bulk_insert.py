"""How fast is ``bulk_insert()``? Every way of inserting N rows, against raw DBAPI.

Each variant inserts the same rows (dicts of 3 columns: sensor str, reading
int, note str) into an empty ``bench_measurements`` table, commits, and is
timed from the first statement to the end of the commit; the best of
``--repeat`` rounds counts (rounds interleave the variants, so drift hits
them alike). The raw DBAPI variants get the same dicts and turn them into
tuples inside the timed region, as a hand-written loader would; "tuples
ready" shows the driver alone. Engines come from :class:`Database`, so the
project's defaults apply (WAL and ``synchronous=NORMAL`` on SQLite).

    .venv/bin/python benchmarks/bulk_insert.py --rows 100000 --backends sqlite,postgresql
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import String, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alchemy_patterns.db import Database, bulk_insert, copy_insert

DEFAULT_POSTGRESQL_URL = os.environ.get(
    "ALCHEMY_PATTERNS_TEST_POSTGRESQL_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/alchemy_patterns_test",
)
DEFAULT_MARIADB_URL = os.environ.get(
    "ALCHEMY_PATTERNS_TEST_MARIADB_URL",
    "mysql+pymysql://root@127.0.0.1:3306/alchemy_patterns_test",
)
SQL = "INSERT INTO bench_measurements (sensor, reading, note) VALUES ({0}, {0}, {0})"
COPY = "COPY bench_measurements (sensor, reading, note) FROM STDIN"

Row = dict[str, Any]


class BenchBase(DeclarativeBase):
    pass


class BenchMeasurement(BenchBase):
    __tablename__ = "bench_measurements"

    id: Mapped[int] = mapped_column(primary_key=True)
    sensor: Mapped[str] = mapped_column(String(50))
    reading: Mapped[int]
    note: Mapped[str | None] = mapped_column(String(100))


def make_rows(n: int) -> list[Row]:
    return [{"sensor": f"sensor-{i % 100}", "reading": i, "note": f"note {i}"} for i in range(n)]


# --- the variants: each inserts `rows` and commits ---------------------------


def orm_add_commit_per_row(db: Database, rows: list[Row]) -> None:
    with db.sessionmaker() as session:
        for row in rows:
            session.add(BenchMeasurement(**row))
            session.commit()


def orm_add_all(db: Database, rows: list[Row]) -> None:
    with db.sessionmaker() as session:
        session.add_all([BenchMeasurement(**row) for row in rows])
        session.commit()


def orm_bulk_insert(db: Database, rows: list[Row]) -> None:
    with db.sessionmaker() as session:
        session.execute(insert(BenchMeasurement), rows)
        session.commit()


def core_insert(db: Database, rows: list[Row]) -> None:
    with db.engine.begin() as connection:
        connection.execute(insert(BenchBase.metadata.tables["bench_measurements"]), rows)


def our_bulk_insert(db: Database, rows: list[Row]) -> None:
    with db.session_scope() as session:
        bulk_insert(session, BenchMeasurement, rows)


def our_copy_insert(db: Database, rows: list[Row]) -> None:
    with db.session_scope() as session:
        copy_insert(session, BenchMeasurement, rows)


def _raw(db: Database, work: Callable[[Any], None]) -> None:
    """Run ``work(cursor)`` in one transaction on a pooled DBAPI connection."""
    pooled = db.engine.raw_connection()
    try:
        driver = pooled.driver_connection
        cursor = driver.cursor()  # type: ignore[union-attr]
        if db.backend == "sqlite":  # the engine runs pysqlite in autocommit mode
            cursor.execute("BEGIN IMMEDIATE")
        work(cursor)
        cursor.close()
        driver.commit()  # type: ignore[union-attr]
    finally:
        pooled.close()


def _placeholder(db: Database) -> str:
    return "?" if db.backend == "sqlite" else "%s"


def raw_executemany(db: Database, rows: list[Row]) -> None:
    sql = SQL.format(_placeholder(db))
    _raw(
        db,
        lambda cursor: cursor.executemany(
            sql, [(r["sensor"], r["reading"], r["note"]) for r in rows]
        ),
    )


#: The rows as tuples, built before the clock starts, for "tuples ready".
_READY_TUPLES: dict[int, list[tuple[Any, ...]]] = {}


def raw_executemany_tuples_ready(db: Database, rows: list[Row]) -> None:
    sql = SQL.format(_placeholder(db))
    tuples = _READY_TUPLES[id(rows)]
    _raw(db, lambda cursor: cursor.executemany(sql, tuples))


def raw_copy(db: Database, rows: list[Row]) -> None:
    def work(cursor: Any) -> None:
        with cursor.copy(COPY) as copy:
            for r in rows:
                copy.write_row((r["sensor"], r["reading"], r["note"]))

    _raw(db, work)


@dataclass(frozen=True)
class Variant:
    name: str
    run: Callable[[Database, list[Row]], None]
    baseline: str  # the variant its ratio is against
    sampled: bool = False
    backends: tuple[str, ...] = ("sqlite", "postgresql", "mariadb")


VARIANTS = [
    Variant("raw executemany (baseline)", raw_executemany, "raw executemany (baseline)"),
    Variant(
        "raw executemany, tuples ready", raw_executemany_tuples_ready, "raw executemany (baseline)"
    ),
    Variant("bulk_insert()", our_bulk_insert, "raw executemany (baseline)"),
    Variant("Core insert() executemany", core_insert, "raw executemany (baseline)"),
    Variant("ORM bulk insert()", orm_bulk_insert, "raw executemany (baseline)"),
    Variant("ORM add_all + 1 commit", orm_add_all, "raw executemany (baseline)"),
    Variant(
        "ORM add + commit per row",
        orm_add_commit_per_row,
        "raw executemany (baseline)",
        sampled=True,
    ),
    Variant("raw COPY (baseline)", raw_copy, "raw COPY (baseline)", backends=("postgresql",)),
    Variant("copy_insert()", our_copy_insert, "raw COPY (baseline)", backends=("postgresql",)),
]


@dataclass
class Result:
    backend: str
    variant: str
    rows: int
    seconds: float  # best of the rounds, extrapolated to `rows` when sampled
    measured_rows: int
    ratio: float = math.nan
    baseline: str = ""


# --- running -----------------------------------------------------------------


class Target:
    """One backend's database, emptied before every run."""

    def __init__(self, backend: str, args: argparse.Namespace) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.path: Path | None = Path(args.sqlite_path)
            self._remove_sqlite_files()
            url = f"sqlite:///{self.path}"
        else:
            self.path = None
            url = args.postgresql_url if backend == "postgresql" else args.mariadb_url
        self.db = Database(url, slow_query_ms=None, n_plus_one="off")
        BenchBase.metadata.drop_all(self.db.engine)
        BenchBase.metadata.create_all(self.db.engine)

    def _remove_sqlite_files(self) -> None:
        assert self.path is not None
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def reset(self) -> None:
        """An empty table: a new SQLite file, or TRUNCATE on a server."""
        if self.backend == "sqlite":
            self.db.engine.dispose()
            self._remove_sqlite_files()
            BenchBase.metadata.create_all(self.db.engine)
        else:
            restart = " RESTART IDENTITY" if self.backend == "postgresql" else ""
            with self.db.engine.begin() as connection:
                connection.exec_driver_sql(f"TRUNCATE bench_measurements{restart}")
        if self.backend == "postgresql":
            with self.db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "CHECKPOINT"
                )

    def count(self) -> int:
        with self.db.session_scope(read_only=True) as session:
            return session.scalar(select(func.count()).select_from(BenchMeasurement)) or 0

    def close(self) -> None:
        BenchBase.metadata.drop_all(self.db.engine)
        self.db.dispose()
        if self.path is not None:
            self._remove_sqlite_files()


def time_once(target: Target, variant: Variant, rows: list[Row]) -> float:
    target.reset()
    gc.collect()
    started = time.perf_counter()
    variant.run(target.db, rows)
    seconds = time.perf_counter() - started
    stored = target.count()
    if stored != len(rows):
        raise SystemExit(f"{variant.name} on {target.backend}: {stored} rows, not {len(rows)}")
    return seconds


def run_backend(backend: str, args: argparse.Namespace, rows: list[Row]) -> list[Result]:
    target = Target(backend, args)
    sample = rows[: args.sample]
    _READY_TUPLES[id(rows)] = [(r["sensor"], r["reading"], r["note"]) for r in rows]
    variants = [v for v in VARIANTS if backend in v.backends and v.name not in args.skip]
    best: dict[str, float] = {}
    try:
        for round_ in range(args.repeat):
            for variant in variants:
                data = sample if variant.sampled else rows
                seconds = time_once(target, variant, data)
                best[variant.name] = min(best.get(variant.name, math.inf), seconds)
                print(
                    f"  [{backend} round {round_ + 1}/{args.repeat}] {variant.name}: {seconds:.3f}s"
                    f" for {len(data):,} rows",
                    file=sys.stderr,
                )
    finally:
        target.close()
    results = []
    for variant in variants:
        measured = len(sample) if variant.sampled else len(rows)
        seconds = best[variant.name] * len(rows) / measured
        results.append(Result(backend, variant.name, len(rows), seconds, measured))
    by_name = {result.variant: result for result in results}
    for variant, result in zip(variants, results, strict=True):
        if variant.baseline in by_name:
            result.baseline = variant.baseline
            result.ratio = result.seconds / by_name[variant.baseline].seconds
    return results


def print_table(results: list[Result]) -> None:
    header = f"{'backend':<10} {'variant':<32} {'seconds':>9} {'rows/s':>11} {'ratio':>7}  vs"
    print(header)
    print("-" * (len(header) + 24))
    for r in results:
        note = f" (extrapolated from {r.measured_rows:,})" if r.measured_rows != r.rows else ""
        baseline = "" if r.variant == r.baseline else r.baseline.replace(" (baseline)", "")
        print(
            f"{r.backend:<10} {r.variant:<32} {r.seconds:>9.3f} {r.rows / r.seconds:>11,.0f}"
            f" {r.ratio:>6.2f}x  {baseline}{note}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql,mariadb"
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=2000,
        help="rows for the commit-per-row variant, extrapolated to --rows",
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of N rounds")
    parser.add_argument(
        "--skip", action="append", default=[], help="a variant name to leave out (repeatable)"
    )
    parser.add_argument(
        "--sqlite-path",
        default=str(Path(tempfile.gettempdir()) / "alchemy_patterns_bench.sqlite3"),
    )
    parser.add_argument("--postgresql-url", default=DEFAULT_POSTGRESQL_URL)
    parser.add_argument("--mariadb-url", default=DEFAULT_MARIADB_URL)
    parser.add_argument(
        "--json", metavar="FILE", help="also write the results as JSON ('-': stdout)"
    )
    args = parser.parse_args(argv)

    rows = make_rows(args.rows)
    args.sample = min(args.sample, args.rows)
    results: list[Result] = []
    for backend in args.backends.split(","):
        if backend not in ("sqlite", "postgresql", "mariadb"):
            parser.error(f"unsupported backend {backend!r}")
        results += run_backend(backend, args, rows)
    print(f"{args.rows:,} rows x 3 columns, best of {args.repeat}")
    print_table(results)
    if args.json:
        records = [asdict(r) | {"ratio": None if math.isnan(r.ratio) else r.ratio} for r in results]
        payload = json.dumps(records, indent=2)
        if args.json == "-":
            print(payload)
        else:
            Path(args.json).write_text(payload + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

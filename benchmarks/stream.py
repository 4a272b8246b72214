"""Peak memory of reading 1,000,000 rows: ``stream()`` against ``.all()``, on PostgreSQL.

The rows are loaded with ``copy_insert()`` into ``bench_stream_rows`` (dropped
at the end unless ``--keep``; a kept table of the right size is reused). Each
read then runs in a fresh subprocess, so its peak resident set size
(``ru_maxrss``) is its own: the process imports, connects, records its peak so
far ("before"), reads every row, checks the count and the sum of ``reading``,
and reports its peak. The goal: streaming stays under 200 MB.

    .venv/bin/python benchmarks/stream.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import String, delete, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from alchemy_patterns.db import Database, copy_insert, stream

DEFAULT_POSTGRESQL_URL = os.environ.get(
    "ALCHEMY_PATTERNS_TEST_POSTGRESQL_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/alchemy_patterns_test",
)
GOAL_MB = 200.0


class BenchBase(DeclarativeBase):
    pass


class StreamRow(BenchBase):
    __tablename__ = "bench_stream_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    sensor: Mapped[str] = mapped_column(String(20))
    reading: Mapped[int]
    note: Mapped[str | None] = mapped_column(String(40))


COLUMNS: tuple[Any, ...] = (StreamRow.id, StreamRow.sensor, StreamRow.reading, StreamRow.note)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the reads (run in a child process) ----------------------------------------


def read_stream_entities(session: Session, batch_size: int) -> tuple[int, int]:
    count = total = 0
    for row in stream(session, select(StreamRow).order_by(StreamRow.id), batch_size=batch_size):
        count += 1
        total += row.reading
    return count, total


def read_stream_columns(session: Session, batch_size: int) -> tuple[int, int]:
    stmt = select(*COLUMNS).order_by(StreamRow.id)
    count = total = 0
    for row in stream(session, stmt, batch_size=batch_size):
        count += 1
        total += row.reading
    return count, total


def read_all_entities(session: Session, batch_size: int) -> tuple[int, int]:
    rows = session.scalars(select(StreamRow).order_by(StreamRow.id)).all()
    return len(rows), sum(row.reading for row in rows)


def read_all_columns(session: Session, batch_size: int) -> tuple[int, int]:
    stmt = select(*COLUMNS).order_by(StreamRow.id)
    rows = session.execute(stmt).all()
    return len(rows), sum(row.reading for row in rows)


READS = {
    "stream(select(Model))": read_stream_entities,
    "stream(select(columns))": read_stream_columns,
    "scalars(select(Model)).all()": read_all_entities,
    "execute(select(columns)).all()": read_all_columns,
}


def child(args: argparse.Namespace) -> int:
    db = Database(args.url, slow_query_ms=None, n_plus_one="off")
    with db.engine.connect() as connection:  # connect (and warm up) before the baseline
        connection.exec_driver_sql("SELECT 1")
    before = peak_rss_mb()
    started = time.perf_counter()
    with db.sessionmaker() as session:
        count, total = READS[args.child](session, args.batch_size)
    seconds = time.perf_counter() - started
    db.dispose()
    print(
        json.dumps(
            {
                "rows": count,
                "sum": total,
                "before_mb": before,
                "peak_mb": peak_rss_mb(),
                "seconds": seconds,
            }
        )
    )
    return 0


# --- the parent ------------------------------------------------------------------


def load(db: Database, rows: int, reload: bool) -> None:
    with db.session_scope() as session:
        BenchBase.metadata.create_all(session.connection())
        present = session.scalar(select(func.count()).select_from(StreamRow))
        if present == rows and not reload:
            print(f"{rows:,} rows already loaded", file=sys.stderr)
            return
        session.execute(delete(StreamRow))
        started = time.perf_counter()
        copy_insert(
            session,
            StreamRow,
            (
                {"id": i, "sensor": f"s{i % 50}", "reading": i % 1000, "note": f"note {i}"}
                for i in range(1, rows + 1)
            ),
        )
    print(
        f"loaded {rows:,} rows with copy_insert() in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )


def expected_sum(rows: int) -> int:
    return sum(i % 1000 for i in range(1, rows + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--url", default=DEFAULT_POSTGRESQL_URL)
    parser.add_argument("--reload", action="store_true", help="reload the rows even if present")
    parser.add_argument(
        "--keep", action="store_true", help="keep the table for the next run (default: drop it)"
    )
    parser.add_argument(
        "--json", metavar="FILE", help="also write the results as JSON ('-': stdout)"
    )
    parser.add_argument("--child", choices=READS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    db = Database(args.url, slow_query_ms=None, n_plus_one="off")
    load(db, args.rows, args.reload)
    results: list[dict[str, Any]] = []
    try:
        for name in READS:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    name,
                    "--url",
                    args.url,
                    "--batch-size",
                    str(args.batch_size),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.splitlines()[-1]) | {"read": name}
            if (result["rows"], result["sum"]) != (args.rows, expected_sum(args.rows)):
                raise SystemExit(f"{name} read {result['rows']:,} rows, not {args.rows:,}")
            results.append(result)
    finally:
        if not args.keep:
            BenchBase.metadata.drop_all(db.engine)
        db.dispose()

    print(f"{args.rows:,} rows from PostgreSQL, stream batch_size={args.batch_size}")
    print(f"{'read':<32} {'peak RSS':>10} {'before':>9} {'growth':>9} {'seconds':>8}")
    for r in results:
        print(
            f"{r['read']:<32} {r['peak_mb']:>7.1f} MB {r['before_mb']:>6.1f} MB"
            f" {r['peak_mb'] - r['before_mb']:>6.1f} MB {r['seconds']:>8.2f}"
        )
    streamed = max(r["peak_mb"] for r in results if r["read"].startswith("stream"))
    verdict = "meets" if streamed < GOAL_MB else "MISSES"
    print(f"streaming peak {streamed:.1f} MB: {verdict} the {GOAL_MB:.0f} MB goal")
    if args.json:
        payload = json.dumps(results, indent=2)
        if args.json == "-":
            print(payload)
        else:
            Path(args.json).write_text(payload + "\n")
    return 0 if streamed < GOAL_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())

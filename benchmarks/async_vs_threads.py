"""1,000 concurrent short read units: asyncio and ``AsyncDatabase`` against threads, ``Database``.

Each unit is a retried transaction (``transaction()``) reading one row by its
key. All 1,000 arrive at once: as 1,000 asyncio tasks on one event loop, or
as 1,000 jobs for a thread pool as large as the connection pool (both pools
hold ``--pool-size`` connections). Each variant runs in a fresh subprocess
(so its peak RSS is its own), warmed up first; the table gives throughput,
p99 latency (from the burst's arrival to the unit's end) and peak RSS, each
as a ratio to the thread pool's, measured in the same run. The raw
``AsyncSession`` variant (``async with session.begin()``, no retry, no error
translation, no N+1 detector) gives the async layer's own overhead.

    .venv/bin/python benchmarks/async_vs_threads.py [--units 1000] [--pool-size 10]
    .venv/bin/python benchmarks/async_vs_threads.py --drivers   # PostgreSQL and MariaDB drivers

``--drivers`` runs the ``AsyncDatabase`` variant on each asyncio driver of a
backend (psycopg and asyncpg; asyncmy and aiomysql) at 1 and at 10
concurrent units: the measurement behind the drivers chosen in
:mod:`alchemy_patterns.db.asyncio`. Server URLs as in ``common.py``; the
script creates a ``bench_async_reads`` table there and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, String, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from alchemy_patterns.db import AsyncDatabase, Database, EngineOptions, bulk_insert
from common import SERVERS, bench_url

ROWS = 1000
READ = text("SELECT name FROM bench_async_reads WHERE id = :id")


class Model(DeclarativeBase):
    pass


class Row(Model):
    __tablename__ = "bench_async_reads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


def read_sync(session: Session, key: int) -> str:
    return str(session.execute(READ, {"id": key % ROWS + 1}).scalar_one())


async def read_async(session: AsyncSession, key: int) -> str:
    return str((await session.execute(READ, {"id": key % ROWS + 1})).scalar_one())


def percentile_99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]


def measure_threads(url: str, units: int, pool: int) -> list[float]:
    db = Database(url, n_plus_one="off", engine_options=options(pool))
    with ThreadPoolExecutor(max_workers=pool) as executor:
        list(executor.map(lambda k: db.transaction(lambda s: read_sync(s, k)), range(200)))
        start = time.perf_counter()

        def unit(key: int) -> float:
            db.transaction(lambda s: read_sync(s, key))
            return time.perf_counter() - start

        latencies = list(executor.map(unit, range(units)))
    db.dispose()
    return latencies


async def burst(units: int, run: Callable[[int], Awaitable[Any]]) -> list[float]:
    await asyncio.gather(*(run(key) for key in range(200)))  # warm-up: the pool filled
    start = time.perf_counter()

    async def unit(key: int) -> float:
        await run(key)
        return time.perf_counter() - start

    return await asyncio.gather(*(unit(key) for key in range(units)))


async def measure_async(url: str, units: int, pool: int) -> list[float]:
    # asyncpg takes neither application_name nor connect_timeout (psycopg's, and libpq's, names).
    extra: dict[str, Any] = {"connect_args": {}} if "asyncpg" in url else {}
    db = AsyncDatabase(url, n_plus_one="off", engine_options=options(pool), **extra)
    try:
        return await burst(
            units, lambda key: db.transaction(lambda session: read_async(session, key))
        )
    finally:
        await db.dispose()


async def measure_raw(url: str, units: int, pool: int) -> list[float]:
    engine = create_async_engine(url, pool_size=pool, max_overflow=0, pool_timeout=120)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def unit(key: int) -> str:
        async with sessions() as session, session.begin():
            return await read_async(session, key)

    try:
        return await burst(units, unit)
    finally:
        await engine.dispose()


def options(pool: int) -> EngineOptions:
    return EngineOptions(pool_size=pool, max_overflow=0, pool_timeout=120)


def run_variant(variant: str, url: str, units: int, pool: int) -> None:
    """In the subprocess: one variant, its numbers as one JSON line."""
    if variant == "threads":
        latencies = measure_threads(url, units, pool)
    elif variant == "raw":
        latencies = asyncio.run(measure_raw(url, units, pool))
    else:
        latencies = asyncio.run(measure_async(url, units, pool))
    makespan = max(latencies)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {"per_s": units / makespan, "p99_ms": percentile_99(latencies) * 1000}
    print(json.dumps(result | {"peak_mib": peak_kib / 1024}))


def in_subprocess(variant: str, url: str, units: int, pool: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--variant", variant, "--url", url]
    command += ["--units", str(units), "--pool-size", str(pool)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def prepare(url: str) -> None:
    db = Database(url, n_plus_one="off")
    Model.metadata.drop_all(db.engine)
    Model.metadata.create_all(db.engine)
    with db.session_scope() as session:
        bulk_insert(session, Row, [{"id": i, "name": f"row {i}"} for i in range(1, ROWS + 1)])
    db.dispose()


def drop(url: str) -> None:
    db = Database(url, n_plus_one="off")
    Model.metadata.drop_all(db.engine)
    db.dispose()


def compare_layers(url: str, units: int, pool: int) -> None:
    results = {v: in_subprocess(v, url, units, pool) for v in ("threads", "async", "raw")}
    base = results["threads"]
    print(f"{units} concurrent read units, pool of {pool}, {make_url(url).drivername}:")
    print(f"{'variant':34} {'units/s':>9} {'p99 ms':>8} {'peak MiB':>9}   ratios to threads")
    names = {
        "threads": "thread pool + Database",
        "async": "asyncio + AsyncDatabase",
        "raw": "asyncio + raw AsyncSession",
    }
    for variant, result in results.items():
        ratios = (
            f"{result['per_s'] / base['per_s']:.2f}x throughput, "
            f"{result['p99_ms'] / base['p99_ms']:.2f}x p99, "
            f"{result['peak_mib'] / base['peak_mib']:.2f}x memory"
        )
        print(
            f"{names[variant]:34} {result['per_s']:9.0f} {result['p99_ms']:8.1f} "
            f"{result['peak_mib']:9.1f}   {ratios}"
        )
    overhead = results["raw"]["per_s"] / results["async"]["per_s"]
    print(f"AsyncDatabase's overhead over raw AsyncSession: {overhead:.2f}x the time per unit")


def compare_drivers(pool: int, units: int) -> None:
    pairs = {
        "postgresql": ("postgresql+psycopg", "postgresql+asyncpg"),
        "mariadb": ("mysql+asyncmy", "mysql+aiomysql"),
    }
    for backend, drivers in pairs.items():
        url = make_url(SERVERS[backend])
        prepare(url.render_as_string(hide_password=False))
        for concurrency in (1, pool):
            rates = []
            for driver in drivers:
                driven = url.set(drivername=driver).render_as_string(hide_password=False)
                rates.append(in_subprocess("async", driven, units, concurrency)["per_s"])
            print(
                f"{backend}, {concurrency} at once: {drivers[0]} {rates[0]:.0f}/s, "
                f"{drivers[1]} {rates[1]:.0f}/s ({rates[1] / rates[0]:.2f}x)"
            )
        drop(url.render_as_string(hide_password=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--url", help="default: alchemy_patterns_bench on the PostgreSQL server")
    parser.add_argument("--drivers", action="store_true")
    parser.add_argument("--variant", choices=["threads", "async", "raw"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    # The server's URL names no database of ours: the benchmarks' own (created if missing).
    args.url = args.url or bench_url("postgresql", Path.cwd())
    if args.variant:
        run_variant(args.variant, args.url, args.units, args.pool_size)
    elif args.drivers:
        compare_drivers(args.pool_size, args.units)
    else:
        prepare(args.url)
        try:
            compare_layers(args.url, args.units, args.pool_size)
        finally:
            drop(args.url)


if __name__ == "__main__":
    main()

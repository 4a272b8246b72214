"""Where an API request's time goes, in process: CPU per request, ours against the raw baseline.

``api.py`` measures from outside, over HTTP, with wrk; this script finds the
cost it measures. Both apps (``alchemy_patterns.web.create_app()`` and
``raw_api.py``) run in this process on one seeded PostgreSQL database (the
one ``api.py`` builds, dropped at the end), driven by Flask's test client,
one request at a time: no HTTP server, so what is left is the app's own work
plus its round trips. For each endpoint it prints the process CPU time per
request of each app and the ratio ours/raw (median of interleaved rounds),
and with ``--profile ENDPOINT`` the functions where ours spends it (cProfile
on the process's CPU clock, cumulative and own time).

    .venv/bin/python benchmarks/profile_api.py [--requests 500] [--rounds 5]
        [--endpoints products,owner,feed,cart,checkout] [--profile feed] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

import psycopg
from flask.testing import FlaskClient

from api import (
    CART_USERS,
    ENDPOINTS,
    TOKEN_PREFIX,
    Bench,
    empty_bench_carts,
    fill_carts,
    scratch_database,
    seed,
)
from common import libpq, show_spread, spread

Request = Callable[[FlaskClient, int], Any]


def clients(url: str) -> dict[str, FlaskClient]:
    import raw_api
    from alchemy_patterns.settings import Settings
    from alchemy_patterns.web import create_app

    ours = create_app(Settings(database_url=url))
    raw = raw_api.create_app(libpq(url), pool_size=1)
    return {"ours": ours.test_client(), "raw": raw.test_client()}


def log_in(client: FlaskClient, login: str) -> str:
    answer = client.post("/auth/login", json={"login": login, "password": "demo password"})
    assert answer.status_code == 200, answer.data
    return str(answer.json["access_token"])  # type: ignore[index]


def requests(bench: Bench, run: str) -> dict[str, tuple[Request, int]]:
    """Each endpoint's n-th request, and the status it must answer."""

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def user(n: int) -> dict[str, str]:
        return bearer(f"{TOKEN_PREFIX}{1 + n % bench.carts}")

    def cart(client: FlaskClient, n: int) -> Any:
        line = {"product_id": bench.products[n % len(bench.products)], "quantity": 1}
        return client.post(
            "/cart/items", json=line, headers=bearer(f"{TOKEN_PREFIX}{1 + n % CART_USERS}")
        )

    def checkout(client: FlaskClient, n: int) -> Any:
        headers = user(n) | {"Idempotency-Key": f"{run}-{n}"}
        return client.post("/checkout", headers=headers)

    return {
        "products": (lambda c, n: c.get("/products?per_page=20"), 200),
        "owner": (
            lambda c, n: c.get(f"/owners/{bench.owner_id}", headers=bearer(bench.admin_token)),
            200,
        ),
        "feed": (lambda c, n: c.get("/feed", headers=bearer(bench.demo_token)), 200),
        "cart": (cart, 201),
        "checkout": (checkout, 201),
    }


def cpu_per_request(client: FlaskClient, request: Request, status: int, count: int) -> float:
    """Microseconds of this process's CPU per request."""
    start = time.process_time()
    for n in range(count):
        answer = request(client, n)
        if answer.status_code != status and not (status == 201 and answer.status_code == 200):
            raise SystemExit(f"answered {answer.status_code}, not {status}: {answer.data[:300]!r}")
    return (time.process_time() - start) / count * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="per app, endpoint and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--profile", choices=list(ENDPOINTS), help="cProfile ours on it")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    keys = [key.strip() for key in args.endpoints.split(",")]
    carts = args.requests
    with scratch_database() as url:
        bench = seed(url, carts)
        apps = clients(url)
        bench.admin_token = log_in(apps["ours"], "admin")
        bench.demo_token = log_in(apps["ours"], "demo")
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            runs = itertools.count()
            for key in keys:
                ratios, cpu = [], {name: [] for name in apps}  # type: dict[str, list[float]]
                for round_ in range(args.rounds):
                    order = list(apps) if round_ % 2 == 0 else list(reversed(apps))
                    for name in order:
                        prepare(key, conn, bench)
                        request, status = requests(bench, f"r{next(runs)}")[key]
                        cpu[name].append(
                            cpu_per_request(apps[name], request, status, args.requests)
                        )
                    ratios.append(cpu["ours"][-1] / cpu["raw"][-1])
                print(
                    f"{ENDPOINTS[key].name:18} ours {show_spread(cpu['ours'], 0)} us"
                    f"  raw {show_spread(cpu['raw'], 0)} us  ours/raw {spread(ratios)[0]:.2f}x"
                )
            if args.profile:
                prepare(args.profile, conn, bench)
                request, status = requests(bench, "profile")[args.profile]
                # Timed by this process's CPU clock: the profile shows where the
                # CPU goes, not the round trips' waits (which raw waits too).
                profiler = cProfile.Profile(time.process_time)
                profiler.runcall(cpu_per_request, apps["ours"], request, status, args.requests)
                stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
                stats.sort_stats("cumulative").print_stats(args.top)
                stats.sort_stats("tottime").print_stats(args.top)
    return 0


def prepare(key: str, conn: psycopg.Connection[Any], bench: Bench) -> None:
    """Writes start from the same state in every run: emptied carts, or filled ones."""
    if key == "cart":
        empty_bench_carts(conn)
    elif key == "checkout":
        fill_carts(conn, bench.carts, bench.products)


if __name__ == "__main__":
    sys.exit(main())

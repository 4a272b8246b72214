"""The API's work per request in CPU instructions: ours against the raw baseline, immune to noise.

``api.py`` and ``profile_api.py`` measure time, and on a shared 2-core
virtual machine time drifts by 15 % between runs, more than most changes
worth making. This script counts instructions instead: each app answers one
endpoint's requests in process (Flask's test client, as ``profile_api.py``
does) under Valgrind's ``cachegrind --cache-sim=no``, once with ``--few``
requests and once with ``--few + --requests``; the difference divided by
``--requests`` is one request's instructions in the app's process (Python,
Flask, SQLAlchemy, psycopg and libpq; not PostgreSQL's). Start-up, imports
and the first requests (statements prepared, caches warm) cancel out. The
same input gives the same count to within a fraction of a per cent, so a
change of 2 % shows.

    .venv/bin/python benchmarks/instructions.py [--requests 200] [--few 20]
        [--endpoints products,owner,feed,cart,checkout] [--apps ours,raw] [--json FILE|-]

It needs ``valgrind`` (Debian/Ubuntu: ``apt-get install valgrind``). The
database is ``api.py``'s, seeded the same way and dropped at the end.
Instructions are work, not time: a cache miss or a system call costs more
than its count says. The ratio ours/raw is the CPU share of the story;
``api.py`` tells the rest (the database, the load generator, the cores
they share).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
APPS = ("ours", "raw")
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def main() -> int:
    from api import ENDPOINTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="the requests counted")
    parser.add_argument("--few", type=int, default=20, help="the run subtracted from the counted")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--apps", default=",".join(APPS))
    parser.add_argument("--json", help="write the results to FILE ('-' for stdout)")
    hidden = argparse.SUPPRESS  # the counted child process's own options
    parser.add_argument("--child", nargs=3, metavar=("APP", "ENDPOINT", "N"), help=hidden)
    parser.add_argument("--bench", help=hidden)
    args = parser.parse_args()
    if args.child:
        app, endpoint, n = args.child
        return child(app, endpoint, int(n), json.loads(args.bench))
    if shutil.which("valgrind") is None:
        print("instructions.py needs valgrind: apt-get install valgrind", file=sys.stderr)
        return 2
    keys = args.endpoints.split(",")
    apps = args.apps.split(",")
    results = measure(keys, apps, args.few, args.requests)
    for key in keys:
        counts = results[key]
        line = "  ".join(f"{app} {counts[app] / 1e6:6.2f} M" for app in apps)
        both = set(APPS) <= set(apps)
        ratio = f"  ours/raw {counts['ours'] / counts['raw']:.2f}x" if both else ""
        print(f"{ENDPOINTS[key].name:<18} instructions per request: {line}{ratio}", flush=True)
    from common import write_json

    write_json(results, args.json)
    return 0


def measure(keys: list[str], apps: list[str], few: int, counted: int) -> dict[str, dict[str, int]]:
    """Each endpoint's instructions per request of each app (the scratch database dropped after)."""
    import psycopg

    from alchemy_patterns.settings import Settings
    from alchemy_patterns.web import create_app
    from api import CART_USERS, empty_bench_carts, fill_carts, scratch_database, seed
    from common import libpq
    from profile_api import log_in

    carts = few + counted + 10
    results: dict[str, dict[str, int]] = {}
    with scratch_database() as url:
        bench = seed(url, max(carts, CART_USERS))
        ours = create_app(Settings(database_url=url)).test_client()  # for the tokens
        bench.admin_token = log_in(ours, "admin")
        bench.demo_token = log_in(ours, "demo")
        shared = dataclasses.asdict(bench)
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            for key in keys:
                results[key] = {}
                for app in apps:
                    runs = []
                    for n in (few, few + counted):
                        if key == "checkout":
                            fill_carts(conn, carts, bench.products)
                        elif key == "cart":
                            empty_bench_carts(conn)
                        runs.append(instructions(app, key, n, shared))
                    results[key][app] = (runs[1] - runs[0]) // counted
    return results


def instructions(app: str, key: str, n: int, bench: dict[str, Any]) -> int:
    """The instructions of a child process answering ``n`` requests (after 5 unrecorded ones)."""
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    command += [sys.executable, str(Path(__file__)), "--child", app, key, str(n)]
    command += ["--bench", json.dumps(bench)]
    done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, check=False)
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{app} {key} failed:\n{done.stderr[-3000:]}")
    return int(found.group(1).replace(",", ""))


def child(app: str, key: str, n: int, bench: dict[str, Any]) -> int:
    """In the counted process: build the app, warm it, answer ``n`` requests of ``key``.

    The requests are ``profile_api.py``'s: each bench user's cart in turn.
    """
    from api import Bench
    from common import libpq
    from profile_api import requests

    if app == "ours":
        from alchemy_patterns.settings import Settings
        from alchemy_patterns.web import create_app

        client = create_app(Settings(database_url=bench["url"])).test_client()
    else:
        import raw_api

        client = raw_api.create_app(libpq(bench["url"]), pool_size=1).test_client()

    send, _ = requests(Bench(**bench), f"{app}-{n}")[key]
    for i in range(n + 5):
        answer = send(client, i)
        if answer.status_code not in (200, 201):
            raise SystemExit(f"{key}: {app} answered {answer.status_code}: {answer.data[:300]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

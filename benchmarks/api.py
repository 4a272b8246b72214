"""The API's hot path under load: our app against a hand-written psycopg baseline, in requests/s.

Five endpoints, each served by two or three apps under the same gunicorn
(``alchemy-patterns serve``'s settings, 2 workers x 4 threads by default, with
``reuse_port``: see ``serving.py``) on one PostgreSQL database:

* ``ours``: ``alchemy_patterns.web.create_app()``, as ``serve`` runs it;
* ``raw``: ``raw_api.py``, Flask + psycopg 3 + psycopg_pool, no SQLAlchemy;
* ``peer``: ``peer_flask_sqlalchemy.py``, ``GET /products`` the Flask-SQLAlchemy 3.1 way.

The database, ``alchemy_patterns_bench_api``, is created, seeded
(``alchemy-patterns seed --size small``, plus bench users with known tokens
and huge stock) and dropped at the end, as every server is stopped, whatever
happens (Ctrl-C included). First the apps must answer the same requests with
the same bytes (a write from the same state for each; for checkout, each app
replays by its ``Idempotency-Key`` the order the other one placed). Then wrk
loads each app in turn, in interleaved rounds (the order rotates each round).
The table gives each app's median over the rounds and the spread (min-max),
and ours/raw (ours/peer) computed round by round; also how each worker's
share of the requests came out. A run with errors, or with requests its
server did not count (another process on the port), makes the exit status 1.

    .venv/bin/python benchmarks/api.py [--rounds 5] [--duration 10] [--connections 16]
        [--endpoints products,owner,feed,cart,checkout] [--json FILE|-]

It needs ``wrk`` (Debian/Ubuntu: ``apt-get install wrk``; macOS: ``brew install wrk``);
``make bench`` installs it when it runs as root.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from common import SERVERS, libpq, rotated, show_spread, spread, write_json
from serving import read_counters

HERE = Path(__file__).resolve().parent
WRK_DIR = HERE / "wrk"
#: The scratch database; ALCHEMY_PATTERNS_BENCH_API_DATABASE names another, so runs side by side
#: do not drop each other's.
DATABASE = os.environ.get("ALCHEMY_PATTERNS_BENCH_API_DATABASE", "alchemy_patterns_bench_api")
#: Every product's stock before a write run: no checkout can run out.
STOCK = 1_000_000_000
TOKEN_PREFIX = "bench-token-"
#: Bench users whose carts ``POST /cart/items`` writes, in turn.
CART_USERS = 64
LINES_PER_CART = 2
BENCH_USER = r"^bench[0-9]+$"


class Mismatch(Exception):
    """The apps do not answer alike, or a server is not alone on its port: nothing to measure."""


# --- the database ------------------------------------------------------------------------------


@contextmanager
def scratch_database() -> Iterator[str]:
    """``alchemy_patterns_bench_api``, new (a leftover is dropped first); dropped at the end."""
    url = make_url(SERVERS["postgresql"]).set(database=DATABASE)
    with psycopg.connect(libpq(url.set(database="postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@dataclass
class Bench:
    """What the runs need to know about the seeded database."""

    url: str
    products: list[int]
    owner_id: int
    carts: int
    admin_token: str = ""
    demo_token: str = ""


def seed(url: str, carts: int) -> Bench:
    """The small demo data, bench users 1..N with tokens ``bench-token-<n>``, huge stock."""
    from alchemy_patterns.cli.seed import seed_database
    from alchemy_patterns.settings import Settings

    seed_database(Settings(database_url=url), size="small", seed=0, append=False)
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        add_bench_users(conn, max(carts, CART_USERS))
        restock(conn)
        conn.execute("ANALYZE")
        products = [
            r[0] for r in conn.execute("SELECT id FROM products WHERE is_active ORDER BY id")
        ]
        owner = conn.execute(BUSIEST_OWNER).fetchone()
    assert owner is not None
    return Bench(url, products, owner[0], carts)


BUSIEST_OWNER = """
SELECT pets.owner_id FROM pets JOIN appointments ON appointments.pet_id = pets.id
GROUP BY pets.owner_id ORDER BY count(*) DESC, pets.owner_id LIMIT 1
"""


def add_bench_users(conn: psycopg.Connection[Any], users: int) -> None:
    conn.execute(
        "INSERT INTO users (username, email, password_hash)"
        " SELECT 'bench' || n, 'bench' || n || '@example.com', '!'"
        " FROM generate_series(1, %s) AS n",
        (users,),
    )
    bench_users = f"SELECT id, username FROM users WHERE username ~ '{BENCH_USER}'"
    conn.execute(f"INSERT INTO carts (user_id) SELECT id FROM ({bench_users}) AS u")
    conn.execute(
        "INSERT INTO api_tokens (user_id, token_hash, expires_at)"
        f" SELECT id, encode(sha256(convert_to('{TOKEN_PREFIX}' || substr(username, 6), 'UTF8')),"
        f" 'hex'), now() + interval '1 day' FROM ({bench_users}) AS u"
    )


def restock(conn: psycopg.Connection[Any]) -> None:
    conn.execute("UPDATE products SET stock = %s", (STOCK,))


def empty_bench_carts(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "DELETE FROM cart_items WHERE cart_id IN (SELECT carts.id FROM carts"
        f" JOIN users ON users.id = carts.user_id WHERE users.username ~ '{BENCH_USER}')"
    )


FILL_CARTS = """
INSERT INTO cart_items (cart_id, product_id, quantity)
SELECT carts.id, (%(ids)s::int[])[1 + (n + line * %(step)s) %% %(count)s], 1
FROM generate_series(1, %(carts)s) AS n
CROSS JOIN generate_series(0, %(lines)s - 1) AS line
JOIN users ON users.username = 'bench' || n
JOIN carts ON carts.user_id = users.id
"""


def fill_carts(conn: psycopg.Connection[Any], carts: int, products: list[int]) -> None:
    """Bench users 1..carts get two lines each, of products spread over the catalogue."""
    empty_bench_carts(conn)
    restock(conn)
    conn.execute(
        FILL_CARTS,
        {
            "ids": products,
            "step": len(products) // LINES_PER_CART,
            "count": len(products),
            "carts": carts,
            "lines": LINES_PER_CART,
        },
    )


# --- the endpoints ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    key: str
    name: str
    path: str
    script: str
    write: bool = False
    apps: tuple[str, ...] = ("ours", "raw")

    @property
    def goal(self) -> float:
        """The least ours/raw the issue asks for: reads 0.6x, writes 0.5x."""
        return 0.5 if self.write else 0.6


ENDPOINTS = {
    e.key: e
    for e in (
        Endpoint(
            "products",
            "GET /products",
            "/products?per_page=20",
            "get.lua",
            apps=("ours", "raw", "peer"),
        ),
        Endpoint("owner", "GET /owners/{id}", "/owners/{owner_id}", "get.lua"),
        Endpoint("feed", "GET /feed", "/feed", "get.lua"),
        Endpoint("cart", "POST /cart/items", "/cart/items", "cart_items.lua", write=True),
        Endpoint("checkout", "POST /checkout", "/checkout", "checkout.lua", write=True),
    )
}


def prepare(endpoint: Endpoint, conn: psycopg.Connection[Any], bench: Bench) -> None:
    """The same state before every run of a write: emptied carts, or filled ones; tables analyzed.

    Writes grow orders, their lines and the audit trail. Without fresh
    statistics, a backend keeps the plans it made while a table was one
    page, sequential scans included: the foreign-key checks of every
    INSERT among them. Whichever app ran first on the small tables would
    then scan ever longer ones for the rest of the benchmark (ours, by 40 %
    in six rounds of checkouts). A production server's autovacuum analyzes
    a table that grew by a tenth; this machine's runs without it, so the
    benchmark analyzes before each write run, which replans every backend's.
    """
    if endpoint.key == "cart":
        empty_bench_carts(conn)
    elif endpoint.key == "checkout":
        fill_carts(conn, bench.carts, bench.products)
    if endpoint.write:
        conn.execute("ANALYZE")


def wrk_arguments(endpoint: Endpoint, bench: Bench, run_id: str, threads: int) -> list[str]:
    """What the endpoint's Lua script reads after ``--``."""
    if endpoint.key == "owner":
        return [bench.admin_token]
    if endpoint.key == "feed":
        return [bench.demo_token]
    if endpoint.key == "cart":
        products = ",".join(map(str, bench.products))
        return [TOKEN_PREFIX, "1", str(CART_USERS), str(threads), products]
    if endpoint.key == "checkout":
        return [TOKEN_PREFIX, "1", str(bench.carts), str(threads), run_id]
    return []


# --- the servers ----------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    counters: Path
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests_counted(self) -> dict[int, int]:
        """Requests each worker has answered so far."""
        return {pid: finished for pid, (_, finished) in self._counters().items()}

    def busy(self) -> bool:
        """Whether a worker has a request started and not finished."""
        return any(started != finished for started, finished in self._counters().values())

    def settle(self, timeout_s: float = 60) -> None:
        """Wait until the server is idle: requests wrk left in flight would spill into the next run.

        Idle twice in a row, 0.1 s apart: a request still in a socket buffer
        when the client left is picked up at once by an idle worker.
        """
        deadline, idle = time.monotonic() + timeout_s, 0
        while idle < 2:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} still busy after {timeout_s:.0f} s")
            idle = 0 if self.busy() else idle + 1
            time.sleep(0.1)

    def _counters(self) -> dict[int, tuple[int, int]]:
        return read_counters(self.counters) if self.counters.exists() else {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(name: str, url: str, workdir: Path, workers: int, threads: int) -> Server:
    port, log = free_port(), workdir / f"{name}.log"
    command = [sys.executable, str(HERE / "serving.py"), name, "--url", url, "--port", str(port)]
    command += ["--workers", str(workers), "--threads", str(threads)]
    command += ["--counters", str(workdir / f"{name}-counters")]
    with log.open("wb") as out:
        # A session of its own: Ctrl-C reaches this script, which stops the server itself.
        process = subprocess.Popen(command, stdout=out, stderr=out, start_new_session=True)
    return Server(name, port, process, workdir / f"{name}-counters", log)


def wait_until_ready(server: Server, workers: int, timeout_s: float = 90) -> None:
    """Every worker up (its counter file exists) and the port answering."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited at start:\n{tail(server.log)}")
        if len(server.requests_counted()) == workers and answers(server):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready after {timeout_s:.0f} s:\n{tail(server.log)}")


def answers(server: Server) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=1):
            return True
    except OSError:
        return False


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def stop(server: Server) -> None:
    """SIGTERM to the server's process group (master and workers), SIGKILL if it lingers."""
    for sig, wait_s in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(server.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.process.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def servers(url: str, names: list[str], workers: int, threads: int) -> Iterator[dict[str, Server]]:
    """The apps, each on a free port of 127.0.0.1; all stopped at the end, whatever happens."""
    with tempfile.TemporaryDirectory(prefix="bench-api-") as workdir, ExitStack() as stack:
        running: dict[str, Server] = {}
        for name in names:
            running[name] = start(name, url, Path(workdir), workers, threads)
            stack.callback(stop, running[name])
        for server in running.values():
            wait_until_ready(server, workers)
        yield running


# --- HTTP, for the checks ------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    location: str | None
    body: bytes


def call(
    server: Server,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    **headers: str,
) -> Answer:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(server.base + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return _answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return _answer(error.code, error.headers, error.read())


def _answer(status: int, headers: Any, body: bytes) -> Answer:
    return Answer(status, headers.get("Content-Type", ""), headers.get("Location"), body)


def log_in(server: Server, login: str) -> str:
    answer = call(server, "POST", "/auth/login", body={"login": login, "password": "demo password"})
    if answer.status != 200:
        raise Mismatch(f"cannot log in as {login}: {answer.status} {answer.body[:200]!r}")
    return str(json.loads(answer.body)["access_token"])


@dataclass
class Lab:
    """What every check and run works with: the servers, the data, a connection, the options."""

    running: dict[str, Server]
    bench: Bench
    conn: psycopg.Connection[Any]
    args: argparse.Namespace

    def prepare(self, endpoint: Endpoint) -> None:
        prepare(endpoint, self.conn, self.bench)


# --- the same bytes -------------------------------------------------------------------------------


def check_same_answers(lab: Lab, endpoints: list[Endpoint]) -> None:
    """Each endpoint's answer from every app, byte for byte; also that each server counts them."""
    for server in lab.running.values():
        server.settle()  # the logins are counted, and counted before
    before = {name: sum(s.requests_counted().values()) for name, s in lab.running.items()}
    sent: collections.Counter[str] = collections.Counter()
    for endpoint in endpoints:
        if endpoint.key == "checkout":
            check_checkout(lab, sent)
            continue
        answers_ = {}
        for app in endpoint.apps:
            lab.prepare(endpoint)
            answer = one_request(endpoint, lab.running[app], lab.bench)
            answers_[app] = expect(endpoint.name, app, answer, 200)
            sent[app] += 1
        compare(endpoint.name, answers_)
    for name, server in lab.running.items():
        server.settle()
        counted = sum(server.requests_counted().values()) - before[name]
        if counted != sent[name]:
            raise Mismatch(
                f"{name} counted {counted} of the {sent[name]} check requests sent to port"
                f" {server.port}: is another process listening there too?"
            )


def one_request(endpoint: Endpoint, server: Server, bench: Bench) -> Answer:
    path = endpoint.path.format(owner_id=bench.owner_id)
    if endpoint.key == "products":
        return call(server, "GET", path)
    if endpoint.key == "owner":
        return call(server, "GET", path, bench.admin_token)
    if endpoint.key == "feed":
        return call(server, "GET", path, bench.demo_token)
    line = {"product_id": bench.products[0], "quantity": 1}
    return call(server, "POST", path, f"{TOKEN_PREFIX}1", line)


def expect(what: str, app: str, answer: Answer, status: int) -> Answer:
    if answer.status != status:
        raise Mismatch(
            f"{what}: {app} answered {answer.status}, not {status}: {answer.body[:300]!r}"
        )
    return answer


def compare(what: str, answers_: dict[str, Answer]) -> None:
    """The same content type, Location and body bytes (request ids and dates may differ)."""
    (first, reference), *others = answers_.items()
    for app, answer in others:
        if (answer.content_type, answer.location, answer.body) != (
            reference.content_type,
            reference.location,
            reference.body,
        ):
            raise Mismatch(f"{what}: {app} and {first} differ\n{diff(reference, answer)}")


def diff(a: Answer, b: Answer) -> str:
    if (a.content_type, a.location) != (b.content_type, b.location):
        return f"headers: {(a.content_type, a.location)} != {(b.content_type, b.location)}"
    pairs = zip(a.body, b.body, strict=False)
    at = next((i for i, (x, y) in enumerate(pairs) if x != y), min(len(a.body), len(b.body)))
    around = slice(max(0, at - 80), at + 80)
    return f"bodies differ at byte {at}:\n  {a.body[around]!r}\n  {b.body[around]!r}"


def check_checkout(lab: Lab, sent: collections.Counter[str]) -> None:
    """Each app places an order (201); the other replays it by its key (200): the same bytes."""
    for placer, replayer in (("ours", "raw"), ("raw", "ours")):
        fill_carts(lab.conn, 1, lab.bench.products)
        key = {"Idempotency-Key": f"check-{placer}-{time.time_ns()}"}
        what = f"POST /checkout ({placer} places, {replayer} replays)"
        answers_ = {}
        for app, status in ((placer, 201), (replayer, 200)):
            answer = call(lab.running[app], "POST", "/checkout", f"{TOKEN_PREFIX}1", **key)
            answers_[app] = expect(what, app, answer, status)
            sent[app] += 1
        compare(what, answers_)


# --- load -------------------------------------------------------------------------------------


@dataclass
class Run:
    """One wrk run of one app on one endpoint."""

    endpoint: str
    app: str
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    workers: dict[int, int] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """No error answers, and the server counted at least every request wrk saw answered."""
        counted = sum(self.workers.values())
        return self.errors == 0 and counted >= self.requests


def wrk(lab: Lab, app: str, endpoint: Endpoint, duration: float) -> dict[str, Any]:
    """One wrk run against ``app`` (the numbers report.lua prints), then wait until it is idle."""
    server, args = lab.running[app], lab.args
    run_id = f"{server.name}-{time.time_ns()}"
    command = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{duration:g}s"]
    command += ["--timeout", "10s", "-s", endpoint.script]
    command.append(server.base + endpoint.path.format(owner_id=lab.bench.owner_id))
    command += ["--", *wrk_arguments(endpoint, lab.bench, run_id, args.wrk_threads)]
    done = subprocess.run(command, cwd=WRK_DIR, capture_output=True, text=True, check=True)
    server.settle()
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    return dict(json.loads(line.removeprefix("BENCH ")))


def measure(lab: Lab, app: str, endpoint: Endpoint, round_: int) -> Run:
    lab.prepare(endpoint)
    before = lab.running[app].requests_counted()
    numbers = wrk(lab, app, endpoint, lab.args.duration)
    after = lab.running[app].requests_counted()
    return Run(
        endpoint.key,
        app,
        round_,
        rps=numbers["requests"] / (numbers["duration_us"] / 1e6),
        p50_ms=numbers["p50_us"] / 1000,
        p99_ms=numbers["p99_us"] / 1000,
        requests=numbers["requests"],
        errors=numbers["non_2xx"] + numbers["socket_errors"],
        workers={pid: n - before.get(pid, 0) for pid, n in after.items()},
    )


def warm_up(lab: Lab, endpoints: list[Endpoint]) -> None:
    """A short unrecorded run of everything: pools filled, statements prepared, code warm."""
    if lab.args.warmup <= 0:
        return
    for endpoint in endpoints:
        for app in endpoint.apps:
            lab.prepare(endpoint)
            wrk(lab, app, endpoint, lab.args.warmup)


def load(lab: Lab, endpoints: list[Endpoint]) -> list[Run]:
    """Every app on every endpoint, ``--rounds`` times, each round in another order."""
    runs = []
    for round_ in range(1, lab.args.rounds + 1):
        for endpoint in endpoints:
            for app in rotated(endpoint.apps, round_ - 1):
                run = measure(lab, app, endpoint, round_)
                runs.append(run)
                print(
                    f"  round {round_}  {endpoint.name:<18} {app:<5} {run.rps:8.1f} req/s"
                    f"  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:7.2f} ms"
                    + ("" if run.valid else f"  INVALID ({run.errors} errors{hint(endpoint)})"),
                    flush=True,
                )
    return runs


def hint(endpoint: Endpoint) -> str:
    return "; more requests than filled carts? raise --carts" if endpoint.key == "checkout" else ""


# --- the report -----------------------------------------------------------------------------


def summarise(endpoint: Endpoint, runs: list[Run]) -> dict[str, Any]:
    """Medians and spreads per app, ratios to raw (and the peer) computed round by round."""
    mine = [r for r in runs if r.endpoint == endpoint.key]
    apps: dict[str, Any] = {}
    for app in endpoint.apps:
        rows = sorted((r for r in mine if r.app == app), key=lambda r: r.round)
        apps[app] = {
            "rps": [round(r.rps, 1) for r in rows],
            "p50_ms": [round(r.p50_ms, 2) for r in rows],
            "p99_ms": [round(r.p99_ms, 2) for r in rows],
            "worker_shares": shares(rows),
            "valid": all(r.valid for r in rows),
        }
    ratios = {
        f"ours/{other}": [
            round(o / t, 3) for o, t in zip(apps["ours"]["rps"], apps[other]["rps"], strict=True)
        ]
        for other in endpoint.apps
        if other != "ours"
    }
    return {
        "endpoint": endpoint.name,
        "path": endpoint.path,
        "goal_vs_raw": endpoint.goal,
        "apps": apps,
        "ratios": ratios,
    }


def shares(rows: list[Run]) -> list[float]:
    """Each worker's share of the requests over all rounds, largest first."""
    per_worker: collections.Counter[int] = collections.Counter()
    for row in rows:
        per_worker.update(row.workers)
    total = sum(per_worker.values()) or 1
    return sorted((round(n / total, 3) for n in per_worker.values()), reverse=True)


def print_summary(summary: dict[str, Any]) -> None:
    print(f"\n{summary['endpoint']}  ({summary['path']})")
    print(f"  {'app':<6}{'req/s median (min-max)':<28}{'p50 ms':<24}{'p99 ms':<24}workers")
    for app, numbers in summary["apps"].items():
        share = " / ".join(f"{s:.0%}" for s in numbers["worker_shares"])
        flag = "" if numbers["valid"] else "  INVALID: errors or uncounted requests"
        print(
            f"  {app:<6}{show_spread(numbers['rps'], 1):<28}{show_spread(numbers['p50_ms']):<24}"
            f"{show_spread(numbers['p99_ms']):<24}{share}{flag}"
        )
    for name, values in summary["ratios"].items():
        middle = spread(values)[0]
        goal = summary["goal_vs_raw"] if name == "ours/raw" else 1.0
        verdict = "met" if middle >= goal else "NOT met"
        print(f"  {name:<10}{show_spread(values, unit='x'):<30}goal >= {goal}x: {verdict}")


# --- main -----------------------------------------------------------------------------------------


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds per app before round 1")
    parser.add_argument("--connections", type=int, default=16, help="wrk's open connections")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument(
        "--carts",
        type=int,
        help="carts filled for each checkout run, one per request [default: 1500 x --duration]",
    )
    parser.add_argument("--json", help="write the results to FILE ('-' for stdout)")
    return parser.parse_args()


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds: servers stopped, database dropped


def main() -> int:
    args = options()
    if shutil.which("wrk") is None:
        print(
            "api.py needs wrk, the HTTP load generator: apt-get install wrk (Debian/Ubuntu),"
            " brew install wrk (macOS); `make bench` installs it when run as root",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    endpoints = [ENDPOINTS[key] for key in args.endpoints.split(",")]
    names = [app for app in ("ours", "raw", "peer") if any(app in e.apps for e in endpoints)]
    carts = args.carts or int(1500 * args.duration)
    try:
        summaries = benchmark(endpoints, names, carts, args)
    except Mismatch as error:
        print(f"not measured: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the servers are stopped and the database dropped", file=sys.stderr)
        return 130
    for summary in summaries:
        print_summary(summary)
    write_json(summaries, args.json)
    return 0 if all(a["valid"] for s in summaries for a in s["apps"].values()) else 1


def benchmark(
    endpoints: list[Endpoint], names: list[str], carts: int, args: argparse.Namespace
) -> list[dict[str, Any]]:
    with scratch_database() as url:
        print(f"seeding {DATABASE} (small, and {max(carts, CART_USERS)} bench users)", flush=True)
        bench = seed(url, carts)
        with (
            servers(url, names, args.workers, args.threads) as running,
            psycopg.connect(libpq(url), autocommit=True) as conn,
        ):
            bench.admin_token = log_in(running["ours"], "admin")
            bench.demo_token = log_in(running["ours"], "demo")
            lab = Lab(running, bench, conn, args)
            check_same_answers(lab, endpoints)
            print(f"same bytes from {', '.join(names)} on every endpoint; warming up", flush=True)
            warm_up(lab, endpoints)
            runs = load(lab, endpoints)
    return [summarise(endpoint, runs) for endpoint in endpoints]


if __name__ == "__main__":
    sys.exit(main())

"""``alchemy-patterns serve``: the API under gunicorn, on a database migrated first.

gunicorn runs in this process (:class:`ApiServer`, the embedding gunicorn
documents as "custom application"): no second command line to keep in step,
and the options are this command's. gunicorn's master handles the signals:
SIGTERM stops gracefully (workers finish the requests they are serving) and
exits 0; SIGINT (Ctrl-C) stops at once and exits 0 too.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
from werkzeug.serving import is_running_from_reloader

from alchemy_patterns import migrations
from alchemy_patterns.cli.errors import where
from alchemy_patterns.db.engine import backend_of
from alchemy_patterns.settings import Settings, make_database

if TYPE_CHECKING:
    from alchemy_patterns.web.app import Api

__all__ = ["ApiServer", "ServerOptions", "default_workers", "serve"]

#: Each worker has its own pool (5 connections, 10 more on demand by default):
#: 4 workers stay under PostgreSQL's default ``max_connections`` of 100.
MAX_DEFAULT_WORKERS = 4
DEFAULT_THREADS = 4
DEMO_SIZE, DEMO_SEED = "small", 0
#: How long a graceful stop waits for the requests in flight: well within the
#: 30 s an orchestrator (Kubernetes, systemd) gives before it kills.
GRACEFUL_TIMEOUT_S = 20


@dataclass(frozen=True)
class ServerOptions:
    host: str
    port: int
    workers: int
    threads: int

    @property
    def bind(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return f"{host}:{self.port}"


class ApiServer(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn embedded: its configuration from our options, its WSGI app from ``create_app``.

    ``preload_app`` stays off, so gunicorn calls :meth:`load` in each worker
    *after* the fork: every worker builds its own app, engine and pool, and no
    connection opened in the master is ever shared by two processes (what
    SQLAlchemy's "Using Connection Pools with Multiprocessing" asks). The
    master itself only migrates and seeds, through engines it disposes of.
    """

    def __init__(self, settings: Settings, options: ServerOptions) -> None:
        self.settings = settings
        self.options = options
        # The code, not the app, is loaded before the fork: the workers share it and boot fast.
        importlib.import_module("alchemy_patterns.web")
        super().__init__()

    def load_config(self) -> None:
        for name, value in gunicorn_settings(self.options).items():
            self.cfg.set(name, value)

    def load(self) -> Api:
        return make_app(self.settings)


def gunicorn_settings(options: ServerOptions) -> dict[str, Any]:
    """gunicorn's settings: threaded workers, its own log on stderr, no access log of its own.

    The app already logs one JSON line per request; gunicorn's control
    socket (one fixed path per user) is off, so two servers never fight over it.
    ``reuse_port``: each worker accepts on a socket of its own, so the kernel
    spreads new connections over the workers; without it, whichever worker
    wakes first takes a whole burst while the others idle.
    """
    return {
        "bind": [options.bind],
        "workers": options.workers,
        "threads": options.threads,
        "worker_class": "gthread",
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "alchemy-patterns",
        "control_socket_disable": True,
        "reuse_port": True,
        "child_exit": _worker_exited,
    }


def refuse_a_taken_port(options: ServerOptions) -> None:
    """One clear line if something listens on the address already.

    With ``reuse_port`` a second server could share a port another one holds,
    silently; a plain bind first (no ``SO_REUSEPORT``) fails as it should.
    """
    family, kind, protocol, _, address = socket.getaddrinfo(
        options.host, options.port, type=socket.SOCK_STREAM
    )[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed one's TIME_WAIT
        try:
            probe.bind(address)
        except OSError as error:
            raise click.ClickException(
                f"cannot listen on {options.bind}: {error.strerror or error}"
            ) from error


def available_cpus() -> int:
    """The CPUs this process may run on (a container's share, not the host's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_workers(url: str) -> int:
    """One worker on SQLite; otherwise gunicorn's ``2 x CPUs + 1``, at most 4.

    SQLite lets one writer at a time into the file, whatever the number of
    processes: more workers add no write throughput, only more connections
    polling the lock through the busy timeout (and "database is locked" once
    it runs out). One worker with threads gives all the concurrency the file
    allows: WAL lets the threads read while one writes.
    On PostgreSQL and MariaDB the cap keeps the connections (one pool per
    worker) under the servers' defaults; raise it with ``--workers``.
    """
    if backend_of(url) == "sqlite":
        return 1
    return min(2 * available_cpus() + 1, MAX_DEFAULT_WORKERS)


@click.command(short_help="Serve the REST API (its docs at /docs).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes [default: 1 on SQLite, else 2 x CPUs + 1, at most 4].",
)
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Threads per worker (requests served at once by each).",
)
@click.option("--demo", is_flag=True, help="Seed demo data first if the database is empty.")
@click.option(
    "--reload",
    is_flag=True,
    help="Flask's development server instead, restarting on code changes (one process).",
)
@click.option(
    "--replica",
    "replicas",
    multiple=True,
    metavar="URL",
    help="A PostgreSQL hot standby of the database for reads (repeatable; adds to "
    "ALCHEMY_PATTERNS_REPLICA_URLS).",
)
@click.option(
    "--migrate/--no-migrate",
    default=True,
    show_default=True,
    help="Upgrade the schema to the newest migration before serving.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    workers: int | None,
    threads: int,
    demo: bool,
    reload: bool,
    migrate: bool,
    replicas: tuple[str, ...],
) -> None:
    """Serve the REST API (docs at /docs) under gunicorn until SIGTERM or Ctrl-C.

    The database (default: an SQLite file in ./instance, created on demand)
    is migrated first. --database-url or ALCHEMY_PATTERNS_DATABASE_URL points
    it at PostgreSQL or MariaDB. The app logs one JSON line per request on
    stderr.
    """
    settings: Settings = with_replicas(ctx.obj.settings, replicas)
    url = settings.resolved_database_url
    options = ServerOptions(host, port, workers or default_workers(url), threads)
    if reload:
        run_development_server(settings, options, migrate=migrate, demo=demo)
        return
    prepare_database(settings, migrate=migrate, demo=demo)
    refuse_a_taken_port(options)
    log_to_stderr()
    announce(options, url)
    with metrics_shared_by_workers():
        ApiServer(settings, options).run()


@contextmanager
def metrics_shared_by_workers() -> Iterator[None]:
    """A new directory where every worker writes its metrics, for ``/metrics`` to add up.

    ``prometheus-client``'s multiprocess mode reads ``PROMETHEUS_MULTIPROC_DIR``
    when it is imported, so it is set before the app's code is; a directory
    left by an earlier run would add that run's counts, so each run has its
    own, removed at the end. One the operator set is used as it is.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="alchemy-patterns-metrics-") as directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


def _worker_exited(_server: Any, worker: Any) -> None:
    """A dead worker's live gauges (connections in use) stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def with_replicas(settings: Settings, replicas: tuple[str, ...]) -> Settings:
    """``settings`` with the ``--replica`` URLs added to those of the environment."""
    if not replicas:
        return settings
    urls = ",".join([*settings.replicas, *replicas])
    return settings.model_copy(update={"replica_urls": urls})


def prepare_database(settings: Settings, *, migrate: bool, demo: bool) -> None:
    if migrate:
        migrations.upgrade(settings.resolved_database_url)
    if demo:
        seed_if_empty(settings)


def seed_if_empty(settings: Settings) -> None:
    """The small demo data set, on an empty database only (a second ``serve --demo`` keeps it)."""
    from alchemy_patterns.cli.seed import database_is_empty, echo_summary, seed_demo_data

    # Without the slow-query log: every bulk batch is a "slow" statement.
    db = make_database(settings.model_copy(update={"slow_query_ms": None}))
    try:
        if not database_is_empty(db):
            click.echo("demo: the database has users already, nothing seeded")
            return
        started = time.perf_counter()
        counts = seed_demo_data(db, size=DEMO_SIZE, seed=DEMO_SEED)
        echo_summary(counts, size=DEMO_SIZE, seed=DEMO_SEED, seconds=time.perf_counter() - started)
    finally:
        db.dispose()  # the master keeps no connection for the workers to inherit


def run_development_server(
    settings: Settings, options: ServerOptions, *, migrate: bool, demo: bool
) -> None:
    """Flask's development server with its reloader: one process, threaded, for coding.

    The first process only watches the files; the one it starts, and starts
    again after each change, prepares the database (so a new migration is
    applied on the next save) and serves.
    """
    if is_running_from_reloader():
        prepare_database(settings, migrate=migrate, demo=demo)
        log_to_stderr()
    make_app(settings).run(options.host, options.port, use_reloader=True, threaded=True)


def make_app(settings: Settings) -> Api:
    """The Flask app, imported here: the other commands need not load Flask at start-up."""
    from alchemy_patterns.web import create_app

    return create_app(settings)


def announce(options: ServerOptions, url: str) -> None:
    plural = "s" if options.workers > 1 else ""
    click.echo(
        f"serving http://{options.bind} ({where(url)}; {options.workers} worker{plural}"
        f" x {options.threads} threads); docs at /docs; Ctrl-C stops"
    )


def log_to_stderr() -> None:
    """The app's logs on stderr: access lines as the JSON they are, the rest like gunicorn's."""
    access = logging.getLogger("alchemy_patterns.web.access")
    _add_stderr_handler(access, "%(message)s")
    access.propagate = False
    _add_stderr_handler(
        logging.getLogger("alchemy_patterns"),
        "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
    )


def _add_stderr_handler(logger: logging.Logger, fmt: str) -> None:
    if any(getattr(handler, "_alchemy_patterns", False) for handler in logger.handlers):
        return  # already set up (the command ran before in this process)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt, "%Y-%m-%d %H:%M:%S %z"))
    handler._alchemy_patterns = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

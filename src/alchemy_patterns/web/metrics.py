"""``/metrics``: Prometheus metrics of the API, every gunicorn worker counted.

* ``http_requests_total`` and ``http_request_duration_seconds``, by route
  template (``/owners/<int:owner_id>``, never the id), method and status;
* ``db_statements_per_request``, by route;
* ``db_pool_connections_in_use``, ``db_pool_overflow`` and
  ``db_pool_checkout_timeouts_total``, by node (``primary``, each replica);
* ``db_transaction_retries_total`` by reason (``deadlock``, ``serialization_failure``…);
* ``db_replica_fallbacks_total`` by reason, and ``db_replica_lag_seconds`` by node.

The data layer reports its events through :mod:`alchemy_patterns.db.observers`
and SQLAlchemy's pool events; it imports no metrics library.

Under ``serve`` the workers are processes: ``prometheus-client``'s
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, which ``serve`` sets to a new
directory) adds up what every worker counted, whichever worker answers the
scrape. ``/metrics`` answers clients on the loopback interface, and others
only from the networks ``ALCHEMY_PATTERNS_METRICS_ALLOW`` lists (CIDR,
comma-separated); to anyone else it does not exist (404). Behind a reverse
proxy the client is the proxy: allow the scraper's network, not the world.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from typing import Any
from weakref import WeakSet

from flask import Flask, Request, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event
from werkzeug.exceptions import NotFound

from alchemy_patterns.db import observers

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

EXTENSION = "alchemy_patterns.metrics_allow"
#: Set by ``serve`` (a new directory per run) before the workers start.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("http_requests", "Requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer a request, in the app",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STATEMENTS = Histogram(
    "db_statements_per_request",
    "SQL statements one request ran",
    ["route"],
    buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50),
)
IN_USE = Gauge(
    "db_pool_connections_in_use",
    "Connections checked out of the pool",
    ["node"],
    multiprocess_mode="livesum",
)
OVERFLOW = Gauge(
    "db_pool_overflow",
    "Connections open beyond the pool's size",
    ["node"],
    multiprocess_mode="livesum",
)
CHECKOUT_TIMEOUTS = Counter(
    "db_pool_checkout_timeouts", "Checkouts that found no free connection in time", ["node"]
)
RETRIES = Counter("db_transaction_retries", "Transactions run again, by reason", ["reason"])
FALLBACKS = Counter(
    "db_replica_fallbacks", "Read-only units run on the primary instead of a replica", ["reason"]
)
LAG = Gauge(
    "db_replica_lag_seconds",
    "Replay lag last measured on a replica",
    ["node"],
    multiprocess_mode="mostrecent",
)


class _Exporter(observers.Watcher):
    """The data layer's events, as metrics."""

    def retried(self, reason: str) -> None:
        RETRIES.labels(reason).inc()

    def checkout_timed_out(self, node: str) -> None:
        CHECKOUT_TIMEOUTS.labels(node).inc()

    def replica_fallback(self, reason: str) -> None:
        FALLBACKS.labels(reason).inc()

    def replica_lag(self, node: str, seconds: float) -> None:
        LAG.labels(node).set(seconds)


observers.watch(_Exporter())  # once per process: the metrics are the process's


def init_app(app: Flask, engines: dict[str, Engine], allow: Iterable[str] = ()) -> None:
    """Serve ``/metrics`` and watch the pools of ``engines`` (node name to engine).

    ``allow``: networks (CIDR) besides loopback whose clients may scrape; a
    malformed one is a ``ValueError`` at start-up, not a silent refusal later.
    """
    app.extensions[EXTENSION] = [ipaddress.ip_network(n.strip(), strict=False) for n in allow]
    for node, engine in engines.items():
        watch_pool(engine, node)
    app.add_url_rule("/metrics", "metrics", _metrics)


def watch_pool(engine: Engine, node: str) -> None:
    """Keep ``db_pool_connections_in_use`` and ``db_pool_overflow`` of ``node`` current.

    Once per engine: two apps on one ``Database`` (tests make several) count each checkout once.
    """
    if engine in _watched:
        return
    _watched.add(engine)
    in_use, overflow = IN_USE.labels(node), OVERFLOW.labels(node)

    def checked_out(*_: Any) -> None:
        in_use.inc()
        overflow.set(max(0, _overflow(engine)))

    def checked_in(*_: Any) -> None:
        in_use.dec()
        overflow.set(max(0, _overflow(engine)))

    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "checkin", checked_in)


_watched: WeakSet[Engine] = WeakSet()


def _overflow(engine: Engine) -> int:
    overflow = getattr(engine.pool, "overflow", None)  # QueuePool's; other pools have none
    return int(overflow()) if callable(overflow) else 0


def observe_request(asked: Request, status: int, seconds: float, statements: int) -> None:
    """Count the request that is ending (called by :mod:`.observability`)."""
    rule = asked.url_rule
    route = rule.rule if rule is not None else "unmatched"  # never the raw path: unbounded
    answered, latency, statements_run = _children(route, asked.method, status)
    answered.inc()
    latency.observe(seconds)
    statements_run.observe(statements)


_Children = tuple[Any, Any, Any]
_labelled: dict[tuple[str, str, int], _Children] = {}


def _children(route: str, method: str, status: int) -> _Children:
    """The three metrics' children for these labels, each looked up once.

    ``labels()`` costs more than the count itself; prometheus-client's advice
    for a hot path is to keep the child it returns.
    """
    key = (route, method, status)
    found = _labelled.get(key)
    if found is None:
        found = _labelled[key] = (
            REQUESTS.labels(route, method, str(status)),
            LATENCY.labels(route, method),
            STATEMENTS.labels(route),
        )
    return found


def _metrics() -> Response:
    if not _may_scrape(request.remote_addr):
        raise NotFound()
    return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def _may_scrape(address: str | None) -> bool:
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    allowed: list[Network] = current_app.extensions[EXTENSION]
    return client.is_loopback or any(client in network for network in allowed)


def _registry() -> CollectorRegistry:
    if MULTIPROCESS_DIR not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry

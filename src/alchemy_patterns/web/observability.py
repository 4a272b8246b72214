"""What each request tells: an id, its database cost, and one JSON log line.

* ``X-Request-ID``: the client's (if it looks like one) or a new one; problem
  bodies and the log carry it too, so a 500 can be found in the log.
* ``Server-Timing: db;dur=<ms>;desc="<n> queries"``: the statements this
  request ran, counted by the data layer's profiler.
* one line on the ``alchemy_patterns.web.access`` logger, a JSON object with
  method, path, status, duration and query count;
* the request's count, duration and statements in the Prometheus metrics
  (:mod:`.metrics`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid

from flask import Flask, Response, g, request

from alchemy_patterns.db import count_queries
from alchemy_patterns.web import metrics

access_logger = logging.getLogger("alchemy_patterns.web.access")

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_stop)


def _start() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _CLIENT_ID.match(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()
    g.counting = count_queries()
    g.queries = g.counting.__enter__()


def _finish(response: Response) -> Response:
    queries = g.get("queries")
    count = queries.count if queries is not None else 0
    db_ms = queries.seconds * 1000 if queries is not None else 0.0
    duration_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    response.headers["X-Request-ID"] = g.get("request_id", "")
    response.headers["Server-Timing"] = f'db;dur={db_ms:.1f};desc="{count} queries"'
    metrics.observe_request(request.method, response.status_code, duration_ms / 1000, count)
    if not access_logger.isEnabledFor(logging.INFO):
        return response  # nobody reads the line: do not build it
    access_logger.info(
        json.dumps(
            {
                "request_id": g.get("request_id"),
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 2),
                "db_ms": round(db_ms, 2),
                "queries": count,
                "pid": os.getpid(),  # which worker: gunicorn runs several
            }
        )
    )
    return response


def _stop(_error: BaseException | None) -> None:
    if (counting := g.pop("counting", None)) is not None:
        counting.__exit__(None, None, None)

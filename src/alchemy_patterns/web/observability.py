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

from alchemy_patterns.db import QueryCounter, count_queries
from alchemy_patterns.web import metrics

access_logger = logging.getLogger("alchemy_patterns.web.access")

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_stop)


class _Observation:
    """One request's bookkeeping, kept in ``g`` as one object (each ``g.x`` is a proxy lookup)."""

    __slots__ = ("counting", "queries", "request_id", "started")

    def __init__(self, request_id: str, *, counted: bool = True) -> None:
        self.request_id = request_id
        self.started = time.perf_counter()
        self.counting = count_queries() if counted else None
        self.queries = self.counting.__enter__() if self.counting else QueryCounter()


def _start() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if _CLIENT_ID.match(incoming) else uuid.uuid4().hex
    g.request_id = request_id  # the problem bodies and error logs carry it too
    g.observation = _Observation(request_id)


def _finish(response: Response) -> Response:
    seen: _Observation | None = g.get("observation")
    if seen is None:  # a hook before ours answered: nothing measured, the answer still told
        seen = _Observation(g.get("request_id", ""), counted=False)
    queries = seen.queries
    duration_ms = (time.perf_counter() - seen.started) * 1000
    db_ms = queries.seconds * 1000
    headers = response.headers
    headers["X-Request-ID"] = seen.request_id
    headers["Server-Timing"] = f'db;dur={db_ms:.1f};desc="{queries.count} queries"'
    asked = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    metrics.observe_request(asked, response.status_code, duration_ms / 1000, queries.count)
    if not access_logger.isEnabledFor(logging.INFO):
        return response  # nobody reads the line: do not build it
    access_logger.info(
        json.dumps(
            {
                "request_id": seen.request_id,
                "method": asked.method,
                "path": asked.path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 2),
                "db_ms": round(db_ms, 2),
                "queries": queries.count,
                "pid": os.getpid(),  # which worker: gunicorn runs several
            }
        )
    )
    return response


def _stop(_error: BaseException | None) -> None:
    if (seen := g.pop("observation", None)) is not None and seen.counting is not None:
        seen.counting.__exit__(None, None, None)

"""Safe requests on replicas, and the ``Consistency-Token`` that lets a client read its own writes.

With replicas, a GET or HEAD is a read-only unit of work: its session is a
read-only one on the node the data layer chooses (a usable replica, else the primary); a
replica that fails it is skipped and the view runs again on the next node,
so a replica going down costs no 5xx. Any other method runs on the primary.

A POST, PUT, PATCH or DELETE that committed answers with a
``Consistency-Token`` header (when the app has replicas): a later GET that
sends it back runs only where that write is visible, on any API process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, g, request
from sqlalchemy.orm import Session, sessionmaker

from alchemy_patterns.db import retrying_a_stale_connection
from alchemy_patterns.web.database import database

__all__ = ["HEADER", "init_app", "note_commit", "run_request"]

T = TypeVar("T")

HEADER = "Consistency-Token"
SAFE_METHODS = frozenset({"GET", "HEAD"})

HEADER_DESCRIPTION = (
    "The position of the writes this client has seen committed: the "
    "`Consistency-Token` of an earlier POST, PUT, PATCH or DELETE answer. The read "
    "then runs only where that write is visible (a replica that has replayed it, "
    "else the primary). Without it a read may come from a replica a little behind."
)


def init_app(app: Flask) -> None:
    app.after_request(_add_token)


def run_request(view: Callable[[], T]) -> T:
    """Run the request's ``view()``: on the primary, or read-only on the node chosen for a read.

    Without replicas every request runs as it always did, on the primary.
    Either way, a view whose first statement finds its pooled connection
    dead runs once more on a fresh session.
    """
    db = database()
    if request.method not in SAFE_METHODS or db.replicas is None:
        return retrying_a_stale_connection(view, fresh_start=db.remove)

    def on(sessions: sessionmaker[Session]) -> T:
        def fresh_start() -> None:
            db.remove()
            db.scoped_session.registry.set(sessions())

        fresh_start()
        return retrying_a_stale_connection(view, fresh_start=fresh_start)

    return db.routed(on, request.headers.get(HEADER))


def note_commit() -> None:
    """After an unsafe request committed: the token of its writes, for its answer."""
    if request.method not in SAFE_METHODS and (token := database().consistency_token()):
        g.consistency_token = token


def _add_token(response: Response) -> Response:
    if token := g.pop("consistency_token", None):
        response.headers[HEADER] = token
    return response


def document(method: str, operation: dict[str, Any]) -> None:
    """The header in the OpenAPI document: sent by safe operations, answered by the others."""
    if method.upper() in SAFE_METHODS:
        parameter = {
            "name": HEADER,
            "in": "header",
            "required": False,
            "description": HEADER_DESCRIPTION,
            "schema": {"type": "string"},
        }
        operation.setdefault("parameters", []).append(parameter)
        return
    header = {
        "description": "Send it with later reads to see this write (when there are replicas).",
        "schema": {"type": "string"},
    }
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            response.setdefault("headers", {})[HEADER] = header

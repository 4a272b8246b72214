"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from flask import Response
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel

from alchemy_patterns.db import Unavailable
from alchemy_patterns.web.database import database
from alchemy_patterns.web.responses import json_response
from alchemy_patterns.web.schemas import Problem

bp = APIBlueprint(
    "health",
    __name__,
    abp_tags=[
        Tag(
            name="health",
            description=("Liveness and readiness probes for load balancers and orchestrators."),
        )
    ],
)


class Status(BaseModel):
    status: str


class NodeStatus(BaseModel):
    """One database node as the readiness check found it."""

    name: str
    up: bool
    lag_s: float | None = None


class Readiness(Status):
    primary: NodeStatus
    replicas: list[NodeStatus]


@bp.get("/healthz", responses={200: Status})
def healthz() -> Response:
    """The process is up (it does not touch the database)."""
    return json_response(Status(status="ok"))


@bp.get("/readyz", responses={200: Readiness, 503: Problem})
def readyz() -> Response:
    """The primary database answers (503 while it does not); each replica: up, and its lag.

    A replica that is down or behind does not make the API unready: reads
    go to the other nodes.
    """
    db = database()
    if not db.ping():
        raise Unavailable("the database does not answer", retry_after=5)
    replicas = [NodeStatus(name=r.name, up=r.up, lag_s=r.lag_s) for r in db.replica_statuses()]
    primary = NodeStatus(name="primary", up=True, lag_s=0.0)
    return json_response(Readiness(status="ready", primary=primary, replicas=replicas))

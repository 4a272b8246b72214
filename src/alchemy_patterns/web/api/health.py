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

bp = APIBlueprint("health", __name__, abp_tags=[Tag(name="health")])


class Status(BaseModel):
    status: str


@bp.get("/healthz", responses={200: Status})
def healthz() -> Response:
    """The process is up (it does not touch the database)."""
    return json_response(Status(status="ok"))


@bp.get("/readyz", responses={200: Status, 503: Problem})
def readyz() -> Response:
    """The database answers; 503 while it does not."""
    if not database().ping():
        raise Unavailable("the database does not answer", retry_after=5)
    return json_response(Status(status="ready"))

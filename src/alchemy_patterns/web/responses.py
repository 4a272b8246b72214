"""Turning service results into responses: JSON bodies, 201 with Location, 204."""

from __future__ import annotations

from typing import Any

from flask import Response
from pydantic import BaseModel, TypeAdapter

_any = TypeAdapter(Any)


def json_response(body: BaseModel | dict[str, Any], status: int = 200, **headers: str) -> Response:
    """``body`` serialised by pydantic (Decimals as strings, datetimes in ISO 8601)."""
    data = body.model_dump_json() if isinstance(body, BaseModel) else _any.dump_json(body)
    response = Response(data, status=status, mimetype="application/json")
    response.headers.update(headers)
    return response


def created(body: BaseModel, location: str) -> Response:
    return json_response(body, 201, Location=location)


def no_content() -> Response:
    return Response(status=204)

"""HTTP preconditions on versioned records: strong ``ETag``s, ``If-Match``, ``If-None-Match``.

A versioned record's ``ETag`` is made from its id and its version (``"7.3"``):
strong, since the version moves with every change of what the answer shows.
A write (PUT, PATCH, DELETE) must say which version it was based on:

* no ``If-Match``: 428, the client is told to read first;
* an ``If-Match`` naming another version (or garbage): 412, with the current
  ``ETag``, so the client can read again and decide; ``*`` accepts any version;
* the right one: the write runs, and the UPDATE checks the version again
  (``version_id_col``), so a rival that got in between loses with a 412 too.

A GET whose ``If-None-Match`` names the current ``ETag`` answers 304, no body.

An answer composed of more than the record (an owner with their pets and
appointments, a post with its counts and the caller's like) changes when the
record's version does not, so its tag also carries a digest of the body
(``"7.3.5f0c9a1e2b7d4c68"``, :func:`versioned` with ``whole=True``): 304 only
when that whole tag matches (RFC 9110's strong comparison). A write's
``If-Match`` is checked against the *version* part of either form: it is the
record, not what surrounds it, that a write is based on, and checking it costs
no read of the rest.
The views call :func:`expected_version` and :func:`versioned`; the services
check the version (:func:`alchemy_patterns.db.check_version`). The OpenAPI
document says all this on the operations registered with :func:`register`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from flask import Flask, Response, request
from pydantic import BaseModel

from alchemy_patterns.db import Expected, StaleVersion
from alchemy_patterns.web import errors
from alchemy_patterns.web.errors import PreconditionRequired
from alchemy_patterns.web.responses import json_response

__all__ = [
    "PreconditionRequired",
    "document",
    "etag",
    "expected_version",
    "init_app",
    "register",
    "versioned",
]

WRITES = frozenset({"PUT", "PATCH", "DELETE"})
READS = frozenset({"GET", "HEAD"})

#: OpenAPI paths (``/products/{product_id}``) of versioned records.
_VERSIONED: set[str] = set()
#: OpenAPI paths of actions on a versioned record (POST) that need ``If-Match`` too.
_POST_WRITES: set[str] = set()

#: One entity tag of a list: optionally weak, then a quoted opaque string (RFC 9110 8.8.3).
_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e]*)"\s*(?:,|$)')


def etag(key: object, version: int, digest: str | None = None) -> str:
    """The strong entity tag of record ``key`` at ``version`` (and of a body's ``digest``)."""
    return f'"{key}.{version}"' if digest is None else f'"{key}.{version}.{digest}"'


def _digest(data: bytes) -> str:
    """64 bits of BLAKE2b of a body: tells representations of one version apart."""
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _tags(value: str) -> list[tuple[bool, str]] | None:
    """(weak, opaque) of each tag in a list; None for ``*``; unparsable parts are left out."""
    if value.strip() == "*":
        return None
    return [(bool(m.group(1)), m.group(2)) for m in _TAG.finditer(value)]


def expected_version(key: int) -> Expected:
    """The version(s) of record ``key`` that the request's ``If-Match`` accepts.

    Missing: :class:`PreconditionRequired` (428). ``*``: None, any version.
    Otherwise the versions its strong tags name for ``key``: possibly none,
    which no record matches (412 with the current ``ETag``). A tag with a
    digest (``"7.3.<digest>"``, of a composite answer) names its version 3.
    """
    value = request.headers.get("If-Match", "")
    if not value.strip():
        raise PreconditionRequired(
            "this change needs an If-Match header: the ETag of the version it is based on"
        )
    tags = _tags(value)
    if tags is None:
        return None
    prefix = f"{key}."
    versions = (
        opaque[len(prefix) :].split(".", 1)[0]
        for weak, opaque in tags
        if not weak and opaque.startswith(prefix)
    )
    return frozenset(int(version) for version in versions if version.isdecimal())


def _none_match(tag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``tag`` (weak comparison) or is ``*``."""
    value = request.headers.get("If-None-Match")
    if value is None:
        return False
    tags = _tags(value)
    return tags is None or any(f'"{opaque}"' == tag for _, opaque in tags)


def versioned(
    body: BaseModel, status: int = 200, *, whole: bool = False, **headers: str
) -> Response:
    """The JSON answer for a versioned record (``id`` and ``version``) with its ``ETag``.

    ``whole``: the body holds more than the record (related rows, counts,
    the caller's own state), so the tag carries a digest of the body too and
    changes whenever the body does. A GET or HEAD whose ``If-None-Match``
    names that tag is a 304 without a body.
    """
    key, version = getattr(body, "id"), getattr(body, "version")  # noqa: B009
    response = json_response(body, status, **headers)
    tag = etag(key, version, _digest(response.get_data()) if whole else None)
    if request.method in READS and _none_match(tag):
        return Response(status=304, headers={"ETag": tag})
    response.headers["ETag"] = tag
    return response


def _stale(error: StaleVersion) -> Response:
    response = errors.app_error(error)
    if error.key is not None and error.current is not None:
        response.headers["ETag"] = etag(error.key, error.current)
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(StaleVersion, _stale)


def register(rule: str, *, post: bool = False) -> None:
    """Document the record at Flask ``rule`` (``/products/<int:product_id>``) as versioned.

    ``post``: ``rule`` is an action on such a record (``.../revert``) whose
    POST changes it, so it needs ``If-Match`` like a PATCH.
    """
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)
    _VERSIONED.add(path)
    if post:
        _POST_WRITES.add(path)


_ETAG_HEADER = {
    "description": "The record's version as a strong entity tag: send it back in `If-Match`.",
    "schema": {"type": "string"},
}


def _header(name: str, required: bool, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


def document(path: str, method: str, operation: dict[str, Any]) -> None:
    """The preconditions in the OpenAPI document, on the operations of versioned records."""
    if path not in _VERSIONED:
        return
    method = method.upper()
    responses: dict[str, Any] = operation.setdefault("responses", {})
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    for status, response in responses.items():
        if status.startswith("2") and status != "204":
            response.setdefault("headers", {})["ETag"] = _ETAG_HEADER
    if method in READS:
        parameters.append(
            _header(
                "If-None-Match",
                False,
                "The `ETag` of the version the client holds: 304 (no body) if it is still current.",
            )
        )
        responses["304"] = {"description": "Not Modified", "headers": {"ETag": _ETAG_HEADER}}
    elif method in WRITES or (method == "POST" and path in _POST_WRITES):
        parameters.append(
            _header(
                "If-Match",
                True,
                "The `ETag` of the version this change is based on (or `*`, any). Without it "
                "428; naming a version that is no longer current, 412 with the current `ETag`.",
            )
        )
        stale = errors.problem_response(412)
        stale["headers"] = {"ETag": _ETAG_HEADER}
        responses["412"] = stale
        responses["428"] = errors.problem_response(428)

"""Request bodies are JSON, well-formed and small, or the request is refused early.

flask-openapi3 reads bodies with ``get_json(silent=True)``, which turns a
malformed body or a wrong content type into "no body" and so into a 422 that
says the wrong thing. These checks answer first: 415 for a body that is not
JSON, 413 naming the limit for a body that is too large, 400 saying where a
body stops being JSON (or UTF-8).

A body sent without a ``Content-Length`` (``Transfer-Encoding: chunked``) is
read here, one byte past the limit at most. Werkzeug's own guard on such a
stream stops reading *at* the limit without an error, so a body over it came
out cut short and answered as malformed JSON (400) rather than as too large.
"""

from __future__ import annotations

import io
import json
from typing import IO, Any, NoReturn

from flask import Flask, Request, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class JsonRequest(Request):
    """Flask's request, whose malformed JSON body is a 400 that says where it breaks."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:  # not JSON at all: Flask's 415
            return super().on_json_loading_failed(e)
        raise BadRequest(why_not_json(e)) from e


def why_not_json(error: ValueError) -> str:
    """What is wrong with a body ``json.loads`` refused, and where, for the client to fix."""
    if isinstance(error, json.JSONDecodeError):
        return (
            f"the body is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        )
    if isinstance(error, UnicodeDecodeError):
        encoding = error.encoding.upper()
        return f"the body is not valid {encoding}: {error.reason} at byte {error.start}"
    return f"the body is not valid JSON: {error}"


def init_app(app: Flask) -> None:
    app.request_class = JsonRequest
    app.before_request(check_body)


def check_body() -> None:
    """Refuse a body that is not JSON (415), is over the limit (413) or is malformed (400)."""
    if request.method not in _WITH_BODY or not _has_body():
        return
    if not request.is_json:
        raise UnsupportedMediaType("send the body as application/json")
    limit = request.max_content_length
    if limit is not None:
        _enforce_limit(limit)
    request.get_json()  # parses and caches for the view; JsonRequest says what is malformed


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")


def _enforce_limit(limit: int) -> None:
    """413 for a body over ``limit`` bytes, whether or not it announced its length."""
    length = request.content_length
    if length is not None:
        if length > limit:
            _too_large(limit)
        return  # werkzeug's stream stops at the announced length
    if request.environ.get("wsgi.input_terminated"):  # the server ends the stream: readable
        request.stream = io.BytesIO(_read_at_most(request.input_stream, limit))


def _read_at_most(stream: IO[bytes], limit: int) -> bytes:
    """The whole of ``stream`` if it holds at most ``limit`` bytes; a 413 once it has more."""
    body = bytearray()
    while piece := _read(stream, limit + 1 - len(body)):
        body += piece
        if len(body) > limit:
            _too_large(limit)
    return bytes(body)


def _read(stream: IO[bytes], size: int) -> bytes:
    try:
        return stream.read(size)
    # Bad chunk framing, or a client gone: each server says so with its own
    # exceptions (gunicorn's are not OSErrors), and none of them is a 500.
    except Exception as error:
        raise BadRequest(f"the chunked body could not be read: {error}") from error


def _too_large(limit: int) -> NoReturn:
    raise RequestEntityTooLarge(f"the body is larger than the limit of {limit} bytes")

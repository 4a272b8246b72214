"""Request bodies are JSON, well-formed and small, or the request is refused early.

flask-openapi3 reads bodies with ``get_json(silent=True)``, which turns a
malformed body or a wrong content type into "no body" and so into a 422 that
says the wrong thing. These checks answer first: 415 for a body that is not
JSON, 400 for JSON that does not parse, 413 (Flask's ``MAX_CONTENT_LENGTH``)
for a body that is too large.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import UnsupportedMediaType

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def init_app(app: Flask) -> None:
    app.before_request(check_body)


def check_body() -> None:
    if request.method not in _WITH_BODY or not _has_body():
        return
    if not request.is_json:
        raise UnsupportedMediaType("send the body as application/json")
    request.get_json()  # parses and caches; malformed JSON raises BadRequest (400)


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")

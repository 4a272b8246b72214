"""What the OpenAPI document says besides the models: the API's description, operation ids,
summaries and descriptions in Markdown, servers, licence, integer formats.

flask-openapi3 builds the document from the views and the pydantic models;
:meth:`alchemy_patterns.web.app.Api.generate_spec_json` then calls
:func:`finish` here, once, so every operation gets the same treatment and a
new view cannot be forgotten.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from flask import Flask

from alchemy_patterns.web.enum_names import objects_in

API_DESCRIPTION = """\
A REST API over the *SQLAlchemy Advanced Patterns Guide*'s domains, built for real: \
a shop (catalogue, cart, idempotent checkout, orders), a veterinary clinic, a school, \
a small social network and the audit trail every change writes. JSON in and out; \
money is a decimal string, times are ISO 8601 in UTC.

## Authentication

Register with `POST /auth/register`, log in with `POST /auth/login` and send the \
`access_token` it answers as `Authorization: Bearer <token>` on every operation that \
needs one (in `/docs`: the **Authorize** button, then paste the token). Tokens expire; \
`POST /auth/logout` revokes one, a password change revokes them all. Operations that \
need no token say `security: []`. A server started with `serve --demo` has two demo \
accounts, `demo` (a user) and `admin` (staff), both with the password `demo password`.

## Errors

Every error is `application/problem+json` (RFC 9457): `type` (`/problems/<code>`, \
stable: branch on it, not on `detail`), `title`, `status`, `detail`, the `request_id` \
to quote, and for invalid input the failing `field`s (`errors`). The types:

| `type` | status | meaning |
|---|---|---|
| `/problems/bad_request` | 400 | the body is not JSON (the detail names line and column) |
| `/problems/authentication_required` | 401 | no token, or one that expired or was revoked |
| `/problems/invalid_credentials` | 401 | wrong login or password |
| `/problems/forbidden` | 403 | the operation needs the admin role |
| `/problems/not_found` | 404 | no such record, or one the caller may not see |
| `/problems/conflict` | 409 | a unique value is taken (`field` names it) |
| `/problems/out_of_stock`, `/problems/empty_cart` | 409 | checkout refused: short lines \
named |
| `/problems/slot_taken`, `/problems/not_the_owner`, `/problems/invalid_transition`, \
`/problems/vet_has_appointments` | 409 | the clinic refuses the change |
| `/problems/email_taken` | 409 | a deleted owner cannot be restored: a live owner has \
registered their e-mail address since (`field`: `email`) |
| `/problems/already_enrolled`, `/problems/enrollment_status_conflict`, \
`/problems/course_has_enrollments` | 409 | the school refuses the change |
| `/problems/invalid_reference` | 409 | the body names a record that does not exist |
| `/problems/stale_version` | 412 | `If-Match` names a version that is no longer current: \
read again (the answer carries the current `ETag`) |
| `/problems/request_entity_too_large` | 413 | the body is over 64 KiB |
| `/problems/unsupported_media_type` | 415 | the body is not `application/json` |
| `/problems/validation_failed`, `/problems/self_follow` | 422 | invalid input, each \
failing field named |
| `/problems/precondition_required` | 428 | a change to a versioned record without `If-Match` |
| `/problems/too_many_attempts` | 429 | too many failed log-ins; see `Retry-After` |
| `/problems/internal_error` | 500 | a bug: quote the request id |
| `/problems/unavailable` | 503 | the database is away; retry after `Retry-After` |

## Pagination

Lists answer a page: `items`, `total`, `links` and `next_cursor`. Ask for \
`page` and `per_page` (20 by default, at most 100); `count=false` skips the total \
for deep pages, `count=estimate` takes PostgreSQL's planner estimate for a list \
it expects past 1,000 rows (`total_is_estimate`). Or follow `next_cursor` with \
`cursor=` (not with `page`): the rows after it, without an offset, so a deep page \
costs what the first does. The feed and a user's posts are cursor-paged only.

## Search

`GET /products?q=` (name and description) and `GET /posts?q=` (body) search in the \
database's own full-text engine: a row matches when it holds any of the words, \
whole and in any case; words under 3 letters and the most common ones are ignored. \
The best matches come first, paged by `page` (a `cursor` with `q` is a 422; give \
`sort` to order by fields and page by cursor). Every database finds the same rows; \
each ranks them its own way.

## Idempotent checkout

Send `POST /checkout` with an `Idempotency-Key` header: a retry with the same key, \
even one sent at the same time, answers the first order (200) instead of placing a \
second (201). Retrying after a timeout or a 503 is then safe.

## Rate limits

Log-in attempts are limited per account and per client address in a sliding \
window: past the limit, `POST /auth/login` answers 429 with `Retry-After` (seconds) \
and the IETF `RateLimit-Policy` (`"account";q=5;w=900`: the limit reached, attempts \
per window of seconds) and `RateLimit` (`"account";r=0;t=42`: none left, seconds \
until the window ends) headers, and verifies no password. A successful log-in clears \
its account's count.

## Read replicas and `Consistency-Token`

A server with read replicas reads GET requests from one of them. Every answer to a \
write that committed carries a `Consistency-Token` header: send it back on later \
GETs and they read data at least as new as that write.
"""

#: What each error status means, for an operation's description.
ERROR_MEANINGS = {
    400: "the body is not JSON",
    401: "no valid token",
    403: "not staff",
    404: "no such record, or not the caller's",
    409: "the change conflicts with the stored data (the problem's `type` says how)",
    413: "the body is too large",
    415: "the body is not JSON",
    422: "invalid input, each failing field named",
    429: "too many attempts (retry after `Retry-After`)",
    500: "a bug (quote the request id)",
    503: "the database is away (retry after `Retry-After`)",
}

_TEXT = {"type": "string"}
#: What a 429 carries (:func:`alchemy_patterns.web.errors.app_error`).
RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}},
    "RateLimit-Policy": {"description": "the limit reached: `q` per `w` seconds", "schema": _TEXT},
    "RateLimit": {"description": "`r` remaining, `t` seconds to the reset", "schema": _TEXT},
}

SERVERS = [{"url": "/", "description": "the server this document comes from"}]
LICENSE = {"name": "MIT", "identifier": "MIT"}
CONTACT = {"name": "alchemy-patterns maintainers"}
INT32 = 2**31


def finish(app: Flask, document: dict[str, Any]) -> None:
    """Complete ``document``: info, servers, operations (ids, texts, security), formats."""
    document["info"]["description"] = API_DESCRIPTION
    document["info"]["license"] = LICENSE
    document["info"]["contact"] = CONTACT
    document["servers"] = SERVERS
    views = dict(_views(app))
    for path, path_item in document["paths"].items():
        for method, operation in path_item.items():
            _describe(operation, views[path, method])
    for schema in objects_in(document):
        _format_integer(schema)
    _markdown(document)


def _views(app: Flask) -> Iterator[tuple[tuple[str, str], Callable[..., Any]]]:
    """``(OpenAPI path, method)`` → view function, for every route of the app."""
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            yield (path, method.lower()), app.view_functions[rule.endpoint]


def operation_id(view: Callable[..., Any]) -> str:
    """The view's name in camelCase: ``list_products`` → ``listProducts``."""
    first, *rest = view.__name__.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _describe(operation: dict[str, Any], view: Callable[..., Any]) -> None:
    """Id, summary and description from the view's docstring; ``security: []`` if public."""
    summary, _, rest = (inspect.getdoc(view) or "").partition("\n")
    operation["operationId"] = operation_id(view)
    operation["summary"] = summary.strip()
    operation["description"] = "\n\n".join(
        part for part in (_paragraphs(rest), _errors(operation)) if part
    )
    operation.setdefault("security", [])
    if "429" in operation.get("responses", {}):
        operation["responses"]["429"]["headers"] = RATE_LIMIT_HEADERS


def _paragraphs(text: str) -> str:
    """A docstring's body as Markdown: lines of a paragraph joined, paragraphs kept."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def _errors(operation: dict[str, Any]) -> str:
    """What the operation answers on error, from the statuses it documents."""
    statuses = sorted(int(s) for s in operation.get("responses", {}) if int(s) >= 400)
    if not statuses:
        return ""
    listed = "; ".join(
        f"{status} {ERROR_MEANINGS.get(status, HTTPStatus(status).phrase)}" for status in statuses
    )
    return f"**On error** (`application/problem+json`): {listed}."


def _format_integer(schema: dict[str, Any]) -> None:
    """``int32`` when the schema's bounds fit in it, ``int64`` otherwise."""
    if schema.get("type") != "integer" or "format" in schema:
        return
    low, high = schema.get("minimum"), schema.get("maximum")
    fits = low is not None and high is not None and low >= -INT32 and high < INT32
    schema["format"] = "int32" if fits else "int64"


def _markdown(document: dict[str, Any]) -> None:
    """Every description in Markdown: reST's double backticks and ``<br/>`` rewritten."""
    for node in objects_in(document):
        for key in ("description", "summary"):
            if isinstance(node.get(key), str):
                text = node[key].replace("<br/>", "\n")
                node[key] = re.sub(r"``([^`]+)``", r"`\1`", text)

"""What the API says besides the domains' own models: problems, pages, paths, queries."""

from __future__ import annotations

import copy
from typing import Any, Generic, TypedDict, TypeVar

from flask import request, url_for
from pydantic import BaseModel, ConfigDict, Field, field_validator

from alchemy_patterns.db import Page
from alchemy_patterns.db.pagination import MAX_PER_PAGE
from alchemy_patterns.domains.schemas import refuse_nul

T = TypeVar("T")

_PROBLEM_REF = {"schema": {"$ref": "#/components/schemas/Problem"}}


class ProblemField(BaseModel):
    field: str
    message: str
    type: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem; ``type`` is stable, ``detail`` is for people."""

    # flask-openapi3 reads "openapi_extra": problems are documented as problem+json too.
    model_config = ConfigDict(
        extra="allow",
        openapi_extra={"content": {"application/problem+json": _PROBLEM_REF}},  # type: ignore[typeddict-unknown-key]
    )

    type: str
    title: str
    status: int
    detail: str
    request_id: str | None = None
    field: str | None = None
    errors: list[ProblemField] | None = None


class Query(BaseModel):
    """Query strings: an unknown parameter is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")

    _no_nul = field_validator("*", mode="after")(refuse_nul)

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The JSON schema, generated once per model and arguments, then copied.

        flask-openapi3 (4.3) asks for the query model's schema on every request
        to read its properties; generating it was a sixth of a list request's
        time. A class never changes its schema, so it is made once; each caller
        gets its own copy, so nobody can alter the cached one.
        """
        key = (cls, args, tuple(sorted(kwargs.items())))
        if key not in _QUERY_SCHEMAS:
            _QUERY_SCHEMAS[key] = super().model_json_schema(*args, **kwargs)
        return copy.deepcopy(_QUERY_SCHEMAS[key])


#: Query models' JSON schemas by (model, arguments); see :meth:`Query.model_json_schema`.
_QUERY_SCHEMAS: dict[tuple[Any, ...], dict[str, Any]] = {}


class PageQuery(Query):
    """``page`` from 1, ``per_page`` up to 100: more is refused (422), never silently capped."""

    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(20, ge=1, le=MAX_PER_PAGE)
    count: bool = Field(
        True,
        description=(
            "false skips counting the whole list, for deep pages of a long one: "
            "`total` and `pages` are then null and `links.last` is absent; "
            "`links.next` is still given when another page follows"
        ),
    )

    def paging(self) -> Paging:
        """The arguments every list service takes: ``service(session, **query.paging())``."""
        return Paging(page=self.page, per_page=self.per_page, count=self.count)


class Paging(TypedDict):
    page: int
    per_page: int
    count: bool


class CursorQuery(Query):
    cursor: str | None = Field(None, max_length=500)
    per_page: int = Field(20, ge=1, le=MAX_PER_PAGE)


class Links(BaseModel):
    self: str
    first: str
    last: str | None = Field(None, description="absent when the list was not counted")
    next: str | None
    prev: str | None


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int | None = Field(description="null when the list was not counted (count=false)")
    pages: int | None = Field(description="null when the list was not counted (count=false)")
    links: Links

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        # OpenAPI names allow no brackets: OwnerOutPage, not PageOut[OwnerOut].
        return f"{params[0].__name__}Page"


class CursorPageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
    next: str | None

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        return f"{params[0].__name__}CursorPage"


def _link(page: int) -> str:
    args = {**(request.view_args or {}), **request.args.to_dict(), "page": page}
    return url_for(str(request.endpoint), **args)


def page_out(page: Page[Any]) -> dict[str, Any]:
    """A page with its total and the links to its neighbours, as the API returns it.

    An uncounted page (``count=false``) has no total, so no link to the last.
    """
    links = {
        "self": _link(page.page),
        "first": _link(1),
        "next": _link(page.page + 1) if page.has_next else None,
        "prev": _link(page.page - 1) if page.has_prev else None,
    }
    if page.pages is not None:
        links["last"] = _link(page.pages)
    return {
        "items": page.items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
        "links": links,
    }


def cursor_page_out(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    args = {**(request.view_args or {}), **request.args.to_dict()}
    following = url_for(str(request.endpoint), **(args | {"cursor": next_cursor}))
    return {"items": items, "next_cursor": next_cursor, "next": following if next_cursor else None}

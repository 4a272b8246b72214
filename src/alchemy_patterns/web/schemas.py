"""What the API says besides the domains' own models: problems, pages, paths, queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, NoReturn, TypedDict, TypeVar

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


class SharedSchema(BaseModel):
    """A model whose JSON schema is generated once and shared (query and header models)."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The JSON schema, generated once per model and arguments, and read-only.

        flask-openapi3 (4.3) asks for the query and header models' schemas on
        every request to read their properties; generating one was a sixth of
        a list request's time. A class never changes its schema, so it is made
        once and shared; shared, it must not change, so its mappings refuse to
        be written (``TypeError``) rather than be copied on every call.
        """
        key = (cls, args, tuple(sorted(kwargs.items())))
        if key not in _QUERY_SCHEMAS:
            _QUERY_SCHEMAS[key] = _read_only(super().model_json_schema(*args, **kwargs))
        return _QUERY_SCHEMAS[key]


class Query(SharedSchema):
    """Query strings: an unknown parameter is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")

    _no_nul = field_validator("*", mode="after")(refuse_nul)


class Header(SharedSchema):
    """Request headers the operation reads; the others a request carries are ignored."""


class ReadOnlyDict(dict[str, Any]):
    """A ``dict`` whose every change is a ``TypeError``: a value shared by all its readers."""

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("this schema is shared and read-only: copy it to change it")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse


def _read_only(value: Any) -> Any:
    if isinstance(value, dict):
        return ReadOnlyDict({key: _read_only(item) for key, item in value.items()})
    if isinstance(value, list):
        return [_read_only(item) for item in value]
    return value


#: Query and header models' JSON schemas by (model, arguments); see :class:`SharedSchema`.
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


#: Stands for the page number in the one URL built per page of links.
_PAGE_SLOT = "page=PAGE_SLOT"


def _page_links() -> Callable[[int], str]:
    """``link(n)``: this request's URL on page ``n``, its other parameters as they were.

    The URL is built once (``url_for`` is the costly part) with a slot for the
    page number, and each link fills the slot.
    """
    args = {**(request.view_args or {}), **request.args.to_dict(), "page": "PAGE_SLOT"}
    template = url_for(str(request.endpoint), **args)
    return lambda number: template.replace(_PAGE_SLOT, f"page={number}")


def page_out(page: Page[Any]) -> dict[str, Any]:
    """A page with its total and the links to its neighbours, as the API returns it.

    An uncounted page (``count=false``) has no total, so no link to the last.
    """
    link = _page_links()
    links: dict[str, str | None] = {"self": link(page.page), "first": link(1)}
    if page.pages is not None:
        links["last"] = link(page.pages)
    links["next"] = link(page.page + 1) if page.has_next else None
    links["prev"] = link(page.page - 1) if page.has_prev else None
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

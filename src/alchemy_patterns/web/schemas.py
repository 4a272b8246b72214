"""What the API says besides the domains' own models: problems, pages, paths, queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, NoReturn, TypeVar
from urllib.parse import quote, urlencode

from flask import request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from alchemy_patterns.db import Page, PageArgs
from alchemy_patterns.db.pagination import ESTIMATE_ABOVE, MAX_PER_PAGE, Counting
from alchemy_patterns.domains.schemas import refuse_nul

T = TypeVar("T")
F = TypeVar("F", bound=BaseModel)

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


class AsOfQuery(Query):
    """A historied record's read: as it is now, or as it was at ``as_of``."""

    as_of: AwareDatetime | None = Field(
        None,
        description="an ISO 8601 instant with its offset (`2026-12-01T09:00:00Z`): "
        "the record as it was then",
    )


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


_CURSOR_HELP = (
    "Walk a long list with this instead of page numbers: pass a page's `next_cursor` "
    "(or follow its `links.next`) to read the rows after it, in the same order. A page "
    "read by cursor costs what the first page does, however deep; a page number N "
    "skips (N - 1) x per_page rows first. Opaque: a cursor changed by hand is refused "
    "(422 on `cursor`), and it cannot be combined with `page`. Rows added meanwhile "
    "do not shift or repeat the rows still to come."
)
_COUNT_HELP = (
    "How `total` is found. true (the default): counted exactly. false: not counted, "
    "for deep pages of a long list; `total` and `pages` are null and `links.last` is "
    "absent, `links.next` is still given when another page follows. estimate: on "
    f"PostgreSQL, a list the query planner expects past {ESTIMATE_ABOVE:,} rows gets the "
    "planner's estimate (no row is read; `total_is_estimate` is then true and "
    "`links.last` absent) and a shorter one is counted exactly; other databases count "
    "exactly."
)


SEARCH_HELP = (
    "Words to search for (full-text, in the database's own engine): a row matches when it "
    "holds any of them, whole and in any case, and the best matches come first unless "
    "`sort` is given. Words of fewer than 3 letters and the most common words (the, and, "
    "with...) are ignored; a `q` of nothing else is a 422. Each database ranks in its own "
    "way (PostgreSQL by the words' frequency in the row, SQLite and MariaDB also by their "
    "rarity in the table): the same rows match everywhere, their order may differ. Ordered "
    "by relevance, a search pages by `page`: a `cursor` is a 422 (a rank is not a stable "
    "place in the list, it moves as rows are added)."
)


class PageQuery(Query):
    """``page`` from 1, ``per_page`` up to 100: more is refused (422), never silently capped.

    ``cursor`` reads the page after a page's last row instead of page ``page``;
    ``page`` is None unless the client gave it, so that giving both is a 422.
    """

    page: int | None = Field(
        None, ge=1, le=1_000_000, description="the page's number, 1 when absent"
    )
    per_page: int = Field(20, ge=1, le=MAX_PER_PAGE)
    count: Counting = Field(True, description=_COUNT_HELP)
    cursor: str | None = Field(None, min_length=1, max_length=500, description=_CURSOR_HELP)

    @field_validator("cursor", mode="after")
    @classmethod
    def _cursor_or_page(cls, cursor: str | None, info: ValidationInfo) -> str | None:
        if cursor is not None and info.data.get("page") is not None:
            raise ValueError("give a cursor or a page number, not both")
        return cursor

    def paging(self) -> PageArgs:
        """The arguments every list service takes: ``service(session, **query.paging())``."""
        return PageArgs(
            page=self.page or 1, per_page=self.per_page, count=self.count, cursor=self.cursor
        )


def filters_of(query: BaseModel, model: type[F]) -> F:
    """The part of a list's query that is ``model`` (its filters and sort), for the service.

    A list's query class inherits both :class:`PageQuery` and the domain's
    filter model, so the query string is one flat set of parameters (and an
    unknown one is a 422); the service takes the filter model alone.
    """
    return model.model_validate(query.model_dump(include=set(model.model_fields)))


class CursorQuery(Query):
    cursor: str | None = Field(
        None,
        max_length=500,
        description="a page's `next_cursor`: reads the rows after that page (opaque; a "
        "cursor changed by hand is refused, 422 on `cursor`)",
    )
    per_page: int = Field(20, ge=1, le=MAX_PER_PAGE)


class Links(BaseModel):
    self: str
    first: str
    last: str | None = Field(
        None, description="absent when the list was not counted exactly, or read by cursor"
    )
    next: str | None = Field(
        description="the next page: by number, or by cursor when this page was read by one"
    )
    prev: str | None = Field(description="null on page 1 and on a page read by cursor")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    page: int | None = Field(description="null when the page was read by cursor")
    per_page: int
    total: int | None = Field(description="null when the list was not counted (count=false)")
    pages: int | None = Field(description="null when the list was not counted (count=false)")
    total_is_estimate: bool = Field(
        description="true when `total` is the planner's estimate (count=estimate, long list)"
    )
    next_cursor: str | None = Field(
        description="pass as `cursor` to read the rows after this page; null on the last"
    )
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


#: Stands for the page number, or the cursor, in the one URL built per page of links.
_SLOT = "SLOT"


def _link_template(name: str) -> str:
    """This request's URL with ``name=SLOT`` (``page`` or ``cursor``) and without the other.

    Built once per page of links from the request's own path and arguments,
    quoted as Werkzeug's routing quotes them: ``url_for`` would match the
    endpoint's rule again only to rebuild the path the request already has,
    which cost more than the rest of the page's handling. The parameters keep
    the request's order.
    """
    args = request.args.to_dict()
    args.pop("cursor" if name == "page" else "page", None)
    args[name] = _SLOT
    path = quote(request.script_root + request.path, safe=_PATH_SAFE)
    return f"{path}?{urlencode(args, safe=_QUERY_SAFE)}"


#: The characters Werkzeug's URL building leaves unquoted in a path and in a query.
_PATH_SAFE, _QUERY_SAFE = "!$&'()*+,/:;=@", "!$'()*,/:;?@"


def _page_links() -> Callable[[int], str]:
    """``link(n)``: this request's URL on page ``n``, its other parameters as they were."""
    template = _link_template("page")
    return lambda number: template.replace(f"page={_SLOT}", f"page={number}")


def _cursor_links() -> Callable[[str], str]:
    """``link(cursor)``: this request's URL reading after ``cursor``, no page number."""
    template = _link_template("cursor")
    return lambda cursor: template.replace(f"cursor={_SLOT}", f"cursor={cursor}")


def page_out(page: Page[Any]) -> dict[str, Any]:
    """A page with its total and the links to its neighbours, as the API returns it.

    A page without an exact total (``count=false``, or an estimate) has no
    link to the last. A page read by cursor links its next page by cursor:
    no number, and no previous page (a cursor reads forwards).
    """
    link = _page_links()
    links: dict[str, str | None]
    if page.page is None:
        after = _cursor_links()
        links = {"self": after(request.args["cursor"]), "first": link(1)}
        links["next"] = after(page.next_cursor) if page.next_cursor else None
        links["prev"] = None
    else:
        links = {"self": link(page.page), "first": link(1)}
        if page.pages is not None and not page.total_is_estimate:
            links["last"] = link(page.pages)
        links["next"] = link(page.page + 1) if page.has_next else None
        links["prev"] = link(page.page - 1) if page.has_prev else None
    return {
        "items": page.items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
        "total_is_estimate": page.total_is_estimate,
        "next_cursor": page.next_cursor,
        "links": links,
    }


def cursor_link(next_cursor: str | None) -> str | None:
    """This request's URL reading the page after ``next_cursor``; None on the last page."""
    return None if next_cursor is None else _cursor_links()(next_cursor)


def cursor_page_out(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor, "next": cursor_link(next_cursor)}

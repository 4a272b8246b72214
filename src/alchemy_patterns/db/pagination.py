"""Reading in pages: offset pages with a total, keyset pages with a cursor.

Offset pagination (``LIMIT/OFFSET``) suits numbered pages of a stable list; its
total is one ``COUNT(*)`` over the statement without its ORDER BY (sorting rows
only to count them is wasted work). Keyset pagination suits feeds: it costs the
same on page 1000 as on page 1, and rows inserted while a client pages through
neither repeat nor shift the pages it has not read yet.

:func:`paginate` offers both on one list: numbered pages for the first few,
and a cursor (``paginate(cursor=page.next_cursor)``) to walk on without an
OFFSET, in the statement's own ORDER BY. The total can be exact, skipped, or
estimated by the planner for a long list (``count="estimate"``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, Literal, TypedDict, TypeVar, Unpack, overload
from weakref import WeakKeyDictionary

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Row,
    Select,
    Subquery,
    and_,
    bindparam,
    func,
    inspect,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Dialect, Result
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption
from sqlalchemy.sql import operators
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement, UnaryExpression
from sqlalchemy.sql.selectable import ForUpdateParameter

from alchemy_patterns.db.direct import is_prepared, prepared
from alchemy_patterns.db.errors import NotFound, ValidationFailed
from alchemy_patterns.db.session import execute_core

__all__ = [
    "Counting",
    "GetOptions",
    "KeysetPage",
    "Page",
    "PageArgs",
    "count",
    "exists",
    "get_or_raise",
    "keyset_after",
    "keyset_paginate",
    "keyset_position",
    "paginate",
    "stream",
]

T = TypeVar("T")
U = TypeVar("U")
M = TypeVar("M")

#: Any SELECT, of one column or entity or of several (``Select`` is variadic in 2.1).
AnySelect = Select[*tuple[Any, ...]]
AnyRow = Row[*tuple[Any, ...]]
#: The values of a statement's own ``bindparam()``s.
Params = Mapping[str, Any] | None

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
#: ``count="estimate"`` counts exactly up to this many rows, and estimates beyond.
ESTIMATE_ABOVE = 1000

#: How a page's total is found: counted (True), skipped (False), or ``"estimate"``.
Counting = bool | Literal["estimate"]


class PageArgs(TypedDict, total=False):
    """What a client chooses of a page, as :func:`paginate` takes it.

    A list service takes them as ``**paging: Unpack[PageArgs]`` and hands them
    on (``paginate(session, stmt, **paging)``): each list offers numbered pages,
    cursors and the three ways of counting without repeating them.
    """

    page: int
    per_page: int
    count: Counting
    cursor: str | None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page and enough to link to the others.

    ``page`` is the page's number, or None for a page read after a cursor.
    ``total`` is None when the list was not counted (``paginate(count=False)``),
    and the planner's estimate when ``total_is_estimate``; ``has_next`` is
    known either way. ``next_cursor`` reads the page that follows this one,
    whether this one was numbered or not (None on the last).
    """

    items: list[T]
    page: int | None
    per_page: int
    total: int | None
    has_next: bool
    next_cursor: str | None = None
    total_is_estimate: bool = False

    @property
    def pages(self) -> int | None:
        if self.total is None:
            return None
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page is not None and self.page > 1

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        """The same page with each item converted (an ORM object to its schema, say)."""
        items = [convert(item) for item in self.items]
        return Page(
            items,
            self.page,
            self.per_page,
            self.total,
            self.has_next,
            self.next_cursor,
            self.total_is_estimate,
        )


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    """One page of a keyset-paginated read; ``next_cursor`` is None on the last."""

    items: list[T]
    next_cursor: str | None

    def map(self, convert: Callable[[T], U]) -> KeysetPage[U]:
        """The same page with each item converted."""
        return KeysetPage([convert(item) for item in self.items], self.next_cursor)


def _check_page_size(per_page: int, max_per_page: int) -> None:
    if not 1 <= per_page <= max_per_page:
        raise ValidationFailed(
            f"per_page must be between 1 and {max_per_page}, not {per_page}",
            columns=("per_page",),
        )


def _width(stmt: AnySelect) -> int:
    """How many values each result row of ``stmt`` holds.

    ``selected_columns`` is no guide: ``select(User)`` has one entity per row
    but lists every column of the table there.
    """
    return len(stmt.column_descriptions)


def _rows(session: Session, stmt: AnySelect, params: Params = None) -> list[Any]:
    """Entities or single values as themselves; several columns as rows.

    The result's keys tell the width (``select(User)`` has one, an entity),
    where ``selected_columns`` would list every column of the table and
    ``column_descriptions`` costs more than the rest of a small page's handling.
    """
    result = _execute(session, stmt, params)
    # all(): the driver hands over the page at once; iterating fetches row by row.
    return list(result.scalars().all() if len(result.keys()) == 1 else result.all())


def count(session: Session, stmt: AnySelect) -> int:
    """Rows ``stmt`` would return: ``COUNT(*)`` over it without ORDER BY, LIMIT or OFFSET."""
    return _count(session, stmt)


def _count(session: Session, stmt: AnySelect, params: Params = None) -> int:
    return _execute(session, _derive(stmt, "count", _counting), params).scalar() or 0


def _execute(session: Session, stmt: AnySelect, params: Params = None) -> Result[*tuple[Any, ...]]:
    """``session.execute()``, or for a statement on tables only :func:`execute_core`.

    A page of a list read as Core (the catalogue) then runs without the
    Session's per-execution ORM dispatch; whether a statement is one is read
    once per statement object, as the other forms paginate() keeps.
    """
    if _derive(stmt, "core", _names_no_mapped_class):
        return execute_core(session, stmt, params)
    return session.execute(stmt, params)


def _names_no_mapped_class(stmt: AnySelect) -> bool:
    # SQLAlchemy marks a statement that names a mapped class anywhere (columns,
    # FROM, WHERE) for its ORM plugin; the ORM's execution is needed then.
    return stmt._propagate_attrs.get("compile_state_plugin") != "orm"


def _counting(stmt: AnySelect) -> AnySelect:
    inner = stmt.order_by(None).limit(None).offset(None).subquery()
    return select(func.count()).select_from(inner)


# What paginate() makes of a statement (its page, with LIMIT and OFFSET bound
# at execution; its COUNT; its order) is kept as long as the statement lives:
# a service that builds its SELECT once then builds none of these per call,
# which for a small page cost more than the database took to run it.
_derived: WeakKeyDictionary[AnySelect, dict[str, Any]] = WeakKeyDictionary()
_LIMIT = bindparam("alchemy_patterns_limit", type_=Integer)
_OFFSET = bindparam("alchemy_patterns_offset", type_=Integer)


def _derive(stmt: AnySelect, what: str, build: Callable[[AnySelect], Any]) -> Any:
    """``build(stmt)``, made once per statement object (two threads may both make it: harmless).

    A statement form of a :func:`~alchemy_patterns.db.prepared` statement is
    prepared too: it is made once, as its statement was.
    """
    forms = _forms_of(stmt)
    form = forms.get(what)
    if form is None:
        form = forms[what] = _prepared_as(stmt, build(stmt))
    return form


def _prepared_as(stmt: AnySelect, form: Any) -> Any:
    """``form``, marked prepared if it is a statement derived once from a prepared ``stmt``."""
    return prepared(form) if isinstance(form, Executable) and is_prepared(stmt) else form


def _forms_of(stmt: AnySelect) -> dict[Any, Any]:
    forms = _derived.get(stmt)
    if forms is None:
        forms = _derived.setdefault(stmt, {})
    return forms


def _paged(stmt: AnySelect) -> AnySelect:
    return stmt.limit(_LIMIT).offset(_OFFSET)


def _ordered_parts(stmt: AnySelect) -> list[tuple[ColumnElement[Any], bool]]:
    return _order_parts(_order_of(stmt))


#: Builds the SELECT of a page from its rows, as a subquery (per-row aggregates, say).
Enrich = Callable[[Subquery], AnySelect]


@overload
def paginate(
    session: Session,
    stmt: AnySelect,
    *,
    page: int = ...,
    per_page: int = ...,
    max_per_page: int = ...,
    count: Counting = ...,
    enrich: Enrich,
    cursor: str | None = ...,
    estimate_above: int = ...,
    params: Params = ...,
) -> Page[AnyRow]: ...


@overload
def paginate(
    session: Session,
    stmt: Select[T],
    *,
    page: int = ...,
    per_page: int = ...,
    max_per_page: int = ...,
    count: Counting = ...,
    cursor: str | None = ...,
    estimate_above: int = ...,
    params: Params = ...,
) -> Page[T]: ...


@overload
def paginate(
    session: Session,
    stmt: AnySelect,
    *,
    page: int = ...,
    per_page: int = ...,
    max_per_page: int = ...,
    count: Counting = ...,
    cursor: str | None = ...,
    estimate_above: int = ...,
    params: Params = ...,
) -> Page[AnyRow]: ...


def paginate(
    session: Session,
    stmt: AnySelect,
    *,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
    max_per_page: int = MAX_PER_PAGE,
    count: Counting = True,
    enrich: Enrich | None = None,
    cursor: str | None = None,
    estimate_above: int = ESTIMATE_ABOVE,
    params: Params = None,
) -> Page[Any]:
    """Page number ``page`` (1-based) of ``stmt``, or the page after ``cursor``, and the total.

    A ``per_page`` beyond ``max_per_page`` or a page below 1 is refused with
    :class:`ValidationFailed` rather than silently capped: a client asking for
    10,000 rows should learn it gets 100. The count is skipped when the page
    itself shows where the list ends (a short page, not past the end).

    ``cursor`` (a page's ``next_cursor``) reads the rows after the last one of
    that page in ``stmt``'s ORDER BY, which must end in a unique column: a
    condition an index on the order serves as a range, so a page deep in the
    list costs what the first does, where an OFFSET reads every row it skips.
    Every page, numbered or not, gives the cursor of the page after it, read
    from its last row (an entity's attributes, or the row's columns: a
    numbered page whose rows hold neither gives none). A cursor with a page
    number beyond 1 is refused; so is a damaged cursor (``ValidationFailed``
    on ``cursor``); a cursor for a statement without ORDER BY is a
    ``ValueError``.

    ``count=False`` skips the total (``total`` is None): a deep page of a
    large list is then one statement, not a page and a ``COUNT(*)`` of the
    whole list. ``count="estimate"`` gives a list PostgreSQL's planner expects
    past ``estimate_above`` rows the planner's figure (``total_is_estimate``),
    and counts a shorter one (at most ``estimate_above`` + 1 rows); elsewhere
    it counts exactly. Unless
    counted exactly, one row more than the page is read to tell whether
    another page follows.

    ``enrich`` is given the page's rows as a subquery and returns the SELECT
    the page is read with (it must order it again): per-row aggregates (a
    club's member count) are then computed for the rows of the page only,
    not for every row an OFFSET skips. The total counts ``stmt`` alone.

    ``params`` are the values of ``stmt``'s own ``bindparam()``s. What
    paginate makes of ``stmt`` (its page, its count) is made once per
    statement object: build a list's SELECT once, with ``bindparam()`` for
    what varies, and the per-call cost is the execution alone.
    """
    _check_page_size(per_page, max_per_page)
    if page < 1:
        raise ValidationFailed(f"page must be 1 or more, not {page}", columns=("page",))
    if cursor is not None and page != 1:
        raise ValidationFailed(
            "a cursor reads the page after its row: give a cursor or a page, not both",
            columns=("cursor",),
        )
    parts: list[tuple[ColumnElement[Any], bool]] = _derive(stmt, "order", _ordered_parts)
    if cursor is not None:
        if not parts:
            raise ValueError("a cursor is a position in an order: the statement has no ORDER BY")
        after = stmt.where(_after(parts, _position(parts, cursor, _dialect(session, stmt))))
        page_of = _Paging(per_page, count, enrich, parts, estimate_above, params)
        return _page(session, stmt, after, 0, None, page_of)
    offset = (page - 1) * per_page
    if count is not True:
        page_of = _Paging(per_page, count, enrich, parts, estimate_above, params)
        return _page(session, stmt, stmt, offset, page, page_of)
    items = _page_rows(session, stmt, offset, per_page, enrich, params)
    if 0 < len(items) < per_page or (page == 1 and not items):
        total = offset + len(items)
    else:
        total = _count(session, stmt, params)
    has_next = offset + per_page < total
    next_cursor = _next_cursor(items, parts, has_next, strict=False)
    return Page(items, page, per_page, total, has_next, next_cursor)


@dataclass(frozen=True)
class _Paging:
    """What the client asked of a page, besides where it starts."""

    per_page: int
    count: Counting
    enrich: Enrich | None
    parts: list[tuple[ColumnElement[Any], bool]]
    estimate_above: int
    params: Params


def _page(
    session: Session,
    stmt: AnySelect,
    paged: AnySelect,
    offset: int,
    page: int | None,
    paging: _Paging,
) -> Page[Any]:
    """A page read one row long (that row tells whether another follows), and its total."""
    per_page, params = paging.per_page, paging.params
    rows = _page_rows(session, paged, offset, per_page + 1, paging.enrich, params)
    items, has_next = rows[:per_page], len(rows) > per_page
    total: int | None = None
    estimated = False
    if paging.count is True:
        total = _count(session, stmt, params)
    elif paging.count == "estimate":
        total, estimated = _estimate(session, stmt, paging.estimate_above, params)
    next_cursor = _next_cursor(items, paging.parts, has_next, strict=page is None)
    return Page(items, page, per_page, total, has_next, next_cursor, estimated)


def _order_of(stmt: AnySelect) -> Sequence[ColumnElement[Any]]:
    """The statement's ORDER BY terms: the order its cursors are positions in.

    Read from the statement, the one place the list's order is written, so
    that the cursor cannot disagree with the pages.
    """
    return stmt._order_by_clauses


def _dialect(session: Session, stmt: AnySelect) -> Dialect:
    return session.get_bind(clause=stmt).dialect


def _page_rows(
    session: Session,
    stmt: AnySelect,
    offset: int,
    limit: int,
    enrich: Enrich | None,
    params: Params = None,
) -> list[Any]:
    bounds = {**(params or {}), _LIMIT.key: limit, _OFFSET.key: offset}
    if enrich is None:
        return _rows(session, _derive(stmt, "page", _paged), bounds)
    # ``enrich`` may be a new function each call: what it builds is not kept.
    return _rows(session, enrich(_paged(stmt).subquery("page")), bounds)


def _next_cursor(
    items: list[Any], parts: list[tuple[ColumnElement[Any], bool]], has_next: bool, strict: bool
) -> str | None:
    """The cursor of the page after ``items``: its last row's values of the order's columns.

    A numbered page whose rows do not hold the order's columns (a single
    value, say) simply gives no cursor (``strict`` False); a page read by
    cursor must give the next one, so there it is a programming error.
    """
    if not has_next or not items or not parts:
        return None
    try:
        return encode_cursor([_value_of(items[-1], column) for column, _ in parts])
    except (KeyError, InvalidRequestError) as error:
        if strict:
            raise TypeError(
                "a page read by cursor must hold its ORDER BY's columns to give the next"
            ) from error
        return None


def _value_of(item: Any, column: ColumnElement[Any]) -> Any:
    """``column``'s value in a row of the page: an entity's attribute or a row's column.

    A row read through ``enrich`` holds the subquery's copy of the column,
    found by its name; a row of entities holds it as an entity's attribute.
    """
    if not isinstance(item, Row):
        return _attribute_of(item, column)
    mapping = item._mapping
    if column in mapping:
        return mapping[column]
    for value in item:
        try:
            return _attribute_of(value, column)
        except (KeyError, InvalidRequestError):
            continue
    return mapping[str(column.key)]


def _attribute_of(entity: Any, column: ColumnElement[Any]) -> Any:
    """The attribute ``column`` is mapped to on ``entity``; ``InvalidRequestError`` else."""
    mapper = inspect(entity).mapper
    return getattr(entity, mapper.get_property_by_column(column).key)


# --- estimated totals ------------------------------------------------------------


class _Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON) <select>``: the plan, and so the planner's row estimate."""

    inherit_cache = False

    def __init__(self, stmt: AnySelect) -> None:
        self.stmt = stmt


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: Any, **kw: Any) -> str:
    return f"EXPLAIN (FORMAT JSON) {compiler.process(element.stmt, **kw)}"


def _estimate(
    session: Session, stmt: AnySelect, above: int, params: Params = None
) -> tuple[int, bool]:
    """The total: PostgreSQL's estimate past ``above`` rows (and True), else exact.

    On PostgreSQL the planner says first how many rows it expects from the
    statement (``EXPLAIN``: its statistics and the filters applied, no row
    read); a list it expects past ``above`` rows gets that figure. Below,
    the rows are counted, but never more than ``above`` + 1 of them: a list
    the planner underestimated still costs a bounded count, and gets the
    larger of the two figures as its estimate. MariaDB's and SQLite's plans
    give no such figure for a whole statement, so there the list is counted
    exactly.
    """
    bare = stmt.order_by(None).limit(None).offset(None)
    postgresql = _dialect(session, stmt).name == "postgresql"
    planned = _planned_rows(session, bare, params) if postgresql else 0
    if planned > above:
        return planned, True
    capped = select(func.count()).select_from(bare.limit(above + 1).subquery())
    counted = session.scalar(capped, params) or 0
    if counted <= above:
        return counted, False
    if postgresql:
        return max(planned, counted), True
    return _count(session, stmt, params), False


def _planned_rows(session: Session, stmt: AnySelect, params: Params = None) -> int:
    """The rows PostgreSQL's planner expects ``stmt`` to return."""
    rows = select(literal(1)).select_from(stmt.subquery())
    plan = session.execute(_Explain(rows), params).scalar_one()
    return int(plan[0]["Plan"]["Plan Rows"])


# --- keyset ------------------------------------------------------------------


def _order_parts(order_by: Sequence[ColumnElement[Any]]) -> list[tuple[ColumnElement[Any], bool]]:
    """(column, descending) for each ORDER BY term."""
    parts: list[tuple[ColumnElement[Any], bool]] = []
    for term in order_by:
        if isinstance(term, UnaryExpression) and term.modifier in (
            operators.desc_op,
            operators.asc_op,
        ):
            parts.append((term.element, term.modifier is operators.desc_op))
        else:
            parts.append((term, False))
    return parts


def _after(parts: list[tuple[ColumnElement[Any], bool]], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the given order (a OR-chain, any mix of directions).

    The chain is led by an inclusive bound on the first column, which it implies,
    so that an index on that column can serve the read as a range scan.
    """
    alternatives = []
    for i, (column, descending) in enumerate(parts):
        equal = [parts[j][0] == values[j] for j in range(i)]
        beyond = column < values[i] if descending else column > values[i]
        alternatives.append(and_(*equal, beyond))
    first, descending = parts[0]
    bound = first <= values[0] if descending else first >= values[0]
    return and_(bound, or_(*alternatives))


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"dec": str(value)}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    return value


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    (tag, text), *_ = value.items()
    decoders: dict[str, Callable[[str], Any]] = {
        "dt": dt.datetime.fromisoformat,
        "d": dt.date.fromisoformat,
        "dec": Decimal,
        "uuid": uuid.UUID,
    }
    return decoders[tag](text)


#: ``json.dumps(..., separators=...)`` makes an encoder per call: most of a cursor's cost.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque, URL-safe token for a position in a keyset order."""
    raw = _COMPACT_JSON.encode([_encode(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    """The position a cursor stands for; a damaged cursor is a ``ValidationFailed``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = [_decode(v) for v in json.loads(raw)]
    except (ValueError, KeyError, TypeError, ArithmeticError) as error:
        # ArithmeticError: decimal.InvalidOperation, from Decimal("not a number")
        raise ValidationFailed("cursor is not valid", columns=("cursor",)) from error
    if len(values) != width:
        raise ValidationFailed("cursor is not valid", columns=("cursor",))
    return values


def _python_type(column: ColumnElement[Any]) -> type | None:
    try:
        python_type: type = column.type.python_type
    except (AttributeError, NotImplementedError):
        return None
    return python_type


def _integer_bounds(column: ColumnElement[Any]) -> tuple[int, int]:
    """What the column's integer type can hold: 32 bits, or 64 for BIGINT."""
    bits = 64 if isinstance(column.type, BigInteger) else 32
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _fits(value: Any, expected: type, column: ColumnElement[Any]) -> bool:
    if isinstance(value, bool) and expected is not bool:
        return False
    if expected is int and isinstance(value, int):
        low, high = _integer_bounds(column)
        return low <= value <= high
    if expected is float:
        return isinstance(value, int | float)
    return isinstance(value, expected)


def _check_cursor_values(
    parts: list[tuple[ColumnElement[Any], bool]], values: list[Any], dialect: Dialect
) -> None:
    """Refuse a cursor whose values the key columns could not take.

    A hand-edited cursor decodes to well-formed JSON of the wrong kind (a string
    where the id goes, a naive datetime): it must be the client's
    ``ValidationFailed``, not a driver error or an ``AttributeError`` deep in a
    bind processor.
    """
    for (column, _), value in zip(parts, values, strict=True):
        if value is None:
            continue
        expected = _python_type(column)
        if expected is not None and not _fits(value, expected, column):
            raise ValidationFailed("cursor is not valid", columns=("cursor",))
        processor = column.type.bind_processor(dialect)
        if processor is None:
            continue
        try:
            processor(value)
        except (ValueError, TypeError, AttributeError, ArithmeticError) as error:
            raise ValidationFailed("cursor is not valid", columns=("cursor",)) from error


def _position(
    parts: list[tuple[ColumnElement[Any], bool]], cursor: str, dialect: Dialect
) -> list[Any]:
    values = decode_cursor(cursor, len(parts))
    _check_cursor_values(parts, values, dialect)
    return values


def keyset_position(
    session: Session, order_by: Sequence[ColumnElement[Any]], cursor: str | None
) -> list[Any] | None:
    """The key values ``cursor`` stands for in ``order_by``; None without a cursor.

    For reads that page inside a subquery (the top rows of each group, say)
    rather than at the top of the statement as :func:`keyset_paginate` does;
    :func:`keyset_after` makes the condition. The cursor is checked as it is
    there: a damaged one is a ``ValidationFailed``.
    """
    if cursor is None:
        return None
    return _position(_order_parts(order_by), cursor, session.get_bind().dialect)


def keyset_after(
    order_by: Sequence[ColumnElement[Any]], values: Sequence[Any]
) -> ColumnElement[bool]:
    """The rows strictly after ``values`` in ``order_by`` order.

    ``values`` may be plain values (a :func:`keyset_position`) or columns of
    another table, bound to the same position. The condition leads with an inclusive
    bound on the first column, so an index on the order serves it as a range.
    """
    return _after(_order_parts(order_by), list(values))


@overload
def keyset_paginate(
    session: Session,
    stmt: Select[T],
    order_by: Sequence[ColumnElement[Any]],
    *,
    cursor: str | None = ...,
    per_page: int = ...,
    max_per_page: int = ...,
    params: Mapping[str, Any] | None = ...,
) -> KeysetPage[T]: ...


@overload
def keyset_paginate(
    session: Session,
    stmt: AnySelect,
    order_by: Sequence[ColumnElement[Any]],
    *,
    cursor: str | None = ...,
    per_page: int = ...,
    max_per_page: int = ...,
    params: Mapping[str, Any] | None = ...,
) -> KeysetPage[AnyRow]: ...


def keyset_paginate(
    session: Session,
    stmt: AnySelect,
    order_by: Sequence[ColumnElement[Any]],
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
    max_per_page: int = MAX_PER_PAGE,
    params: Mapping[str, Any] | None = None,
) -> KeysetPage[Any]:
    """The page of ``stmt`` after ``cursor`` in ``order_by`` order.

    ``order_by`` must end in a unique column (``Post.created_at.desc(),
    Post.id.desc()``) so that every row has one place. The key columns are
    selected alongside ``stmt``'s own, so the next cursor is read from the
    last row whatever the statement returns. One statement per page.
    ``params`` are the values of ``stmt``'s own ``bindparam()``s, for a
    statement built once and run with different values.
    """
    _check_page_size(per_page, max_per_page)
    keyset = _keyset(stmt, order_by)
    parts, paged = keyset.parts, keyset.first_page
    if cursor is not None:
        values = _position(parts, cursor, session.get_bind(clause=keyset.keyed).dialect)
        paged = keyset.keyed.where(_after(parts, values)).limit(_LIMIT)
    result = _execute(session, paged, {**(params or {}), _LIMIT.key: per_page + 1})
    if keyset.held is not None:
        # The caller's own columns hold the order's: the rows are the page as
        # they come, and the last one's values at those places are the cursor.
        rows = result.all()
        page = rows[:per_page]
        items = [row[0] for row in page] if keyset.width == 1 else list(page)
        more = len(rows) > per_page
        next_cursor = encode_cursor([page[-1][i] for i in keyset.held]) if more else None
        return KeysetPage(items, next_cursor)
    # Read once, then split each row into the caller's columns (as Rows, or
    # scalars for one entity or column) and the key values behind the cursor.
    fetched = result.freeze()
    width = keyset.width
    mine = fetched().columns(*range(width))
    items = list(mine.scalars() if width == 1 else mine)[:per_page]
    keys = fetched().columns(*range(width, width + len(parts))).all()
    next_cursor = encode_cursor(list(keys[per_page - 1])) if len(keys) > per_page else None
    return KeysetPage(items, next_cursor)


@dataclass(frozen=True)
class _Keyset:
    """What ``keyset_paginate`` makes of a statement and an order, kept with the statement."""

    order_by: tuple[ColumnElement[Any], ...]  # held: the key is their ids, which stay theirs
    parts: list[tuple[ColumnElement[Any], bool]]
    keyed: AnySelect  # the statement, its key columns added, in the order
    first_page: AnySelect  # ``keyed`` with its LIMIT bound at execution
    width: int  # the caller's columns, before the key columns
    held: tuple[int, ...] | None  # where the caller's columns hold the order's, if they all do


#: A caller that makes a new order each call keeps no more than this per statement.
_MAX_ORDERS = 16


def _keyset(stmt: AnySelect, order_by: Sequence[ColumnElement[Any]]) -> _Keyset:
    forms = _forms_of(stmt)
    key = ("keyset", *map(id, order_by))
    found = forms.get(key)
    if found is not None and all(a is b for a, b in zip(found.order_by, order_by, strict=True)):
        return found  # type: ignore[no-any-return]
    if len(forms) > _MAX_ORDERS:
        forms.clear()
    parts = _order_parts(order_by)
    width, held = _width(stmt), _held(stmt, parts)
    keyed = stmt if held is not None else stmt.add_columns(*(column for column, _ in parts))
    keyed = keyed.order_by(None).order_by(*order_by)
    made = _Keyset(
        tuple(order_by), parts, keyed, _prepared_as(stmt, keyed.limit(_LIMIT)), width, held
    )
    forms[key] = made
    return made


def _held(stmt: AnySelect, parts: list[tuple[ColumnElement[Any], bool]]) -> tuple[int, ...] | None:
    """Where in ``stmt``'s rows each of the order's columns is, if its rows hold them all.

    Then no key column is added and the rows need no splitting, which cost a
    page more than its statement. Rows of entities (``select(User)``) hold
    attributes, not columns: they are split as before.
    """
    selected = list(stmt.selected_columns)
    if _width(stmt) != len(selected):
        return None
    positions = []
    for column, _ in parts:
        found = [i for i, mine in enumerate(selected) if mine is column or mine.compare(column)]
        if not found:
            return None
        positions.append(found[0])
    return tuple(positions)


# --- small reads -----------------------------------------------------------


def exists(session: Session, stmt: AnySelect) -> bool:
    """Whether ``stmt`` returns any row: ``SELECT EXISTS (...)``, no rows fetched."""
    return bool(session.scalar(select(stmt.exists())))


class GetOptions(TypedDict, total=False):
    """What :func:`get_or_raise` passes on to ``Session.get``."""

    #: ``True`` (or ``{"read": True}``, ...) locks the row: ``SELECT ... FOR UPDATE``.
    with_for_update: ForUpdateParameter
    #: Refresh an instance the session already holds from the row read.
    populate_existing: bool
    #: E.g. ``{INCLUDE_DELETED: True}`` to find a softly deleted row.
    execution_options: Mapping[str, Any]
    #: Loader options, e.g. ``selectinload(...)``.
    options: Sequence[ORMOption]


def get_or_raise(session: Session, model: type[M], ident: Any, **options: Unpack[GetOptions]) -> M:
    """``session.get(model, ident, **options)``, or :class:`NotFound` naming the model and key.

    The model is named in lower-case words (``CartItem``: ``cart item``), as
    the API's problem details name it. Locking, refreshing and loader options
    are ``Session.get``'s own (:class:`GetOptions`).
    """
    instance = session.get(model, ident, **options)
    if instance is None:
        raise NotFound(entity_name(model), ident)
    return instance


def entity_name(model: type[Any]) -> str:
    """The model's class name in lower-case words: ``CartItem`` → ``cart item``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", model.__name__).lower()


@overload
def stream(session: Session, stmt: Select[T], *, batch_size: int = ...) -> Iterator[T]: ...


@overload
def stream(session: Session, stmt: AnySelect, *, batch_size: int = ...) -> Iterator[AnyRow]: ...


def stream(session: Session, stmt: AnySelect, *, batch_size: int = 1000) -> Iterator[Any]:
    """Iterate over a large result in bounded memory.

    ``yield_per`` fetches ``batch_size`` rows at a time and, on PostgreSQL and
    MariaDB, turns on a server-side cursor, so neither the driver nor the ORM
    holds the whole result. Keep the session to this one read while iterating
    (MariaDB cannot run another statement on the connection meanwhile). A loop
    left early closes the cursor when the generator is closed or collected.
    """
    statement, one_column = streamed(stmt, batch_size)
    result = session.execute(statement)
    try:
        if one_column:
            yield from result.scalars()
        else:
            yield from result
    finally:
        result.close()


def streamed(stmt: AnySelect, batch_size: int) -> tuple[AnySelect, bool]:
    """What :func:`stream` runs, and whether its rows are single values (the async twin's too)."""
    return stmt.execution_options(yield_per=batch_size), _width(stmt) == 1

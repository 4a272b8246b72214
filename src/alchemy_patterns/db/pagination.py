"""Reading in pages: offset pages with a total, keyset pages with a cursor.

Offset pagination (``LIMIT/OFFSET``) suits numbered pages of a stable list; its
total is one ``COUNT(*)`` over the statement without its ORDER BY (sorting rows
only to count them is wasted work). Keyset pagination suits feeds: it costs the
same on page 1000 as on page 1, and rows inserted while a client pages through
neither repeat nor shift the pages it has not read yet.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import BigInteger, ColumnElement, Row, Select, Subquery, and_, func, or_, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from alchemy_patterns.db.errors import NotFound, ValidationFailed

__all__ = [
    "KeysetPage",
    "Page",
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

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    """One numbered page and enough to link to the others.

    ``total`` is None when the list was not counted (``paginate(count=False)``);
    ``has_next`` is known either way.
    """

    items: list[T]
    page: int
    per_page: int
    total: int | None
    has_next: bool

    @property
    def pages(self) -> int | None:
        if self.total is None:
            return None
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        """The same page with each item converted (an ORM object to its schema, say)."""
        items = [convert(item) for item in self.items]
        return Page(items, self.page, self.per_page, self.total, self.has_next)


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


def _rows(session: Session, stmt: AnySelect) -> list[Any]:
    """Entities or single values as themselves; several columns as rows.

    The result's keys tell the width (``select(User)`` has one, an entity),
    where ``selected_columns`` would list every column of the table and
    ``column_descriptions`` costs more than the rest of a small page's handling.
    """
    result = session.execute(stmt)
    return list(result.scalars()) if len(result.keys()) == 1 else list(result)


def count(session: Session, stmt: AnySelect) -> int:
    """Rows ``stmt`` would return: ``COUNT(*)`` over it without ORDER BY, LIMIT or OFFSET."""
    return _count(session, stmt)


def _count(session: Session, stmt: AnySelect) -> int:
    inner = stmt.order_by(None).limit(None).offset(None).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0


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
    count: bool = ...,
    enrich: Enrich,
) -> Page[AnyRow]: ...


@overload
def paginate(
    session: Session,
    stmt: Select[T],
    *,
    page: int = ...,
    per_page: int = ...,
    max_per_page: int = ...,
    count: bool = ...,
) -> Page[T]: ...


@overload
def paginate(
    session: Session,
    stmt: AnySelect,
    *,
    page: int = ...,
    per_page: int = ...,
    max_per_page: int = ...,
    count: bool = ...,
) -> Page[AnyRow]: ...


def paginate(
    session: Session,
    stmt: AnySelect,
    *,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
    max_per_page: int = MAX_PER_PAGE,
    count: bool = True,
    enrich: Enrich | None = None,
) -> Page[Any]:
    """Page number ``page`` (1-based) of ``stmt``, and the total.

    A ``per_page`` beyond ``max_per_page`` or a page below 1 is refused with
    :class:`ValidationFailed` rather than silently capped: a client asking for
    10,000 rows should learn it gets 100. The count is skipped when the page
    itself shows where the list ends (a short page, not past the end).

    ``count=False`` skips the total (``total`` is None): a deep page of a
    large list is then one statement, not a page and a ``COUNT(*)`` of the
    whole list. One row more than the page is read to tell whether another
    page follows.

    ``enrich`` is given the page's rows as a subquery and returns the SELECT
    the page is read with (it must order it again): per-row aggregates (a
    club's member count) are then computed for the rows of the page only,
    not for every row an OFFSET skips. The total counts ``stmt`` alone.
    """
    _check_page_size(per_page, max_per_page)
    if page < 1:
        raise ValidationFailed(f"page must be 1 or more, not {page}", columns=("page",))
    offset = (page - 1) * per_page
    if not count:
        rows = _page_rows(session, stmt, offset, per_page + 1, enrich)
        return Page(rows[:per_page], page, per_page, None, len(rows) > per_page)
    items = _page_rows(session, stmt, offset, per_page, enrich)
    if 0 < len(items) < per_page or (page == 1 and not items):
        total = offset + len(items)
    else:
        total = _count(session, stmt)
    return Page(items, page, per_page, total, offset + per_page < total)


def _page_rows(
    session: Session, stmt: AnySelect, offset: int, limit: int, enrich: Enrich | None
) -> list[Any]:
    paged = stmt.limit(limit).offset(offset)
    return _rows(session, paged if enrich is None else enrich(paged.subquery("page")))


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


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque, URL-safe token for a position in a keyset order."""
    raw = json.dumps([_encode(v) for v in values], separators=(",", ":"))
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
    parts = _order_parts(order_by)
    keyed = stmt.add_columns(*(column for column, _ in parts)).order_by(None).order_by(*order_by)
    if cursor is not None:
        values = _position(parts, cursor, session.get_bind(clause=keyed).dialect)
        keyed = keyed.where(_after(parts, values))
    # Read once, then split each row into the caller's columns (as Rows, or
    # scalars for one entity or column) and the key values behind the cursor.
    fetched = session.execute(keyed.limit(per_page + 1), params).freeze()
    width = _width(stmt)
    mine = fetched().columns(*range(width))
    items = list(mine.scalars() if width == 1 else mine)[:per_page]
    keys = fetched().columns(*range(width, width + len(parts))).all()
    next_cursor = encode_cursor(list(keys[per_page - 1])) if len(keys) > per_page else None
    return KeysetPage(items, next_cursor)


# --- small reads -----------------------------------------------------------


def exists(session: Session, stmt: AnySelect) -> bool:
    """Whether ``stmt`` returns any row: ``SELECT EXISTS (...)``, no rows fetched."""
    return bool(session.scalar(select(stmt.exists())))


def get_or_raise(session: Session, model: type[M], ident: Any, **options: Any) -> M:
    """``session.get(model, ident)``, or :class:`NotFound` naming the model and key."""
    instance = session.get(model, ident, **options)
    if instance is None:
        raise NotFound(model.__name__, ident)
    return instance


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

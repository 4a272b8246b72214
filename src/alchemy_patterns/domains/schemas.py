"""What every domain's input models share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, Table
from sqlalchemy.orm import QueryableAttribute

from alchemy_patterns.db.sorting import SORT_PATTERN

#: A row's id as a client may send it: positive, and within a 32-bit INTEGER
#: column on every backend, so a huge number is a 422, never a driver error.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]

#: A UTC day a query may name: within every backend's timestamps (MariaDB's start
#: at year 1000), with a next day to end a range on.
UtcDay = Annotated[dt.date, Field(ge=dt.date(1000, 1, 1), le=dt.date(9999, 12, 30))]


def sort_field(fields: Iterable[str], default: str, example: str) -> Any:
    """A list's optional ``sort`` query field: the fields it allows, documented.

    Its pattern refuses a malformed value (422); a well-formed one naming a
    field not in the list's allow-list is refused by the service, naming it.
    """
    return Field(
        None,
        pattern=SORT_PATTERN,
        description=(
            f"fields to order by, comma-separated, `-` for descending (`{example}`): "
            f"{', '.join(fields)}. The id breaks ties, in the last field's direction. "
            f"Default: {default}"
        ),
    )


def on_utc_days(
    column: ColumnElement[dt.datetime] | QueryableAttribute[dt.datetime],
    first: dt.date | None,
    last: dt.date | None,
) -> list[ColumnElement[bool]]:
    """Criteria keeping the times on the UTC days ``first`` to ``last``, both included.

    Either may be None (no bound). The range is half-open, [first's midnight,
    the midnight after last), so an index on ``column`` reads it as one range
    and a time at 23:59:59.999999 is in it.
    """
    criteria = []
    if first is not None:
        criteria.append(column >= _utc_midnight(first))
    if last is not None:
        criteria.append(column < _utc_midnight(last + dt.timedelta(days=1)))
    return criteria


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def prefix_field(what: str, max_length: int) -> Any:
    """An optional filter field: the start of ``what``, in any case, up to ``max_length``."""
    return Field(
        None,
        min_length=1,
        max_length=max_length,
        description=f"the start of the {what}, in any case (`sm` finds Smith and smith)",
    )


def refuse_nul(value: Any) -> Any:
    """Text with a NUL character is refused: PostgreSQL cannot store it, and no one means it."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text may not contain NUL (\\x00) characters")
    return value


class Input(BaseModel):
    """An allow-list of what a client may set: an unknown field is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    _no_nul = field_validator("*", mode="after")(refuse_nul)


def columns_for(output: type[BaseModel], entity: type[Any] | Table) -> list[Any]:
    """The ``entity`` columns that ``output`` shows, named by its fields, for a list to select.

    A list page reads rows of just these columns instead of whole ORM objects:
    no identity map, no instance state, no lazy-load machinery for 20 objects
    nobody will change; ``output.model_validate(row)`` reads them by name.
    Given the model's ``Table`` (``table_of(Model)``), they are Core columns:
    a statement of those runs without the ORM's per-execution work, which for
    a small read built once is the larger part of its cost.
    """
    if isinstance(entity, Table):
        return [entity.c[name] for name in output.model_fields]
    return [getattr(entity, name) for name in output.model_fields]


class VersionOut(BaseModel):
    """The version of a versioned record, shown next to its fields."""

    version: int = Field(description="moves with every change; the `ETag` is made from it")


class ReplacedOut(BaseModel):
    """When a version of a record was replaced, and by whom (a history entry's own fields)."""

    changed_at: dt.datetime = Field(description="when this version was replaced (UTC)")
    changed_by: int | None = Field(description="the account that replaced it, if known")


class RevertTo(Input):
    """Give the record the values it had at ``version``: itself a new version."""

    version: int = Field(ge=1, le=2_147_483_647)

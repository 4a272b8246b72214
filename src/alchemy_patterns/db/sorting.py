"""Client-chosen order for a list: ``sort=-price,name`` against an allow-list of columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import QueryableAttribute

from alchemy_patterns.db.errors import ValidationFailed

#: What a ``sort`` value looks like: field names, each optionally led by ``-``, comma-separated.
SORT_PATTERN = r"^-?[a-z_]+(,-?[a-z_]+){0,4}$"


#: A column, or the mapped attribute of one (``Product.price``).
Sortable = ColumnElement[Any] | QueryableAttribute[Any]


def sort_terms(
    sort: str, fields: Mapping[str, Sortable], tiebreaker: Sortable
) -> list[ColumnElement[Any]]:
    """The ORDER BY ``sort`` asks for, then ``tiebreaker``.

    ``-price,name`` is price descending, then name ascending.

    Each name must be a key of ``fields``; any other is ``ValidationFailed`` on
    ``sort`` naming it and the allowed ones. The tiebreaker (the primary key)
    comes last, so the order is total and a cursor into it stays exact.
    """
    terms = []
    for item in sort.split(","):
        name = item.strip().removeprefix("-")
        if name not in fields:
            allowed = ", ".join(fields)
            raise ValidationFailed(f"cannot sort by {name!r}: sort by {allowed}", columns=("sort",))
        column = fields[name]
        terms.append(column.desc() if item.strip().startswith("-") else column.asc())
    return [*terms, tiebreaker.asc()]

"""Client-chosen order for a list: ``sort=-price,name`` against an allow-list of columns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, FromClause
from sqlalchemy.orm import QueryableAttribute

from alchemy_patterns.db.errors import ValidationFailed

#: What a ``sort`` value looks like: field names, each optionally led by ``-``, comma-separated.
SORT_PATTERN = r"^-?[a-z_]+(,-?[a-z_]+){0,4}$"


#: A column, or the mapped attribute of one (``Product.price``).
Sortable = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True)
class Sorting:
    """A list's allow-list of sort fields, and the ORDER BY each ``sort`` value makes.

    A field names one column, or several (``name`` may be last name, then
    first name). ``tiebreaker`` (the primary key) ends every order, in the
    direction of the field before it (``-name`` is name, then id, both
    descending: the (name, id) index read backwards, where a mixed direction
    would need a sort), so the order is total and a cursor into it stays
    exact; unless the last field asked for is in ``unique``: its values
    alone order every row, and its unique index is then the order as it
    stands (``clubs.name``), where one more column would need an index.
    """

    fields: Mapping[str, Sortable | tuple[Sortable, ...]]
    tiebreaker: Sortable
    unique: frozenset[str] = field(default_factory=frozenset)

    def terms(self, sort: str, on: FromClause | None = None) -> list[ColumnElement[Any]]:
        """The ORDER BY ``sort`` asks for: ``-price,name`` is price descending, then name.

        A name that is not one of ``fields`` is ``ValidationFailed`` on
        ``sort``, naming it and the allowed ones. Given ``on`` (a subquery of
        the rows), the order is of its columns of the same names: the outer
        SELECT of a page read as a subquery orders it again.
        """
        terms: list[ColumnElement[Any]] = []
        name, descending = "", False
        for item in sort.split(","):
            name = item.strip().removeprefix("-")
            if name not in self.fields:
                allowed = ", ".join(self.fields)
                raise ValidationFailed(
                    f"cannot sort by {name!r}: sort by {allowed}", columns=("sort",)
                )
            descending = item.strip().startswith("-")
            for column in self._of(name):
                target = column if on is None else on.c[str(column.key)]
                terms.append(target.desc() if descending else target.asc())
        if name in self.unique:
            return terms
        tiebreaker = self.tiebreaker if on is None else on.c[str(self.tiebreaker.key)]
        return [*terms, tiebreaker.desc() if descending else tiebreaker.asc()]

    def orders(self) -> dict[str, tuple[str, ...]]:
        """Each field's ORDER BY as column names, as an index must start to serve it."""
        last = {name: () if name in self.unique else (self.tiebreaker,) for name in self.fields}
        return {
            name: tuple(str(column.key) for column in (*self._of(name), *last[name]))
            for name in self.fields
        }

    def _of(self, name: str) -> tuple[Sortable, ...]:
        columns = self.fields[name]
        return columns if isinstance(columns, tuple) else (columns,)

"""Optimistic concurrency: versioned models and the version a caller expects.

A model becomes versioned with SQLAlchemy's ``version_id_col``: every ORM
UPDATE and DELETE of one of its rows says ``WHERE version = :read`` and moves
the version in the same statement, so a write based on a version that another
transaction has since replaced matches no row. The data layer raises
:class:`~alchemy_patterns.db.StaleVersion` for it on every backend, and its
bulk paths (:func:`~alchemy_patterns.db.update_where`,
:func:`~alchemy_patterns.db.bulk_update`) move the version too. Give the
column a server default of 1 so rows written by Core or ``COPY`` start at the
version the ORM starts at.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Column, inspect

from alchemy_patterns.db.errors import StaleVersion

__all__ = ["Expected", "check_version", "version_column", "version_of"]

#: The version(s) a caller read: one, several (any of them will do), or None (no check).
Expected = int | Collection[int] | None


def version_column(model: Any) -> Column[Any] | None:
    """The version column of a mapped class (``version_id_col``), or None if it has none."""
    column = inspect(model).version_id_col
    return column if isinstance(column, Column) else None


def version_of(obj: object) -> int:
    """The version ``obj`` was loaded (or last flushed) at; a ``TypeError`` if unversioned."""
    mapper = inspect(obj).mapper
    if mapper.version_id_col is None:
        raise TypeError(f"{type(obj).__name__} is not versioned")
    return int(getattr(obj, mapper.get_property_by_column(mapper.version_id_col).key))


def check_version(obj: object, expected: Expected, *, entity: str | None = None) -> None:
    """Raise :class:`StaleVersion` unless ``obj`` is at the ``expected`` version.

    ``expected`` None checks nothing. Load ``obj`` with ``with_for_update=True``
    first: then no other transaction can move the version between this check
    and the flush, and the error names the version stored now (``current``).
    """
    if expected is None:
        return
    current = version_of(obj)
    accepted = {expected} if isinstance(expected, int) else set(expected)
    if current in accepted:
        return
    key = inspect(obj).identity
    name = entity or type(obj).__name__
    shown = key[0] if key and len(key) == 1 else key
    raise StaleVersion(
        f"{name} {shown!r} is at version {current}, not the version this change was based on",
        entity=name,
        key=shown,
        expected=expected,
        current=current,
        table=getattr(inspect(obj).mapper.local_table, "name", None),
    )

"""Soft delete: rows marked ``deleted_at`` that every ORM read leaves out, until restored.

SQLAlchemy's recipe (``examples/extending_query/filter_public.py``) adds a
``with_loader_criteria`` option to each SELECT from a ``do_orm_execute``
hook. That is the mechanism here too; what the recipe leaves to its reader
is done here:

* the hook is installed on this layer's session factories
  (:func:`hide_deleted`), not on every ``Session`` of the process;
* the criterion reaches aliases (``include_aliases``), joins, subqueries and
  relationship loads, lazy and eager; a relationship loaded for an object
  made in this session (no load to inherit the option from) gets it too;
* ``execution_options(include_deleted=True)`` reads the deleted rows anyway
  (restore, admin tools), and :func:`soft_delete` / :func:`restore` write
  the mark through the unit of work, so the ORM's events (an audit trail)
  see an ordinary UPDATE;
* uniqueness among the live rows only (:func:`unique_while_live`).

What the hook cannot reach: Core statements on the ``Table`` (``select(table)``),
which are no ORM reads. They must say ``deleted_at IS NULL`` themselves
(:func:`live`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    ColumnElement,
    Computed,
    FromClause,
    Index,
    Integer,
    MetaData,
    Table,
    delete,
    event,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)

from alchemy_patterns.db.base import UTCDateTime
from alchemy_patterns.db.history import forget_history, is_historied

__all__ = [
    "INCLUDE_DELETED",
    "SoftDeletable",
    "emitted_on",
    "hide_deleted",
    "live",
    "live_flag",
    "purge_batch",
    "restore",
    "soft_deletable_tables",
    "soft_delete",
    "unique_while_live",
]

#: The execution option that shows deleted rows too:
#: ``select(...).execution_options(include_deleted=True)``.
INCLUDE_DELETED = "include_deleted"


class SoftDeletable:
    """``deleted_at``: NULL while the row is live, the (UTC) time it was deleted otherwise.

    Sessions made by :class:`~alchemy_patterns.db.Database` hide the deleted
    rows of every class with this mixin from ORM reads.
    """

    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def is_deleted(self) -> bool:
        """Whether the row is marked deleted (as this session last saw it)."""
        return self.deleted_at is not None


def _live_criterion(cls: Any) -> ColumnElement[bool]:
    # A lambda's body is cached by its code: a function named once keeps one cache key.
    return cls.deleted_at.is_(None)  # type: ignore[no-any-return]


_HIDE = with_loader_criteria(SoftDeletable, _live_criterion, include_aliases=True)


def _hide_deleted_rows(state: ORMExecuteState) -> None:
    """``do_orm_execute``: add the live-rows criterion to an ORM SELECT, unless asked not to.

    A lazy or eager relationship load inherits the option from the load of
    its parent, and is left as it is; one for an object this session made
    itself inherits nothing, so it gets the option here (SQLAlchemy's recipe
    skips every relationship load, and would show that object deleted rows).
    Refreshing an attribute of an object already held is not a list read,
    and SQLAlchemy applies no loader criteria to it.
    """
    if not state.is_select or state.is_column_load or not state.is_orm_statement:
        return  # a Core statement on tables: no ORM criteria reach it (see ``live``)
    if state.execution_options.get(INCLUDE_DELETED, False):
        return
    if state.is_relationship_load and _HIDE in state.statement._with_options:
        return
    state.statement = _hiding(state.statement)


# A statement built once (a service's module-level SELECT, a page derived by
# paginate()) gets its copy with the option once too: making the copy on
# every execution cost more than the rest of the hook.
_hidden: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def _hiding(statement: Any) -> Any:
    """``statement`` with the live-rows option, the same copy each time for the same statement."""
    hidden = _hidden.get(statement)
    if hidden is None:
        hidden = _hidden[statement] = statement.options(_HIDE)
    return hidden


def hide_deleted(factory: sessionmaker[Any] | type[Session]) -> None:
    """Hide deleted rows from the sessions ``factory`` (a sessionmaker, a Session class) makes.

    A ``sessionmaker`` makes its own ``Session`` subclass, so the listener
    stays with that factory's sessions and reaches no other session.
    """
    if not event.contains(factory, "do_orm_execute", _hide_deleted_rows):
        event.listen(factory, "do_orm_execute", _hide_deleted_rows)


def live(table: FromClause) -> ColumnElement[bool]:
    """``table.deleted_at IS NULL``: the criterion a Core statement on ``table`` must add itself.

    ``table`` is the table of a ``SoftDeletable`` model or an alias of it.
    """
    return table.c.deleted_at.is_(None)


def soft_delete(session: Session, obj: SoftDeletable, *, at: dt.datetime | None = None) -> None:
    """Mark ``obj`` deleted now (or ``at``), through the unit of work; already deleted: unchanged.

    The UPDATE is flushed at once, so a constraint or version failure is
    raised here. The object stays in the session; the next read leaves it out.
    """
    if obj.deleted_at is None:
        obj.deleted_at = at or dt.datetime.now(dt.UTC)
        session.flush()


def restore(session: Session, obj: SoftDeletable) -> None:
    """Make ``obj`` live again, flushed at once.

    A live row that took one of its unique values meanwhile makes it a
    ``Conflict``. Load ``obj`` with ``include_deleted=True``: an ordinary
    read does not find it.
    """
    if obj.deleted_at is not None:
        obj.deleted_at = None
        session.flush()


def live_flag() -> Mapped[int | None]:
    """A generated column: 1 while ``deleted_at`` is NULL, NULL once deleted.

    MariaDB has no partial index; a UNIQUE over ``(column, live)`` is one
    there, since NULLs never collide (:func:`unique_while_live`). Deferred:
    no read loads it. Stored, on every backend: PostgreSQL before 18 has no
    virtual columns, and a table's models are the same on every backend.
    """
    expression = "CASE WHEN deleted_at IS NULL THEN 1 END"
    return mapped_column(Integer, Computed(expression, persisted=True), deferred=True)


def unique_while_live(table: str, column: str) -> tuple[Index, Index]:
    """``column`` unique among the live rows of ``table``; deleted rows may repeat it.

    PostgreSQL and SQLite: a partial unique index ``WHERE deleted_at IS NULL``,
    named ``uq_<table>_<column>``. MariaDB has no partial index: a unique
    index over ``(column, live)``, where ``live`` is the table's
    :func:`live_flag`. Each is created only on its backends (``ddl_if``;
    :func:`emitted_on` tells a schema comparison which), and a violation of
    either names ``column`` first.
    """
    name = f"uq_{table}_{column}"
    where = text("deleted_at IS NULL")
    partial = Index(name, column, unique=True, postgresql_where=where, sqlite_where=where)
    flagged = Index(f"{name}_live", column, "live", unique=True)
    return _only_on(partial, "postgresql", "sqlite"), _only_on(flagged, "mysql", "mariadb")


def _only_on(index: Index, *dialects: str) -> Index:
    index.info[_DIALECTS] = dialects
    return index.ddl_if(callable_=_emitted)


_DIALECTS = "emitted_on_dialects"


def _emitted(
    ddl: Any,
    target: Any,
    bind: Any,
    tables: Any = None,
    state: Any = None,
    *,
    dialect: Dialect,
    **kw: Any,
) -> bool:
    return emitted_on(target, dialect.name)


def emitted_on(item: Any, dialect: str) -> bool:
    """Whether the schema item ``item`` exists on ``dialect`` (not another backend's index)."""
    dialects = getattr(item, "info", {}).get(_DIALECTS)
    return dialects is None or dialect in dialects


# --- purging -----------------------------------------------------------------------


def soft_deletable_tables(metadata: MetaData, registry: Any) -> list[Table]:
    """The tables of :class:`SoftDeletable` models in ``registry``, children before parents.

    The order to purge in: a child purged first is counted as its own table's,
    not removed unseen by its parent's ``ON DELETE CASCADE``.
    """
    marked = {
        mapper.local_table
        for mapper in registry.mappers
        if issubclass(mapper.class_, SoftDeletable) and isinstance(mapper.local_table, Table)
    }
    return [table for table in reversed(metadata.sorted_tables) if table in marked]


def purge_batch(session: Session, table: Table, before: dt.datetime, limit: int = 1000) -> int:
    """Delete for good up to ``limit`` rows of ``table`` soft-deleted before ``before``; how many.

    Two statements: the ids (in id order), then one DELETE of those ids.
    (MariaDB refuses a ``LIMIT`` in an ``IN`` subquery, so the ids are read
    first.) On a historied table a third deletes their history: gone for
    good is gone from history too. Call it in a short transaction of its
    own, until it returns less than ``limit``: each batch holds its locks
    only briefly.
    """
    key = table.c.id
    ids = list(
        session.scalars(select(key).where(table.c.deleted_at < before).order_by(key).limit(limit))
    )
    if ids:
        session.execute(delete(table).where(key.in_(ids)))
        if is_historied(table):
            forget_history(session, table, ids)
    return len(ids)

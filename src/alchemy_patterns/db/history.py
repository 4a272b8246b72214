"""Version history: every change of a row keeps the version it replaced, "as of" reads, revert.

The shape of SQLAlchemy's ``examples/versioned_history``: a model declared
:class:`Historied` gets a ``<table>_history`` table with the same columns,
keyed by the row's key *and* its version, plus ``changed_at`` (when that
version was replaced, by the database's clock, aware UTC) and ``changed_by``
(the acting user's id, from ``session.info[ACTOR_KEY]``, else NULL).

What differs from the example, and why:

* The model must already be versioned (``version_id_col``,
  :class:`~alchemy_patterns.db.Versioned`): the history row is keyed by the
  version the UPDATE checks, so it is exactly the row that the change replaced.
* The previous version is copied by the database, ``INSERT INTO h SELECT ...
  FROM t WHERE key = :key AND version = :read FOR UPDATE``, in the flush,
  just before the UPDATE or DELETE (mapper events ``before_update`` and
  ``before_delete``), on the flush's connection. Nothing is read into Python,
  nothing unloaded has to be loaded, money is copied as stored (exact), and a
  rollback (of the transaction or of a savepoint) takes the history row with
  the change. The ``FOR UPDATE`` takes the row lock first, the order every
  writer of the row uses, so two writers queue instead of deadlocking on the
  history key.
* :func:`~alchemy_patterns.db.update_where` copies every matched row the
  same way before its UPDATE; :func:`~alchemy_patterns.db.bulk_update` and
  :func:`~alchemy_patterns.db.upsert` refuse a historied model
  (:class:`HistoryBypassed`). Core statements written by hand must call
  :func:`copy_to_history` themselves; DELETEs the database cascades
  (``ON DELETE CASCADE``) are not seen.

Reads: :func:`history_page` (newest first), :func:`as_of` (the row as it was
at an instant), :func:`version_row`; :func:`revert` makes an old version the
new current one, itself a versioned change with its own history row.

With soft delete (:class:`~alchemy_patterns.db.SoftDeletable`): deleting and
restoring are versioned UPDATEs, so each keeps the version it replaced like
any change; :func:`as_of` an instant when the row was deleted is
``NotFound``, as for a row deleted for good; and :func:`revert` never
deletes or restores (``deleted_at`` is kept, as are generated columns).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Unpack

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Insert,
    Integer,
    PrimaryKeyConstraint,
    Row,
    Select,
    Table,
    bindparam,
    delete,
    event,
    exists,
    insert,
    inspect,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Mapper, Session, object_session
from sqlalchemy.types import SchemaType, TypeEngine

from alchemy_patterns.db.base import UTCDateTime, utcnow
from alchemy_patterns.db.errors import NotFound
from alchemy_patterns.db.pagination import Page, PageArgs, paginate

__all__ = [
    "ACTOR_KEY",
    "Historied",
    "HistoryBypassed",
    "as_of",
    "copy_to_history",
    "forget_history",
    "history_insert",
    "history_page",
    "history_table",
    "is_historied",
    "revert",
    "version_row",
]

#: ``session.info`` key holding the id of the user the session acts for (``changed_by``).
ACTOR_KEY = "actor_id"

#: The column of a soft-deletable row (:class:`~alchemy_patterns.db.SoftDeletable`),
#: named here because that module imports this one (purging drops history too).
DELETED_AT = "deleted_at"


class HistoryBypassed(TypeError):
    """A bulk path that would change a historied model's rows without keeping their history."""


class Historied:
    """Declare a versioned model's history: ``class Pet(Historied, Versioned, ..., Base)``.

    Builds ``<table>_history`` in the model's metadata when the class is
    mapped (so Alembic and ``create_all`` see it) and writes a row to it on
    every ORM UPDATE and DELETE of the model, in the same flush.

    ``__history_created__`` names the column saying when a row was created
    (an "as of" before it is :class:`~alchemy_patterns.db.NotFound`);
    ``__history_keep__`` the columns :func:`revert` leaves as they are
    (timestamps the database maintains; counters the world moves, such as
    stock).
    """

    __history_created__: ClassVar[str] = "created_at"
    __history_keep__: ClassVar[frozenset[str]] = frozenset({"created_at", "updated_at"})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mapper = inspect(cls, raiseerr=False)
        if mapper is not None:
            _declare(mapper)
        else:
            event.listen(cls, "after_mapper_constructed", _mapper_constructed)


def _mapper_constructed(mapper: Mapper[Any], class_: type[Any]) -> None:
    _declare(mapper)


@dataclass(frozen=True)
class _History:
    table: Table  # the history table
    version: Column[Any]  # the source's version column
    copy_one: Insert  # the INSERT ... SELECT of one version, built once


#: A historied model's table -> its history.
_HISTORY: dict[Table, _History] = {}


def _declare(mapper: Mapper[Any]) -> None:
    table = mapper.local_table
    if not isinstance(table, Table) or table in _HISTORY:
        return
    if mapper.version_id_col is None:
        name = mapper.class_.__name__
        raise TypeError(f"{name} must be versioned (version_id_col) to keep history")
    version = table.c[mapper.version_id_col.name]
    history = _history_table(table, version)
    one_version = [
        column == bindparam(f"k_{column.key}") for column in [*table.primary_key.columns, version]
    ]
    _HISTORY[table] = _History(history, version, history_insert(table, history, *one_version))
    event.listen(mapper, "before_update", _before_update)
    event.listen(mapper, "before_delete", _before_delete)


def _history_table(table: Table, version: Column[Any]) -> Table:
    """The source's columns (no defaults, constraints or indexes), keyed by key and version.

    No foreign keys: a history row must outlive the rows its old values named.
    """
    keys = {column.name for column in table.primary_key.columns}
    columns: list[Column[Any]] = [
        Column(column.name, _unchecked(column.type), nullable=column.nullable, autoincrement=False)
        for column in table.columns
    ]
    return Table(
        f"{table.name}_history",
        table.metadata,
        *columns,
        Column("changed_at", UTCDateTime(), nullable=False),
        Column("changed_by", Integer, nullable=True),
        PrimaryKeyConstraint(*sorted(keys, key=list(table.c.keys()).index), version.name),
    )


def _unchecked(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """``type_`` without the CHECK a schema type adds (an enum's values): history keeps old ones."""
    if isinstance(type_, SchemaType) and getattr(type_, "create_constraint", False):
        copy = type_.copy()
        copy.create_constraint = False  # type: ignore[attr-defined]
        return copy
    return type_


def history_insert(table: Table, history: Table, *criteria: ColumnElement[bool]) -> Insert:
    """``INSERT INTO history SELECT <row>, now, :changed_by FROM table WHERE criteria FOR UPDATE``.

    The rows are locked as they are copied, so none can change between the
    copy and the statement that replaces them. Execute it with a
    ``changed_by`` parameter (None for nobody).
    """
    rows = select(
        *table.columns,
        utcnow(),
        bindparam("changed_by", type_=Integer),
    ).where(*criteria)
    return insert(history).from_select(
        # key_share: the lock the UPDATE itself takes (PostgreSQL's FOR NO KEY UPDATE),
        # which does not hold up inserts that merely reference the row.
        [*table.columns.keys(), "changed_at", "changed_by"],
        rows.with_for_update(key_share=True),
    )


def is_historied(model: Any) -> bool:
    """Whether a mapped class (or its table) keeps history."""
    table = model if isinstance(model, Table) else getattr(inspect(model), "local_table", None)
    return table in _HISTORY


def history_table(model: Any) -> Table:
    """The history table of a historied model (``TypeError`` if it keeps none)."""
    table = model if isinstance(model, Table) else inspect(model).local_table
    if table not in _HISTORY:
        raise TypeError(f"{model} keeps no history")
    return _HISTORY[table].table


def actor(session: Session) -> int | None:
    """The user ``session`` acts for (``session.info[ACTOR_KEY]``), or None."""
    value = session.info.get(ACTOR_KEY)
    return None if value is None else int(value)


# --- writing ---------------------------------------------------------------------------------


def _changes_the_row(target: object) -> bool:
    """Whether the flush will UPDATE ``target``'s row: a column, or a many-to-one key, changed.

    ``before_update`` also fires for objects that are dirty with no net
    change (a value set to what it was, a collection changed); those get no
    UPDATE, no new version, and so no history row.
    """
    state = inspect(target)
    for attribute in state.mapper.column_attrs:
        if state.attrs[attribute.key].history.has_changes():
            return True
    return False


def _copy_one(connection: Connection, mapper: Mapper[Any], target: object) -> None:
    table = mapper.local_table
    assert isinstance(table, Table)
    state = inspect(target)
    params: dict[str, Any] = {}
    for column in [*table.primary_key.columns, mapper.version_id_col]:
        key = mapper.get_property_by_column(column).key
        # The values as loaded: the row this flush replaces is the one at the version read.
        history = state.attrs[key].history
        params[f"k_{column.key}"] = (history.deleted or history.unchanged or history.added)[0]
    session = object_session(target)
    params["changed_by"] = None if session is None else actor(session)
    connection.execute(_HISTORY[table].copy_one, params)


def _before_update(mapper: Mapper[Any], connection: Connection, target: object) -> None:
    if _changes_the_row(target):
        _copy_one(connection, mapper, target)


def _before_delete(mapper: Mapper[Any], connection: Connection, target: object) -> None:
    _copy_one(connection, mapper, target)


def copy_to_history(session: Session, model: Any, *criteria: ColumnElement[bool]) -> Table:
    """Copy the rows of ``model`` matching ``criteria`` to its history, locking them.

    For Core statements that change a historied model's rows: call it just
    before, with the same criteria, in the same transaction. Returns the
    history table (to guard the UPDATE with :func:`copied`).
    """
    table = inspect(model).local_table if not isinstance(model, Table) else model
    history = history_table(table)
    statement = history_insert(table, history, *criteria)
    session.execute(statement, {"changed_by": actor(session)})
    return history


def forget_history(session: Session, model: Any, keys: Any) -> None:
    """Delete every version of the rows of ``model`` whose key is among ``keys``.

    For rows deleted for good that must leave nothing behind (an erasure, a
    purge): ``keys`` is a list of ids or a SELECT of them. One statement.
    """
    table = inspect(model).local_table if not isinstance(model, Table) else model
    history = history_table(table)
    [key] = [history.c[column.name] for column in table.primary_key.columns]
    session.execute(delete(history).where(key.in_(keys)))


def copied(table: Table, history: Table) -> ColumnElement[bool]:
    """True for a row whose current version is in ``history``: the rows just copied.

    A row at version *v* has no history row *v* until a change replacing it
    copies it, so in the UPDATE that follows :func:`copy_to_history` this
    keeps exactly the rows copied, not a row that started to match since.
    """
    match = [history.c[column.name] == column for column in table.primary_key.columns]
    version = _version_column(table)
    return exists().where(*match, history.c[version.name] == version)


def _version_column(table: Table) -> Column[Any]:
    return _HISTORY[table].version


# --- reading ---------------------------------------------------------------------------------


def _key_criteria(table: Table, key: object, source: Table) -> list[ColumnElement[bool]]:
    """``table``'s columns named like ``source``'s key (history tables add the version) = key."""
    values = key if isinstance(key, tuple) else (key,)
    columns = [table.c[column.name] for column in source.primary_key.columns]
    if len(values) != len(columns):
        raise TypeError(f"{table.name} has a key of {len(columns)} columns, not {len(values)}")
    return [column == value for column, value in zip(columns, values, strict=True)]


def history_page(
    session: Session, model: type[Any], key: object, **paging: Unpack[PageArgs]
) -> Page[Row[Any]]:
    """The versions a row replaced, newest first, a page at a time (a range of the history key)."""
    table = inspect(model).local_table
    history = history_table(model)
    stmt = (
        select(history)
        .where(*_key_criteria(history, key, table))
        .order_by(history.c[_version_column(table).name].desc())
    )
    return paginate(session, stmt, **paging)


def version_row(session: Session, model: type[Any], key: object, version: int) -> Row[Any]:
    """The stored values of the row ``key`` at ``version``, current or past (else ``NotFound``)."""
    table: Table = inspect(model).local_table
    history = history_table(model)
    name = _version_column(table).name
    stmt = union_all(
        _row_select(history, key, table).where(history.c[name] == version),
        _row_select(table, key).where(table.c[name] == version),
    )
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"{table.name} version", f"{_shown(key)} v{version}")
    return row


def _row_select(table: Table, key: object, source: Table | None = None) -> Select[Any]:
    """The row(s) of ``key`` in ``table``, as the columns of ``source`` (the historied table)."""
    source = table if source is None else source
    columns = [table.c[column.name] for column in source.columns]
    return select(*columns).where(*_key_criteria(table, key, source))


def as_of(session: Session, model: type[Any], key: object, when: dt.datetime) -> Row[Any]:
    """The row ``key`` as it was at ``when`` (aware): one statement, one index range.

    The version current at ``when`` is the oldest one replaced after it, or,
    if none was, the row as it is now. Before the row was created
    (``__history_created__``), or after it was deleted, it is ``NotFound``.
    """
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}: give a timezone-aware value")
    table: Table = inspect(model).local_table
    # Soft-deleted then (a version with deleted_at set): gone, as if deleted for good.
    soft = DELETED_AT in table.c
    history = history_table(model)
    version = _version_column(table).name
    older = _row_select(history, key, table).where(history.c.changed_at > when)
    stmt = union_all(older, _row_select(table, key)).order_by(literal_column(version)).limit(1)
    row = session.execute(stmt).first()
    created = getattr(model, "__history_created__", "created_at")
    if row is None or getattr(row, created) > when or (soft and row.deleted_at is not None):
        raise NotFound(table.name, _shown(key))
    return row


def _shown(key: object) -> object:
    return key[0] if isinstance(key, tuple) and len(key) == 1 else key


def revert(session: Session, obj: Any, version: int) -> bool:
    """Give ``obj`` the values it had at ``version``: a new change, versioned and historied.

    Every column but the key, the version, generated columns and
    ``__history_keep__`` takes the old value (a soft-deletable model keeps
    ``deleted_at``: a revert neither deletes nor restores); the flush then
    writes the current version to history and moves the version, as for any
    other change. Returns False if ``obj`` is
    already at ``version`` (nothing changes).
    """
    mapper: Mapper[Any] = inspect(obj).mapper
    current = getattr(obj, mapper.get_property_by_column(mapper.version_id_col).key)  # type: ignore[arg-type]
    if current == version:
        return False
    key = mapper.primary_key_from_instance(obj)
    old = version_row(session, mapper.class_, tuple(key), version)._mapping
    for attribute, value in _revertible(mapper, old).items():
        setattr(obj, attribute, value)
    return True


def _revertible(mapper: Mapper[Any], old: Mapping[Any, Any]) -> dict[str, Any]:
    keep = set(getattr(mapper.class_, "__history_keep__", ()))
    if DELETED_AT in mapper.local_table.c:
        keep.add(DELETED_AT)
    skip = {column.name for column in mapper.primary_key} | {mapper.version_id_col.name}  # type: ignore[union-attr]
    values = {}
    for attribute in mapper.column_attrs:
        column = attribute.columns[0]
        generated = getattr(column, "computed", None) is not None  # the database writes it
        if attribute.key in keep or getattr(column, "name", None) in skip or generated:
            continue
        values[attribute.key] = old[column.name]
    return values

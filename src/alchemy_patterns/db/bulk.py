"""Bulk writes: insert, upsert, update by criteria, and PostgreSQL COPY.

The guide's ``bulk_save_objects`` is legacy and slow. SQLAlchemy 2's ORM bulk
``insert()`` with a list of dicts is the modern path, and it is what
:func:`bulk_insert` uses whenever it must hand ids back (``RETURNING``, batched
by *insertmanyvalues*). When it need not, most of the remaining cost is
SQLAlchemy building a parameter set per row (defaults, bind processing,
per-row dict work) that plain values do not need; profiled on SQLite it is
the larger part of the time. The fast path compiles the INSERT once, applies
each column's bind processor (so ``Decimal``, UTC datetimes and the like are
stored exactly as the ORM would store them), and passes plain tuples to the
driver's ``executemany`` through ``Connection.exec_driver_sql``, so the
statement still runs in the session's transaction and is seen by the
profiling listeners.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Table, insert, inspect, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.schema import Column

from alchemy_patterns.db.profiling import record_statement

__all__ = ["bulk_insert", "bulk_update", "copy_insert", "update_where", "upsert"]

Target = type[Any] | Table
Row = Mapping[str, Any]
UpdateRule = Callable[[ColumnElement[Any], ColumnElement[Any]], ColumnElement[Any]]

DEFAULT_BATCH_SIZE = 1000


def _table(target: Target) -> Table:
    if isinstance(target, Table):
        return target
    table = inspect(target).local_table
    assert isinstance(table, Table)
    return table


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _key_columns(target: Target, keys: Sequence[str]) -> list[Column[Any]] | None:
    """The columns behind ``keys`` (attribute names on a mapped class), or None if unmapped."""
    table = _table(target)
    if isinstance(target, Table):
        return [table.c[key] for key in keys] if all(k in table.c for k in keys) else None
    attrs = inspect(target).column_attrs
    columns = []
    for key in keys:
        if key not in attrs or len(attrs[key].columns) != 1:
            return None
        column = attrs[key].columns[0]
        if not isinstance(column, Column) or column.table is not table:
            return None
        columns.append(column)
    return columns


class _FastInsert:
    """A compiled positional INSERT and the per-column work to turn dicts into tuples."""

    def __init__(self, dialect: Dialect, table: Table, keys: Sequence[str], columns: list[Any]):
        self.keys = tuple(keys)
        self.fill = self._python_defaults(table, columns)
        all_columns = columns + [column for column, _ in self.fill]
        placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
        preparer = dialect.identifier_preparer
        self.sql = "INSERT INTO {} ({}) VALUES ({})".format(
            preparer.format_table(table),
            ", ".join(preparer.format_column(column) for column in all_columns),
            ", ".join([placeholder] * len(all_columns)),
        )
        self.processors = [
            column.type.dialect_impl(dialect).bind_processor(dialect) for column in all_columns
        ]
        self.getter = itemgetter(*keys)

    @staticmethod
    def _python_defaults(table: Table, given: list[Any]) -> list[tuple[Column[Any], Any]]:
        fill = []
        given_names = {column.name for column in given}
        for column in table.columns:
            default = column.default
            if column.name in given_names or default is None:
                continue
            if not (default.is_scalar or default.is_callable):
                raise _NeedsGenericPath
            fill.append((column, default))
        return fill

    def tuples(self, batch: list[Row]) -> list[tuple[Any, ...]]:
        width = len(self.keys)
        for row in batch:
            if len(row) != width:
                raise _NeedsGenericPath  # heterogeneous keys: let SQLAlchemy group them
        getter = self.getter
        try:
            values = [getter(r) for r in batch] if width > 1 else [(getter(r),) for r in batch]
        except KeyError as missing:
            raise _NeedsGenericPath from missing
        if self.fill:
            values = [(*v, *self._defaults()) for v in values]
        if any(self.processors):
            values = [self._process(v) for v in values]
        for value in values[0] if values else ():
            if isinstance(value, ClauseElement):
                raise _NeedsGenericPath
        return values

    def _defaults(self) -> tuple[Any, ...]:
        return tuple(d.arg(None) if d.is_callable else d.arg for _, d in self.fill)  # type: ignore[attr-defined]

    def _process(self, value: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            p(v) if p is not None and v is not None else v
            for p, v in zip(self.processors, value, strict=True)
        )


class _NeedsGenericPath(Exception):
    """The rows need SQLAlchemy's full INSERT machinery (SQL expressions, sequences…)."""


def bulk_insert(
    session: Session,
    target: Target,
    rows: Iterable[Row],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    returning: Sequence[Any] | None = None,
) -> Any:
    """Insert ``rows`` (dicts keyed by attribute name) in batches of ``batch_size``.

    Without ``returning``: the fast executemany path, one statement per batch;
    returns the number of rows inserted. With ``returning`` (columns, e.g.
    ``[User.id]``): ORM bulk ``insert().returning(...)``, rows back in input
    order; returns the list (scalars for one column). Runs in the session's
    transaction; nothing is committed.
    """
    if returning is not None:
        return _insert_returning(session, target, rows, batch_size, returning)
    total = 0
    fast: _FastInsert | bool | None = None  # None: not decided yet; False: generic path
    for batch in _chunks(rows, batch_size):
        if fast is None:
            fast = _prepare_fast(session, target, batch[0])
        if fast:
            try:
                assert isinstance(fast, _FastInsert)
                values = fast.tuples(batch)
            except _NeedsGenericPath:
                session.execute(insert(target), batch)
            else:
                session.connection().exec_driver_sql(fast.sql, values)  # type: ignore[arg-type]
        else:
            session.execute(insert(target), batch)
        total += len(batch)
    return total


def _prepare_fast(session: Session, target: Target, first: Row) -> _FastInsert | bool:
    keys = list(first)
    columns = _key_columns(target, keys)
    if not keys or columns is None:
        return False
    try:
        return _FastInsert(session.get_bind().dialect, _table(target), keys, columns)
    except _NeedsGenericPath:
        return False


def _insert_returning(
    session: Session,
    target: Target,
    rows: Iterable[Row],
    batch_size: int,
    returning: Sequence[Any],
) -> list[Any]:
    stmt = insert(target).returning(*returning, sort_by_parameter_order=True)
    out: list[Any] = []
    for batch in _chunks(rows, batch_size):
        result = session.execute(
            stmt, batch, execution_options={"insertmanyvalues_page_size": batch_size}
        )
        out.extend(result.scalars() if len(returning) == 1 else result.tuples())
    return out


def copy_insert(
    session: Session,
    target: Target,
    rows: Iterable[Row],
    *,
    batch_size: int = 10_000,
) -> int:
    """Load rows with PostgreSQL ``COPY ... FROM STDIN``: the fastest bulk path there is.

    Elsewhere it is :func:`bulk_insert`. Rows are dicts with the same keys;
    values go through the columns' bind processors like any insert. Runs on
    the session's connection, inside its transaction.
    """
    dialect = session.get_bind().dialect
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    rows = itertools.chain([first], iterator)
    if dialect.name != "postgresql":
        return int(bulk_insert(session, target, rows, batch_size=batch_size))
    fast = _prepare_fast(session, target, first)
    if not isinstance(fast, _FastInsert):
        return int(bulk_insert(session, target, rows, batch_size=batch_size))
    table, preparer = _table(target), dialect.identifier_preparer
    columns = [table.c[name] for name in _column_names(target, list(first))]
    columns += [column for column, _ in fast.fill]
    sql = "COPY {} ({}) FROM STDIN".format(
        preparer.format_table(table), ", ".join(preparer.format_column(c) for c in columns)
    )
    driver = session.connection().connection.driver_connection
    assert driver is not None
    started, total = time.perf_counter(), 0
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        for batch in _chunks(rows, batch_size):
            for values in fast.tuples(batch):
                copy.write_row(values)
            total += len(batch)
    record_statement(sql, time.perf_counter() - started)
    return total


def _column_names(target: Target, keys: Sequence[str]) -> list[str]:
    columns = _key_columns(target, keys)
    assert columns is not None
    return [column.name for column in columns]


def upsert(
    session: Session,
    target: Target,
    rows: Iterable[Row],
    *,
    conflict: Sequence[str],
    update: Sequence[str] | Mapping[str, UpdateRule] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> int:
    """Insert rows, or update the existing row with the same ``conflict`` key.

    ``update`` names the columns to overwrite from the incoming row (default:
    every column given except the key ones), or maps a column to a rule
    ``(current, incoming) -> expression`` evaluated by the database, e.g.
    ``{"quantity": lambda current, new: current + new}`` to add to what is
    stored without a read-modify-write race. An empty ``update`` only inserts
    what is missing. PostgreSQL and SQLite use ``ON CONFLICT (conflict) DO
    UPDATE``; MariaDB ``ON DUPLICATE KEY UPDATE``, which reacts to *any* unique
    key of the table. Returns the number of input rows.
    """
    dialect = session.get_bind().dialect.name
    total = 0
    for batch in _chunks(rows, batch_size):
        rules = _update_rules(update, batch[0], conflict)
        session.execute(_upsert_statement(dialect, target, conflict, rules), batch)
        total += len(batch)
    return total


def _update_rules(
    update: Sequence[str] | Mapping[str, UpdateRule] | None, first: Row, conflict: Sequence[str]
) -> dict[str, UpdateRule | None]:
    if update is None:
        return {key: None for key in first if key not in conflict}
    if isinstance(update, Mapping):
        return dict(update)
    return dict.fromkeys(update)


def _upsert_statement(
    dialect: str, target: Target, conflict: Sequence[str], rules: Mapping[str, UpdateRule | None]
) -> Any:
    table = _table(target)
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        my_stmt = mysql_insert(target)
        incoming = my_stmt.inserted
        values = {k: (rule or _take)(table.c[k], incoming[k]) for k, rule in rules.items()}
        # Nothing to update: assign a key column to itself, MariaDB's "do nothing".
        return my_stmt.on_duplicate_key_update(values or {conflict[0]: table.c[conflict[0]]})
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    else:
        raise NotImplementedError(f"upsert is not implemented for {dialect}")
    stmt = dialect_insert(target)
    excluded = stmt.excluded
    if not rules:
        return stmt.on_conflict_do_nothing(index_elements=list(conflict))
    values = {k: (rule or _take)(table.c[k], excluded[k]) for k, rule in rules.items()}
    return stmt.on_conflict_do_update(index_elements=list(conflict), set_=values)


def _take(current: ColumnElement[Any], incoming: ColumnElement[Any]) -> ColumnElement[Any]:
    return incoming


def update_where(
    session: Session, target: Target, *criteria: ColumnElement[bool], values: Row
) -> int:
    """``UPDATE target SET values WHERE criteria`` in one statement; returns rows matched.

    Unlike the guide's ``synchronize_session=False``, objects already loaded in
    the session are brought up to date (``synchronize_session="auto"``), so
    nothing reads a stale value afterwards.
    """
    result = session.execute(update(target).where(*criteria).values(dict(values)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def bulk_update(session: Session, model: type[Any], rows: Iterable[Row]) -> int:
    """ORM bulk UPDATE by primary key: each dict holds the key and the new values."""
    total = 0
    for batch in _chunks(rows, DEFAULT_BATCH_SIZE):
        session.execute(update(model), batch)
        total += len(batch)
    return total

"""Bulk writes: insert, upsert, update by criteria, and PostgreSQL COPY.

The guide's ``bulk_save_objects`` is legacy and slow. SQLAlchemy 2's ORM bulk
``insert()`` with a list of dicts is the modern path, and it is what
:func:`bulk_insert` uses whenever it must hand ids back (``RETURNING``, batched
by *insertmanyvalues*) or the rows need its full machinery. When they do not,
most of the remaining cost is SQLAlchemy building a parameter set per row
(defaults, bind processing, per-row dict work) that plain values do not need;
profiled on SQLite it is the larger part of the time (ORM bulk ``insert()`` is
4-5x raw ``executemany``, Core 2x). The fast path compiles the INSERT once per
call, turns each batch of dicts into tuples column by column (Python-side
defaults filled in, each column's bind processor applied, so ``Decimal``, UTC
datetimes and the like are stored exactly as the ORM would store them), and
passes them to the driver's ``executemany`` through
``Connection.exec_driver_sql``, so the statement still runs in the session's
transaction and is seen by the profiling listeners. A batch the fast path
cannot reproduce exactly (SQL expressions as values, rows with different
keys, ``None`` where the ORM would apply a default instead) goes through
SQLAlchemy for that batch.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from operator import is_, itemgetter
from typing import Any, overload

from sqlalchemy import ColumnElement, Table, bindparam, insert, inspect, literal, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, CursorResult, Dialect, Result
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.schema import Column, ColumnDefault

from alchemy_patterns.db.errors import StaleVersion
from alchemy_patterns.db.greenlet import AwaitedCursor
from alchemy_patterns.db.history import HistoryBypassed, copied, copy_to_history, is_historied
from alchemy_patterns.db.profiling import record_statement
from alchemy_patterns.db.versioning import version_column

__all__ = [
    "bulk_insert",
    "bulk_update",
    "copy_insert",
    "rowcount",
    "update_where",
    "upsert",
    "upsert_statement",
]

Target = type[Any] | Table
Row = Mapping[str, Any]
UpdateRule = Callable[[ColumnElement[Any], ColumnElement[Any]], ColumnElement[Any]]
#: ``(stored row's columns, incoming row's columns) -> condition`` for a conditional upsert.
UpdateCondition = Callable[[Any, Any], ColumnElement[bool]]

DEFAULT_BATCH_SIZE = 1000
#: Paramstyles whose placeholders the fast path writes itself.
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _mapper(target: Target) -> Mapper[Any] | None:
    return None if isinstance(target, Table) else inspect(target)


def _table(target: Target) -> Table | None:
    """The table rows of ``target`` go to, or None if it is not mapped to a single table."""
    if isinstance(target, Table):
        return target
    table = inspect(target).local_table
    return table if isinstance(table, Table) else None


def _bind_arguments(target: Target) -> dict[str, Any]:
    """So a session with several binds picks the engine that holds ``target``."""
    return {"clause": target} if isinstance(target, Table) else {"mapper": target}


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    if size < 1:
        raise ValueError(f"batch_size must be 1 or more, not {size}")
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _key_columns(target: Target, keys: Iterable[str]) -> list[Column[Any]] | None:
    """The columns behind ``keys`` (attribute names on a mapped class), or None if unmapped."""
    table = _table(target)
    if table is None:
        return None
    if isinstance(target, Table):
        keys = list(keys)
        return [table.c[key] for key in keys] if all(key in table.c for key in keys) else None
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


def _columns(target: Target, keys: Iterable[str]) -> list[Column[Any]]:
    """Like :func:`_key_columns`, but a key that names no column is a ``KeyError``."""
    keys = list(keys)
    columns = _key_columns(target, keys)
    if columns is None:
        raise KeyError(f"not all of {keys} are columns of {target}")
    return columns


def _context_free(default: ColumnDefault) -> Callable[[], Any] | None:
    """A callable default as a zero-argument function, or None if it wants the context.

    SQLAlchemy wraps a zero-argument default in ``lambda ctx: fn()``; a default
    that takes the execution context needs SQLAlchemy's own insert path.
    """
    fn = default.arg
    code = getattr(fn, "__code__", None)
    if code is not None and code.co_qualname.endswith("_maybe_wrap_callable.<locals>.<lambda>"):
        return lambda: fn(None)
    return None


class _NeedsGenericPath(Exception):
    """The rows need SQLAlchemy's full INSERT machinery (SQL expressions, sequences…)."""


class _FastInsert:
    """A compiled positional INSERT and the per-column work to turn dicts into tuples."""

    def __init__(
        self, dialect: Dialect, table: Table, keys: Sequence[str], columns: list[Column[Any]]
    ) -> None:
        self.keys = tuple(keys)
        self.width = len(keys)
        self.getter = itemgetter(*keys)
        self.fill = self._python_defaults(table, columns)
        self.columns = columns + [column for column, _, _ in self.fill]
        processors = [
            column.type.dialect_impl(dialect).bind_processor(dialect) for column in self.columns
        ]
        # (position, processor) of the given columns; defaults are processed when filled.
        self.processors = [(i, p) for i, p in enumerate(processors[: self.width]) if p]
        self.fill_processors = processors[self.width :]
        self.safe_types: set[type[Any]] = set()
        placeholder = _PLACEHOLDERS[dialect.paramstyle]
        preparer = dialect.identifier_preparer  # escapes % in names for format paramstyles
        self.column_list = ", ".join(preparer.format_column(column) for column in self.columns)
        self.sql = "INSERT INTO {} ({}) VALUES ({})".format(
            preparer.format_table(table),
            self.column_list,
            ", ".join([placeholder] * len(self.columns)),
        )

    @staticmethod
    def _python_defaults(
        table: Table, given: list[Column[Any]]
    ) -> list[tuple[Column[Any], Any, Callable[[], Any] | None]]:
        """(column, scalar, zero-argument function) for each missing column with a default."""
        fill: list[tuple[Column[Any], Any, Callable[[], Any] | None]] = []
        given_columns = set(given)
        for column in table.columns:
            default = column.default
            if column in given_columns or default is None:
                continue
            if default.is_scalar:
                fill.append((column, default.arg, None))  # type: ignore[attr-defined]
            elif default.is_callable and (fn := _context_free(default)):  # type: ignore[arg-type]
                fill.append((column, None, fn))
            else:  # a SQL expression, a sequence, a function of the context
                raise _NeedsGenericPath
        return fill

    def none_means_default(self, mapped: bool) -> list[int]:
        """Positions where the ORM reads ``None`` as "not given" and applies the default.

        ORM bulk INSERT leaves a ``None`` out of the row (unless the type
        stores ``None`` as a value, like JSON ``null``), so a Python default,
        a server default or the autoincrement key applies instead of NULL. A
        Core insert into a ``Table`` sends NULL.
        """
        if not mapped:
            return []
        return [
            i
            for i, column in enumerate(self.columns[: self.width])
            if not column.type.should_evaluate_none
            and (
                column.primary_key
                or column.default is not None
                or column.server_default is not None
                or column.identity is not None
            )
        ]

    def tuples(self, batch: list[Row], none_means_default: Sequence[int] = ()) -> list[Any]:
        """The batch as tuples in column order, or :class:`_NeedsGenericPath`."""
        if set(map(len, batch)) != {self.width}:
            raise _NeedsGenericPath  # heterogeneous keys: let SQLAlchemy group them
        try:
            values = list(map(self.getter, batch))
        except KeyError as missing:
            raise _NeedsGenericPath from missing
        if self.width == 1:
            values = [(value,) for value in values]
        types = set(map(type, itertools.chain.from_iterable(values))) - self.safe_types
        if any(map(_is_expression, types)):
            raise _NeedsGenericPath  # a SQL expression as a value
        self.safe_types |= types
        if not (self.processors or self.fill or none_means_default):
            return values
        columns: list[Sequence[Any]] = list(zip(*values, strict=True))
        for i in none_means_default:
            if any(map(is_, columns[i], itertools.repeat(None))):
                raise _NeedsGenericPath
        for i, processor in self.processors:
            columns[i] = list(map(processor, columns[i]))
        count = len(values)
        for (_, scalar, fn), process in zip(self.fill, self.fill_processors, strict=True):
            if fn is None:  # a constant: processed once
                columns.append([process(scalar) if process else scalar] * count)
            else:
                filled = [fn() for _ in range(count)]
                columns.append(list(map(process, filled)) if process else filled)
        return list(zip(*columns, strict=True))


def _is_expression(kind: type[Any]) -> bool:
    return issubclass(kind, ClauseElement) or hasattr(kind, "__clause_element__")


#: Bound parameters one multi-row VALUES statement may carry (SQLite's limit, the lowest).
_MAX_PARAMETERS = 32_000


def _insert_generic(session: Session, target: Target, batch: list[Row]) -> None:
    """Insert one batch through SQLAlchemy.

    Plain values go as an ORM (or Core) bulk executemany, which also groups
    rows by their keys. SQL expressions cannot be executemany parameters;
    rows holding them are sent as multi-row ``INSERT ... VALUES`` statements
    with the expressions inline, rows with the same keys together, in order.
    """
    values = itertools.chain.from_iterable(row.values() for row in batch)
    if not any(map(_is_expression, set(map(type, values)))):
        session.execute(insert(target), batch)
        return
    for _, same_keys in itertools.groupby(batch, key=lambda row: frozenset(row)):
        group = list(same_keys)
        size = max(1, _MAX_PARAMETERS // max(1, len(group[0])))
        for start in range(0, len(group), size):
            session.execute(insert(target).values(group[start : start + size]))


def _tuples(fast: _FastInsert, batch: list[Row], none_means_default: Sequence[int]) -> list[Any]:
    """:meth:`_FastInsert.tuples`, a failing bind processor reported as SQLAlchemy reports it."""
    try:
        return fast.tuples(batch, none_means_default)
    except _NeedsGenericPath:
        raise
    except Exception as error:  # e.g. a naive datetime refused by UTCDateTime
        name = f"{type(error).__module__}.{type(error).__name__}"
        raise sa_exc.StatementError(f"({name}) {error}", fast.sql, None, error) from error


def _prepare_fast(session: Session, target: Target, first: Row) -> _FastInsert | None:
    """The fast path for rows shaped like ``first``, or None if SQLAlchemy must do it all."""
    dialect = session.get_bind(**_bind_arguments(target)).dialect
    mapper, table = _mapper(target), _table(target)
    if table is None or dialect.paramstyle not in _PLACEHOLDERS:
        return None
    if mapper is not None and (
        mapper.inherits is not None  # joined/single inheritance: several tables or a discriminator
        or mapper.polymorphic_on is not None
        or mapper.version_id_col is not None
    ):
        return None
    keys = list(first)
    columns = _key_columns(target, keys)
    if not keys or columns is None:
        return None
    try:
        return _FastInsert(dialect, table, keys, columns)
    except _NeedsGenericPath:
        return None


def _flush_pending(session: Session) -> None:
    """Flush pending objects first, as ``session.execute()`` does before an ORM insert."""
    if session.autoflush:
        session.flush()


@overload
def bulk_insert(
    session: Session,
    target: Target,
    rows: Iterable[Row],
    *,
    batch_size: int = ...,
    returning: None = None,
) -> int: ...


@overload
def bulk_insert(
    session: Session,
    target: Target,
    rows: Iterable[Row],
    *,
    batch_size: int = ...,
    returning: Sequence[Any],
) -> list[Any]: ...


def bulk_insert(
    session: Session,
    target: Target,
    rows: Iterable[Row],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    returning: Sequence[Any] | None = None,
) -> int | list[Any]:
    """Insert ``rows`` (dicts keyed by attribute name) in batches of ``batch_size``.

    Without ``returning``: the fast executemany path, one statement per batch;
    returns the number of rows inserted. With ``returning`` (columns, e.g.
    ``[User.id]``): ORM bulk ``insert().returning(...)``, rows back in input
    order; returns the list (scalars for one column). Either way the rows are
    stored as ``session.execute(insert(target), rows)`` would store them:
    Python-side defaults for missing keys, bind processing, and (for a mapped
    class) ``None`` in a column with a default meaning "use the default".
    SQL expressions as values (``func.lower(...)``) work without
    ``returning``: their rows go as multi-row ``INSERT ... VALUES``. Pending
    objects are flushed first. Runs in the session's transaction; nothing is
    committed.
    """
    if returning is not None:
        return _insert_returning(session, target, rows, batch_size, returning)
    total = 0
    fast_path: _FastPath | None = None
    decided = False
    for batch in _chunks(rows, batch_size):
        if not decided:
            decided, fast_path = True, _fast_path(session, target, batch[0])
        try:
            if fast_path is None:
                raise _NeedsGenericPath
            fast, connection, none_means_default = fast_path
            values = _tuples(fast, batch, none_means_default)
        except _NeedsGenericPath:
            _insert_generic(session, target, batch)
        else:
            connection.exec_driver_sql(fast.sql, values)
        total += len(batch)
    return total


#: The driver-level INSERT, the connection it runs on, the positions where None means default.
_FastPath = tuple[_FastInsert, Connection, list[int]]


def _fast_path(session: Session, target: Target, first: Row) -> _FastPath | None:
    """The fast path for rows shaped as ``first`` (pending objects flushed), or None."""
    fast = _prepare_fast(session, target, first)
    if fast is None:
        return None
    _flush_pending(session)
    connection = session.connection(bind_arguments=_bind_arguments(target))
    return fast, connection, fast.none_means_default(_mapper(target) is not None)


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
        out.extend(result.scalars() if len(returning) == 1 else result)
    return out


def copy_insert(
    session: Session,
    target: Target,
    rows: Iterable[Row],
    *,
    batch_size: int = 10_000,
) -> int:
    """Load rows with PostgreSQL ``COPY ... FROM STDIN``: the fastest bulk path there is.

    Elsewhere (and on a PostgreSQL driver other than psycopg 3) it is
    :func:`bulk_insert`. Rows are dicts with the same keys; values go through
    the columns' bind processors and Python-side defaults like any insert. A
    batch that COPY cannot carry as given (SQL expressions, different keys) is
    inserted by :func:`bulk_insert` between two COPYs. Runs on the session's
    connection, inside its transaction; the COPY is counted by
    :func:`~alchemy_patterns.db.count_queries`. Returns the number of rows.
    """
    dialect = session.get_bind(**_bind_arguments(target)).dialect
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    rows = itertools.chain([first], iterator)
    table, fast = _table(target), None
    if table is not None and dialect.name == "postgresql" and dialect.driver == "psycopg":
        fast = _prepare_fast(session, target, first)
    if table is None or fast is None:
        return bulk_insert(session, target, rows, batch_size=batch_size)
    _flush_pending(session)
    none_means_default = fast.none_means_default(_mapper(target) is not None)
    sql = f"COPY {dialect.identifier_preparer.format_table(table)} ({fast.column_list}) FROM STDIN"
    if dialect.paramstyle in ("format", "pyformat"):
        sql = sql.replace("%%", "%")  # the preparer doubled it, but COPY is not %-formatted
    connection = session.connection(bind_arguments=_bind_arguments(target))
    driver = connection.connection.driver_connection
    if driver is None:
        raise sa_exc.ResourceClosedError("the session's DBAPI connection is gone: no COPY")
    total, started = 0, 0.0
    # The COPY in progress, if any, and how to write a row to it.
    open_copy = ExitStack()
    write_row: Callable[[Sequence[Any]], None] | None = None

    def finish_copy() -> None:
        nonlocal write_row
        if write_row is not None:
            open_copy.close()  # ends the COPY: the rows so far are in
            record_statement(sql, time.perf_counter() - started, dialect=dialect)
            write_row = None

    # An asyncio engine's psycopg connection is async: copy_insert runs in the greenlet there.
    cursor_of = AwaitedCursor if dialect.is_async else (lambda cursor: cursor)
    with cursor_of(driver.cursor()) as cursor, open_copy:
        for batch in _chunks(rows, batch_size):
            try:
                values = _tuples(fast, batch, none_means_default)
            except _NeedsGenericPath:
                finish_copy()
                _insert_generic(session, target, batch)
            else:
                if write_row is None:
                    started = time.perf_counter()
                    write_row = open_copy.enter_context(cursor.copy(sql)).write_row
                for value in values:
                    write_row(value)
            total += len(batch)
        finish_copy()
    return total


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
    what is missing. Columns with an ``onupdate`` (``updated_at``) are set as
    an UPDATE would set them when a row is updated. PostgreSQL and SQLite use
    ``ON CONFLICT (conflict) DO UPDATE``; MariaDB ``ON DUPLICATE KEY UPDATE``,
    which reacts to *any* unique key of the table. Rows are applied in order,
    so a key repeated in the input updates the row the earlier one wrote.
    Returns the number of input rows. A historied model is refused
    (:class:`~alchemy_patterns.db.HistoryBypassed`) unless ``update`` is empty:
    an update on conflict would replace versions without keeping them.
    """
    if update != []:
        _refuse_historied(target, "upsert", "bulk_insert() for new rows and the ORM for changes")
    dialect = session.get_bind(**_bind_arguments(target)).dialect.name
    if isinstance(update, str):
        update = [update]
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


def _onupdate_values(table: Table, skip: Iterable[Column[Any]]) -> dict[str, ColumnElement[Any]]:
    """What an UPDATE would set by itself: each column's ``onupdate`` not already set."""
    values: dict[str, ColumnElement[Any]] = {}
    skipped = set(skip)
    for column in table.columns:
        default = column.onupdate
        if column in skipped or not isinstance(default, ColumnDefault):
            continue
        if default.is_clause_element:
            values[column.key] = default.arg
        elif default.is_scalar:
            values[column.key] = literal(default.arg, type_=column.type)
        elif default.is_callable and (fn := _context_free(default)):
            values[column.key] = literal(fn(), type_=column.type)
    return values


def upsert_statement(
    dialect: str,
    target: Target,
    *,
    conflict: Sequence[str],
    update: Sequence[str] | Mapping[str, UpdateRule],
    where: UpdateCondition | None = None,
) -> Any:
    """The statement :func:`upsert` runs, to build once and execute many times.

    ``dialect`` is the dialect's name (``session.get_bind().dialect.name``);
    ``update`` as in :func:`upsert`, given explicitly. Execute it with one
    dict of values per row; add ``.returning(...)`` to read the stored row
    back in the same round trip (PostgreSQL, SQLite and MariaDB 10.5+ return
    the row as inserted or updated). With a ``Table`` as ``target`` it is a
    Core statement, which costs less per execution than an ORM-enabled one.

    ``where(stored, incoming)`` makes the update conditional (PostgreSQL and
    SQLite ``DO UPDATE ... WHERE``): a conflicting row that fails it is left
    as it is and not returned. MariaDB's ``ON DUPLICATE KEY UPDATE`` has no
    such clause, so ``where`` there is a ``NotImplementedError``.
    """
    return _upsert_statement(dialect, target, conflict, _update_rules(update, {}, conflict), where)


def _upsert_statement(
    dialect: str,
    target: Target,
    conflict: Sequence[str],
    rules: Mapping[str, UpdateRule | None],
    where: UpdateCondition | None = None,
) -> Any:
    table = _table(target)
    if table is None:
        raise NotImplementedError(f"upsert needs a target mapped to one table, not {target}")
    conflict_columns = _columns(target, conflict)
    rule_columns = _columns(target, rules)

    def set_values(incoming: Any) -> dict[str, ColumnElement[Any]]:
        values = {
            column.key: (rule or _take)(column, incoming[column.key])
            for column, rule in zip(rule_columns, rules.values(), strict=True)
        }
        if values:
            values |= _onupdate_values(table, [*rule_columns, *conflict_columns])
        return values

    if dialect in ("mysql", "mariadb"):
        if where is not None:
            raise NotImplementedError("ON DUPLICATE KEY UPDATE cannot be made conditional")
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        my_stmt = mysql_insert(target)
        values = set_values(my_stmt.inserted)
        # Nothing to update: assign a key column to itself, MariaDB's "do nothing".
        key = conflict_columns[0]
        return my_stmt.on_duplicate_key_update(values or {key.key: key})
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    else:
        raise NotImplementedError(f"upsert is not implemented for {dialect}")
    stmt = dialect_insert(target)
    values = set_values(stmt.excluded)
    if not values:
        return stmt.on_conflict_do_nothing(index_elements=conflict_columns)
    condition = None if where is None else where(table.c, stmt.excluded)
    return stmt.on_conflict_do_update(index_elements=conflict_columns, set_=values, where=condition)


def _take(current: ColumnElement[Any], incoming: ColumnElement[Any]) -> ColumnElement[Any]:
    return incoming


def _refuse_historied(target: Target, name: str, instead: str) -> None:
    """A bulk path that cannot keep history refuses a historied target, saying what to use."""
    table = _table(target)
    if table is not None and is_historied(table):
        raise HistoryBypassed(
            f"{name}() would change rows of {table.name} without keeping their history; "
            f"use {instead}"
        )


def rowcount(result: Result[Any]) -> int:
    """How many rows the UPDATE, DELETE or INSERT that answered ``result`` matched.

    ``Session.execute`` is typed to answer a ``Result``; a statement that
    changes rows answers a ``CursorResult``, which carries the count. Any other
    result is a ``TypeError``, not a count of zero. (An INSERT's count is kept
    only with the ``preserve_rowcount`` execution option.)
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"a {type(result).__name__} carries no row count")
    return result.rowcount


def update_where(
    session: Session,
    target: Target,
    *criteria: ColumnElement[bool],
    values: Row,
    expected_version: int | None = None,
) -> int:
    """``UPDATE target SET values WHERE criteria`` in one statement; returns rows matched.

    Unlike the guide's ``synchronize_session=False``, objects already loaded in
    the session are brought up to date (``synchronize_session="auto"``), so
    nothing reads a stale value afterwards. Rows whose values were already the
    new ones count as matched on every backend.

    On a versioned model (``version_id_col``) the statement also moves each
    matched row's version (``version = version + 1``), unless ``values`` sets
    it. With ``expected_version`` it changes only rows at that version, and
    matching none is :class:`~alchemy_patterns.db.StaleVersion` (the row
    changed since it was read, or is gone).

    On a historied model (:class:`~alchemy_patterns.db.Historied`) the
    versions it replaces are copied to the history table first, by one
    ``INSERT ... SELECT ... FOR UPDATE`` with the same criteria: two statements.
    """
    values = dict(values)
    mapper = _mapper(target)
    column = None if mapper is None else version_column(target)
    if mapper is not None and column is not None:
        key = mapper.get_property_by_column(column).key
        values.setdefault(key, column + 1)
        if expected_version is not None:
            criteria = (*criteria, column == expected_version)
    elif expected_version is not None:
        raise TypeError(f"{target} is not versioned: expected_version means nothing to it")
    table = _table(target)
    if table is not None and is_historied(table):
        # The versions replaced go to history first (rows locked as copied); the
        # UPDATE then changes exactly the rows copied, none that started to match since.
        session.flush()
        history = copy_to_history(session, table, *criteria)
        criteria = (*criteria, copied(table, history))
    result = session.execute(
        update(target).where(*criteria).values(values),
        execution_options={"synchronize_session": "auto"},
    )
    matched = rowcount(result)
    if expected_version is not None and not matched:
        name = getattr(target, "__name__", target)
        raise StaleVersion(
            f"no row of {name} matched at version {expected_version}", expected=expected_version
        )
    return matched


def bulk_update(
    session: Session, model: type[Any], rows: Iterable[Row], *, batch_size: int = DEFAULT_BATCH_SIZE
) -> int:
    """ORM bulk UPDATE by primary key: each dict holds the key and the new values.

    One executemany per batch; objects already loaded in the session see the
    new values. A key that matches no row raises
    :class:`~alchemy_patterns.db.StaleVersion` once translated (SQLAlchemy's
    ``StaleDataError``; where the driver reports per-row counts). Returns the
    number of rows given.

    On a versioned model each row's version moves in the same statement
    (``version = version + 1``). A row that carries its version (the one it
    was read at) is updated only at that version: one that moved since, or a
    key that matches no row, fails the batch with ``StaleVersion``.

    A historied model (:class:`~alchemy_patterns.db.Historied`) is refused
    (:class:`~alchemy_patterns.db.HistoryBypassed`): use :func:`update_where`
    or the ORM, which keep the versions they replace.
    """
    _refuse_historied(model, "bulk_update", "update_where() or the ORM")
    column = version_column(model)
    total = 0
    for batch in _chunks(rows, batch_size):
        if column is None:
            session.execute(update(model), batch)
        else:
            _update_versioned(session, model, batch)
        total += len(batch)
    return total


def _keys_of(row: Row) -> tuple[str, ...]:
    return tuple(row)


def _update_versioned(session: Session, model: type[Any], rows: list[Row]) -> None:
    """UPDATE by primary key moving the version: one executemany per set of keys.

    SQLAlchemy's own bulk UPDATE of a versioned model needs every row's
    version and runs one statement per row, to count each; this one is a Core
    executemany on the table (``WHERE id = :id [AND version = :read]``, ``SET
    ..., version = version + 1``) whose total count says whether every row
    matched, and objects loaded in the session are expired.
    """
    mapper: Mapper[Any] = inspect(model)
    table = _table(model)
    column = mapper.version_id_col
    if table is None or column is None:
        raise NotImplementedError(f"bulk_update needs a versioned model on one table, not {model}")
    version = mapper.get_property_by_column(column).key
    keys = [mapper.get_property_by_column(pk).key for pk in mapper.primary_key]
    _flush_pending(session)
    connection = session.connection(bind_arguments=_bind_arguments(model))
    names: tuple[str, ...]
    for names, same_keys in itertools.groupby(rows, key=_keys_of):
        group = list(same_keys)
        changed = [name for name in names if name not in keys and name != version]
        criteria = [
            pk == bindparam(f"k_{key}") for pk, key in zip(mapper.primary_key, keys, strict=True)
        ]
        if version in names:
            criteria.append(column == bindparam("k_version"))
        setting: dict[Any, Any] = {
            col: bindparam(f"v_{name}")
            for col, name in zip(_columns(model, changed), changed, strict=True)
        }
        stmt = update(table).where(*criteria).values(setting | {column: column + 1})
        params = [
            {f"k_{key}": row[key] for key in keys}
            | {f"v_{name}": row[name] for name in changed}
            | ({"k_version": row[version]} if version in names else {})
            for row in group
        ]
        batches = (
            [params] if connection.dialect.supports_sane_multi_rowcount else [[p] for p in params]
        )
        for each in batches:
            matched = connection.execute(stmt, each).rowcount
            if matched != len(each):
                raise StaleVersion(
                    f"UPDATE of {table.name} expected to match {len(each)} row(s) at their "
                    f"versions; {matched} did",
                    table=table.name,
                )
        for row in group:
            identity = mapper.identity_key_from_primary_key(tuple(row[key] for key in keys))
            if (loaded := session.identity_map.get(identity)) is not None:
                session.expire(loaded)

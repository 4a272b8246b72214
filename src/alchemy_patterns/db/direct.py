"""Prepared Core statements: SQLAlchemy compiles them once, psycopg runs them directly.

``Connection.execute`` costs a one-row SELECT about 2.4 times the Python
that psycopg's own ``execute`` costs (``benchmarks/statement.py``): a
compiled-cache lookup, an execution context, a ``CursorResult``, the event
hooks. That general machinery is what a hot read pays most for. A
statement built once at import and marked with :func:`prepared` needs
little of it. For such a statement, :func:`~alchemy_patterns.db.execute_core`
keeps what SQLAlchemy decides:

* the SQL its dialect compiles, once per dialect and parameter names;
* the types' bind and result processing;
* the error it raises, and the connections it invalidates when the
  database is gone (its own error handling runs on every failure).

It drops the rest: the cache lookup, the context and the cursor-result
machinery. The cursor is the driver's, so statement counts, the slow-query
log and disconnect tracking (:mod:`alchemy_patterns.db.cursors`) see it as
any other statement.

The direct path runs only where it cannot change what the caller sees. It
takes a synchronous psycopg connection in a transaction (read-only or of an
isolation level, as the session's), with no other execution option and no
event listener that would expect to see the statement. The statement is a
SELECT, or a DML statement whose columns need no Python-side default, with
one parameter set or many (an executemany without RETURNING). Anything else
goes through ``Connection.execute`` unchanged: echo, streaming, an
executemany with RETURNING, asyncio drivers, other drivers and statements
not marked.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Executable
from sqlalchemy.engine import Dialect, IteratorResult
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import ReturnsRows

__all__ = ["DirectResult", "execute_directly", "execute_on", "is_prepared", "prepared"]

#: The statements marked :func:`prepared` (only while they live).
_PREPARED: weakref.WeakSet[Executable] = weakref.WeakSet()

S = TypeVar("S", bound=Executable)
Processor = Callable[[Any], Any]


def prepared(statement: S) -> S:
    """Mark ``statement`` to run directly on the driver when it can (see the module); return it.

    For statements built once, at import: each is compiled once per dialect
    and set of parameter names, and kept while the dialect lives. The mark is the
    object's own. A statement derived from it (its ``.where()``, its
    ``.limit()``) is not marked: built per call, it would be compiled per
    call, where SQLAlchemy's cache serves it better.
    """
    _PREPARED.add(statement)
    return statement


def is_prepared(statement: Executable) -> bool:
    """Whether ``statement`` itself was marked :func:`prepared`."""
    return statement in _PREPARED


class DirectResult(IteratorResult[*tuple[Any, ...]]):
    """The rows of a statement run directly, with SQLAlchemy's ``Result`` API.

    ``Row`` objects, ``one()``, ``scalar()``, ``all()`` and the rest, plus
    ``rowcount`` as the driver reports it. A statement that returns no rows
    gives a closed result: fetching from it raises, as from SQLAlchemy's.
    """

    rowcount: int


@dataclass(slots=True, eq=False)
class _Plan:
    """What one statement needs on one dialect: its compiled form and its result's shape."""

    compiled: SQLCompiler
    #: The SQL to send, or None when it depends on the values (an expanding IN).
    sql: str | None
    #: The bind processors of the statement's types, by parameter name.
    bind_processors: Mapping[str, Processor]
    #: The result's columns, in order; empty when the statement returns no rows.
    columns: list[Any]
    #: The rows' keys: names, and the column objects themselves (``row._mapping[column]``).
    #: Its result processors are learned from the first run's description.
    metadata: SimpleResultMetaData
    learned: bool = False


Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
#: A statement's plans on one dialect, by (parameter names, executemany): the plan,
#: or None when it cannot run directly.
Plans = dict[tuple[tuple[str, ...], bool], "_Plan | None"]

#: Per dialect (while it lives), per statement. A plan's compiled form holds its
#: statement, so a dialect keeps at most ``_MAX_STATEMENTS`` statements' plans and
#: starts over past that: prepared statements built per call cannot grow it for ever.
_PLANS: weakref.WeakKeyDictionary[Dialect, dict[Executable, Plans]] = weakref.WeakKeyDictionary()
_MAX_STATEMENTS = 1000
_NO_ROWS = SimpleResultMetaData([])
#: Connection options the direct path keeps: they shape the transaction or the
#: connection, in force before any statement runs, not how a statement runs.
_TRANSACTION_OPTIONS = frozenset(
    {"isolation_level", "postgresql_readonly", "postgresql_deferrable", "logging_token"}
)
#: Statement options the direct path honours: ``rowcount`` is always the driver's.
_HARMLESS_OPTIONS = frozenset({"preserve_rowcount"})


def execute_on(
    connection: Connection, statement: Executable, parameters: Parameters = None
) -> CursorResult[*tuple[Any, ...]] | DirectResult:
    """``connection.execute(statement, parameters)``, directly if the statement is :func:`prepared`.

    Where the direct path cannot run it, SQLAlchemy does; the same rows, ``rowcount`` and errors.
    """
    result = execute_directly(connection, statement, parameters)
    return connection.execute(statement, parameters) if result is None else result


def execute_directly(
    connection: Connection, statement: Executable, parameters: Parameters
) -> DirectResult | None:
    """Run a :func:`prepared` statement on the driver's cursor, or None if it cannot.

    None means nothing was sent: the caller runs the statement through
    ``Connection.execute``. A list of parameter sets is one executemany, as
    SQLAlchemy sends it for a statement without RETURNING. A driver error
    leaves as SQLAlchemy's would (``DBAPIError`` chained to it, the
    connection invalidated if it is gone).
    """
    if statement not in _PREPARED or not _plain(connection):
        return None
    sets: Sequence[Mapping[str, Any]]
    if parameters is None or isinstance(parameters, Mapping):
        many, sets = False, (parameters or {},)
    elif parameters:
        many, sets = True, parameters
    else:
        return None
    plan = _plan_for(connection.dialect, statement, sets[0], many)
    if plan is None:
        return None
    compiled, sql = plan.compiled, plan.sql
    values: Any
    if sql is None:  # an expanding IN: SQLAlchemy renders the SQL for these values
        state = compiled.construct_expanded_state(sets[0])
        sql, values = state.statement, _bound(state.parameters, state.processors)
    elif many:
        values = [_bound(compiled.construct_params(p), plan.bind_processors) for p in sets]
    else:
        values = _bound(compiled.construct_params(sets[0]), plan.bind_processors)
    driver_connection = connection.connection.driver_connection
    assert driver_connection is not None
    cursor = None
    try:
        cursor = driver_connection.cursor()  # fails on a connection psycopg knows is closed
        if many:
            cursor.executemany(sql, values)
        else:
            cursor.execute(sql, values)
        rows = cursor.fetchall() if plan.columns else []
        rowcount = cursor.rowcount
        if plan.columns and not plan.learned:
            _learn_result_processors(plan, connection.dialect, cursor.description)
    except BaseException as error:
        # SQLAlchemy's own handling (a private method, the one place that has
        # it all): the wrapped error, the handle_error hooks, the connection
        # (and the pool, for a disconnect) invalidated, and on an interrupt
        # the connection dropped, as its state is unknown.
        connection._handle_dbapi_exception(error, sql, values, cursor, None)
    finally:
        if cursor is not None:
            cursor.close()
    return _result(plan, rows, rowcount)


def _bound(values: Mapping[str, Any], processors: Mapping[str, Processor]) -> Mapping[str, Any]:
    """``values`` as the driver takes them: each through its type's bind processor, if any."""
    if not processors:
        return values
    return {
        name: processors[name](value) if name in processors else value
        for name, value in values.items()
    }


def _plain(connection: Connection) -> bool:
    """Whether nothing attached to ``connection`` expects to see each statement."""
    engine = connection.engine
    if connection.invalidated or not connection.in_transaction():
        return False
    if engine.echo or not _TRANSACTION_OPTIONS.issuperset(connection.get_execution_options()):
        return False
    if engine.logger.isEnabledFor(logging.INFO) or connection.dialect.dispatch.handle_error:
        return False
    # SQLAlchemy's own test before it dispatches any ConnectionEvents; then the ones that matter.
    if connection._has_events or engine._has_events:
        dispatch = connection.dispatch
        return not (
            dispatch.before_execute
            or dispatch.after_execute
            or dispatch.before_cursor_execute
            or dispatch.after_cursor_execute
        )
    return True


def _plan_for(
    dialect: Dialect, statement: Executable, parameters: Mapping[str, Any], many: bool
) -> _Plan | None:
    by_statement = _PLANS.get(dialect)
    if by_statement is None:
        by_statement = _PLANS[dialect] = {}
    plans = by_statement.get(statement)
    if plans is None:
        if len(by_statement) >= _MAX_STATEMENTS:
            by_statement.clear()
        plans = by_statement[statement] = {}
    key = (tuple(parameters), many)
    if key not in plans:  # two threads may both make it: harmless
        plans[key] = _make_plan(dialect, statement, parameters, many)
    return plans[key]


def _make_plan(
    dialect: Dialect, statement: Executable, parameters: Mapping[str, Any], many: bool
) -> _Plan | None:
    if (
        dialect.driver != "psycopg"
        or dialect.is_async
        or dialect.bind_typing is BindTyping.SETINPUTSIZES
        or not isinstance(statement, ReturnsRows)
        or set(statement.get_execution_options()) - _HARMLESS_OPTIONS
    ):
        return None  # stream_results, yield_per and the like shape the execution
    compiled = statement.compile(
        dialect=dialect, column_keys=list(parameters), for_executemany=many
    )
    columns = list(statement.exported_columns)
    if not isinstance(compiled, SQLCompiler) or (
        compiled.insert_prefetch  # Python-side defaults: the execution context computes them
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.escaped_bind_names
        or compiled.has_out_parameters
        or (many and (columns or compiled.post_compile_params))
    ):
        return None
    expanding = bool(compiled.post_compile_params)
    return _Plan(
        compiled=compiled,
        sql=None if expanding else compiled.string,
        bind_processors=compiled.construct_expanded_state(parameters).processors,
        columns=columns,
        metadata=_metadata(statement.exported_columns.keys(), columns) if columns else _NO_ROWS,
    )


def _metadata(
    keys: Iterable[str], columns: list[Any], processors: Sequence[Any] | None = None
) -> SimpleResultMetaData:
    """Rows keyed by name and by column object, as a ``CursorResult``'s are."""
    extra = [(column,) for column in columns]
    return SimpleResultMetaData(list(keys), extra, _processors=processors)


def _learn_result_processors(plan: _Plan, dialect: Dialect, description: Any) -> None:
    """Give the plan's rows each column's result processor, for the type codes answered.

    What SQLAlchemy's cursor result asks each type for (``result_processor``
    with the column's type code); SQLAlchemy's row then applies them as its
    own does. One assignment: threads that learn at once learn the same.
    """
    processors = [
        column.type.dialect_impl(dialect).result_processor(dialect, described[1])
        for column, described in zip(plan.columns, description, strict=True)
    ]
    if any(processors):
        plan.metadata = _metadata(plan.metadata.keys, plan.columns, processors)
    plan.learned = True


def _result(plan: _Plan, rows: list[Any], rowcount: int) -> DirectResult:
    result = DirectResult(plan.metadata, iter(rows))
    result.rowcount = rowcount
    if not plan.columns:
        result.close()  # fetching raises, as from a CursorResult of an UPDATE
    return result

"""Every statement an engine runs, seen at the driver's cursor where that is cheap.

Statement counters and the slow-query log (:mod:`~alchemy_patterns.db.profiling`)
and the progress of a unit of work (:mod:`~alchemy_patterns.db.disconnects`)
need each statement, its duration and its failure. SQLAlchemy's cursor events
show them, but a listener for any connection event (``before_cursor_execute``,
``handle_error`` …) switches every execution on its engine to SQLAlchemy's
event-dispatching path. That path, not the listeners, cost 7 % of the
instructions of an owner's detail and 12 % of a checkout
(``benchmarks/instructions.py``).

So on the drivers the server runs on the statement is seen one level down,
through a documented hook of the driver, set on each new connection (by
events that dispatch nothing per statement):

* **psycopg 3**, sync and asyncio: the connection's ``cursor_factory`` and
  ``server_cursor_factory``, set by a pool ``connect`` event;
* **PyMySQL**: its connection's ``cursor()``, in a subclass that SQLAlchemy's
  ``do_connect`` event connects with (PyMySQL takes the cursor class per call).

The cursor class installed is the driver's own (or the one the application
chose), subclassed to time ``execute``/``executemany``. Every other driver
(pysqlite, whose engines dispatch events anyway for their ``BEGIN``;
aiosqlite; asyncmy) gets the cursor events, on its own engine only.

Statements that set a connection up (a dialect's first queries, an
``init_command``) run before the hook is set and are not seen: a unit's
statement budget is about the statements its code chooses to run.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection, Dialect, ExceptionContext
from sqlalchemy.pool import ConnectionPoolEntry

from alchemy_patterns.db import disconnects
from alchemy_patterns.db.profiling import record_statement

__all__ = ["observe_statements"]

#: Transaction control is not counted; its opening does not put a unit of work under way.
_TRANSACTION_CONTROL = re.compile(
    r"\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE
)

_OPENING = frozenset({"BEGIN", "START TRANSACTION"})

#: Whether a failed statement ran inside a transaction (so it could not have taken effect alone).
InTransaction = Callable[[Any], bool]


def observe_statements(engine: Engine) -> None:
    """Feed every statement ``engine`` runs to the counters, the slow-query log and the unit.

    ``make_engine`` calls it for every engine it makes; call it for an engine
    made otherwise. Pooled connections opened before the call are not seen.
    """
    _OBSERVERS.get(engine.driver, _listen_to_cursor_events)(engine)


def _statement_done(sql: str, started: float, many: bool, dialect: Dialect) -> None:
    seconds = time.perf_counter() - started
    control = _TRANSACTION_CONTROL.match(sql)
    if control is None:
        disconnects.statement_completed()
        record_statement(sql, seconds, many, dialect=dialect)
    elif control[1].upper() not in _OPENING:
        disconnects.statement_completed()  # a SAVEPOINT, say: the unit is under way


def _statement_failed(
    sql: str, started: float, many: bool, dialect: Dialect, error: BaseException, inside: bool
) -> None:
    # A statement the database refused was still sent and took time: it counts.
    seconds = time.perf_counter() - started
    if inside:  # even a BEGIN: it may be what found the connection dead
        disconnects.statement_failed(error)
    if not _TRANSACTION_CONTROL.match(sql):
        record_statement(sql, seconds, many, dialect=dialect)


# --- at the cursor --------------------------------------------------------------------------------

if TYPE_CHECKING:

    class _Cursor:
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any: ...
        def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any: ...

    class _AsyncCursor:
        async def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any: ...
        async def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any: ...

else:
    _Cursor = _AsyncCursor = object


class _Observed:
    """What a driver's cursor class is given, per engine: where its statements go."""

    _dialect: Dialect
    _in_transaction: InTransaction
    connection: Any
    #: Inside ``executemany``: PyMySQL's runs its rows through ``execute``, one statement in all.
    _many = False

    def _done(self, query: Any, started: float, many: bool) -> None:
        _statement_done(str(query), started, many, self._dialect)

    def _failed(self, query: Any, started: float, many: bool, error: BaseException) -> None:
        inside = self._in_transaction(self.connection)
        _statement_failed(str(query), started, many, self._dialect, error, inside)


class ObservedCursor(_Observed, _Cursor):
    """A driver's (sync) cursor that reports each statement it executes."""

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        if self._many:
            return super().execute(query, *args, **kwargs)
        started = time.perf_counter()
        try:
            result = super().execute(query, *args, **kwargs)
        except BaseException as error:
            self._failed(query, started, False, error)
            raise
        self._done(query, started, False)
        return result

    def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        started, self._many = time.perf_counter(), True
        try:
            result = super().executemany(query, *args, **kwargs)
        except BaseException as error:
            self._failed(query, started, True, error)
            raise
        finally:
            self._many = False
        self._done(query, started, True)
        return result


class ObservedAsyncCursor(_Observed, _AsyncCursor):
    """A driver's asyncio cursor that reports each statement it executes."""

    async def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = await super().execute(query, *args, **kwargs)
        except BaseException as error:
            self._failed(query, started, False, error)
            raise
        self._done(query, started, False)
        return result

    async def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = await super().executemany(query, *args, **kwargs)
        except BaseException as error:
            self._failed(query, started, True, error)
            raise
        self._done(query, started, True)
        return result


class _Observing:
    """Makes, once per engine, the observed subclass of each cursor class its driver uses."""

    def __init__(self, dialect: Dialect, in_transaction: InTransaction) -> None:
        self._namespace = {"_dialect": dialect, "_in_transaction": staticmethod(in_transaction)}
        self._made: dict[type, type] = {}

    def __call__(self, base: type) -> type:
        if issubclass(base, _Observed):
            return base
        if base not in self._made:
            mixin = ObservedAsyncCursor if _is_async(base) else ObservedCursor
            name = f"Observed{base.__name__}"
            self._made[base] = type(name, (mixin, base), dict(self._namespace))
        return self._made[base]


def _is_async(cursor_class: type) -> bool:
    return inspect.iscoroutinefunction(getattr(cursor_class, "execute", None))


def _observe_psycopg(engine: Engine) -> None:
    """psycopg names its cursor classes on the connection: set ours on each new one."""

    def in_transaction(connection: Any) -> bool:
        # Outside autocommit psycopg sends BEGIN with the first statement: it cannot commit alone.
        return not connection.autocommit

    observing = _Observing(engine.dialect, in_transaction)

    def install(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        connection: Any = record.driver_connection  # psycopg's own, under the asyncio adapter
        connection.cursor_factory = observing(connection.cursor_factory)
        connection.server_cursor_factory = observing(connection.server_cursor_factory)

    event.listen(engine, "connect", install)


def _observe_pymysql(engine: Engine) -> None:
    """PyMySQL takes a cursor class per ``cursor()`` call (SQLAlchemy's streaming one, say).

    So its connections are made of a subclass whose ``cursor()`` observes
    whichever class it is given, through SQLAlchemy's documented ``do_connect``
    hook, and told to start once the dialect has set the connection up.
    """
    from alchemy_patterns.db._pymysql import ObservedConnection

    def in_transaction(connection: Any) -> bool:
        return not connection.autocommit_mode  # what SQLAlchemy's isolation level set

    observing = _Observing(engine.dialect, in_transaction)

    def connect(_dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
        return ObservedConnection(*cargs, **cparams)

    def install(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        connection: Any = record.driver_connection
        connection.observing = observing

    event.listen(engine, "do_connect", connect)
    event.listen(engine, "connect", install)


_OBSERVERS: dict[str, Callable[[Engine], None]] = {
    "psycopg": _observe_psycopg,
    "pymysql": _observe_pymysql,
}


# --- through SQLAlchemy's cursor events -----------------------------------------------------------

_START = "_alchemy_patterns_started"


def _listen_to_cursor_events(engine: Engine) -> None:
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)
    event.listen(engine, "handle_error", _failed)


def _before(conn: Connection, *_: object) -> None:
    conn.info[_START] = time.perf_counter()


def _after(
    conn: Connection, _cursor: Any, statement: str, _params: Any, _context: Any, many: bool
) -> None:
    started = conn.info.pop(_START, None)
    if started is not None:
        _statement_done(statement, started, many, conn.dialect)


def _failed(context: ExceptionContext) -> None:
    connection, statement = context.connection, context.statement
    if connection is None:
        return  # a failed connect: no unit has anything to re-run on
    started = connection.info.pop(_START, None)
    inside = not connection._is_autocommit_isolation()  # SQLAlchemy's own test of the level
    error = context.original_exception
    if statement is None or started is None:
        # Before the cursor event (making the cursor of a closed connection): nothing sent.
        if inside:
            disconnects.statement_failed(error)
        return
    execution = context.execution_context
    many = bool(execution is not None and execution.executemany)
    _statement_failed(statement, started, many, context.dialect, error, inside)

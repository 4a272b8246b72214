"""Application errors, and their translation from driver errors.

A driver error says *what the database refused* in a dialect of its own: a
SQLSTATE on PostgreSQL, an errno on MariaDB, an extended result code on SQLite.
Callers want one vocabulary instead, whatever the backend: ``Conflict`` for a
unique violation, ``InvalidReference`` for a foreign key, ``ValidationFailed``
for a CHECK or NOT NULL, ``Unavailable`` when the database cannot be reached.

Translation keys on those codes first. The constraint's *name* is read from the
driver where it gives one (psycopg's ``diag``) and from the message where it
does not (MariaDB and SQLite put it only in the text); the naming convention in
:mod:`alchemy_patterns.db.base` makes those names predictable, and the
metadata turns a name back into the columns it covers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

from sqlalchemy import Index, MetaData, UniqueConstraint
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc
from sqlalchemy.schema import CheckConstraint, Column, ForeignKeyConstraint

__all__ = [
    "AppError",
    "Conflict",
    "InvalidReference",
    "NotFound",
    "StaleVersion",
    "Unavailable",
    "ValidationFailed",
    "is_retryable",
    "raise_translated",
    "translate_error",
    "translating_errors",
]


class AppError(Exception):
    """Base of the errors a service raises; ``code`` is stable for API clients."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(AppError):
    """The entity asked for does not exist (or is not visible to the caller)."""

    code = "not_found"

    def __init__(self, entity: str, key: object = None, message: str | None = None) -> None:
        self.entity = entity
        self.key = key
        suffix = "" if key is None else f" {key!r}"
        super().__init__(message or f"{entity}{suffix} not found")


class _ConstraintError(AppError):
    """An error tied to a database constraint, naming it and its columns."""

    def __init__(
        self,
        message: str,
        *,
        constraint: str | None = None,
        columns: tuple[str, ...] = (),
        table: str | None = None,
    ) -> None:
        super().__init__(message)
        self.constraint = constraint
        self.columns = columns
        self.table = table

    @property
    def field(self) -> str | None:
        """The first column involved: the field a form or an API names."""
        return self.columns[0] if self.columns else None


class Conflict(_ConstraintError):
    """A unique constraint (or another rule of uniqueness) was violated."""

    code = "conflict"


class StaleVersion(Conflict):
    """The row changed (or went) since the version the caller read: a lost optimistic race.

    Raised for a versioned model (``version_id_col``) whose UPDATE or DELETE
    matched no row at the version the session held, on every backend (it is
    SQLAlchemy's ``StaleDataError``, translated), and by
    :func:`~alchemy_patterns.db.check_version` when the caller expected
    another version. ``current`` is the version stored now, when known.
    """

    code = "stale_version"

    def __init__(
        self,
        message: str,
        *,
        entity: str | None = None,
        key: object = None,
        expected: object = None,
        current: int | None = None,
        table: str | None = None,
    ) -> None:
        super().__init__(message, table=table)
        self.entity = entity
        self.key = key
        self.expected = expected
        self.current = current


class InvalidReference(_ConstraintError):
    """A foreign key was violated: a missing parent, or a parent still referenced."""

    code = "invalid_reference"


class ValidationFailed(_ConstraintError):
    """A CHECK or NOT NULL constraint, or an argument check, was violated."""

    code = "validation_failed"


class Unavailable(AppError):
    """The database cannot serve the request now; retrying later may succeed."""

    code = "unavailable"

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# --- what the drivers say ---------------------------------------------------

# PostgreSQL SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_PG_UNIQUE, _PG_FK, _PG_CHECK, _PG_NOT_NULL = "23505", "23503", "23514", "23502"
_PG_RETRYABLE = {"40001": "serialization_failure", "40P01": "deadlock"}
_PG_UNAVAILABLE_CLASSES = ("08", "53", "57P")  # connection, resources, operator intervention
_PG_DATA_EXCEPTION = "22"  # a value that does not fit: too long, out of range, malformed

# MariaDB errnos
_MY_UNIQUE = frozenset({1062, 1586})
_MY_FK = frozenset({1451, 1452, 1216, 1217})
_MY_CHECK = frozenset({4025, 3819})
_MY_NOT_NULL = frozenset({1048, 1364})
# out of range, too long, an incorrect value for the column's type (strict mode)
_MY_DATA = frozenset({1264, 1406, 1366, 1292})
# deadlock, lock wait timeout, snapshot-isolation write conflict ("record has changed")
_MY_RETRYABLE = {1213: "deadlock", 1205: "lock_timeout", 1020: "write_conflict"}
_MY_UNAVAILABLE = frozenset({2002, 2003, 2006, 2013, 2055, 1040, 1053})

# SQLite extended result codes (https://www.sqlite.org/rescode.html)
_SQLITE_UNIQUE = frozenset({2067, 1555})  # CONSTRAINT_UNIQUE, CONSTRAINT_PRIMARYKEY
_SQLITE_FK = frozenset({787})
# ON DELETE RESTRICT is enforced by a trigger-like action: CONSTRAINT_TRIGGER, with
# the foreign key's own message.
_SQLITE_TRIGGER = 1811
_SQLITE_CHECK = frozenset({275})
_SQLITE_NOT_NULL = frozenset({1299})
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6

_QUOTED = r"[`'\"]?([^`'\"\s,()]+)[`'\"]?"


@dataclass(frozen=True)
class _Facts:
    """What one driver error tells, in a backend-neutral form."""

    kind: type[AppError] | None = None
    constraint: str | None = None
    columns: tuple[str, ...] = ()
    table: str | None = None
    #: Why re-running the whole transaction may succeed (``deadlock``…); None: it would not.
    retry_reason: str | None = None


def _postgresql_facts(orig: Any) -> _Facts:
    sqlstate = getattr(orig, "sqlstate", None) or ""
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    table = getattr(diag, "table_name", None)
    column = getattr(diag, "column_name", None)
    kinds: dict[str, type[AppError]] = {
        _PG_UNIQUE: Conflict,
        _PG_FK: InvalidReference,
        _PG_CHECK: ValidationFailed,
        _PG_NOT_NULL: ValidationFailed,
    }
    columns: tuple[str, ...] = (column,) if column else ()
    detail = getattr(diag, "message_detail", None) or ""
    if not columns and (match := re.search(r"Key \(([^)]*)\)", detail)):
        columns = tuple(part.strip().strip('"') for part in match.group(1).split(","))
    if sqlstate in _PG_RETRYABLE:
        return _Facts(retry_reason=_PG_RETRYABLE[sqlstate])
    if sqlstate.startswith(_PG_UNAVAILABLE_CLASSES):
        return _Facts(kind=Unavailable)
    if sqlstate.startswith(_PG_DATA_EXCEPTION):
        return _Facts(ValidationFailed, None, columns, table)
    return _Facts(kinds.get(sqlstate), constraint, columns, table)


def _mariadb_facts(orig: Any) -> _Facts:
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    errno = args[0] if args and isinstance(args[0], int) else None
    message = str(args[1]) if len(args) > 1 else ""
    if errno in _MY_RETRYABLE:
        return _Facts(retry_reason=_MY_RETRYABLE[errno])
    if errno in _MY_UNAVAILABLE:
        return _Facts(kind=Unavailable)
    if errno in _MY_UNIQUE:
        match = re.search(r"for key " + _QUOTED, message)
        key = match.group(1) if match else None
        # MariaDB prefixes the key with the table name ("users.uq_users_email") on some versions
        return _Facts(Conflict, key.rsplit(".", 1)[-1] if key else None)
    if errno in _MY_FK:
        constraint = re.search(r"CONSTRAINT " + _QUOTED, message)
        columns = re.search(r"FOREIGN KEY \(([^)]*)\)", message)
        return _Facts(
            InvalidReference,
            constraint.group(1) if constraint else None,
            _split_columns(columns.group(1)) if columns else (),
        )
    if errno in _MY_CHECK:
        constraint = re.search(r"CONSTRAINT " + _QUOTED, message)
        return _Facts(ValidationFailed, constraint.group(1) if constraint else None)
    if errno in _MY_DATA:
        column = re.search(r"column " + _QUOTED, message)
        return _Facts(ValidationFailed, None, (column.group(1),) if column else ())
    if errno in _MY_NOT_NULL:
        column = re.search(r"(?:Column|Field) " + _QUOTED, message)
        return _Facts(ValidationFailed, None, (column.group(1),) if column else ())
    return _Facts()


def _sqlite_facts(orig: Any) -> _Facts:
    code = getattr(orig, "sqlite_errorcode", None)
    message = str(orig)
    if code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return _Facts(retry_reason="busy" if code & 0xFF == _SQLITE_BUSY else "locked")
    detail = message.split(":", 1)[1].strip() if ":" in message else ""
    if code in _SQLITE_UNIQUE:
        # "UNIQUE constraint failed: users.email, users.name" or "...: index 'uq_x'"
        if match := re.match(r"index " + _QUOTED, detail):
            return _Facts(Conflict, match.group(1))
        pairs = [part.strip().split(".", 1) for part in detail.split(",") if "." in part]
        return _Facts(
            Conflict,
            None,
            tuple(column for _, column in pairs),
            pairs[0][0] if pairs else None,
        )
    if code in _SQLITE_FK or (code == _SQLITE_TRIGGER and "FOREIGN KEY" in message):
        return _Facts(InvalidReference)
    if code in _SQLITE_CHECK:
        return _Facts(ValidationFailed, detail or None)
    if code in _SQLITE_NOT_NULL:
        table, _, column = detail.partition(".")
        return _Facts(ValidationFailed, None, (column,) if column else (), table or None)
    return _Facts()


def _split_columns(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("`\"'") for part in text.split(","))


def _facts(error: sa_exc.DBAPIError) -> _Facts:
    orig = error.orig
    module = type(orig).__module__
    if module.startswith("psycopg"):
        return _postgresql_facts(orig)
    if module.startswith(("pymysql", "asyncmy")):  # asyncmy: PyMySQL's errors, ported
        return _mariadb_facts(orig)
    if module.startswith("sqlite3"):
        return _sqlite_facts(orig)
    return _Facts()


def is_retryable(error: BaseException) -> bool:
    """Whether re-running the *whole* transaction may succeed.

    True for serialization failures and deadlocks (PostgreSQL 40001/40P01),
    MariaDB deadlocks, lock-wait timeouts and snapshot write conflicts
    (1213/1205/1020), and SQLite's busy/locked. Everything else is a bug or a
    refusal that a retry would only repeat.
    """
    return retry_reason(error) is not None


def retry_reason(error: BaseException) -> str | None:
    """Why re-running the whole transaction may succeed, or None (see :func:`is_retryable`).

    One of ``serialization_failure``, ``deadlock``, ``lock_timeout``,
    ``write_conflict`` (MariaDB) and ``busy`` (SQLite): a label for logs and metrics.
    """
    seen: BaseException | None = error
    while seen is not None:  # also through ``raise AppError(...) from driver_error``
        if isinstance(seen, sa_exc.DBAPIError) and (reason := _facts(seen).retry_reason):
            return reason
        seen = seen.__cause__
    return None


# --- constraint names back to columns ----------------------------------------


def _constraint_columns(metadata: MetaData, name: str) -> tuple[str | None, tuple[str, ...]]:
    for table in metadata.tables.values():
        for constraint in table.constraints:
            if constraint.name == name:
                columns: Iterable[Column[Any]] = getattr(constraint, "columns", ())
                if isinstance(constraint, CheckConstraint):
                    columns = _columns_in(constraint.sqltext) or _named_in(
                        str(constraint.sqltext), table.columns
                    )
                return table.name, tuple(column.name for column in columns)
        for index in table.indexes:
            if index.name == name:
                return table.name, tuple(c.name for c in _index_columns(index))
    return None, ()


def _columns_in(clause: Any) -> list[Column[Any]]:
    from sqlalchemy.sql.visitors import iterate

    return [element for element in iterate(clause) if isinstance(element, Column)]


def _named_in(sql: str, columns: Iterable[Column[Any]]) -> list[Column[Any]]:
    """Columns named in a textual CHECK such as ``"price >= 0"``, in order of appearance."""
    by_name = {column.name: column for column in columns}
    words = dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql))
    return [by_name[word] for word in words if word in by_name]


def _index_columns(index: Index) -> list[Column[Any]]:
    columns = list(index.columns)
    for expression in index.expressions:
        columns.extend(c for c in _columns_in(expression) if c not in columns)
    return columns


def _constraint_for_columns(
    metadata: MetaData, table_name: str | None, columns: tuple[str, ...]
) -> str | None:
    table = metadata.tables.get(table_name or "")
    if table is None:
        return None
    for constraint in table.constraints:
        if (
            isinstance(constraint, UniqueConstraint | ForeignKeyConstraint)
            and tuple(c.name for c in constraint.columns) == columns
        ):
            return str(constraint.name) if constraint.name else None
    for index in table.indexes:
        if index.unique and tuple(c.name for c in index.columns) == columns:
            return str(index.name) if index.name else None
    return None


def _describe(kind: type[AppError], facts: _Facts) -> str:
    what = ", ".join(facts.columns) or facts.constraint or "a constraint"
    on = f" on {facts.table}" if facts.table else ""
    if kind is Conflict:
        return f"{what}{on} is already taken"
    if kind is InvalidReference:
        return f"{what}{on} refers to a row that does not exist, or the row is still referenced"
    return f"{what}{on} is not valid ({facts.constraint or 'required value missing'})"


def translate_error(error: BaseException, metadata: MetaData | None = None) -> BaseException:
    """Return the application error for ``error``, or ``error`` itself if none fits.

    ``metadata`` turns a constraint name into its columns (and SQLite's column
    list into a constraint name); without it the error carries what the driver
    said and no more.
    """
    if isinstance(error, AppError):
        return error
    if isinstance(error, sa_exc.TimeoutError):
        return Unavailable(f"no database connection free: {error}")
    if isinstance(error, orm_exc.StaleDataError):
        return StaleVersion(f"the row was changed or deleted since it was read: {error}")
    if not isinstance(error, sa_exc.DBAPIError):
        return error
    facts = _facts(error)
    if facts.retry_reason:
        return Unavailable(f"the database could not serialize this transaction: {error.orig}")
    if facts.kind is Unavailable or error.connection_invalidated or _is_connect_error(error):
        return Unavailable(f"the database is unavailable: {error.orig}")
    kind = facts.kind
    if kind is None or not issubclass(kind, _ConstraintError):
        return error
    if metadata is not None:
        facts = _complete(facts, metadata)
    return kind(
        _describe(kind, facts),
        constraint=facts.constraint,
        columns=facts.columns,
        table=facts.table,
    )


def _complete(facts: _Facts, metadata: MetaData) -> _Facts:
    table, columns, constraint = facts.table, facts.columns, facts.constraint
    if constraint and not columns:
        table_found, columns = _constraint_columns(metadata, constraint)
        table = table or table_found
    elif constraint:
        table = table or _constraint_columns(metadata, constraint)[0]
    if columns and not constraint:
        constraint = _constraint_for_columns(metadata, table, columns)
    return _Facts(facts.kind, constraint, columns, table, facts.retry_reason)


def _is_connect_error(error: sa_exc.DBAPIError) -> bool:
    return isinstance(error, sa_exc.OperationalError) and error.statement is None


@contextmanager
def translating_errors(metadata: MetaData | None = None) -> Iterator[None]:
    """Re-raise driver errors inside the block as application errors."""
    try:
        yield
    except (sa_exc.DBAPIError, sa_exc.TimeoutError, orm_exc.StaleDataError) as error:
        raise_translated(error, metadata)
    except OverflowError as error:
        # sqlite3 refuses to bind an integer beyond 64 bits before SQLite sees
        # it; the servers' "out of range" (22003, 1264) is a ValidationFailed too.
        raise ValidationFailed(f"a number is out of range for the database: {error}") from error


def raise_translated(error: BaseException, metadata: MetaData | None = None) -> NoReturn:
    """Raise the application error for ``error`` (chained to it), or ``error`` itself."""
    translated = translate_error(error, metadata)
    if translated is error:
        raise error
    raise translated from error

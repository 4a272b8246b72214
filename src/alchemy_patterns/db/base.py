"""Declarative base, constraint naming convention, UTC timestamps.

The naming convention gives every constraint and index a deterministic name.
Alembic needs that to drop or alter them, and error translation needs it to
tell which field a violated constraint is about (``uq_users_email`` -> email).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Enum,
    MetaData,
    Numeric,
    SQLColumnExpression,
    String,
    Table,
    inspect,
    literal,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "Money",
    "TimestampMixin",
    "UTCDateTime",
    "as_money",
    "scale_money",
    "text_enum",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamptz``. MariaDB's DATETIME and SQLite's text keep
    no zone, so the value is stored as naive UTC and comes back tagged UTC.
    A naive datetime is refused on the way in: its meaning is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import DATETIME

            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware value")
        value = value.astimezone(dt.UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Money(TypeDecorator[Decimal]):
    """Exact money: ``NUMERIC(12, 2)`` everywhere, ``Decimal`` in Python.

    SQLite has no decimal storage; it would keep a binary float. There the
    amount is stored as integer cents, so sums in SQL stay exact too.
    """

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            from sqlalchemy import BigInteger

            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(12, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be a Decimal or int, never a float")
        value = Decimal(value)
        if dialect.name == "sqlite":
            cents = value * 100
            if cents != cents.to_integral_value():
                raise ValueError(f"{value} has more than two decimal places")
            return int(cents)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))
        return Decimal(value).quantize(Decimal("0.01"))


def as_money(expression: SQLColumnExpression[Any]) -> ColumnElement[Decimal]:
    """Arithmetic on money columns (``price * quantity``, ``sum(...)``) read back as money.

    SQLAlchemy types such an expression as plain ``Numeric``, which on SQLite
    would return the stored cents as if they were units. Computed by the
    database, exact on every backend.
    """
    return type_coerce(expression, Money())


class scale_money(FunctionElement[Decimal]):  # noqa: N801 - reads like a SQL function
    """``amount * factor`` rounded half-up to the cent, computed by the database.

    For bulk repricing (``UPDATE products SET price = scale_money(price, 1.10)``).
    PostgreSQL and MariaDB round the exact decimal product; on SQLite, where
    money is integer cents, the same rounding is done in integer arithmetic,
    so no binary float ever touches the amount.
    """

    type = Money()
    inherit_cache = True

    def __init__(self, amount: SQLColumnExpression[Decimal], factor: Decimal) -> None:
        factor = Decimal(factor)
        if not factor.is_finite() or factor < 0:
            raise ValueError(f"a price factor must be a finite number >= 0, not {factor}")
        numerator, denominator = factor.as_integer_ratio()
        self.factor = factor
        super().__init__(
            amount,
            literal(factor, Numeric(20, 10)),
            literal(numerator, BigInteger()),
            literal(denominator, BigInteger()),
        )


@compiles(scale_money)
def _scale_money(element: scale_money, compiler: SQLCompiler, **kw: Any) -> str:
    amount, factor, _, _ = (compiler.process(c, **kw) for c in element.clauses)
    return f"round({amount} * {factor}, 2)"


@compiles(scale_money, "sqlite")
def _scale_money_sqlite(element: scale_money, compiler: SQLCompiler, **kw: Any) -> str:
    amount, _, numerator, denominator = (compiler.process(c, **kw) for c in element.clauses)
    # cents * n / d, half-up: (cents * n + d / 2) / d in integer division (amounts are >= 0).
    return f"(({amount} * {numerator} + {denominator} / 2) / {denominator})"


class utcnow(FunctionElement[dt.datetime]):  # noqa: N801 - reads like the SQL function it is
    """The current UTC time, computed by the database (for server defaults)."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(utcnow, "postgresql")
def _utcnow_postgresql(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "now()"


@compiles(utcnow, "mysql")
@compiles(utcnow, "mariadb")
def _utcnow_mariadb(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "utc_timestamp(6)"


@compiles(utcnow, "sqlite")
def _utcnow_sqlite(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's %f has milliseconds; pad to the six digits SQLAlchemy stores, so
    # server-set and client-set values compare as equal text.
    return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


@compiles(utcnow)
def _utcnow_default(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP"


def text_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    """A Python enum stored as its values in VARCHAR with a CHECK, not a native ENUM.

    Adding a member is then a one-line migration of the CHECK on every
    backend; PostgreSQL's ``ALTER TYPE`` and MariaDB's column rewrite are not.
    """
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(20, *(len(str(member.value)) for member in enum_class)),
        values_callable=lambda members: [str(member.value) for member in members],
    )


class Base(DeclarativeBase):
    """Declarative base whose metadata names every constraint by convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        Decimal: Money(),
        str: String(255),
    }


class TimestampMixin:
    """``created_at`` / ``updated_at``, set by the database in UTC."""

    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), server_default=utcnow(), nullable=False
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), server_default=utcnow(), onupdate=utcnow(), nullable=False
    )


class Versioned:
    """A ``version`` column that every ORM UPDATE and DELETE checks and moves (``version_id_col``).

    It starts at 1 (a server default too, so rows written by Core or ``COPY``
    start where the ORM starts). A write based on a version another
    transaction replaced matches no row: :class:`~alchemy_patterns.db.StaleVersion`.
    Core statements on the table must move it themselves (``version = version + 1``);
    :func:`~alchemy_patterns.db.update_where` and :func:`~alchemy_patterns.db.bulk_update` do.
    """

    version: Mapped[int] = mapped_column(server_default="1", nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805  # a class attribute
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def table_of(model: type[Any]) -> Table:
    """The ``Table`` a model is mapped to.

    For Core statements on a model's table, built once at import and executed
    with bound parameters: they skip the ORM's per-execution work (compile
    state, entity loading), which costs more than the round trip for a
    one-row statement.
    """
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to one table")
    return table

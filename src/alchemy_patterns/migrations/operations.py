"""Operations more than one migration runs.

A migration is history: once released, what it does must not change. So a
helper here is changed only by adding a new one, never by editing what an
existing one does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from alchemy_patterns.db.base import UTCDateTime


def add_version_columns(tables: Sequence[str]) -> None:
    """Give each table the ``version`` column of the ``Versioned`` mixin (1 for existing rows)."""
    for table in tables:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def drop_version_columns(tables: Sequence[str]) -> None:
    """Undo :func:`add_version_columns`, in the reverse order.

    A plain ``DROP COLUMN`` (SQLite has it since 3.35), not a batch: on SQLite
    a batch copies the table into a new one, which cannot copy a generated
    column (``owners.live``) and loses the table's triggers (full-text search).
    """
    for table in reversed(tables):
        op.drop_column(table, "version")


#: A table and the columns of one of its indexes, in order.
IndexSpec = tuple[str, list[str]]


def _index_name(table: str, columns: list[str]) -> str:
    return op.f(f"ix_{table}_{'_'.join(columns)}")


def create_indexes(indexes: Sequence[IndexSpec]) -> None:
    """Create each index, named as the naming convention names it (``ix_<table>_<columns>``)."""
    for table, columns in indexes:
        op.create_index(_index_name(table, columns), table, columns)


def drop_indexes(indexes: Sequence[IndexSpec]) -> None:
    """Undo :func:`create_indexes`, in the reverse order."""
    for table, columns in reversed(indexes):
        op.drop_index(_index_name(table, columns), table_name=table)


def create_history_table(name: str, *columns: sa.Column[Any], key: Sequence[str] = ("id",)) -> None:
    """``<name>_history``: the source's columns (as given), its version, when and by whom."""
    op.create_table(
        f"{name}_history",
        *columns,
        sa.Column("changed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint(*key, "version", name=op.f(f"pk_{name}_history")),
    )


def timestamps_and_version() -> list[sa.Column[Any]]:
    """The columns ``Versioned`` and ``TimestampMixin`` add, as a history table holds them."""
    return [
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    ]

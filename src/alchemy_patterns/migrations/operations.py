"""Operations more than one migration runs.

A migration is history: once released, what it does must not change. So a
helper here is changed only by adding a new one, never by editing what an
existing one does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


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

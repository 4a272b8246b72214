"""Version history: products_history keeps every version of a product a change replaced.

Keyed by the product and its version; ``changed_at`` says when that version
was replaced (aware UTC), ``changed_by`` by whom (no foreign key: history
outlives users). Written by the data layer (``db/history.py``) in the same
transaction as the change.

Revision ID: 0013_history
Revises: 0012_more_list_filters
Create Date: 2026-12-02 16:45:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from alchemy_patterns.db.base import Money, UTCDateTime

revision: str = "0013_history"
down_revision: str | None = "0012_more_list_filters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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


def upgrade() -> None:
    create_history_table(
        "products",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("price", Money(precision=12, scale=2), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *timestamps_and_version(),
    )


def downgrade() -> None:
    op.drop_table("products_history")

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

import sqlalchemy as sa
from alembic import op

from alchemy_patterns.db.base import Money
from alchemy_patterns.migrations.operations import create_history_table, timestamps_and_version

revision: str = "0013_history"
down_revision: str | None = "0012_more_list_filters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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

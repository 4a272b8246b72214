"""Version history for the clinic's owners and pets: owners_history, pets

The shape of products_history (0013_history): the source's columns, keyed
by the row and its version, with ``changed_at`` and ``changed_by``. A
soft delete and a restore are versioned changes, so each keeps the version
it replaced; ``live`` (owners' generated column) is kept as a plain value.

Revision ID: 0017_clinic_history
Revises: 0016_more_versions
Create Date: 2026-12-02 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alchemy_patterns.db.base import UTCDateTime
from alchemy_patterns.migrations.operations import create_history_table, timestamps_and_version

revision: str = "0017_clinic_history"
down_revision: str | None = "0016_more_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_history_table(
        "owners",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("live", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(timezone=True), nullable=True),
        *timestamps_and_version(),
    )
    create_history_table(
        "pets",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("species", sa.String(length=50), nullable=False),
        sa.Column("born_on", sa.Date(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(timezone=True), nullable=True),
        *timestamps_and_version(),
    )


def downgrade() -> None:
    op.drop_table("pets_history")
    op.drop_table("owners_history")

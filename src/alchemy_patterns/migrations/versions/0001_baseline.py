"""Baseline: an empty schema under Alembic's control; the domains add their tables.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

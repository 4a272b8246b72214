"""Editable records carry a version (optimistic concurrency, HTTP ETags).

* products.version and vets.version: every ORM UPDATE and DELETE says
  ``WHERE version = :read`` and moves it; it starts at 1 for existing rows
  and for rows written by Core.

Revision ID: 0011_versions
Revises: 0010_list_filters
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

from alchemy_patterns.migrations.operations import add_version_columns, drop_version_columns

revision: str = "0011_versions"
down_revision: str | None = "0010_list_filters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The tables whose rows are versioned.
TABLES = ["products", "vets"]


def upgrade() -> None:
    add_version_columns(TABLES)


def downgrade() -> None:
    drop_version_columns(TABLES)

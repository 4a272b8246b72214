"""More editable records carry a version: owners, pets, appointments, posts, courses.

Each gets the column products and vets got in 0011_versions: every ORM
UPDATE and DELETE says ``WHERE version = :read`` and moves it, Core writes
move it themselves, and it starts at 1 for existing rows.

Revision ID: 0016_more_versions
Revises: 0015_full_text_search
Create Date: 2026-12-02 16:40:00.000000
"""

from collections.abc import Sequence

from alchemy_patterns.migrations.operations import add_version_columns, drop_version_columns

revision: str = "0016_more_versions"
down_revision: str | None = "0015_full_text_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The tables whose rows become versioned here.
TABLES = ["owners", "pets", "appointments", "posts", "courses"]


def upgrade() -> None:
    add_version_columns(TABLES)


def downgrade() -> None:
    drop_version_columns(TABLES)

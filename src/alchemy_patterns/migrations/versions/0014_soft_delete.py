"""Soft delete: owners, pets, posts and comments carry ``deleted_at``.

* ``deleted_at`` (NULL: live) on the four tables; reads leave deleted rows out.
* owners.email is unique among live owners only, so a deleted owner's
  address can be registered again: a partial unique index
  ``WHERE deleted_at IS NULL`` on PostgreSQL and SQLite; on MariaDB, which
  has none, a unique index over ``(email, live)``, ``live`` being a
  generated column that is 1 while the row is live and NULL once deleted.
  The generated column exists on every backend (the models are the same
  everywhere), used by MariaDB's index only; stored, as PostgreSQL before
  18 has no other kind.

Revision ID: 0014_soft_delete
Revises: 0013_history
Create Date: 2026-12-02 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alchemy_patterns.db.base import UTCDateTime

revision: str = "0014_soft_delete"
down_revision: str | None = "0013_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The tables whose rows are soft-deleted.
TABLES = ["owners", "pets", "posts", "comments"]
LIVE = "CASE WHEN deleted_at IS NULL THEN 1 END"
WHERE_LIVE = sa.text("deleted_at IS NULL")


def _on_mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("deleted_at", UTCDateTime(timezone=True), nullable=True))
    # SQLite cannot ADD a stored generated column: the table is copied instead.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("owners", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint("uq_owners_email", type_="unique")
        batch.add_column(
            sa.Column("live", sa.Integer(), sa.Computed(LIVE, persisted=True), nullable=True)
        )
    if _on_mariadb():
        op.create_index("uq_owners_email_live", "owners", ["email", "live"], unique=True)
    else:
        op.create_index(
            "uq_owners_email",
            "owners",
            ["email"],
            unique=True,
            postgresql_where=WHERE_LIVE,
            sqlite_where=WHERE_LIVE,
        )


def downgrade() -> None:
    # Deleted rows would break the old UNIQUE and reappear as live: they go first.
    for table in reversed(TABLES):
        deleted_at = sa.column("deleted_at", UTCDateTime())
        op.execute(sa.table(table, deleted_at).delete().where(deleted_at.is_not(None)))
    op.drop_index("uq_owners_email_live" if _on_mariadb() else "uq_owners_email", "owners")
    with op.batch_alter_table("owners") as batch:
        batch.drop_column("live")
        batch.create_unique_constraint("uq_owners_email", ["email"])
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("deleted_at")

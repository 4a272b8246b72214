"""Owners and students may be linked to the user account they belong to.

Revision ID: 0007_record_accounts
Revises: 0006_login_attempts
Create Date: 2026-12-02 09:59:40.023435
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_record_accounts"
down_revision: str | None = "0006_login_attempts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINKED = ("owners", "students")


def upgrade() -> None:
    for table in LINKED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
            batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_user_id"), ["user_id"])
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_user_id_users"),
                "users",
                ["user_id"],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    # The foreign key first: MariaDB refuses to drop the unique index it uses.
    for table in reversed(LINKED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_user_id_users"), type_="foreignkey")
            batch_op.drop_constraint(batch_op.f(f"uq_{table}_user_id"), type_="unique")
            batch_op.drop_column("user_id")

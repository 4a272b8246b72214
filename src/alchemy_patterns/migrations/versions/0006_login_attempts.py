"""Login attempts are one counter per account or address, reserved before the hash.

The row-per-failure table goes. Its rows are not carried over: they only
throttle for 15 minutes, and a failure row cannot say which window a counter
would have started at. The downgrade likewise starts with an empty
``login_failures``.

Revision ID: 0006_login_attempts
Revises: 0005_checkout_keys
Create Date: 2026-12-02 10:12:41.305118
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alchemy_patterns.db.base import UTCDateTime

revision: str = "0006_login_attempts"
down_revision: str | None = "0005_checkout_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("window_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_login_attempts_attempts_not_negative")),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_attempts_window_start"), ["window_start"], unique=False
        )
    # Dropping a table drops its indexes.
    op.drop_table("login_failures")


def downgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("failed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_failures_failed_at"), ["failed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_login_failures_subject_failed_at"),
            ["subject", "failed_at"],
            unique=False,
        )
    op.drop_table("login_attempts")

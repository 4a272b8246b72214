"""Lists sorted and filtered are read by an index.

* products (price, id): ``sort=price`` (and ``-price``) pages a range of it,
  and ``min_price``/``max_price`` bound that range;
* orders (user_id, created_at, id) and (user_id, total, id): a user's orders
  by date (``sort=created_at``, ``placed_from``/``placed_to``) or by total.

Revision ID: 0010_list_filters
Revises: 0009_link_list_indexes
Create Date: 2026-12-02 14:30:00.000000
"""

from collections.abc import Sequence

from alchemy_patterns.migrations.operations import create_indexes, drop_indexes

revision: str = "0010_list_filters"
down_revision: str | None = "0009_link_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, columns) of each new index.
INDEXES: list[tuple[str, list[str]]] = [
    ("products", ["price", "id"]),
    ("orders", ["user_id", "created_at", "id"]),
    ("orders", ["user_id", "total", "id"]),
]


def upgrade() -> None:
    create_indexes(INDEXES)


def downgrade() -> None:
    drop_indexes(INDEXES)

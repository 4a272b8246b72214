"""Every list the API pages sorts by an index, and every foreign key has one.

* owners (name, id), vets (name, id), products (name, id), students
  (last_name, first_name, id): the lists' orders, so that a page is a range
  of an index, not a sort of the table;
* orders (user_id, id), comments (post_id, id), audit_records (entity,
  entity_id, id): a parent's children in the list's order;
* checkout_keys (order_id): the foreign key had none, so deleting an order
  scanned the keys.

An index that a new one extends is dropped after the new one exists: MariaDB
refuses to drop the index a foreign key uses while no other can serve it.

Revision ID: 0008_list_indexes
Revises: 0007_record_accounts
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_list_indexes"
down_revision: str | None = "0007_record_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, columns of the new index, columns of the index it replaces, or None).
INDEXES: list[tuple[str, list[str], list[str] | None]] = [
    ("owners", ["name", "id"], None),
    ("vets", ["name", "id"], None),
    ("products", ["name", "id"], ["name"]),
    ("students", ["last_name", "first_name", "id"], ["last_name"]),
    ("orders", ["user_id", "id"], ["user_id"]),
    ("comments", ["post_id", "id"], ["post_id"]),
    ("audit_records", ["entity", "entity_id", "id"], ["entity", "entity_id"]),
]

#: The foreign key that gains an index; on MariaDB it had an implicit one.
CHECKOUT_ORDER_FK = "fk_checkout_keys_order_id_orders"


def _name(table: str, columns: list[str]) -> str:
    return op.f(f"ix_{table}_{'_'.join(columns)}")


def upgrade() -> None:
    for table, columns, replaced in INDEXES:
        op.create_index(_name(table, columns), table, columns)
        if replaced is not None:
            op.drop_index(_name(table, replaced), table_name=table)
    # MariaDB drops the foreign key's implicit index itself once this one can serve it.
    op.create_index(_name("checkout_keys", ["order_id"]), "checkout_keys", ["order_id"])


def downgrade() -> None:
    _drop_checkout_order_index()
    for table, columns, replaced in reversed(INDEXES):
        if replaced is not None:
            op.create_index(_name(table, replaced), table, replaced)
        op.drop_index(_name(table, columns), table_name=table)


def _drop_checkout_order_index() -> None:
    """Drop the index on checkout_keys.order_id, leaving the schema as 0005 made it.

    MariaDB will not drop the only index a foreign key can use: there the key
    is dropped with it and made again, which gives it back its implicit index.
    """
    index = _name("checkout_keys", ["order_id"])
    if op.get_bind().dialect.name != "mysql":
        op.drop_index(index, table_name="checkout_keys")
        return
    op.drop_constraint(CHECKOUT_ORDER_FK, "checkout_keys", type_="foreignkey")
    op.drop_index(index, table_name="checkout_keys")
    op.create_foreign_key(
        CHECKOUT_ORDER_FK, "checkout_keys", "orders", ["order_id"], ["id"], ondelete="CASCADE"
    )

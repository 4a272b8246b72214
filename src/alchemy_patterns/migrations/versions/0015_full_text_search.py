"""Full-text search over the products (name, description) and the posts (body).

* products.description: the text a product is found by, besides its name
  (and in products_history, which keeps every column of a version);
* each searched table's index in its backend's own engine (see
  ``alchemy_patterns.db.search``): a generated ``tsvector`` column with a GIN
  index on PostgreSQL, an FTS5 table with external content kept in step by
  triggers on SQLite, a ``FULLTEXT`` index on MariaDB. The rows already
  there are indexed as it is built.

Revision ID: 0015_full_text_search
Revises: 0014_soft_delete
Create Date: 2026-12-02 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alchemy_patterns.db.search import FullText

revision: str = "0015_full_text_search"
down_revision: str | None = "0014_soft_delete"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: What is searched, the first column counting most.
SEARCHED = [FullText("products", ("name", "description")), FullText("posts", ("body",))]


def upgrade() -> None:
    # The history keeps every column of the product: versions stored before
    # there were descriptions had an empty one.
    for table in ("products", "products_history"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("description", sa.String(length=2000), server_default="", nullable=False)
            )
    dialect = op.get_bind().dialect.name
    for searched in SEARCHED:
        for statement in searched.create_ddl(dialect):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for searched in reversed(SEARCHED):
        for statement in searched.drop_ddl(dialect):
            op.execute(statement)
    for table in ("products_history", "products"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("description")

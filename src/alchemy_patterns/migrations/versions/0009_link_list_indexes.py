"""A club's members and a course's roster are read in the order of an index.

* student_clubs (club_id, student_id) replaces (club_id): a club's members
  are paged by student id, a range of this index;
* enrollments (course_id, student_id) replaces (course_id): so is a
  course's roster.

Each new index leads with the foreign key's column, so it serves the key as
the one it replaces did; the old one is dropped after the new one exists
(MariaDB refuses to drop the index a foreign key uses while no other can).

Revision ID: 0009_link_list_indexes
Revises: 0008_list_indexes
Create Date: 2026-12-02 13:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_link_list_indexes"
down_revision: str | None = "0008_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, columns of the new index, columns of the index it replaces).
INDEXES: list[tuple[str, list[str], list[str]]] = [
    ("student_clubs", ["club_id", "student_id"], ["club_id"]),
    ("enrollments", ["course_id", "student_id"], ["course_id"]),
]


def _name(table: str, columns: list[str]) -> str:
    return op.f(f"ix_{table}_{'_'.join(columns)}")


def upgrade() -> None:
    for table, columns, replaced in INDEXES:
        op.create_index(_name(table, columns), table, columns)
        op.drop_index(_name(table, replaced), table_name=table)


def downgrade() -> None:
    for table, columns, replaced in reversed(INDEXES):
        op.create_index(_name(table, replaced), table, replaced)
        op.drop_index(_name(table, columns), table_name=table)

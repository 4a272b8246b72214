"""The clinic's and the school's lists, filtered and sorted, are read by an index.

* pets (name, id) and (species, name, id): the new pet list by name, or by
  species then name, and one species by name;
* appointments (scheduled_at, id), (vet_id, scheduled_at, id) and (status,
  scheduled_at, id): the new appointment list in time order, all of it
  (bounded by ``scheduled_from``/``scheduled_to``), one vet's, one status's;
* courses (title, id): ``sort=title``.

Owners by name prefix, students by last name prefix and every other new sort
are served by indexes that were there (owners (name, id), the unique e-mail
addresses, students (last_name, first_name, id), the unique club names and
course codes).

Revision ID: 0012_more_list_filters
Revises: 0011_versions
Create Date: 2026-12-02 16:30:00.000000
"""

from collections.abc import Sequence

from alchemy_patterns.migrations.operations import create_indexes, drop_indexes

revision: str = "0012_more_list_filters"
down_revision: str | None = "0011_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, columns) of each new index.
INDEXES: list[tuple[str, list[str]]] = [
    ("pets", ["name", "id"]),
    ("pets", ["species", "name", "id"]),
    ("appointments", ["scheduled_at", "id"]),
    ("appointments", ["vet_id", "scheduled_at", "id"]),
    ("appointments", ["status", "scheduled_at", "id"]),
    ("courses", ["title", "id"]),
]


def upgrade() -> None:
    create_indexes(INDEXES)


def downgrade() -> None:
    drop_indexes(INDEXES)

"""Bulk operations: a commit per row, ``add_all()`` and one commit, ``bulk_insert()``.

The same rows three ways. A commit per row pays a round trip and a durable
write for every row; ``add_all()`` lets the unit of work batch the INSERTs
(insertmanyvalues) but still builds and tracks an object per row;
``bulk_insert()`` hands plain tuples to the driver's ``executemany``.
"""

from __future__ import annotations

from collections.abc import Callable

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, count_rows, measure
from alchemy_patterns.db import Database, bulk_insert
from alchemy_patterns.domains.clinic.models import Vet

ROWS = 200


def commit_per_row(db: Database, tag: str) -> int:
    for i in range(ROWS):
        with db.session_scope() as session:
            session.add(Vet(name=f"Dr {i}", specialty=tag))
    return ROWS


def add_all(db: Database, tag: str) -> int:
    with db.session_scope() as session:
        session.add_all(Vet(name=f"Dr {i}", specialty=tag) for i in range(ROWS))
    return 1


def with_bulk_insert(db: Database, tag: str) -> int:
    with db.session_scope() as session:
        bulk_insert(session, Vet, ({"name": f"Dr {i}", "specialty": tag} for i in range(ROWS)))
    return 1


WAYS: dict[str, Callable[[Database, str], int]] = {
    "commit per row": commit_per_row,
    "add_all(), one commit": add_all,
    "bulk_insert(), one commit": with_bulk_insert,
}


def insert_rows(db: Database, name: str) -> Variant:
    with measure(name) as m:
        commits = WAYS[name](db, name)  # each way tags its rows with its name
    return m.result(rows=count_rows(db, Vet, Vet.specialty == name), commits=commits)


def run(db: Database) -> list[Variant]:
    return [insert_rows(db, name) for name in WAYS]


CHAPTER = Chapter(
    name="bulk",
    title=f"Bulk operations: {ROWS} rows",
    module="db/bulk.py bulk_insert()",
    test="tests/db/test_bulk.py, benchmarks/bulk_insert.py",
    lesson="Rows written together go in one transaction and as few statements as the "
    "driver allows; a commit per row is the slow way.",
    run=run,
)

"""Loading generated rows: in batches, a transaction each, new ids read back in order.

Rows come from generators and are taken a batch at a time, so memory holds
one batch, whatever the size of the data set. Every batch goes through the
bulk path (``copy_insert``: ``COPY`` on PostgreSQL, ``bulk_insert``'s
executemany elsewhere) and is committed, so a large load does not build one
huge transaction either.

Children need their parents' ids. A parent batch is inserted, then its ids
are read back as the ids above the largest one before it, in order: a bulk
insert numbers its rows in the order it is given them, and the seeder is the
only writer while it runs (a count that does not match says otherwise and
stops the load).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Column, Table, func, inspect, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from alchemy_patterns.db import Database, copy_insert

Row = dict[str, Any]
Target = type[Any] | Table
#: ``(table name, rows just inserted)``, called after every batch.
Progress = Callable[[str, int], None]
#: A parent row and, per child table, its children's rows without the parent's key.
Family = tuple[Row, Mapping[Target, list[Row]]]

T = TypeVar("T")

BATCH_SIZE = 5_000


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), drawn lazily."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def table_of(target: Target) -> Table:
    table = target if isinstance(target, Table) else inspect(target).local_table
    assert isinstance(table, Table)
    return table


def _id_column(target: Target) -> Column[int]:
    column: Column[int] = table_of(target).c.id
    return column


@dataclass
class Loader:
    """Inserts batches into a :class:`Database`, counting rows per table."""

    db: Database
    progress: Progress | None = None
    batch_size: int = BATCH_SIZE
    counts: dict[str, int] = field(default_factory=dict)

    def insert(self, target: Target, rows: Iterable[Row]) -> None:
        """Stream ``rows`` into ``target``, one transaction per batch."""
        for batch in batches(rows, self.batch_size):
            with self.db.session_scope() as session:
                self._add(session, target, batch)

    def insert_families(self, parent: Target, families: Iterable[Family], key: str) -> list[int]:
        """Insert parents and their children, a batch of parents per transaction.

        Each child row gets its parent's new id under ``key``. Returns the
        parents' ids in the order the families came.
        """
        ids: list[int] = []
        for batch in batches(families, self.batch_size):
            with self.db.session_scope() as session:
                new_ids = self._add_returning_ids(session, parent, [row for row, _ in batch])
                for target, rows in _children(batch, new_ids, key).items():
                    self._add(session, target, rows)
            ids += new_ids
        return ids

    def max_id(self, target: Target) -> int:
        """The largest id in ``target`` (0 if empty): numbers above it are unused."""
        with self.db.session_scope(read_only=True) as session:
            return _max_id(session, target)

    def ids_after(self, target: Target, floor: int) -> list[int]:
        """The ids above ``floor``, in order: the rows inserted since ``floor`` was read."""
        column = _id_column(target)
        with self.db.session_scope(read_only=True) as session:
            return list(session.scalars(select(column).where(column > floor).order_by(column)))

    def existing(self, column: InstrumentedAttribute[Any], values: Sequence[Any]) -> set[Any]:
        """Which of ``values`` are already stored in ``column``."""
        with self.db.session_scope(read_only=True) as session:
            return set(session.scalars(select(column).where(column.in_(values))))

    def _add(self, session: Session, target: Target, rows: Sequence[Row]) -> None:
        copy_insert(session, target, rows, batch_size=self.batch_size)
        name = table_of(target).name
        self.counts[name] = self.counts.get(name, 0) + len(rows)
        if self.progress is not None:
            self.progress(name, len(rows))

    def _add_returning_ids(self, session: Session, target: Target, rows: list[Row]) -> list[int]:
        column = _id_column(target)
        floor = _max_id(session, target)
        self._add(session, target, rows)
        ids = list(session.scalars(select(column).where(column > floor).order_by(column)))
        if len(ids) != len(rows):
            raise RuntimeError(
                f"{len(rows)} rows inserted into {table_of(target).name} but {len(ids)} new ids"
                " found: another client is writing to the database; seed it alone"
            )
        return ids


def _max_id(session: Session, target: Target) -> int:
    return session.scalar(select(func.max(_id_column(target)))) or 0


def _children(batch: list[Family], ids: list[int], key: str) -> dict[Target, list[Row]]:
    """The batch's child rows per table, each with its parent's id under ``key``."""
    children: dict[Target, list[Row]] = defaultdict(list)
    for (_, kids), parent_id in zip(batch, ids, strict=True):
        for target, rows in kids.items():
            children[target].extend({**row, key: parent_id} for row in rows)
    return children

"""What a chapter of the tour is, and how one variant of it is measured.

A chapter runs two or more variants of one pattern on the same scratch
database. Each variant is measured the same way: the statements it ran
(counted by :func:`alchemy_patterns.db.count_queries`, transaction control
left out), its wall-clock time, the shapes of its SQL, and an ``outcome``:
the figures that prove the chapter's point, read *after* the measured block
so that checking costs nothing in the count.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.pool import QueuePool

from alchemy_patterns.db import Database, count_queries
from alchemy_patterns.db.profiling import Statement

#: How many distinct statement shapes a variant shows.
SQL_SHOWN = 4

_PLACEHOLDER = r"(?:\?|%s|%\(\w+\)s|:\w+|__\[POSTCOMPILE_\w+\])"
_IN_LIST = re.compile(rf"IN \(\s*{_PLACEHOLDER}(?:\s*,\s*{_PLACEHOLDER})+\s*\)")
_VALUES_ROWS = re.compile(r"(VALUES \([^()]*\))(?:, \([^()]*\))+")


@dataclass(frozen=True)
class Variant:
    """One way of doing the chapter's work, measured."""

    name: str
    statements: int
    seconds: float
    sql: list[str]
    outcome: dict[str, Any]


@dataclass(frozen=True)
class PatternResult:
    """A chapter's variants side by side, and where the pattern lives in the project."""

    name: str
    title: str
    module: str
    test: str
    lesson: str
    variants: list[Variant]
    reading: str = ""


@dataclass(frozen=True)
class Chapter:
    """A pattern of the guide: its name on the command line, and how to run it.

    ``reading``: how to read the figures where they would surprise a reader
    (a count that looks wrong, or a right answer that costs more statements).
    """

    name: str
    title: str
    module: str
    test: str
    lesson: str
    run: Callable[[Database], list[Variant]]
    reading: str = ""

    def result(self, variants: list[Variant]) -> PatternResult:
        """The measured ``variants``, with what the chapter says about them."""
        return PatternResult(
            self.name, self.title, self.module, self.test, self.lesson, variants, self.reading
        )


@dataclass
class Measurement:
    """Filled in by :func:`measure` when its block ends."""

    name: str
    seconds: float = 0.0
    statements: list[Statement] = field(default_factory=list)

    def result(self, **outcome: Any) -> Variant:
        """The measured variant, with the figures that show what it did."""
        return Variant(
            self.name, len(self.statements), self.seconds, sql_shapes(self.statements), outcome
        )


@contextmanager
def measure(name: str) -> Iterator[Measurement]:
    """Count and time the block: this thread's statements, and those of threads it lends them to.

    A statement the database refuses counts too (the tour's chapters are
    often about one): ``count_queries()`` records those.
    """
    measurement = Measurement(name)
    with count_queries() as counter:
        start = time.perf_counter()
        try:
            yield measurement
        finally:
            measurement.seconds = round(time.perf_counter() - start, 6)
            measurement.statements = list(counter.statements)


def shape(sql: str) -> str:
    """A statement on one line, its IN-lists and its rows of VALUES folded."""
    one_line = " ".join(sql.split())
    return _VALUES_ROWS.sub(r"\1, …", _IN_LIST.sub("IN (?)", one_line))


def sql_shapes(statements: list[Statement]) -> list[str]:
    """The first few distinct statements, normalised, each marked when it ran more than once."""
    runs: dict[str, list[Statement]] = {}
    for statement in statements:
        runs.setdefault(shape(statement.sql), []).append(statement)
    return [_annotated(sql, same) for sql, same in list(runs.items())[:SQL_SHOWN]]


def _annotated(shape: str, runs: list[Statement]) -> str:
    notes = []
    if len(runs) > 1:
        notes.append(f"ran {len(runs)} times")
    if any(run.many for run in runs):
        notes.append("executemany")
    return f"{shape}  -- {', '.join(notes)}" if notes else shape


def count_rows(db: Database, model: Any, *criteria: Any) -> int:
    """Rows of ``model`` (a class or a table) matching ``criteria``, read in a unit of its own."""
    stmt = select(func.count()).select_from(model).where(*criteria)
    with db.session_scope(read_only=True) as session:
        return session.scalar(stmt) or 0


def connections_checked_out(db: Database) -> int:
    """Connections lent out by the pool right now (a leaked transaction keeps one)."""
    pool = db.engine.pool
    return pool.checkedout() if isinstance(pool, QueuePool) else 0

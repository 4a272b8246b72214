"""Query profiling: statement counts, an N+1 detector, a slow-query log.

Every engine made by :func:`~alchemy_patterns.db.make_engine` reports its
statements (:mod:`~alchemy_patterns.db.cursors`) to whatever observers are
active in the *current thread* (a ``ContextVar``), so a counter opened in one
request, or one test, never sees another thread's statements. Transaction
control (BEGIN, SAVEPOINT, RELEASE) is not counted: the budgets are about the
queries a piece of code chooses to run.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Dialect, Engine

__all__ = [
    "NPlusOneError",
    "NPlusOneWarning",
    "QueryCounter",
    "Statement",
    "assert_max_queries",
    "count_queries",
    "detect_n_plus_one",
    "install_slow_query_log",
    "normalize_sql",
    "record_statement",
]

slow_query_logger = logging.getLogger("alchemy_patterns.db.slow_query")
n_plus_one_logger = logging.getLogger("alchemy_patterns.db.n_plus_one")


@dataclass(frozen=True)
class Statement:
    """One executed statement: its SQL, its duration, and whether it was executemany."""

    sql: str
    seconds: float
    many: bool = False


@dataclass
class QueryCounter:
    """The statements run in the current thread while the counter was open."""

    statements: list[Statement] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def seconds(self) -> float:
        return sum(statement.seconds for statement in self.statements)

    def matching(self, prefix: str) -> list[Statement]:
        """Statements whose SQL starts with ``prefix`` (case-insensitive), e.g. "INSERT"."""
        prefix = prefix.upper()
        return [s for s in self.statements if s.sql.lstrip().upper().startswith(prefix)]

    def report(self) -> str:
        lines = [f"{self.count} statements in {self.seconds * 1000:.1f} ms:"]
        lines += [f"  {i}. {s.sql.strip()[:300]}" for i, s in enumerate(self.statements, 1)]
        return "\n".join(lines)


_observers: ContextVar[tuple[QueryCounter, ...]] = ContextVar("query_observers", default=())


def record_statement(
    sql: str, seconds: float, many: bool = False, *, dialect: Dialect | None = None
) -> None:
    """Feed a statement to the counters of this thread and to its engine's slow-query log.

    :mod:`~alchemy_patterns.db.cursors` calls it for each statement an engine
    runs; so does code that runs one by other means (``COPY``), passing the
    engine's ``dialect``.
    """
    record = Statement(sql, seconds, many)
    for counter in _observers.get():
        counter.statements.append(record)
    threshold = None if dialect is None else _slow_thresholds.get(dialect)
    if threshold is not None and seconds >= threshold:
        slow_query_logger.warning(
            "slow query: %.1f ms: %s",
            seconds * 1000,
            " ".join(sql.split())[:1000],
            extra={"duration_ms": round(seconds * 1000, 3), "statement": sql},
        )


# Keyed by dialect: an engine and the option engines derived from it share one.
_slow_thresholds: WeakKeyDictionary[Dialect, float] = WeakKeyDictionary()


def install_slow_query_log(engine: Engine, threshold_ms: float | None) -> None:
    """Log statements on ``engine`` slower than ``threshold_ms`` (``None``: off).

    The log line goes to the ``alchemy_patterns.db.slow_query`` logger with the
    duration and the statement (never its parameters, which may hold secrets).
    """
    if threshold_ms is None:
        _slow_thresholds.pop(engine.dialect, None)
    else:
        _slow_thresholds[engine.dialect] = threshold_ms / 1000


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    """Count the statements this thread runs inside the block, on any engine that reports them.

    Engines made by :func:`~alchemy_patterns.db.make_engine` do; another one
    does after :func:`~alchemy_patterns.db.cursors.observe_statements`.

    >>> with count_queries() as counter:
    ...     session.scalars(select(User)).all()
    >>> counter.count
    1
    """
    counter = QueryCounter()
    token = _observers.set((*_observers.get(), counter))
    try:
        yield counter
    finally:
        _observers.reset(token)


@contextmanager
def assert_max_queries(limit: int) -> Iterator[QueryCounter]:
    """Fail (``AssertionError``) if the block runs more than ``limit`` statements.

    Put one next to every read that could grow into an N+1, with the same budget
    for 1 row and for 50.
    """
    with count_queries() as counter:
        yield counter
    if counter.count > limit:
        raise AssertionError(f"expected at most {limit} statements, ran {counter.report()}")


_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_PLACEHOLDER = r"(?:\?|%s|%\(\w+\)s|:\w+|__\[POSTCOMPILE_\w+\])"
_PLACEHOLDER_LIST = re.compile(rf"\(\s*{_PLACEHOLDER}(?:\s*,\s*{_PLACEHOLDER})*\s*\)")


def normalize_sql(sql: str) -> str:
    """The shape of a statement: literals and IN-lists folded, whitespace collapsed."""
    shape = _LITERALS.sub("?", sql)
    shape = _PLACEHOLDER_LIST.sub("(?)", shape)
    return " ".join(shape.split())


class NPlusOneWarning(UserWarning):
    """The same SELECT ran many times in one unit of work."""


class NPlusOneError(AssertionError):
    """The same SELECT ran many times in one unit of work (raise mode)."""


@contextmanager
def detect_n_plus_one(
    threshold: int = 5, action: Literal["warn", "raise", "off"] = "warn"
) -> Iterator[QueryCounter]:
    """Watch the block for the same normalised SELECT run ``threshold`` or more times.

    That is the signature of an N+1: a lazy load, or a query in a loop, once per
    parent row. ``warn`` logs and issues :class:`NPlusOneWarning`; ``raise``
    raises :class:`NPlusOneError` when the block ends (unless it already failed).
    """
    with count_queries() as counter:
        yield counter
    if action == "off" or counter.count < threshold:
        return  # nothing can have repeated often enough: no SQL to normalise
    # The same SQL text repeats as is in a loop; normalising each distinct text
    # once (not each statement) also catches the shapes that differ by literals.
    texts = Counter(s.sql for s in counter.statements if s.sql.lstrip()[:6].upper() == "SELECT")
    if texts.total() < threshold:
        return  # too few SELECTs among the statements for one shape to repeat that often
    shapes: Counter[str] = Counter()
    for sql, times in texts.items():
        shapes[normalize_sql(sql)] += times
    repeated = [(shape, n) for shape, n in shapes.most_common() if n >= threshold]
    if not repeated:
        return
    shape, times = repeated[0]
    message = f"N+1 query: the same SELECT ran {times} times in one unit of work: {shape[:500]}"
    if action == "raise":
        raise NPlusOneError(message)
    n_plus_one_logger.warning(message)
    warnings.warn(message, NPlusOneWarning, stacklevel=3)

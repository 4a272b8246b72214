"""Races: real threads started together, or asyncio tasks gathered, each with its own session."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from alchemy_patterns.db import AsyncDatabase

T = TypeVar("T")

#: Upper bound for one race; a race that takes longer is a hang, reported as a failure.
RACE_TIMEOUT = 60.0


def race(count: int, work: Callable[[int], T]) -> list[T | Exception]:
    """Run ``work(0) … work(count - 1)`` in ``count`` threads released at the same moment.

    Returns each call's result or the exception it raised, in order.
    """
    start = threading.Barrier(count, timeout=RACE_TIMEOUT)
    outcomes: list[T | Exception | None] = [None] * count

    def run(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = work(index)
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RACE_TIMEOUT)
    hung = sum(thread.is_alive() for thread in threads)
    assert not hung, f"{hung} of {count} threads still running after {RACE_TIMEOUT} s"
    return outcomes  # type: ignore[return-value]


def race_in_tasks(
    database_url: str, count: int, work: Callable[[Session, int], T], **options: Any
) -> list[T | Exception]:
    """Run ``work(session, 0) … work(session, count - 1)`` as ``count`` asyncio tasks at once.

    Each is its own ``AsyncDatabase.transaction()``, with the sync ``work``
    called unchanged through ``run_sync``, all on one event loop and one
    thread. Returns each unit's result or the exception it raised, in order.
    """

    async def gathered() -> list[T | BaseException]:
        database = AsyncDatabase(database_url, **options)
        try:
            units = [
                database.transaction(lambda session, i=i: session.run_sync(work, i))
                for i in range(count)
            ]
            return await asyncio.wait_for(
                asyncio.gather(*units, return_exceptions=True), RACE_TIMEOUT
            )
        finally:
            await database.dispose()

    outcomes = asyncio.run(gathered())
    crashed = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, Exception)]
    assert crashed == [], crashed
    return outcomes  # type: ignore[return-value]

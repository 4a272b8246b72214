"""Real threads for race tests: started together, each with its own session."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

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

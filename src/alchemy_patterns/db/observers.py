"""What the data layer tells whoever watches it: retries, checkout timeouts, replica choices.

The data layer knows when these happen; a metrics exporter (the web layer's
Prometheus metrics) or an operator's log wants to know. The layer itself
imports no metrics library: a :class:`Watcher` registered with :func:`watch`
is called synchronously, in the thread where the event happened, so its
methods must be quick and must not raise. Connection pool use is not
reported here: SQLAlchemy's own pool events (``checkout``, ``checkin``) say it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = [
    "Watcher",
    "checkout_timed_out",
    "replica_fallback",
    "replica_lag",
    "retried",
    "watch",
]

logger = logging.getLogger("alchemy_patterns.db")


class Watcher:
    """Override the events of interest; the others do nothing."""

    def retried(self, reason: str) -> None:
        """A transaction is run again after a retryable failure (``deadlock``…)."""

    def checkout_timed_out(self, node: str) -> None:
        """No pooled connection to ``node`` came free within the pool's timeout."""

    def replica_fallback(self, reason: str) -> None:
        """A read-only unit ran on the primary, not a replica, because of ``reason``."""

    def replica_lag(self, node: str, seconds: float) -> None:
        """``node``'s replay lag was measured: ``seconds`` behind the primary."""


_watchers: list[Watcher] = []


def watch(watcher: Watcher) -> Callable[[], None]:
    """Call ``watcher`` on every event from now on; returns what stops it."""
    _watchers.append(watcher)
    return lambda: _watchers.remove(watcher)


def _tell(event: Callable[[Watcher], None]) -> None:
    for watcher in tuple(_watchers):
        try:
            event(watcher)
        except Exception:  # a broken watcher must not break the unit of work it watches
            logger.exception("a data layer watcher failed")


def retried(reason: str) -> None:
    """Tell the watchers that a transaction is retried because of ``reason``."""
    _tell(lambda watcher: watcher.retried(reason))


def checkout_timed_out(node: str) -> None:
    """Tell the watchers that a checkout from ``node``'s pool timed out."""
    _tell(lambda watcher: watcher.checkout_timed_out(node))


def replica_fallback(reason: str) -> None:
    """Tell the watchers that a read-only unit fell back to the primary."""
    _tell(lambda watcher: watcher.replica_fallback(reason))


def replica_lag(node: str, seconds: float) -> None:
    """Tell the watchers the replay lag just measured on ``node``."""
    _tell(lambda watcher: watcher.replica_lag(node, seconds))

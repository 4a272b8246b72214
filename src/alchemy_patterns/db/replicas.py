"""Read replicas (PostgreSQL hot standbys): which node a read-only unit of work runs on.

* **Health and lag** are measured by one cheap statement on the replica
  (:data:`PROBE`), cached for ``check_interval`` seconds: not once per unit.
  Lag is taken from WAL positions first: a replica that has replayed all it
  received is not behind, however long the primary has been idle (the
  replay timestamp alone would say it is). Otherwise it is the age of the
  last transaction replayed, an upper bound. A replica that is down, or
  behind by more than ``max_lag`` seconds, is skipped until the next check.
* **Choice**: round-robin over the usable replicas; with none, the primary.
* **Read-your-writes**: a consistency token is the primary's WAL insert
  position read after a unit committed (:func:`read_position`), so it is at
  or past that unit's commit record. A read-only unit given one runs on a
  replica whose replay position has reached it (waiting at most ``wait``
  seconds for one to get there), else on the primary.
* **A replica failing** in the middle of a read-only unit: nothing of the
  unit can have taken effect (its transaction is read-only), so it runs
  again on the next node (:func:`run_read_only`), and the replica is
  skipped until it answers a probe again.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from alchemy_patterns.db import observers
from alchemy_patterns.db.disconnects import outside_the_unit
from alchemy_patterns.db.errors import Unavailable
from alchemy_patterns.db.softdelete import hide_deleted

__all__ = [
    "NODE",
    "PRIMARY",
    "Replica",
    "ReplicaSet",
    "ReplicaStatus",
    "format_position",
    "parse_token",
    "read_position",
    "run_read_only",
]

T = TypeVar("T")

logger = logging.getLogger("alchemy_patterns.db.replicas")

#: The key of ``Session.info`` that names the node a session runs on.
NODE = "alchemy_patterns_node"
PRIMARY = "primary"

#: Whether the node is a standby, how far it has replayed, and how far behind it is (seconds).
PROBE = """
SELECT pg_is_in_recovery(),
       (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
             ELSE pg_current_wal_lsn() END)::text,
       CASE WHEN NOT pg_is_in_recovery()
                 OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
       END::float8
"""
#: The primary's position: at or past the commit of every unit that committed before it is read.
POSITION = "SELECT pg_current_wal_insert_lsn()::text"

_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")

#: The first pause while waiting for a replica to replay a position; each next one doubles.
FIRST_POLL_S = 0.002
LAST_POLL_S = 0.02


def parse_token(token: str) -> int | None:
    """The WAL position a consistency token stands for; ``None`` if it is no token of ours."""
    match = _LSN.match(token.strip())
    if match is None:
        return None
    return (int(match.group(1), 16) << 32) + int(match.group(2), 16)


def format_position(position: int) -> str:
    """The token for a WAL position (PostgreSQL's own ``X/Y`` notation)."""
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def read_position(connection: Connection) -> int:
    """The primary's WAL insert position now, through ``connection``."""
    text = connection.exec_driver_sql(POSITION).scalar_one()
    position = parse_token(text)
    assert position is not None, text
    return position


@dataclass(frozen=True)
class ReplicaStatus:
    """What the last probe of a replica found."""

    name: str
    up: bool
    lag_s: float | None
    position: int | None


@dataclass
class Replica:
    """One replica: its engine, a factory of read-only sessions on it, and its last probe."""

    name: str
    engine: Engine
    sessionmaker: sessionmaker[Session]
    up: bool = False
    lag_s: float | None = None
    position: int | None = None
    checked_at: float = float("-inf")
    _probing: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def status(self) -> ReplicaStatus:
        return ReplicaStatus(self.name, self.up, self.lag_s, self.position)

    def probe(self) -> bool:
        """Measure health, position and lag now; whether the replica answered."""
        self.checked_at = time.monotonic()
        try:
            with outside_the_unit(), self.engine.connect() as connection:
                _standby, position, lag = connection.exec_driver_sql(PROBE).one()
        except (sa_exc.DBAPIError, sa_exc.TimeoutError) as error:
            self.mark_down(error)
            return False
        self.up, self.position, self.lag_s = True, parse_token(position), float(lag)
        observers.replica_lag(self.name, self.lag_s)
        return True

    def refresh(self, interval: float) -> None:
        """Probe again if the last probe is older than ``interval``, unless one is under way."""
        if time.monotonic() - self.checked_at < interval:
            return
        if self._probing.acquire(blocking=False):  # the others use the last answer meanwhile
            try:
                self.probe()
            finally:
                self._probing.release()

    def mark_down(self, error: BaseException) -> None:
        """Skip this replica until a probe, after the check interval, finds it answering again."""
        if self.up:
            logger.warning("replica %s is unavailable, reading elsewhere: %s", self.name, error)
        self.up, self.lag_s, self.checked_at = False, None, time.monotonic()

    def covers(self, position: int | None) -> bool:
        return position is None or (self.position is not None and self.position >= position)


class ReplicaSet:
    """The replicas of one primary, and the choice of one for each read-only unit of work.

    Args:
        replicas: name and engine of each replica.
        max_lag: seconds behind the primary past which a replica is skipped.
        check_interval: seconds a probe's answer is trusted.
        wait: seconds a read with a consistency token waits for a replica to
            replay it before it runs on the primary.
    """

    def __init__(
        self,
        replicas: Sequence[tuple[str, Engine]],
        *,
        max_lag: float = 2.0,
        check_interval: float = 0.5,
        wait: float = 0.2,
    ) -> None:
        self.replicas = []
        for name, engine in replicas:
            # Every use read-only, the probe's too: a connection reset to READ WRITE after a
            # read-only session would begin its next transaction so, which a standby refuses.
            read_only = engine.execution_options(postgresql_readonly=True)
            self.replicas.append(Replica(name, read_only, read_only_sessions(read_only, name)))
        self.max_lag = max_lag
        self.check_interval = check_interval
        self.wait = wait
        self._turn = itertools.count()

    def usable(self) -> list[Replica]:
        """The replicas that answered their last probe and were not too far behind, in turn."""
        for replica in self.replicas:
            replica.refresh(self.check_interval)
        good = [r for r in self.replicas if r.up and (r.lag_s or 0.0) <= self.max_lag]
        if len(good) > 1:
            start = next(self._turn) % len(good)
            good = good[start:] + good[:start]
        return good

    def candidates(
        self, position: int | None, sleep: Callable[[float], None] = time.sleep
    ) -> Iterator[Replica]:
        """The replicas to try, in order, for a unit that must see ``position`` (``None``: any).

        When no usable replica has replayed ``position`` yet, they are probed
        again, with short pauses (``sleep(seconds)``), for at most ``wait`` seconds.
        """
        usable = self.usable()
        ready = [r for r in usable if r.covers(position)]
        if not ready and usable:
            ready = self._wait_for(usable, position, sleep)
        yield from ready

    def _wait_for(
        self, usable: list[Replica], position: int | None, sleep: Callable[[float], None]
    ) -> list[Replica]:
        deadline = time.monotonic() + self.wait
        pause = FIRST_POLL_S
        while True:
            ready = [r for r in usable if r.probe() and r.covers(position)]
            if ready or time.monotonic() + pause > deadline:
                return ready
            sleep(pause)  # a replica replays on its own schedule: nothing to wait on but time
            pause = min(pause * 2, LAST_POLL_S)

    def statuses(self) -> list[ReplicaStatus]:
        """Each replica as a probe finds it now (for readiness checks)."""
        for replica in self.replicas:
            replica.probe()
        return [replica.status() for replica in self.replicas]

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()


def read_only_sessions(engine: Engine, name: str) -> sessionmaker[Session]:
    """Sessions on ``engine`` (whose transactions are ``READ ONLY``), named ``name``."""
    sessions = sessionmaker(engine, expire_on_commit=False, info={NODE: name})
    hide_deleted(sessions)
    return sessions


def run_read_only(
    replicas: ReplicaSet,
    position: int | None,
    unit: Callable[[Replica | None], T],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run the read-only ``unit(node)`` on a replica that can serve it, else on the primary.

    ``node`` is the replica (``None``: the primary). A replica that fails the
    unit because it is unavailable (down, cut off, a recovery conflict, no
    free connection) is marked down and the unit runs again on the next
    candidate, the primary last: it was read-only, so nothing of it took
    effect. Any other error is the unit's own and is raised. ``sleep``
    pauses while waiting for a replica to replay ``position``; the asyncio
    twin runs this in SQLAlchemy's greenlet and passes one that yields to
    the event loop.
    """
    reason = "no_usable_replica" if position is None else "not_replayed"
    for replica in replicas.candidates(position, sleep):
        try:
            return unit(replica)
        except Exception as error:
            if not node_failed(error):
                raise
            replica.mark_down(error)
            reason = "replica_failed"
    observers.replica_fallback(reason)
    return unit(None)


def node_failed(error: BaseException) -> bool:
    """Whether ``error`` says its node could not serve the unit (not that the unit is wrong)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
            return True
        if isinstance(seen, Unavailable):
            return True
        seen = seen.__cause__
    return False

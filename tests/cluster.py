"""A private PostgreSQL 15 primary, a hot standby and PgBouncer, for the replica tests.

Built from the installed server (``/usr/lib/postgresql/15/bin``) in a temporary
directory, on free ports, run as the unprivileged OS user ``postgres`` (initdb
refuses root), never touching the machine's shared server on 5432:

* the primary (``initdb``), with the standby made by ``pg_basebackup -R``
  (``standby.signal`` and ``primary_conninfo`` written for it) and streaming;
* synchronous replication: the standby is named in the primary's
  ``synchronous_standby_names`` once it streams, so a commit that returned is
  flushed on the standby too (a primary whose synchronous standby is down
  waits on every commit: :meth:`Cluster.stop_standby` lifts it first);
* PgBouncer (Debian's ``pgbouncer``) in transaction pooling mode in front of
  the primary.

:func:`running_cluster` stops every process and removes the directory
whatever happens. ``fsync`` is off: these servers hold test data only, and an
immediate stop (the failover test's crash) keeps the operating system's page
cache, so nothing acknowledged is lost by it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.serving import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"
DATABASE = "ap"
STANDBY_NAME = "standby1"
#: How long a server may take to start, stream or catch up before the set-up fails.
READY_S = 60.0
#: The pause between two polls while waiting for a server.
POLL_S = 0.02

SERVER_SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
fsync = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 60
max_wal_senders = 4
wal_keep_size = 256MB
hot_standby = on
hot_standby_feedback = on
cluster_name = '{name}'
log_min_messages = warning
"""

PGBOUNCER_INI = """
[databases]
* = host=127.0.0.1 port={primary_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""


def as_postgres(*command: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as the OS user ``postgres``; its output is in the error when it fails."""
    return subprocess.run(
        _setpriv(*command), check=True, capture_output=True, text=True, timeout=READY_S, **kwargs
    )


def _setpriv(*command: str | Path) -> list[str]:
    # setpriv execs the command itself (runuser forks and waits): a Popen's pid is the server's.
    prefix = [] if os.geteuid() != 0 else ["setpriv", f"--reuid={OS_USER}", f"--regid={OS_USER}"]
    return [*prefix, *(["--init-groups"] if prefix else []), *map(str, command)]


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, OS_USER, OS_USER)


def wait_until(condition: Any, what: str, timeout: float = READY_S) -> None:
    """Poll ``condition()`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(POLL_S)


@dataclass
class Server:
    """One PostgreSQL server of the cluster: its data directory and port."""

    name: str
    directory: Path
    port: int

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        log = self.directory.parent / f"{self.name}.log"
        as_postgres(BIN / "pg_ctl", "-D", self.directory, "-l", log, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: a crash, nothing flushed or said to the clients)."""
        as_postgres(BIN / "pg_ctl", "-D", self.directory, "-m", mode, "-w", "stop")

    def promote(self) -> None:
        as_postgres(BIN / "pg_ctl", "-D", self.directory, "-w", "promote")

    def running(self) -> bool:
        status = subprocess.run(
            _setpriv(BIN / "pg_ctl", "-D", self.directory, "status"), capture_output=True
        )
        return status.returncode == 0

    def query(self, sql: str, *params: Any, database: str = DATABASE) -> Any:
        """The first column of the first row of ``sql``, run in autocommit on this server."""
        with self.connect(database) as connection:
            cursor = connection.execute(sql, params)  # type: ignore[arg-type]
            row = cursor.fetchone() if cursor.description is not None else None
            return None if row is None else row[0]

    def connect(self, database: str = DATABASE) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def configure(self, settings: str) -> None:
        with (self.directory / "postgresql.conf").open("a") as conf:
            conf.write(settings)


@dataclass
class Cluster:
    """A primary, its synchronous hot standby, and PgBouncer in front of the primary."""

    directory: Path
    primary: Server
    standby: Server
    pgbouncer_port: int = 0
    _pgbouncer: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pgbouncer_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.pgbouncer_port}/{DATABASE}"

    @property
    def failover_url(self) -> str:
        """The libpq multi-host URL that reaches whichever of the two accepts writes."""
        hosts = "&".join(f"host=127.0.0.1:{s.port}" for s in (self.primary, self.standby))
        return f"postgresql+psycopg://postgres@/{DATABASE}?{hosts}&target_session_attrs=read-write"

    # --- replication -----------------------------------------------------------------------

    def make_synchronous(self) -> None:
        """Name the streaming standby synchronous: a commit returns once it is flushed there."""
        self.wait_streaming()
        self.primary.query(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
        self.primary.query("SELECT pg_reload_conf()")
        wait_until(
            lambda: (
                self.primary.query(
                    "SELECT sync_state FROM pg_stat_replication WHERE application_name = %s",
                    STANDBY_NAME,
                )
                == "sync"
            ),
            "the standby to become synchronous",
        )

    def make_asynchronous(self) -> None:
        self.primary.query("ALTER SYSTEM RESET synchronous_standby_names")
        self.primary.query("SELECT pg_reload_conf()")
        wait_until(
            lambda: self.primary.query("SHOW synchronous_standby_names") == "",
            "the primary to stop waiting for the standby",
        )

    def wait_streaming(self) -> None:
        wait_until(
            lambda: (
                self.primary.query(
                    "SELECT state FROM pg_stat_replication WHERE application_name = %s",
                    STANDBY_NAME,
                )
                == "streaming"
            ),
            "the standby to stream",
        )

    def wait_caught_up(self) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        target = self.primary.query("SELECT pg_current_wal_insert_lsn()::text")
        wait_until(
            lambda: self.standby.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", target),
            "the standby to replay the primary's WAL",
        )

    def stop_standby(self) -> None:
        """Stop the standby, and first stop the primary waiting for it on every commit."""
        self.make_asynchronous()
        self.standby.stop()

    def start_standby(self) -> None:
        self.standby.start()
        self.make_synchronous()

    def reset(self) -> None:
        """Back to the state each test starts from: both running, replay on, in sync, caught up."""
        if not self.standby.running():
            self.start_standby()
        if self.standby.query("SELECT pg_is_wal_replay_paused()"):
            self.standby.query("SELECT pg_wal_replay_resume()")
        self.wait_caught_up()

    # --- PgBouncer -------------------------------------------------------------------------

    def start_pgbouncer(self) -> None:
        self.pgbouncer_port = free_port()
        (self.directory / "userlist.txt").write_text('"postgres" ""\n')
        ini = self.directory / "pgbouncer.ini"
        ini.write_text(
            PGBOUNCER_INI.format(
                primary_port=self.primary.port, port=self.pgbouncer_port, directory=self.directory
            )
        )
        _give_to_postgres(ini)
        self._pgbouncer = subprocess.Popen(
            _setpriv("pgbouncer", ini),
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._pgbouncer_answers, "PgBouncer to answer")

    def _pgbouncer_answers(self) -> bool:
        if self._pgbouncer is not None and self._pgbouncer.poll() is not None:
            log = self.directory / "pgbouncer.log"
            raise RuntimeError(f"pgbouncer exited: {log.read_text() if log.exists() else ''}")
        try:
            with psycopg.connect(
                host="127.0.0.1", port=self.pgbouncer_port, user="postgres", dbname=DATABASE
            ) as connection:
                connection.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def stop_pgbouncer(self) -> None:
        if self._pgbouncer is not None and self._pgbouncer.poll() is None:
            self._pgbouncer.terminate()
            self._pgbouncer.wait(timeout=READY_S)


def _build(directory: Path, stack: ExitStack) -> Cluster:
    primary = Server("primary", directory / "primary", free_port())
    as_postgres(
        BIN / "initdb",
        "-D",
        primary.directory,
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
    )
    primary.configure(SERVER_SETTINGS.format(port=primary.port, sockets=directory, name="primary"))
    primary.start()
    stack.callback(_stop_quietly, primary)
    primary.query(f"CREATE DATABASE {DATABASE}", database="postgres")
    standby = Server(STANDBY_NAME, directory / STANDBY_NAME, free_port())
    as_postgres(
        BIN / "pg_basebackup",
        *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
        *("-D", standby.directory, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"),
    )
    standby.configure(
        SERVER_SETTINGS.format(port=standby.port, sockets=directory, name=STANDBY_NAME)
    )
    standby.start()
    stack.callback(_stop_quietly, standby)
    return Cluster(directory, primary, standby)


def _stop_quietly(server: Server) -> None:
    if server.running():
        subprocess.run(
            _setpriv(BIN / "pg_ctl", "-D", server.directory, "-m", "immediate", "-w", "stop"),
            capture_output=True,
        )


@contextmanager
def running_cluster(*, pgbouncer: bool = True) -> Iterator[Cluster]:
    """A primary and its synchronous standby (and PgBouncer), gone when the block ends."""
    directory = Path(tempfile.mkdtemp(prefix="ap-cluster-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, directory, ignore_errors=True)
        _give_to_postgres(directory)
        cluster = _build(directory, stack)
        if pgbouncer:
            stack.callback(cluster.stop_pgbouncer)
            cluster.start_pgbouncer()
        cluster.make_synchronous()
        yield cluster

"""A database that cannot be reached, said in one line: where, and why.

The driver's own words are long and differ per backend (psycopg: ``connection
to server at "127.0.0.1", port 1 failed: Connection refused  Is the server
running…``; PyMySQL: ``(2003, "Can't connect to MySQL server on '127.0.0.1'
([Errno 111] Connection refused)")``). A user wants ``cannot connect to
postgresql at 127.0.0.1:1: connection refused``, with the host and port taken
from the URL they gave, which names the port even when the driver does not.
"""

from __future__ import annotations

import re
from typing import Any

import click
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from alchemy_patterns.db.engine import backend_of

__all__ = ["NamingUnreachableDatabase", "connection_failure", "describe_connection_failure"]

DEFAULT_PORTS = {"postgresql": 5432, "mariadb": 3306}

#: Driver phrases, lower case, and the short cause they mean.
KNOWN_CAUSES = (
    ("refused", "connection refused"),
    ("timed out", "timed out"),
    ("timeout expired", "timed out"),
    ("name or service not known", "unknown host"),
    ("failed to resolve host", "unknown host"),
    ("nodename nor servname", "unknown host"),
    ("temporary failure in name resolution", "unknown host"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network unreachable"),
)


class NamingUnreachableDatabase(click.Group):
    """The root group: a command that cannot reach its database fails with one line naming it.

    Here, and not in ``main()``, because only here is the URL known (the
    group's own callback reads it from ``--database-url`` or the environment).
    With ``--debug`` the original error and its traceback go through.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:  # a connection failure, or one wrapped by the data layer
            failure = connection_failure(error)
            settings = getattr(ctx.obj, "settings", None)
            if failure is None or settings is None or getattr(ctx.obj, "debug", False):
                raise
            url = settings.resolved_database_url
            raise click.ClickException(describe_connection_failure(failure, url)) from error


def connection_failure(error: BaseException | None) -> sa_exc.OperationalError | None:
    """The failure to connect behind ``error`` (itself or one of its causes), if it is one.

    SQLAlchemy raises a driver error met while *connecting* with no statement;
    the data layer may have wrapped it (``Unavailable``), so the causes count.
    """
    while error is not None:
        if isinstance(error, sa_exc.OperationalError) and error.statement is None:
            return error
        error = error.__cause__
    return None


def describe_connection_failure(error: sa_exc.OperationalError, url: str) -> str:
    """``cannot connect to postgresql at 127.0.0.1:1: connection refused``."""
    return f"cannot connect to {where(url)}: {cause(error)}"


def where(url: str) -> str:
    """The backend and its host and port (or, for SQLite, its file)."""
    parsed = make_url(url)
    backend = backend_of(parsed)
    if backend == "sqlite":
        return f"sqlite at {parsed.database or ':memory:'}"
    port = parsed.port or DEFAULT_PORTS[backend]
    return f"{backend} at {parsed.host or 'localhost'}:{port}"


def cause(error: sa_exc.OperationalError) -> str:
    """Why, in a few words: a known phrase shortened, else the server's own message."""
    said = driver_message(error.orig)
    lowered = said.lower()
    for phrase, meaning in KNOWN_CAUSES:
        if phrase in lowered:
            return meaning
    # psycopg: 'connection failed: connection to server at …, port … failed: FATAL:  <why>'
    return re.split(r"failed: (?:FATAL:\s*)?", said)[-1].strip()


def driver_message(orig: BaseException | None) -> str:
    """The driver's message on one line (PyMySQL's is the second of its arguments)."""
    args: tuple[object, ...] = tuple(getattr(orig, "args", ()))
    text = str(args[1]) if len(args) > 1 and isinstance(args[0], int) else str(orig)
    return " ".join(text.split())

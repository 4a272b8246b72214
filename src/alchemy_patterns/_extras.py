"""What the application (API, command line, domains) needs beyond the data layer: the ``app`` extra.

``pip install alchemy-patterns`` installs the data layer (:mod:`alchemy_patterns.db`)
with SQLAlchemy alone; the application's packages come with
``pip install 'alchemy-patterns[app]'``. Without them, importing the API or
running the command says so in one line instead of a ``ModuleNotFoundError``
deep in an import chain.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["app_extra_missing", "require_app_extra"]

#: A module of each of the app extra's distributions that the application imports.
APP_MODULES = (
    "alembic",
    "argon2",
    "click",
    "email_validator",
    "faker",
    "flask",
    "flask_openapi3",
    "gunicorn",
    "prometheus_client",
    "pydantic",
    "pydantic_settings",
    "rich",
)


def app_extra_missing(what: str) -> str | None:
    """The one line saying that ``what`` needs the app extra, or None when it is installed."""
    missing = [name for name in APP_MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"{what} needs the application's packages ({', '.join(missing)} missing): "
        "pip install 'alchemy-patterns[app]'"
    )


def require_app_extra(what: str, *, exit_: bool = False) -> None:
    """Stop unless the app extra is there: ``ImportError``, or (a command) exit 1 with one line."""
    problem = app_extra_missing(what)
    if problem is None:
        return
    if exit_:
        sys.exit(f"error: {problem}")
    raise ImportError(problem)

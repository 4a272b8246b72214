"""Alembic migrations: they own the application's schema.

The functions here run Alembic's commands against a URL without an
``alembic.ini``: the scripts ship inside the package, so an installed
application can migrate its database.
"""

from __future__ import annotations

from typing import Any, TextIO

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import URL, make_url

from alchemy_patterns.db import make_engine
from alchemy_patterns.db.search import include_name, include_object

__all__ = ["alembic_config", "current", "downgrade", "drift", "upgrade"]


def alembic_config(url: str | URL, *, stdout: TextIO | None = None) -> Config:
    """An Alembic ``Config`` for the packaged scripts and the database at ``url``."""
    config = Config(stdout=stdout) if stdout is not None else Config()
    config.set_main_option("script_location", "alchemy_patterns:migrations")
    rendered = make_url(url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | URL, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current(url: str | URL) -> str | None:
    """The revision the database is at, or None before the first upgrade."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def drift(url: str | URL, metadata: MetaData | None = None) -> list[Any]:
    """Differences between the models and the database's schema (empty: none).

    Run it on a database upgraded to head: any difference is a model change
    that has no migration yet.
    """
    if metadata is None:
        from alchemy_patterns.domains import metadata as app_metadata

        metadata = app_metadata
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            options = {
                "compare_type": True,
                # The full-text indexes are built by DDL of their own, not held by the models.
                "include_name": include_name,
                "include_object": include_object,
            }
            context = MigrationContext.configure(connection, opts=options)
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()

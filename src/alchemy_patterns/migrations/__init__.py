"""Alembic migrations: they own the application's schema.

The functions here run Alembic's commands against a URL without an
``alembic.ini``: the scripts ship inside the package, so an installed
application can migrate its database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData
from sqlalchemy.engine import URL, make_url

from alchemy_patterns.db import emitted_on, make_engine
from alchemy_patterns.db.search import include_name, include_object

__all__ = ["alembic_config", "current", "downgrade", "drift", "head", "revisions", "upgrade"]


def on_this_backend(connection: Connection) -> Callable[..., bool]:
    """Alembic's ``include_object``: leave out what the models do not hold for this backend.

    Alembic knows nothing of ``Index.ddl_if()``: an index that exists only on
    another backend (:func:`~alchemy_patterns.db.unique_while_live`) would
    be reported missing here. Nor of the full-text search's column and
    index, built by DDL of their own (:func:`~alchemy_patterns.db.search.include_object`).
    """
    dialect = connection.dialect.name

    def include(item: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        if not include_object(item, name, kind, reflected, compare_to):
            return False
        return reflected or emitted_on(item, dialect)

    return include


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


def head() -> str:
    """The newest revision this version of the package ships (the one ``upgrade`` goes to)."""
    found = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if found is None:  # the package always ships its scripts: a broken install
        raise RuntimeError("no migration scripts in alchemy_patterns.migrations")
    return found


def revisions() -> set[str]:
    """Every revision this version of the package ships."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {revision.revision for revision in script.walk_revisions()}


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
                "include_object": on_this_backend(connection),
            }
            context = MigrationContext.configure(connection, opts=options)
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()

"""Alembic environment: the URL comes from the config (the CLI sets it), the models from domains."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from alchemy_patterns.db import make_engine
from alchemy_patterns.db.search import include_name
from alchemy_patterns.domains import metadata
from alchemy_patterns.migrations import on_this_backend

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER goes through copies
        user_module_prefix="alchemy_patterns.db.base.",
        # The full-text indexes are built by DDL of their own, not held by the models.
        include_name=include_name,
        include_object=on_this_backend(connection),
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

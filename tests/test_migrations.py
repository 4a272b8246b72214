"""Alembic owns the schema: migrations apply, reverse, and agree with the models."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table, create_engine

from alchemy_patterns import migrations
from alchemy_patterns.domains import metadata as app_metadata


def head() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))
    revision = script.get_current_head()
    assert revision is not None
    return revision


def test_upgrade_brings_the_database_to_head(fresh_database_url: str) -> None:
    assert migrations.current(fresh_database_url) is None

    migrations.upgrade(fresh_database_url)

    assert migrations.current(fresh_database_url) == head()


def test_the_models_and_the_migrations_agree(fresh_database_url: str) -> None:
    migrations.upgrade(fresh_database_url)

    assert migrations.drift(fresh_database_url) == []


def test_downgrade_to_base_and_upgrade_again(fresh_database_url: str) -> None:
    migrations.upgrade(fresh_database_url)

    migrations.downgrade(fresh_database_url, "base")
    assert migrations.current(fresh_database_url) is None

    migrations.upgrade(fresh_database_url)
    assert migrations.current(fresh_database_url) == head()
    assert migrations.drift(fresh_database_url) == []


def test_the_drift_check_reports_a_model_without_a_migration(fresh_database_url: str) -> None:
    migrations.upgrade(fresh_database_url)
    models = MetaData()
    for table in app_metadata.tables.values():
        copy = table.to_metadata(models)
        # to_metadata() copies neither an index's info nor its ddl_if(): which
        # backends an index is for (unique_while_live) goes in info.
        info = {index.name: index.info for index in table.indexes}
        for index in copy.indexes:
            index.info.update(info[index.name])
    Table("not_migrated", models, Column("id", Integer, primary_key=True))

    differences = migrations.drift(fresh_database_url, models)

    assert [d[0] for d in differences] == ["add_table"]
    assert differences[0][1].name == "not_migrated"


def test_the_drift_check_leaves_out_the_full_text_index_alone(fresh_database_url: str) -> None:
    """The search objects the models do not hold are skipped; an index beside them is not."""
    migrations.upgrade(fresh_database_url)
    engine = create_engine(fresh_database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE INDEX ix_posts_body_extra ON posts (author_id, id)")

        differences = migrations.drift(fresh_database_url)
    finally:
        engine.dispose()

    assert [(d[0], d[1].name) for d in differences] == [("remove_index", "ix_posts_body_extra")]

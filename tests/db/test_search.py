"""Full-text search in the data layer: the words searched for, the index each backend builds.

A table of its own, made by ``create_all`` (the events :func:`full_text`
attaches) rather than by a migration: a schema made either way searches alike.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, inspect, select, update

from alchemy_patterns.db import Database, ValidationFailed
from alchemy_patterns.db.search import (
    MAX_TERMS,
    full_text,
    include_name,
    include_object,
    ranked,
    search_terms,
    text_search,
)

metadata = MetaData()
notes = Table(
    "search_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(100), nullable=False),
    Column("body", String(1000), nullable=False, server_default=""),
)
full_text(notes, "title", "body")


@pytest.fixture
def searchable(database_url: str) -> Iterator[Database]:
    database = Database(database_url, metadata=metadata)
    metadata.drop_all(database.engine)
    metadata.create_all(database.engine)
    yield database
    metadata.drop_all(database.engine)
    database.dispose()


def titles(database: Database, query: str) -> list[str]:
    with database.session_scope() as session:
        match = text_search(session, notes, query)
        return list(session.scalars(ranked(select(notes.c.title), match, notes.c.id, None)))


# --- the words searched for ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("Oak TABLE", ["oak", "table"]),
        ("oak, oak; Oak!", ["oak"]),
        ("the table of an oak", ["table", "oak"]),  # InnoDB's stopwords
        ("to go by ox", []),  # shorter than InnoDB's 3 letters
        ('"oak" OR name:pine*', ["oak", "name", "pine"]),  # no operator survives
        ("snake_case e-mail", ["snake", "case", "mail"]),
        ("Ärger über café", ["ärger", "über", "café"]),
    ],
)
def test_a_query_is_reduced_to_the_words_every_engine_indexes(query: str, terms: list[str]) -> None:
    assert search_terms(query) == terms


def test_a_long_query_keeps_its_first_words() -> None:
    words = [f"word{i:02d}" for i in range(MAX_TERMS + 5)]

    assert search_terms(" ".join(words)) == words[:MAX_TERMS]


def test_a_query_of_no_word_to_search_is_refused_on_q(searchable: Database) -> None:
    with searchable.session_scope() as session, pytest.raises(ValidationFailed) as refused:
        text_search(session, notes, "a of the")

    assert refused.value.columns == ("q",)


def test_a_cursor_into_an_order_by_rank_is_refused(searchable: Database) -> None:
    with searchable.session_scope() as session:
        match = text_search(session, notes, "oak")

    with pytest.raises(ValidationFailed) as refused:
        ranked(select(notes.c.id), match, notes.c.id, "eyJ4IjoxfQ")

    assert refused.value.columns == ("cursor",)


# --- what Alembic's comparison leaves out ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["products_fts", "products_fts_data", "posts_fts_idx", "posts_fts_docsize", "posts_fts_config"],
)
def test_fts5_tables_are_left_out_of_the_comparison(name: str) -> None:
    assert include_name(name, "table", {}) is False


@pytest.mark.parametrize("name", ["products", "fts_log", "products_ftsx", "products_fts_other"])
def test_other_tables_are_compared(name: str) -> None:
    assert include_name(name, "table", {}) is True


def test_only_a_reflected_search_column_or_index_the_models_lack_is_left_out() -> None:
    assert include_object(None, "search_vector", "column", True, None) is False
    assert include_object(None, "ix_products_search", "index", True, None) is False
    assert include_object(None, "ix_products_name", "index", True, None) is True
    assert include_object(None, "search_vectors", "column", True, None) is True
    model_index = object()  # a model that declares one is compared as usual
    assert include_object(None, "ix_products_search", "index", True, model_index) is True


# --- the index, on each backend --------------------------------------------------------------


def test_create_all_builds_an_index_that_finds_any_word(searchable: Database) -> None:
    with searchable.session_scope() as session:
        session.execute(
            notes.insert(),
            [
                {"title": "Oak table", "body": "solid oak"},
                {"title": "Pine shelf", "body": "light pine"},
                {"title": "Lamp", "body": "a light for a table"},
            ],
        )

    assert titles(searchable, "oak")[0] == "Oak table"
    assert sorted(titles(searchable, "oak light")) == ["Lamp", "Oak table", "Pine shelf"]
    assert titles(searchable, "marble") == []


def test_the_index_follows_updates_and_deletes(searchable: Database) -> None:
    with searchable.session_scope() as session:
        session.execute(notes.insert(), [{"title": "Oak table"}, {"title": "Pine shelf"}])
    with searchable.session_scope() as session:
        session.execute(update(notes).where(notes.c.title == "Oak table").values(title="Elm desk"))
        session.execute(delete(notes).where(notes.c.title == "Pine shelf"))

    assert titles(searchable, "oak") == []
    assert titles(searchable, "pine") == []
    assert titles(searchable, "elm") == ["Elm desk"]


def test_rows_there_before_the_index_are_indexed(database_url: str) -> None:
    """What the migration relies on: the index is built over the rows already in the table."""
    database = Database(database_url, metadata=metadata)
    plain = MetaData()
    notes.to_metadata(plain)  # the same table, without the full-text events
    try:
        metadata.drop_all(database.engine)
        plain.create_all(database.engine)
        with database.session_scope() as session:
            session.execute(notes.insert(), [{"title": "Oak table"}, {"title": "Pine shelf"}])
        with database.engine.begin() as connection:
            for statement in notes.info["full_text"].create_ddl(connection.dialect.name):
                connection.exec_driver_sql(statement)

        assert titles(database, "oak") == ["Oak table"]
    finally:
        metadata.drop_all(database.engine)
        database.dispose()


def test_drop_all_removes_the_index_with_the_table(searchable: Database) -> None:
    metadata.drop_all(searchable.engine)

    left = [name for name in inspect(searchable.engine).get_table_names() if "search_notes" in name]
    assert left == []

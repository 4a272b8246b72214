"""Historied models: each change keeps the version it replaced, in the change's own transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import CheckConstraint, ForeignKeyConstraint, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alchemy_patterns.db import (
    ACTOR_KEY,
    Database,
    Historied,
    NotFound,
    StaleVersion,
    as_of,
    history_table,
    update_where,
)
from tests.db.models import Author, Note, Status

HISTORY = history_table(Note)


def make_notes(db: Database, *titles: str) -> list[int]:
    with db.session_scope() as session:
        notes = [Note(title=title) for title in titles]
        session.add_all(notes)
        session.flush()
        return [note.id for note in notes]


def kept(db: Database) -> list[tuple[str, int, int | None]]:
    """(title, version, changed_by) of every history row, in order."""
    with db.session_scope() as session:
        rows = session.execute(
            select(HISTORY.c.title, HISTORY.c.version, HISTORY.c.changed_by).order_by(
                HISTORY.c.id, HISTORY.c.version
            )
        )
        return [(title, version, by) for title, version, by in rows]


def test_the_history_table_keeps_the_columns_keyed_by_version_without_constraints() -> None:
    assert [c.name for c in HISTORY.primary_key.columns] == ["id", "version"]
    assert set(HISTORY.c.keys()) == set(Note.__table__.c.keys()) | {"changed_at", "changed_by"}
    # old values stay valid: no unique title, no enum CHECK, no author to outlive
    assert not [
        c for c in HISTORY.constraints if isinstance(c, CheckConstraint | ForeignKeyConstraint)
    ]
    assert not HISTORY.indexes


def test_an_orm_update_and_delete_keep_the_versions_they_replace_with_the_actor(
    db: Database,
) -> None:
    [note_id] = make_notes(db, "draft")
    with db.session_scope() as session:
        author = Author(name="Ada")
        session.add(author)
        session.flush()
        author_id = author.id
    with db.session_scope() as session:
        session.info[ACTOR_KEY] = author_id
        note = session.get_one(Note, note_id)
        note.title, note.status = "final", Status.PUBLISHED
    with db.session_scope() as session:
        session.delete(session.get_one(Note, note_id))

    assert kept(db) == [("draft", 1, author_id), ("final", 2, None)]
    with db.session_scope() as session, pytest.raises(NotFound):
        as_of(session, Note, note_id, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))


def test_update_where_keeps_exactly_the_rows_it_changes_and_a_rollback_none(
    db: Database,
) -> None:
    first, second, _ = make_notes(db, "a", "b", "c")

    with db.session_scope() as session:
        changed = update_where(
            session, Note, Note.id.in_([first, second]), values={"status": Status.PUBLISHED}
        )
    with pytest.raises(StaleVersion), db.session_scope() as session:
        update_where(session, Note, Note.id == first, values={"title": "x"}, expected_version=1)
    with pytest.raises(RuntimeError), db.session_scope() as session:
        update_where(session, Note, Note.id == first, values={"title": "y"}, expected_version=2)
        raise RuntimeError("the unit fails after the update")

    assert changed == 2
    assert kept(db) == [("a", 1, None), ("b", 1, None)]


def test_only_a_versioned_model_can_keep_history() -> None:
    class Unversioned(DeclarativeBase):
        pass

    with pytest.raises(TypeError, match="versioned"):

        class Plain(Historied, Unversioned):
            __tablename__ = "plain"
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str] = mapped_column(String(10))

"""Versioned models: a write based on a replaced version is ``StaleVersion``, in bulk too."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from alchemy_patterns.db import (
    Conflict,
    Database,
    StaleVersion,
    bulk_insert,
    bulk_update,
    check_version,
    count_queries,
    update_where,
    version_of,
)
from tests.db.models import Document


def make_documents(db: Database, *titles: str) -> list[Document]:
    with db.session_scope() as session:
        documents = [Document(title=title) for title in titles]
        session.add_all(documents)
    return documents


def stored(db: Database) -> dict[str, tuple[int, int]]:
    """title -> (words, version) as committed."""
    with db.session_scope() as session:
        rows = session.execute(select(Document.title, Document.words, Document.version))
        return {title: (words, version) for title, words, version in rows}


def test_a_new_row_starts_at_version_1_and_each_update_moves_it(db: Database) -> None:
    (doc,) = make_documents(db, "a")
    assert version_of(doc) == 1

    with db.session_scope() as session:
        session.get_one(Document, doc.id).words = 5
    with db.session_scope() as session:
        session.get_one(Document, doc.id).words = 6

    assert stored(db) == {"a": (6, 3)}


def test_a_write_based_on_a_replaced_version_is_stale_version(db: Database) -> None:
    # given two readers of version 1, in requests of their own
    (doc,) = make_documents(db, "a")
    with db.session_scope() as session:
        first = session.get_one(Document, doc.id)
    with db.session_scope() as session:
        second = session.get_one(Document, doc.id)
    # when the first writes, then the second writes what it read
    with db.session_scope() as session:
        session.add(first)
        first.words = 1
    with pytest.raises(StaleVersion) as raised, db.session_scope() as session:
        session.add(second)
        second.words = 2

    # then the second is refused, a Conflict, and the first one's value stays
    assert isinstance(raised.value, Conflict)
    assert raised.value.code == "stale_version"
    assert stored(db) == {"a": (1, 2)}


def test_a_delete_based_on_a_replaced_version_is_stale_version(db: Database) -> None:
    (doc,) = make_documents(db, "a")
    with db.session_scope() as session:
        stale = session.get_one(Document, doc.id)
    with db.session_scope() as session:
        session.get_one(Document, doc.id).words = 1

    with pytest.raises(StaleVersion), db.session_scope() as session:
        session.delete(session.merge(stale, load=False))

    assert stored(db) == {"a": (1, 2)}


def test_check_version_names_the_version_stored_now(db: Database) -> None:
    (doc,) = make_documents(db, "a")
    with db.session_scope() as session:
        loaded = session.get_one(Document, doc.id, with_for_update=True)
        check_version(loaded, 1)
        check_version(loaded, [3, 1])
        check_version(loaded, None)
        with pytest.raises(StaleVersion) as raised:
            check_version(loaded, 7, entity="document")

    assert (raised.value.entity, raised.value.key) == ("document", doc.id)
    assert (raised.value.expected, raised.value.current) == (7, 1)


def test_update_where_moves_the_version_in_the_same_statement(db: Database) -> None:
    make_documents(db, "a", "b")
    with db.session_scope() as session:
        loaded = session.scalars(select(Document).where(Document.title == "a")).one()
        with count_queries() as counter:
            matched = update_where(
                session, Document, Document.title == "a", values={"words": Document.words + 4}
            )
        # the loaded object is kept in step, version included
        assert (loaded.words, loaded.version) == (4, 2)

    assert matched == 1
    assert counter.count == 1
    assert stored(db) == {"a": (4, 2), "b": (0, 1)}


def test_update_where_with_the_expected_version_checks_it(db: Database) -> None:
    (doc,) = make_documents(db, "a")
    with db.session_scope() as session:
        assert update_where(
            session, Document, Document.id == doc.id, values={"words": 1}, expected_version=1
        )

    with pytest.raises(StaleVersion), db.session_scope() as session:
        update_where(
            session, Document, Document.id == doc.id, values={"words": 2}, expected_version=1
        )

    assert stored(db) == {"a": (1, 2)}


def test_bulk_update_checks_the_versions_given_and_moves_them(db: Database) -> None:
    a, b = make_documents(db, "a", "b")
    with db.session_scope() as session, count_queries() as counter:
        bulk_update(
            session,
            Document,
            [{"id": a.id, "words": 1, "version": 1}, {"id": b.id, "words": 2, "version": 1}],
        )

    assert len(counter.matching("UPDATE")) == 1
    assert stored(db) == {"a": (1, 2), "b": (2, 2)}


def test_bulk_update_with_a_replaced_version_changes_nothing(db: Database) -> None:
    a, b = make_documents(db, "a", "b")
    with db.session_scope() as session:
        session.get_one(Document, b.id).words = 9  # b moves to version 2

    with pytest.raises(StaleVersion), db.session_scope() as session:
        bulk_update(
            session,
            Document,
            [{"id": a.id, "words": 1, "version": 1}, {"id": b.id, "words": 2, "version": 1}],
        )

    assert stored(db) == {"a": (0, 1), "b": (9, 2)}


def test_bulk_update_without_versions_moves_them_and_refreshes_loaded_objects(
    db: Database,
) -> None:
    a, b = make_documents(db, "a", "b")
    with db.session_scope() as session:
        loaded = session.get_one(Document, a.id)
        with count_queries() as counter:
            bulk_update(session, Document, [{"id": a.id, "words": 3}, {"id": b.id, "words": 4}])
        assert len(counter.matching("UPDATE")) == 1
        assert (loaded.words, loaded.version) == (3, 2)

    assert stored(db) == {"a": (3, 2), "b": (4, 2)}


def test_bulk_update_without_versions_of_a_missing_key_fails(db: Database) -> None:
    (a,) = make_documents(db, "a")
    with pytest.raises(StaleVersion), db.session_scope() as session:
        bulk_update(session, Document, [{"id": a.id, "words": 3}, {"id": 10_000, "words": 4}])

    assert stored(db) == {"a": (0, 1)}


def test_bulk_insert_of_a_versioned_model_starts_at_version_1(db: Database) -> None:
    with db.session_scope() as session:
        bulk_insert(session, Document, [{"title": "a"}, {"title": "b"}])
        ids = bulk_insert(session, Document, [{"title": "c"}], returning=[Document.id])

    assert len(ids) == 1
    assert stored(db) == {"a": (0, 1), "b": (0, 1), "c": (0, 1)}

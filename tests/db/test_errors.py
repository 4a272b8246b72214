"""Driver errors become the same application errors on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete
from sqlalchemy import exc as sa_exc

from alchemy_patterns.db import (
    Conflict,
    Database,
    InvalidReference,
    ValidationFailed,
    translate_error,
    translating_errors,
)
from tests.db.models import Author, AuthorProfile, Book, Review


def add_author(db: Database, name: str = "ada") -> int:
    with db.session_scope() as session:
        author = Author(name=name)
        session.add(author)
        session.flush()
        return author.id


def test_duplicate_unique_value_is_a_conflict_naming_the_column(db: Database) -> None:
    add_author(db, "ada")

    with pytest.raises(Conflict) as raised, db.session_scope() as session:
        session.add(Author(name="ada"))

    error = raised.value
    assert error.field == "name"
    assert error.columns == ("name",)
    assert error.constraint == "uq_authors_name"
    assert error.table == "authors"
    assert error.code == "conflict"
    assert isinstance(error.__cause__, sa_exc.IntegrityError)


def test_a_missing_parent_is_an_invalid_reference(db: Database) -> None:
    with pytest.raises(InvalidReference) as raised, db.session_scope() as session:
        session.add(Book(author_id=12345, title="orphan"))

    assert raised.value.code == "invalid_reference"
    if db.backend != "sqlite":  # SQLite does not say which foreign key failed
        assert raised.value.constraint == "fk_books_author_id_authors"
        assert raised.value.field == "author_id"


def test_deleting_a_referenced_parent_is_an_invalid_reference(db: Database) -> None:
    author_id = add_author(db)
    with db.session_scope() as session:
        session.add(Book(author_id=author_id, title="Notes"))

    with pytest.raises(InvalidReference), db.session_scope() as session:
        session.execute(delete(Author).where(Author.id == author_id))

    with db.session_scope() as session:
        assert session.get(Author, author_id) is not None


def test_deleting_a_parent_kept_by_on_delete_restrict_is_an_invalid_reference(
    db: Database,
) -> None:
    author_id = add_author(db)
    with db.session_scope() as session:
        book = Book(author_id=author_id, title="Reviewed")
        session.add(book)
        session.flush()
        session.add(Review(book_id=book.id))
        book_id = book.id

    with pytest.raises(InvalidReference), db.session_scope() as session:
        session.execute(delete(Book).where(Book.id == book_id))

    with db.session_scope() as session:
        assert session.get(Book, book_id) is not None


@pytest.mark.backends("postgresql", "mariadb")  # SQLite does not enforce VARCHAR lengths
def test_a_value_too_long_for_its_column_is_a_validation_failure(db: Database) -> None:
    author_id = add_author(db)

    with pytest.raises(ValidationFailed), db.session_scope() as session:
        session.add(Book(author_id=author_id, title="x" * 201))


def test_a_number_out_of_range_for_its_column_is_a_validation_failure(db: Database) -> None:
    with pytest.raises(ValidationFailed) as raised, db.session_scope() as session:
        # Beyond 32 bits for the servers' INTEGER, beyond 64 for SQLite's.
        session.add(Book(author_id=2**40 if db.backend != "sqlite" else 2**70, title="x"))

    if db.backend == "mariadb":  # PostgreSQL does not say which column
        assert raised.value.field == "author_id"


def test_a_check_violation_names_the_constraint_and_its_column(db: Database) -> None:
    author_id = add_author(db)

    with pytest.raises(ValidationFailed) as raised, db.session_scope() as session:
        session.add(Book(author_id=author_id, title="Notes", price=Decimal("-1.00")))

    assert raised.value.constraint == "ck_books_price_nonnegative"
    assert raised.value.field == "price"


def test_a_missing_required_value_names_the_column(db: Database) -> None:
    author_id = add_author(db)

    with pytest.raises(ValidationFailed) as raised, db.session_scope() as session:
        session.add(AuthorProfile(author_id=author_id, bio=None))

    assert raised.value.field == "bio"


def test_translating_errors_works_on_a_plain_session_too(db: Database) -> None:
    add_author(db, "ada")
    session = db.sessionmaker()
    try:
        with pytest.raises(Conflict), translating_errors(db.metadata):
            session.add(Author(name="ada"))
            session.flush()
    finally:
        session.close()


def test_errors_that_are_not_the_databases_pass_through_unchanged() -> None:
    error = KeyError("x")

    assert translate_error(error) is error

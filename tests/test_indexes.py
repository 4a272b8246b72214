"""The migrated schema indexes what the application reads by.

* Every foreign key has an index whose leading columns are its own (the
  primary key or a unique constraint counts): deleting a parent, or reading a
  parent's children, is then a range of an index, not a scan of the table.
* Every list the API pages has an index (or the primary key) that starts with
  the columns the list is read by: the parent's key, if the list is one
  parent's, then its order. A page is then a range of that index, however
  long the list, not a sort of the table.
* So does every order a list's ``sort`` allows (read from the lists' own
  :class:`~alchemy_patterns.db.sorting.Sorting`, so a field added to one
  without an index fails here), and every filter, with the order it is read in.

Both are checked on a database the migrations built (the models agree with
it: tests/test_migrations.py), and both checks are shown to fail when an
index is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Inspector, create_engine, inspect

from alchemy_patterns import migrations
from alchemy_patterns.db import Base, Database
from alchemy_patterns.db.sorting import Sorting
from alchemy_patterns.domains.clinic.models import (
    APPOINTMENT_SORTING,
    OWNER_SORTING,
    PET_SORTING,
    VET_SORTING,
    Owner,
)
from alchemy_patterns.domains.school.models import CLUB_SORTING, COURSE_SORTING, STUDENT_SORTING
from alchemy_patterns.domains.shop.models import ORDER_SORTING, PRODUCT_SORTING
from alchemy_patterns.domains.social.models import POST_SORTING
from tests.web.conftest import make_app

#: (list, table, the columns it is read by). A list filtered to one parent
#: leads with the parent's key, then the list's order: a club's members and a
#: course's roster are read by student id, in their link index's order, so a
#: page of them is a range of it however long the list.
LISTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("/products", "products", ("name", "id")),
    ("/products", "products", ("price", "id")),  # sort=price, min_price, max_price
    ("/orders", "orders", ("user_id", "id")),
    ("/orders", "orders", ("user_id", "created_at", "id")),  # sort=created_at, placed_from/to
    ("/orders", "orders", ("user_id", "total", "id")),  # sort=total
    ("/products/{product_id}/history", "products_history", ("id", "version")),  # its key
    ("/owners/{owner_id}/history", "owners_history", ("id", "version")),  # its key
    ("/pets/{pet_id}/history", "pets_history", ("id", "version")),  # its key
    ("/audit", "audit_records", ("id",)),
    ("/audit", "audit_records", ("entity", "entity_id", "id")),  # one entity's trail
    ("/owners", "owners", ("name", "id")),  # name (a prefix: ranges of it)
    ("/pets", "pets", ("name", "id")),
    ("/pets", "pets", ("species", "name", "id")),  # species
    ("/vets", "vets", ("name", "id")),
    ("/appointments", "appointments", ("scheduled_at", "id")),  # scheduled_from/to
    ("/appointments", "appointments", ("vet_id", "scheduled_at", "id")),  # vet_id
    ("/appointments", "appointments", ("status", "scheduled_at", "id")),  # status
    ("/students", "students", ("last_name", "first_name", "id")),  # last_name (a prefix)
    ("/students/{student_id}/clubs", "student_clubs", ("student_id",)),
    ("/clubs", "clubs", ("name",)),
    ("/clubs/{club_id}/members", "student_clubs", ("club_id", "student_id")),
    ("/courses", "courses", ("code",)),
    ("/courses/{course_id}/roster", "enrollments", ("course_id", "student_id")),
    ("/posts", "posts", ("created_at",)),  # newest first (a search is by rank: no index order)
    ("/posts/{post_id}/comments", "comments", ("post_id", "id")),
    ("/users/{user_id}/followers", "follows", ("followed_id",)),
    ("/users/{user_id}/following", "follows", ("follower_id",)),
    ("/feed", "posts", ("author_id", "created_at", "id")),
    ("/users/{user_id}/posts", "posts", ("author_id", "created_at", "id")),
]

#: (list, table, the columns it is scoped by, its sort allow-list): each order
#: ``sort`` may ask for, after the scope, must be the start of an index.
SORTED_LISTS: list[tuple[str, str, tuple[str, ...], Sorting]] = [
    ("/products", "products", (), PRODUCT_SORTING),
    ("/orders", "orders", ("user_id",), ORDER_SORTING),
    ("/owners", "owners", (), OWNER_SORTING),
    ("/pets", "pets", (), PET_SORTING),
    ("/vets", "vets", (), VET_SORTING),
    ("/appointments", "appointments", (), APPOINTMENT_SORTING),
    ("/students", "students", (), STUDENT_SORTING),
    ("/clubs", "clubs", (), CLUB_SORTING),
    ("/courses", "courses", (), COURSE_SORTING),
    ("/users/{user_id}/posts", "posts", ("author_id",), POST_SORTING),
]


def sort_orders(
    lists: Sequence[tuple[str, str, tuple[str, ...], Sorting]],
) -> list[tuple[str, str, tuple[str, ...]]]:
    """(list, table, columns) of every order the lists' ``sort`` allows, after their scope."""
    return [
        (name, table, (*scope, *order))
        for name, table, scope, sorting in lists
        for order in sorting.orders().values()
    ]


def key_columns(inspector: Inspector, table: str) -> list[list[str]]:
    """The column lists, in order, of the table's primary key, unique constraints and indexes."""
    keys = [inspector.get_pk_constraint(table)["constrained_columns"]]
    keys += [unique["column_names"] for unique in inspector.get_unique_constraints(table)]
    keys += [
        [column for column in index["column_names"] if column is not None]
        for index in inspector.get_indexes(table)
    ]
    return keys


def unindexed_foreign_keys(inspector: Inspector) -> list[str]:
    """``table(columns)`` for each foreign key of the app's tables that no key or index leads with.

    Only the application's: the data layer's tests keep their own models'
    tables in the same test database while their session lasts.
    """
    missing = []
    for table in sorted(set(inspector.get_table_names()) & set(Base.metadata.tables)):
        keys = key_columns(inspector, table)
        for foreign_key in inspector.get_foreign_keys(table):
            columns = foreign_key["constrained_columns"]
            if not any(set(key[: len(columns)]) == set(columns) for key in keys):
                missing.append(f"{table}({', '.join(columns)})")
    return missing


def unsupported_lists(
    inspector: Inspector, lists: Sequence[tuple[str, str, tuple[str, ...]]]
) -> list[str]:
    """``list: table(columns)`` for each list no key or index starts with the columns of."""
    return [
        f"{name}: {table}({', '.join(columns)})"
        for name, table, columns in lists
        if not any(tuple(key[: len(columns)]) == columns for key in key_columns(inspector, table))
    ]


# --- the schema the migrations build ------------------------------------------------------------


def test_every_foreign_key_has_an_index_leading_with_its_columns(app_db: Database) -> None:
    assert unindexed_foreign_keys(inspect(app_db.engine)) == []


def test_every_paged_list_is_read_by_an_index_in_its_order(app_db: Database) -> None:
    assert unsupported_lists(inspect(app_db.engine), LISTS) == []


def test_every_order_a_list_may_be_sorted_in_is_read_by_an_index(app_db: Database) -> None:
    orders = sort_orders(SORTED_LISTS)

    assert ("/students", "students", ("last_name", "first_name", "id")) in orders  # sort=name
    assert ("/clubs", "clubs", ("name",)) in orders  # unique: no tiebreaker
    assert unsupported_lists(inspect(app_db.engine), orders) == []


def test_no_list_may_be_sorted_by_a_nullable_column() -> None:
    nullable = [
        f"{name}: {column}"
        for name, _, _, sorting in SORTED_LISTS
        for columns in sorting.fields.values()
        for column in (columns if isinstance(columns, tuple) else (columns,))
        if column.expression.nullable  # type: ignore[union-attr]
    ]

    assert nullable == []  # a cursor cannot point past a NULL, nor do backends sort it alike


def test_every_list_that_takes_sort_has_its_allow_list_checked(app_db: Database) -> None:
    document = make_app(app_db).test_client().get("/openapi.json").get_json()

    sortable = {
        path
        for path, operations in document["paths"].items()
        if any(p["name"] == "sort" for p in operations.get("get", {}).get("parameters", []))
    }

    assert sortable == {name for name, _, _, _ in SORTED_LISTS}


def test_the_table_of_lists_names_every_paged_list_the_api_serves(app_db: Database) -> None:
    document = make_app(app_db).test_client().get("/openapi.json").get_json()

    paged = {
        path
        for path, operations in document["paths"].items()
        if "get" in operations and _is_a_page(operations["get"])
    }

    assert paged == {name for name, _, _ in LISTS}


def _is_a_page(operation: dict[str, object]) -> bool:
    reference = str(operation.get("responses", {}).get("200", {}))  # type: ignore[union-attr]
    return "Page'" in reference  # an offset page (…Page) or a cursor page (…CursorPage)


# --- the checks see a missing index -------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "table", "named"),
    [
        ("ix_owners_name_id", "owners", "/owners: owners(name, id)"),
        ("ix_pets_species_name_id", "pets", "/pets: pets(species, name, id)"),  # a filter's
    ],
)
def test_the_list_check_names_a_list_whose_index_is_dropped(
    fresh_database_url: str, index: str, table: str, named: str
) -> None:
    migrations.upgrade(fresh_database_url)
    engine = create_engine(fresh_database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(_drop_index(index, table, engine.name))

        missing = unsupported_lists(inspect(engine), LISTS)
    finally:
        engine.dispose()

    assert missing == [named]


def test_the_sort_check_names_a_sort_field_no_index_serves(app_db: Database) -> None:
    by_phone = Sorting({"name": Owner.name, "phone": Owner.phone}, Owner.id)

    missing = unsupported_lists(
        inspect(app_db.engine), sort_orders([("/owners", "owners", (), by_phone)])
    )

    assert missing == ["/owners: owners(phone, id)"]


# MariaDB refuses to drop the only index a foreign key can use: there the check cannot fail.
@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize(
    ("index", "table", "named"),
    [
        ("ix_student_clubs_club_id_student_id", "student_clubs", "/clubs/{club_id}/members"),
        ("ix_enrollments_course_id_student_id", "enrollments", "/courses/{course_id}/roster"),
    ],
)
def test_the_list_check_names_a_link_list_whose_index_is_dropped(
    fresh_database_url: str, index: str, table: str, named: str
) -> None:
    migrations.upgrade(fresh_database_url)
    engine = create_engine(fresh_database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(_drop_index(index, table, engine.name))

        missing = unsupported_lists(inspect(engine), LISTS)
        unindexed = unindexed_foreign_keys(inspect(engine))
    finally:
        engine.dispose()

    assert [entry.split(":")[0] for entry in missing] == [named]
    assert unindexed == [f"{table}({named.split('{')[1].split('}')[0]})"]


# MariaDB refuses to drop the only index a foreign key can use: there the check cannot fail.
@pytest.mark.backends("sqlite", "postgresql")
def test_the_foreign_key_check_names_a_key_whose_index_is_dropped(
    fresh_database_url: str,
) -> None:
    migrations.upgrade(fresh_database_url)
    engine = create_engine(fresh_database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP INDEX ix_checkout_keys_order_id")

        missing = unindexed_foreign_keys(inspect(engine))
    finally:
        engine.dispose()

    assert missing == ["checkout_keys(order_id)"]


def _drop_index(name: str, table: str, dialect: str) -> str:
    return f"DROP INDEX {name} ON {table}" if dialect == "mysql" else f"DROP INDEX {name}"

"""Soft delete in the data layer: every ORM read of the factory's sessions hides deleted rows.

Relationship loads (lazy, select-in, joined) included, and aliases, joins,
subqueries and counts; ``include_deleted`` reads them anyway; a Core
statement on the table is no ORM read and says ``live(table)`` itself; a
name is unique among live rows only, on every backend.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from alchemy_patterns.db import (
    INCLUDE_DELETED,
    Conflict,
    Database,
    emitted_on,
    live,
    paginate,
    restore,
    soft_delete,
    table_of,
)
from tests.db.models import Shelf, Volume

EVERY = {INCLUDE_DELETED: True}


def shelf_with_one_deleted_volume(db: Database) -> tuple[int, int, int]:
    """A shelf with a live volume and a deleted one: (shelf, live, deleted) ids."""
    with db.session_scope() as session:
        shelf = Shelf(name="poetry", volumes=[Volume(title="kept"), Volume(title="gone")])
        session.add(shelf)
        session.flush()
        soft_delete(session, shelf.volumes[1])
        return shelf.id, shelf.volumes[0].id, shelf.volumes[1].id


def test_reads_leave_deleted_rows_out_and_include_deleted_shows_them(db: Database) -> None:
    _, kept, gone = shelf_with_one_deleted_volume(db)

    with db.session_scope() as session:
        ids = session.scalars(select(Volume.id).order_by(Volume.id)).all()
        every = session.scalars(select(Volume.id).order_by(Volume.id).execution_options(**EVERY))
        assert (ids, every.all()) == ([kept], [kept, gone])
        assert session.get(Volume, gone) is None
        assert session.get(Volume, gone, execution_options=EVERY) is not None


def test_joins_aliases_subqueries_and_counts_leave_deleted_rows_out(db: Database) -> None:
    shelf_id, kept, _ = shelf_with_one_deleted_volume(db)
    other = aliased(Volume)
    per_shelf = select(func.count()).where(other.shelf_id == Shelf.id).scalar_subquery()

    with db.session_scope() as session:
        joined = session.execute(select(Shelf.id, Volume.id).join(Shelf.volumes)).all()
        counted = session.scalar(select(per_shelf).where(Shelf.id == shelf_id))
        page = paginate(session, select(Volume).order_by(Volume.id), page=1, per_page=10)
        assert joined == [(shelf_id, kept)]
        assert counted == 1
        assert (page.total, [v.id for v in page.items]) == (1, [kept])


@pytest.mark.parametrize("loading", ["lazy", "selectin", "joined"])
def test_relationship_loads_leave_deleted_rows_out(db: Database, loading: str) -> None:
    shelf_id, kept, _ = shelf_with_one_deleted_volume(db)
    options = {"lazy": [], "selectin": [selectinload(Shelf.volumes)]}
    options["joined"] = [joinedload(Shelf.volumes)]

    with db.session_scope() as session:
        stmt = select(Shelf).where(Shelf.id == shelf_id).options(*options[loading])
        shelf = session.scalars(stmt).unique().one()
        assert [volume.id for volume in shelf.volumes] == [kept]


def test_a_relationship_of_an_object_made_in_the_session_leaves_deleted_rows_out(
    db: Database,
) -> None:
    with db.session_scope() as session:
        shelf = Shelf(name="new", volumes=[Volume(title="kept"), Volume(title="gone")])
        session.add(shelf)
        session.flush()
        soft_delete(session, shelf.volumes[1])
        kept = shelf.volumes[0].id
        # Loaded by no statement, the shelf has no load options to pass on.
        session.expire(shelf, ["volumes"])
        assert [volume.id for volume in shelf.volumes] == [kept]


def test_restore_brings_a_row_back_and_soft_delete_twice_keeps_the_first_time(
    db: Database,
) -> None:
    _, kept, gone = shelf_with_one_deleted_volume(db)
    with db.session_scope() as session:
        volume = session.get_one(Volume, gone, execution_options=EVERY)
        first = volume.deleted_at
        soft_delete(session, volume, at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        assert volume.deleted_at == first

    with db.session_scope() as session:
        restore(session, session.get_one(Volume, gone, execution_options=EVERY))

    with db.session_scope() as session:
        assert session.scalars(select(Volume.id).order_by(Volume.id)).all() == [kept, gone]


def test_a_core_statement_on_the_table_is_no_orm_read_and_says_live_itself(db: Database) -> None:
    _, kept, gone = shelf_with_one_deleted_volume(db)
    volumes = table_of(Volume)

    with db.session_scope() as session:
        every = session.scalars(select(volumes.c.id).order_by(volumes.c.id)).all()
        only_live = session.scalars(select(volumes.c.id).where(live(volumes))).all()
        assert (every, only_live) == ([kept, gone], [kept])


def test_sessions_not_made_by_the_factory_are_not_filtered(db: Database) -> None:
    _, kept, gone = shelf_with_one_deleted_volume(db)

    with db.session_scope() as scoped:
        bind = scoped.get_bind()
        with Session(bind) as plain:
            assert plain.scalars(select(Volume.id).order_by(Volume.id)).all() == [kept, gone]


def test_a_name_is_unique_among_live_rows_only(db: Database) -> None:
    with db.session_scope() as session:
        old = Shelf(name="prose")
        session.add(old)
        session.flush()
        soft_delete(session, old)
        session.add(Shelf(name="prose"))  # the deleted one's name is free

    with pytest.raises(Conflict) as two_live, db.session_scope() as session:
        session.add(Shelf(name="prose"))
    with pytest.raises(Conflict) as restored, db.session_scope() as session:
        restore(session, session.get_one(Shelf, old.id, execution_options=EVERY))

    assert two_live.value.field == restored.value.field == "name"


def test_each_backend_has_its_own_unique_index(db: Database) -> None:
    partial, flagged = sorted(table_of(Shelf).indexes, key=lambda index: str(index.name))

    dialect = db.engine.dialect.name
    assert emitted_on(partial, dialect) == (dialect != "mysql")
    assert emitted_on(flagged, dialect) == (dialect == "mysql")

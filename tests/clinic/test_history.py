"""Owners' and pets' history: kept by every committed change, soft delete and restore included.

One set of tests, run for an owner and for a pet where the two agree; then
what only one of them does (an owner's delete marks their pets with one
UPDATE, which keeps each pet's version too; a pet's revert keeps its owner).
How history meets soft delete: deleting and restoring are versioned changes
that keep the version they replace; ``as_of`` an instant the record was
deleted is ``NotFound``; a deleted record's history, ``as_of`` and revert
are ``NotFound`` until it is restored; a revert never deletes or restores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Table, select

from alchemy_patterns.db import (
    INCLUDE_DELETED,
    Conflict,
    Database,
    NotFound,
    StaleVersion,
    count_queries,
    history_table,
    purge_batch,
    table_of,
)
from alchemy_patterns.db import restore as restore_row
from alchemy_patterns.domains.accounts.access import SYSTEM, Viewer
from alchemy_patterns.domains.audit.services import set_actor
from alchemy_patterns.domains.clinic import services
from alchemy_patterns.domains.clinic.models import Owner, Pet
from alchemy_patterns.domains.clinic.schemas import OwnerUpdate, PetUpdate
from tests.builders import make_user
from tests.clinic.builders import make_owner, make_pet

TICK = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Kind:
    """Owners or pets: how the tests build, rename, delete, restore and read one."""

    name: str
    model: type[Any]
    update: Callable[..., Any]
    update_data: type[BaseModel]
    history: Callable[..., Any]
    as_of: Callable[..., Any]
    revert: Callable[..., Any]

    @property
    def table(self) -> Table:
        return history_table(self.model)


OWNER = Kind(
    "owner",
    Owner,
    services.update_owner,
    OwnerUpdate,
    services.owner_history,
    services.owner_as_of,
    services.revert_owner,
)
PET = Kind(
    "pet",
    Pet,
    services.update_pet,
    PetUpdate,
    services.pet_history,
    services.pet_as_of,
    services.revert_pet,
)


@pytest.fixture(params=[OWNER, PET], ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param  # type: ignore[no-any-return]


def build(db: Database, kind: Kind, user_id: int | None = None) -> tuple[int, int]:
    """A record of ``kind`` named "Ada" (of an owner linked to ``user_id``): its id, its owner's."""
    with db.session_scope() as session:
        owner = make_owner(session, name="Ada", user_id=user_id)
        pet = make_pet(session, owner, name="Ada")
        return (owner.id if kind is OWNER else pet.id), owner.id


def rename(db: Database, kind: Kind, record_id: int, name: str, actor: int | None = None) -> None:
    with db.session_scope() as session:
        set_actor(session, actor)
        kind.update(session, record_id, kind.update_data(name=name))


def delete(db: Database, kind: Kind, record_id: int, owner_id: int) -> None:
    with db.session_scope() as session:
        if kind is OWNER:
            services.delete_owner(session, record_id)
        else:
            services.remove_pet(session, owner_id, record_id)


def restore(db: Database, kind: Kind, record_id: int, owner_id: int) -> None:
    """Restore the owner (with the pets deleted with them), or a pet removed alone."""
    with db.session_scope() as session:
        if kind is OWNER:
            services.restore_owner(session, record_id)
        else:
            pet = session.get_one(Pet, record_id, execution_options={INCLUDE_DELETED: True})
            restore_row(session, pet)


def stored(db: Database, kind: Kind, record_id: int) -> list[tuple[int, str, bool, int | None]]:
    """(version, name, deleted, changed_by) of each history row, oldest first."""
    table = kind.table
    with db.session_scope(read_only=True) as session:
        rows = session.execute(
            select(table.c.version, table.c.name, table.c.deleted_at, table.c.changed_by)
            .where(table.c.id == record_id)
            .order_by(table.c.version)
        )
        return [(v, name, deleted is not None, by) for v, name, deleted, by in rows]


def changed_at(db: Database, kind: Kind, record_id: int) -> list[dt.datetime]:
    table = kind.table
    with db.session_scope(read_only=True) as session:
        stmt = select(table.c.changed_at).where(table.c.id == record_id).order_by(table.c.version)
        return list(session.scalars(stmt))


def name_as_of(db: Database, kind: Kind, record_id: int, when: dt.datetime) -> str | None:
    """The name ``as_of`` gives (staff), or None for ``NotFound``."""
    with db.session_scope(read_only=True) as session:
        try:
            return str(kind.as_of(session, SYSTEM, record_id, when).name)
        except NotFound:
            return None


# --- written by committed changes ---------------------------------------------------------------


def test_a_committed_change_keeps_the_version_it_replaced_and_a_rollback_none(
    app_db: Database, kind: Kind
) -> None:
    record_id, _ = build(app_db, kind)
    with app_db.session_scope() as session:
        actor = make_user(session).id

    rename(app_db, kind, record_id, "Ada Lovelace", actor=actor)
    with pytest.raises(RuntimeError), app_db.session_scope() as session:
        kind.update(session, record_id, kind.update_data(name="Never"))
        session.flush()
        raise RuntimeError("the unit fails after the flush")

    assert stored(app_db, kind, record_id) == [(1, "Ada", False, actor)]


def renamed_deleted_restored(db: Database, kind: Kind) -> int:
    """A record renamed "Ada Lovelace" (version 2), deleted (3), restored (4): its id."""
    record_id, owner_id = build(db, kind)
    rename(db, kind, record_id, "Ada Lovelace")
    delete(db, kind, record_id, owner_id)
    restore(db, kind, record_id, owner_id)
    return record_id


def test_a_soft_delete_and_a_restore_each_keep_the_version_they_replace(
    app_db: Database, kind: Kind
) -> None:
    record_id = renamed_deleted_restored(app_db, kind)

    assert stored(app_db, kind, record_id) == [
        (1, "Ada", False, None),
        (2, "Ada Lovelace", False, None),  # replaced by the delete
        (3, "Ada Lovelace", True, None),  # replaced by the restore
    ]


def test_deleting_an_owner_keeps_a_version_of_each_pet_its_one_update_marks(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        owner = make_owner(session)
        pet_ids = [make_pet(session, owner, name=name).id for name in ("Rex", "Tom")]

    delete(app_db, OWNER, owner.id, owner.id)
    restore(app_db, OWNER, owner.id, owner.id)

    for pet_id, name in zip(pet_ids, ("Rex", "Tom"), strict=True):
        assert stored(app_db, PET, pet_id) == [(1, name, False, None), (2, name, True, None)]
    with app_db.session_scope(read_only=True) as session:
        assert [session.get_one(Pet, pet_id).version for pet_id in pet_ids] == [3, 3]


# --- as of --------------------------------------------------------------------------------------


def test_as_of_shows_the_record_before_its_deletion_and_not_while_deleted(
    app_db: Database, kind: Kind
) -> None:
    record_id = renamed_deleted_restored(app_db, kind)
    renamed, deleted, restored = changed_at(app_db, kind, record_id)

    names = [
        name_as_of(app_db, kind, record_id, when)
        for when in (renamed - TICK, deleted - TICK, deleted, restored - TICK, restored)
    ]

    assert names == ["Ada", "Ada Lovelace", None, None, "Ada Lovelace"]


def test_a_deleted_records_history_as_of_and_revert_are_not_found_until_restored(
    app_db: Database, kind: Kind
) -> None:
    record_id, owner_id = build(app_db, kind)
    rename(app_db, kind, record_id, "Ada Lovelace")
    delete(app_db, kind, record_id, owner_id)
    now = dt.datetime.now(dt.UTC)

    with app_db.session_scope() as session:
        with pytest.raises(NotFound):
            kind.history(session, SYSTEM, record_id)
        with pytest.raises(NotFound):
            kind.as_of(session, SYSTEM, record_id, now - dt.timedelta(seconds=1))
        with pytest.raises(NotFound):
            kind.revert(session, record_id, 1)
    restore(app_db, kind, record_id, owner_id)
    with app_db.session_scope(read_only=True) as session:
        assert kind.history(session, SYSTEM, record_id).total == 3


def test_as_of_costs_two_statements_and_is_for_who_may_read_the_record(
    app_db: Database, kind: Kind
) -> None:
    with app_db.session_scope() as session:
        linked, stranger = make_user(session).id, make_user(session).id
    record_id, _ = build(app_db, kind, user_id=linked)
    rename(app_db, kind, record_id, "Ada Lovelace")
    now = dt.datetime.now(dt.UTC)

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        own = kind.as_of(session, Viewer(user_id=linked, is_staff=False), record_id, now)
    with pytest.raises(NotFound), app_db.session_scope(read_only=True) as session:
        kind.as_of(session, Viewer(user_id=stranger, is_staff=False), record_id, now)
    with pytest.raises(NotFound), app_db.session_scope(read_only=True) as session:
        kind.history(session, Viewer(user_id=stranger, is_staff=False), record_id)

    assert (own.name, own.version) == ("Ada Lovelace", 2)
    assert counter.count == 2


# --- revert -------------------------------------------------------------------------------------


def test_revert_is_a_new_version_and_neither_deletes_nor_restores(
    app_db: Database, kind: Kind
) -> None:
    record_id, owner_id = build(app_db, kind)
    delete(app_db, kind, record_id, owner_id)  # version 1 -> 2 (deleted)
    restore(app_db, kind, record_id, owner_id)  # -> 3
    rename(app_db, kind, record_id, "Ada Lovelace")  # -> 4

    with app_db.session_scope() as session:
        reverted = kind.revert(session, record_id, 2, expected_version=4)  # a deleted version

    assert (reverted.name, reverted.version) == ("Ada", 5)
    with app_db.session_scope(read_only=True) as session:
        assert session.get_one(kind.model, record_id).deleted_at is None
    assert stored(app_db, kind, record_id)[-1] == (4, "Ada Lovelace", False, None)


def test_a_stale_revert_or_one_to_a_version_never_stored_changes_nothing(
    app_db: Database, kind: Kind
) -> None:
    record_id, _ = build(app_db, kind)
    rename(app_db, kind, record_id, "Ada Lovelace")

    with pytest.raises(StaleVersion), app_db.session_scope() as session:
        kind.revert(session, record_id, 1, expected_version=1)
    with pytest.raises(NotFound), app_db.session_scope() as session:
        kind.revert(session, record_id, 9)

    assert stored(app_db, kind, record_id) == [(1, "Ada", False, None)]


def test_a_pets_revert_keeps_its_new_owner(app_db: Database) -> None:
    with app_db.session_scope() as session:
        first, second = make_owner(session), make_owner(session)
        pet_id = make_pet(session, first, name="Rex").id
    with app_db.session_scope() as session:
        services.transfer_pet(session, pet_id, first.id, second.id)
    rename(app_db, PET, pet_id, "Max")

    with app_db.session_scope() as session:
        reverted = services.revert_pet(session, pet_id, 1)

    assert (reverted.name, reverted.owner_id, reverted.version) == ("Rex", second.id, 4)


def test_reverting_an_owner_to_an_address_another_owner_took_is_a_conflict(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        owner_id = make_owner(session, email="ada@example.com").id
    with app_db.session_scope() as session:
        services.update_owner(session, owner_id, OwnerUpdate(email="ada@lovelace.org"))
    with app_db.session_scope() as session:
        make_owner(session, email="ada@example.com")

    with pytest.raises(Conflict) as raised, app_db.session_scope() as session:
        services.revert_owner(session, owner_id, 1)

    assert raised.value.field == "email"
    with app_db.session_scope(read_only=True) as session:
        owner = session.get_one(Owner, owner_id)
        assert (owner.email, owner.version) == ("ada@lovelace.org", 2)


# --- deleted for good: nothing left in history ----------------------------------------------------


def test_erasing_an_owner_leaves_no_version_of_them_or_their_pets(app_db: Database) -> None:
    with app_db.session_scope() as session:
        owner_id = make_owner(session, name="Ada").id
        pet_id = make_pet(session, session.get_one(Owner, owner_id), name="Rex").id
    rename(app_db, OWNER, owner_id, "Ada Lovelace")
    rename(app_db, PET, pet_id, "Max")
    delete(app_db, OWNER, owner_id, owner_id)
    with app_db.session_scope() as session:
        kept = make_pet(session, make_owner(session), name="Kept").id
    rename(app_db, PET, kept, "Kept too")

    with app_db.session_scope() as session:
        services.erase_owner(session, owner_id)

    assert stored(app_db, OWNER, owner_id) == []
    assert stored(app_db, PET, pet_id) == []
    assert stored(app_db, PET, kept) == [(1, "Kept", False, None)]  # another owner's pet


def test_a_purge_takes_the_history_of_the_rows_it_deletes(app_db: Database) -> None:
    record_id, owner_id = build(app_db, PET)
    rename(app_db, PET, record_id, "Ada Lovelace")
    delete(app_db, PET, record_id, owner_id)
    with app_db.session_scope() as session:
        other = make_pet(session, make_owner(session), name="Other").id
    rename(app_db, PET, other, "Other too")

    with app_db.session_scope() as session:
        purged = purge_batch(session, table_of(Pet), dt.datetime.now(dt.UTC) + dt.timedelta(days=1))

    assert purged == 1
    assert stored(app_db, PET, record_id) == []
    assert stored(app_db, PET, other) == [(1, "Other", False, None)]

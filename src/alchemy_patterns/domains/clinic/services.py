"""Clinic services: each takes a ``Session``, does one unit of work, never commits.

Where the guide checks in Python and hopes nobody else is writing, the
database decides here, so the rule holds under concurrency too:

* a vet is booked once per time by a UNIQUE constraint (:func:`book_appointment`);
* a vet with appointments is kept by ``ON DELETE RESTRICT`` (:func:`delete_vet`);
* an appointment changes status by a conditional UPDATE (:func:`cancel_appointment`);
* a pet changes hands under a row lock (:func:`transfer_pet`).

Reads of owners, pets and appointments are personal data: they take the
:class:`~alchemy_patterns.domains.accounts.access.Viewer` they are made for,
and show staff everything and anyone else only the owner record linked to
their account (with its pets and appointments). A record that is not theirs
is ``NotFound``, exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Unpack

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session, selectinload

from alchemy_patterns.db import (
    INCLUDE_DELETED,
    Conflict,
    Expected,
    InvalidReference,
    NotFound,
    Page,
    PageArgs,
    ValidationFailed,
    as_of,
    check_version,
    execute_core,
    forget_history,
    get_or_raise,
    history_page,
    live,
    paginate,
    prepared,
    restore,
    savepoint,
    soft_delete,
    table_of,
    update_where,
)
from alchemy_patterns.db.filtering import starts_with_any_case
from alchemy_patterns.domains.accounts.access import Viewer
from alchemy_patterns.domains.audit.services import record_event
from alchemy_patterns.domains.clinic.errors import (
    EmailTaken,
    InvalidTransition,
    NotTheOwner,
    SlotTaken,
    VetHasAppointments,
)
from alchemy_patterns.domains.clinic.models import (
    APPOINTMENT_SORTING,
    OWNER_SORTING,
    PET_SORTING,
    VET_SORTING,
    Appointment,
    AppointmentStatus,
    Owner,
    Pet,
    Vet,
)
from alchemy_patterns.domains.clinic.schemas import (
    AppointmentFilter,
    AppointmentIn,
    AppointmentOut,
    AppointmentRecord,
    AppointmentUpdate,
    OwnerDetail,
    OwnerFilter,
    OwnerIn,
    OwnerOut,
    OwnerRecord,
    OwnerUpdate,
    OwnerVersionOut,
    PetFilter,
    PetIn,
    PetOut,
    PetRecord,
    PetUpdate,
    PetVersionOut,
    ScheduleEntry,
    VetDetail,
    VetFilter,
    VetIn,
    VetOut,
    VetUpdate,
)
from alchemy_patterns.domains.editing import edit, revert_to
from alchemy_patterns.domains.schemas import columns_for, on_utc_days

# --- owners and pets -----------------------------------------------------------


def register_owner(session: Session, data: OwnerIn) -> OwnerRecord:
    """A new owner; a taken e-mail address, whatever its case, is a ``Conflict`` on ``email``."""
    owner = Owner(**data.model_dump())
    with savepoint(session):
        session.add(owner)
    return OwnerRecord.model_validate(owner)


def update_owner(
    session: Session, owner_id: int, data: OwnerUpdate, expected_version: Expected = None
) -> OwnerRecord:
    """Change the fields given, if the owner is at ``expected_version`` (else ``StaleVersion``).

    A taken e-mail address is a ``Conflict`` on ``email``; a null name or
    e-mail leaves it (neither can be cleared).
    """
    owner = get_or_raise(session, Owner, owner_id, with_for_update=True)
    edit(session, owner, data, expected_version, entity="owner", kept=("name", "email"))
    return OwnerRecord.model_validate(owner)


def list_owners(
    session: Session,
    viewer: Viewer,
    *,
    search: str | None = None,
    filters: OwnerFilter | None = None,
    **paging: Unpack[PageArgs],
) -> Page[OwnerOut]:
    """Owners by name (or as ``filters`` sort them) that ``viewer`` may read.

    Staff read all, anyone else their own. ``search`` matches part of the
    name, ``filters.name`` its start in any case, read as ranges of the
    (name, id) index (:func:`~alchemy_patterns.db.filtering.starts_with_any_case`).
    An unknown sort field is ``ValidationFailed`` on ``sort``.
    """
    filters = filters or OwnerFilter()
    stmt = (
        select(Owner)
        .where(viewer.sees(Owner.user_id))
        .order_by(*OWNER_SORTING.terms(filters.sort or "name"))
    )
    if search:
        stmt = stmt.where(Owner.name.icontains(search, autoescape=True))
    if filters.name:
        stmt = stmt.where(starts_with_any_case(session, Owner.name, filters.name))
    return paginate(session, stmt, **paging).map(OwnerOut.model_validate)


def list_pets(
    session: Session,
    viewer: Viewer,
    filters: PetFilter | None = None,
    **paging: Unpack[PageArgs],
) -> Page[PetOut]:
    """Pets by name (or as ``filters`` sort them) that ``viewer`` may read.

    Staff read all, anyone else their own owner record's pets (a join to the
    owner, in the same statement). ``filters.species`` keeps one species; an
    unknown sort field is ``ValidationFailed`` on ``sort``.
    """
    filters = filters or PetFilter()
    stmt = select(Pet).order_by(*PET_SORTING.terms(filters.sort or "name"))
    if not viewer.is_staff:
        stmt = stmt.join(Pet.owner).where(viewer.sees(Owner.user_id))
    if filters.species:
        stmt = stmt.where(Pet.species == filters.species)
    return paginate(session, stmt, **paging).map(PetOut.model_validate)


def owner_detail(session: Session, viewer: Viewer, owner_id: int) -> OwnerDetail:
    """The owner, their pets, each pet's appointments and each one's vet: three statements.

    The guide's N+1 read, in a fixed cost: the owner, then all their pets in
    one statement, then all the pets' appointments with each one's vet
    joined in one more: the same three statements for 1 pet or 50 (an ORM
    ``selectinload`` of the collections runs the same three). They read rows
    of the columns the answer shows, not ORM objects, because this is a
    read for display: nothing here is changed, so identity-mapping and
    tracking a few dozen objects would be the larger part of its cost.
    An owner ``viewer`` may not read is ``NotFound``.
    """
    values = {"owner_id": owner_id, "viewer_id": viewer.user_id}
    owner = _seen_owner(session, viewer, owner_id)
    # .all(): one fetch of every row, where iterating a result fetches them one by one.
    rows = execute_core(session, _PETS, values).all()
    pets = [{**pet._asdict(), "appointments": []} for pet in rows]
    appointments_of = {pet["id"]: pet["appointments"] for pet in pets}
    for row in execute_core(session, _APPOINTMENTS_WITH_VETS, values).all():
        # zip() stops at the appointment's own fields; the vet's follow them in the row.
        appointment: dict[str, Any] = dict(zip(_APPOINTMENT_FIELDS, row, strict=False))
        vet_id, vet_name, specialty = row[_VET_AT:]
        appointment["vet"] = {"id": vet_id, "name": vet_name, "specialty": specialty}
        appointments_of[appointment["pet_id"]].append(appointment)
    return OwnerDetail.model_validate({**owner._asdict(), "pets": pets})


# Built once, on the tables (Core): building them per call, or running them as
# ORM-enabled statements, cost more than the database took to run them.
_owners, _pets, _appointments, _vets = (table_of(m) for m in (Owner, Pet, Appointment, Vet))
# Core statements are no ORM reads: the session's soft-delete filter does not
# see them, so each says "live rows only" itself.
_OWNER_SEEN_BY_STAFF = prepared(
    select(*columns_for(OwnerRecord, _owners)).where(
        _owners.c.id == bindparam("owner_id"), live(_owners)
    )
)
_OWNER_SEEN_BY_SELF = prepared(
    _OWNER_SEEN_BY_STAFF.where(_owners.c.user_id == bindparam("viewer_id"))
)
_PETS = prepared(
    select(*columns_for(PetOut, _pets))
    .where(_pets.c.owner_id == bindparam("owner_id"), live(_pets))
    .order_by(_pets.c.id)
)
#: The appointment's fields, in the order ``_APPOINTMENTS_WITH_VETS`` selects them; its vet's after.
_APPOINTMENT_FIELDS = tuple(AppointmentOut.model_fields)
_VET_AT = len(_APPOINTMENT_FIELDS)
_APPOINTMENTS_WITH_VETS = prepared(
    select(*columns_for(AppointmentOut, _appointments), *columns_for(VetOut, _vets))
    .join(_vets, _vets.c.id == _appointments.c.vet_id)
    .join(_pets, _pets.c.id == _appointments.c.pet_id)
    .where(_pets.c.owner_id == bindparam("owner_id"), live(_pets))
    .order_by(_appointments.c.pet_id, _appointments.c.scheduled_at, _appointments.c.id)
)


def _seen_owner(session: Session, viewer: Viewer, owner_id: int) -> Row[Any]:
    """The live owner's record if ``viewer`` may read it (one statement), else ``NotFound``."""
    values = {"owner_id": owner_id, "viewer_id": viewer.user_id}
    found = execute_core(
        session, _OWNER_SEEN_BY_STAFF if viewer.is_staff else _OWNER_SEEN_BY_SELF, values
    )
    owner = found.one_or_none()
    if owner is None:
        raise NotFound("owner", owner_id)
    return owner


def delete_owner(session: Session, owner_id: int, expected_version: Expected = None) -> None:
    """Soft-delete the owner and their live pets, marked with one and the same time.

    Nothing is removed: reads leave them out, and :func:`restore_owner` puts
    back the owner with the pets deleted with them (the same ``deleted_at``),
    not a pet removed before. Appointments stay, unseen through their pet.
    The owner's mark goes through the unit of work, the pets' in one UPDATE;
    the audit trail records a ``soft_delete`` for the owner and for each pet.
    Vets are never touched.
    """
    owner = _owner_with_pets(session, owner_id)
    check_version(owner, expected_version, entity="owner")
    at = dt.datetime.now(dt.UTC)
    soft_delete(session, owner, at=at)
    _mark_pets(session, [pet.id for pet in owner.pets], at, "soft_delete")


def _mark_pets(session: Session, pet_ids: list[int], at: dt.datetime | None, action: str) -> None:
    """Set ``deleted_at`` of the pets in one UPDATE (their versions move), each audited.

    One statement for 1 pet or for 20: through the unit of work each
    versioned row would be an UPDATE of its own (``WHERE version = :read``)
    on a driver that cannot count an executemany's rows.
    """
    if not pet_ids:
        return
    marked = Pet.id.in_(pet_ids)
    update_where(session, Pet, marked, values={"deleted_at": at})
    for pet_id in pet_ids:
        record_event(session, action, "pets", pet_id)


def restore_owner(session: Session, owner_id: int) -> OwnerRecord:
    """Restore a soft-deleted owner and the pets deleted with them; a live owner is unchanged.

    An owner whose e-mail address was registered to another owner since is
    ``EmailTaken`` (a ``Conflict`` on ``email``), and nothing is restored:
    the database's unique index among live owners decides, in a savepoint.
    """
    owner = get_or_raise(session, Owner, owner_id, execution_options={INCLUDE_DELETED: True})
    if owner.deleted_at is None:
        return OwnerRecord.model_validate(owner)
    email = owner.email  # the savepoint's rollback expires the owner
    deleted_with_owner = (
        select(Pet.id)
        .where(Pet.owner_id == owner_id, Pet.deleted_at == owner.deleted_at)
        .execution_options(**{INCLUDE_DELETED: True})
    )
    try:
        with savepoint(session):
            restore(session, owner)
            _mark_pets(session, list(session.scalars(deleted_with_owner)), None, "restore")
    except Conflict as error:
        raise EmailTaken(email) from error
    return OwnerRecord.model_validate(owner)


def erase_owner(session: Session, owner_id: int) -> None:
    """Delete the owner for good, live or soft-deleted; the database deletes their pets and visits.

    For erasure (a client's right to be forgotten) and the purge. One
    DELETE: ``passive_deletes`` keeps the ORM from loading every pet (and
    every appointment) only to delete each in turn, and ``ON DELETE CASCADE``
    does it in the database. The audit trail records the owner's deletion;
    the rows the database removes with it are not audited one by one.
    Vets are never touched: nothing cascades to them. The owner's history
    and their pets' go too (two DELETEs): an erasure leaves no old version.
    """
    owner = get_or_raise(session, Owner, owner_id, execution_options={INCLUDE_DELETED: True})
    forget_history(session, Pet, select(_pets.c.id).where(_pets.c.owner_id == owner_id))
    session.delete(owner)
    session.flush()
    forget_history(session, Owner, [owner_id])  # the flush kept the version it deleted


def _owner_with_pets(session: Session, owner_id: int) -> Owner:
    """The live owner with their live pets: two statements."""
    stmt = select(Owner).where(Owner.id == owner_id).options(selectinload(Owner.pets))
    owner = session.scalars(stmt).one_or_none()
    if owner is None:
        raise NotFound("owner", owner_id)
    return owner


def add_pet(session: Session, owner_id: int, data: PetIn) -> PetRecord:
    """A new pet of the owner; ``NotFound`` for an unknown owner."""
    get_or_raise(session, Owner, owner_id)
    pet = Pet(owner_id=owner_id, **data.model_dump())
    with savepoint(session):
        session.add(pet)
    return PetRecord.model_validate(pet)


def update_pet(
    session: Session, pet_id: int, data: PetUpdate, expected_version: Expected = None
) -> PetRecord:
    """Change the fields given, if the pet is at ``expected_version`` (else ``StaleVersion``)."""
    pet = get_or_raise(session, Pet, pet_id, with_for_update=True)
    edit(session, pet, data, expected_version, entity="pet", kept=("name", "species"))
    return PetRecord.model_validate(pet)


def get_pet(session: Session, viewer: Viewer, pet_id: int) -> PetRecord:
    """The pet, if ``viewer`` may read its owner; ``NotFound`` otherwise."""
    return PetRecord.model_validate(_seen_pet(session, viewer, pet_id))


def _seen_pet(session: Session, viewer: Viewer, pet_id: int) -> Pet:
    """The live pet of a live owner ``viewer`` may read (one statement), else ``NotFound``."""
    stmt = select(Pet).join(Pet.owner).where(Pet.id == pet_id, viewer.sees(Owner.user_id))
    pet = session.scalars(stmt).one_or_none()
    if pet is None:
        raise NotFound("pet", pet_id)
    return pet


def remove_pet(
    session: Session, owner_id: int, pet_id: int, expected_version: Expected = None
) -> None:
    """Soft-delete one of the owner's pets; reads (and its appointments' joins) leave it out.

    Another owner's pet is ``NotFound``: it is not among this owner's pets.
    The audit trail records a ``soft_delete``. Restoring the owner later
    does not bring this pet back: it was not deleted with them. A pet
    changed since ``expected_version`` is ``StaleVersion``: checked here, and
    by the UPDATE that marks it (``WHERE version = :read``).
    """
    owner = _owner_with_pets(session, owner_id)
    pet = next((pet for pet in owner.pets if pet.id == pet_id), None)
    if pet is None:
        raise NotFound("pet", pet_id)
    check_version(pet, expected_version, entity="pet")
    soft_delete(session, pet)


def transfer_pet(session: Session, pet_id: int, old_owner_id: int, new_owner_id: int) -> PetRecord:
    """The guide's ``transfer_pet_ownership``: every check first, then one change, or none.

    The pet's row is read ``FOR UPDATE``: a concurrent transfer of the same
    pet waits for this one to finish and then finds it no longer belongs to
    the old owner (``NotTheOwner``), instead of both passing the check and
    the last one winning. (SQLite takes the write lock at BEGIN, which
    serialises the two just the same.) The change goes through the ORM
    object, so the audit trail records ``owner_id`` going from old to new.
    """
    pet = get_or_raise(session, Pet, pet_id, with_for_update=True, populate_existing=True)
    if old_owner_id == new_owner_id:
        raise ValidationFailed("the new owner is the old owner", columns=("new_owner_id",))
    _check_owners_exist(session, old_owner_id, new_owner_id)
    if pet.owner_id != old_owner_id:
        raise NotTheOwner(pet_id, old_owner_id)
    with savepoint(session):
        pet.owner_id = new_owner_id
    return PetRecord.model_validate(pet)


def _check_owners_exist(session: Session, *owner_ids: int) -> None:
    """One statement for both owners of a transfer; ``NotFound`` names the first missing."""
    found = set(session.scalars(select(Owner.id).where(Owner.id.in_(owner_ids))))
    for owner_id in owner_ids:
        if owner_id not in found:
            raise NotFound("owner", owner_id)


# --- history of owners and pets --------------------------------------------------
#
# Readable by whoever may read the record (staff; the owner's own account),
# while it is live: a deleted owner or pet has no history to show until it is
# restored, as it has no detail. A soft delete and a restore are changes like
# any other, each keeping the version it replaced; a revert never deletes or
# restores (``deleted_at`` stays), and a pet's revert never changes its owner
# (that is a transfer).


def owner_history(
    session: Session, viewer: Viewer, owner_id: int, **paging: Unpack[PageArgs]
) -> Page[OwnerVersionOut]:
    """The versions of the owner that changes replaced, newest first, with who and when."""
    _seen_owner(session, viewer, owner_id)
    return history_page(session, Owner, owner_id, **paging).map(OwnerVersionOut.model_validate)


def owner_as_of(session: Session, viewer: Viewer, owner_id: int, when: dt.datetime) -> OwnerRecord:
    """The owner as at ``when`` (aware): ``NotFound`` before they existed or while deleted.

    Two statements: may ``viewer`` read the owner now, then the version at ``when``.
    """
    _seen_owner(session, viewer, owner_id)
    return OwnerRecord.model_validate(as_of(session, Owner, owner_id, when))


def revert_owner(
    session: Session, owner_id: int, version: int, expected_version: Expected = None
) -> OwnerRecord:
    """Give the live owner the name, e-mail, phone and account link of ``version``: a new version.

    The row is locked and ``expected_version`` checked, as for an edit; a
    version never stored is ``NotFound``, an old e-mail address (or account)
    another owner has now a ``Conflict`` naming it.
    """
    owner = get_or_raise(session, Owner, owner_id, with_for_update=True)
    revert_to(session, owner, version, expected_version, entity="owner")
    return OwnerRecord.model_validate(owner)


def pet_history(
    session: Session, viewer: Viewer, pet_id: int, **paging: Unpack[PageArgs]
) -> Page[PetVersionOut]:
    """The versions of the pet that changes replaced, newest first, with who and when."""
    _seen_pet(session, viewer, pet_id)
    return history_page(session, Pet, pet_id, **paging).map(PetVersionOut.model_validate)


def pet_as_of(session: Session, viewer: Viewer, pet_id: int, when: dt.datetime) -> PetRecord:
    """The pet as it was at ``when`` (aware): ``NotFound`` before it existed or while deleted."""
    _seen_pet(session, viewer, pet_id)
    return PetRecord.model_validate(as_of(session, Pet, pet_id, when))


def revert_pet(
    session: Session, pet_id: int, version: int, expected_version: Expected = None
) -> PetRecord:
    """Give the live pet the name, species and birth date of ``version``: a new version.

    Its owner stays (a pet changes hands by :func:`transfer_pet`); otherwise
    as :func:`revert_owner`.
    """
    pet = get_or_raise(session, Pet, pet_id, with_for_update=True)
    revert_to(session, pet, version, expected_version, entity="pet")
    return PetRecord.model_validate(pet)


# --- vets ------------------------------------------------------------------------


def add_vet(session: Session, data: VetIn) -> VetDetail:
    """A new vet, at its first version."""
    vet = Vet(**data.model_dump())
    with savepoint(session):
        session.add(vet)
    return VetDetail.model_validate(vet)


def get_vet(session: Session, vet_id: int) -> VetDetail:
    """The vet, with its version; ``NotFound`` if there is none."""
    return VetDetail.model_validate(get_or_raise(session, Vet, vet_id))


def update_vet(
    session: Session, vet_id: int, data: VetUpdate, expected_version: Expected = None
) -> VetDetail:
    """Change the fields given, if the vet is at ``expected_version`` (else ``StaleVersion``).

    Read ``FOR UPDATE``, so a rival edit waits and then sees this one's version.
    """
    vet = get_or_raise(session, Vet, vet_id, with_for_update=True)
    edit(session, vet, data, expected_version, entity="vet", kept=("name",))
    return VetDetail.model_validate(vet)


def list_vets(
    session: Session,
    filters: VetFilter | None = None,
    **paging: Unpack[PageArgs],
) -> Page[VetOut]:
    """The vets by name, or as ``filters`` sort them (an unknown field is ``ValidationFailed``)."""
    sort = (filters or VetFilter()).sort or "name"
    stmt = select(Vet).order_by(*VET_SORTING.terms(sort))
    return paginate(session, stmt, **paging).map(VetOut.model_validate)


def delete_vet(session: Session, vet_id: int, expected_version: Expected = None) -> None:
    """Delete a vet who has never had an appointment; otherwise ``VetHasAppointments``.

    The database's ``ON DELETE RESTRICT`` decides, not a count read first: an
    appointment booked between such a count and the DELETE would be refused
    by the database anyway, or worse, orphaned. The DELETE runs in a
    savepoint, so a refusal leaves the caller's transaction usable. A vet
    changed since ``expected_version`` is ``StaleVersion``.
    """
    vet = get_or_raise(session, Vet, vet_id, with_for_update=expected_version is not None)
    check_version(vet, expected_version, entity="vet")
    try:
        with savepoint(session):
            session.delete(vet)
    except InvalidReference as error:
        raise VetHasAppointments(vet_id) from error


# --- appointments ---------------------------------------------------------------


def book_appointment(session: Session, data: AppointmentIn) -> AppointmentRecord:
    """Book a pet with a vet at a time in the future (whole minutes, UTC).

    The UNIQUE constraint over (vet, time, books_slot) decides whether the
    slot is free, not a SELECT first: of two bookings racing for one slot,
    exactly one is inserted and the other is ``SlotTaken``. A cancelled
    appointment holds no slot (its ``books_slot`` is NULL), so its time can
    be booked again.
    """
    if data.scheduled_at <= dt.datetime.now(dt.UTC):
        raise ValidationFailed("appointments are booked in the future", columns=("scheduled_at",))
    get_or_raise(session, Pet, data.pet_id)
    get_or_raise(session, Vet, data.vet_id)
    appointment = Appointment(**data.model_dump())
    try:
        with savepoint(session):
            session.add(appointment)
    except Conflict as error:
        raise SlotTaken(data.vet_id, data.scheduled_at) from error
    return AppointmentRecord.model_validate(appointment)


def update_appointment(
    session: Session,
    appointment_id: int,
    data: AppointmentUpdate,
    expected_version: Expected = None,
) -> AppointmentRecord:
    """Change the reason, if the appointment is at ``expected_version`` (else ``StaleVersion``)."""
    appointment = get_or_raise(session, Appointment, appointment_id, with_for_update=True)
    edit(session, appointment, data, expected_version, entity="appointment", kept=("reason",))
    return AppointmentRecord.model_validate(appointment)


def get_appointment(session: Session, viewer: Viewer, appointment_id: int) -> AppointmentRecord:
    """The appointment, if ``viewer`` may read its pet's owner; ``NotFound`` otherwise."""
    stmt = (
        select(Appointment)
        .join(Appointment.pet)
        .join(Pet.owner)
        .where(Appointment.id == appointment_id, viewer.sees(Owner.user_id))
    )
    appointment = session.scalars(stmt).one_or_none()
    if appointment is None:
        raise NotFound("appointment", appointment_id)
    return AppointmentRecord.model_validate(appointment)


def list_appointments(
    session: Session,
    viewer: Viewer,
    filters: AppointmentFilter | None = None,
    **paging: Unpack[PageArgs],
) -> Page[AppointmentOut]:
    """Appointments in time order (or as ``filters`` sort them) that ``viewer`` may read.

    Staff read all, anyone else their own pets' (a join to the pet and its
    owner, in the same statement). ``filters`` keep one vet's, one status,
    and the UTC days from ``scheduled_from`` to ``scheduled_to`` (both
    included: the half-open range [first midnight, midnight after the last));
    an unknown sort field is ``ValidationFailed`` on ``sort``.
    """
    filters = filters or AppointmentFilter()
    stmt = select(Appointment).order_by(*APPOINTMENT_SORTING.terms(filters.sort or "scheduled_at"))
    if not viewer.is_staff:
        stmt = stmt.join(Appointment.pet).join(Pet.owner).where(viewer.sees(Owner.user_id))
    if filters.vet_id is not None:
        stmt = stmt.where(Appointment.vet_id == filters.vet_id)
    if filters.status is not None:
        stmt = stmt.where(Appointment.status == filters.status)
    days = on_utc_days(Appointment.scheduled_at, filters.scheduled_from, filters.scheduled_to)
    stmt = stmt.where(*days)
    return paginate(session, stmt, **paging).map(AppointmentOut.model_validate)


def cancel_appointment(session: Session, appointment_id: int) -> AppointmentRecord:
    """Cancel a scheduled appointment and free its slot for another booking."""
    return _transition(session, appointment_id, AppointmentStatus.CANCELLED, books_slot=None)


def complete_appointment(session: Session, appointment_id: int) -> AppointmentRecord:
    """Mark a scheduled appointment as done; any other status is ``InvalidTransition``."""
    return _transition(session, appointment_id, AppointmentStatus.COMPLETED, books_slot=True)


def _transition(
    session: Session, appointment_id: int, status: AppointmentStatus, *, books_slot: bool | None
) -> AppointmentRecord:
    """``UPDATE ... SET status = :new WHERE id = :id AND status = 'scheduled'``.

    The condition is in the statement, so of two transitions racing (a cancel
    and a complete, say) the database lets one match and the other finds no
    scheduled row: ``InvalidTransition``, never both. The row is then read
    with a shared lock: a locking read sees the latest committed status,
    where MariaDB's plain SELECT would show this transaction's older snapshot
    and name the wrong status in the error.
    """
    matched = update_where(
        session,
        Appointment,
        Appointment.id == appointment_id,
        Appointment.status == AppointmentStatus.SCHEDULED,
        values={"status": status, "books_slot": books_slot},
    )
    appointment = get_or_raise(
        session, Appointment, appointment_id, populate_existing=True, with_for_update={"read": True}
    )
    if not matched:
        raise InvalidTransition(appointment_id, appointment.status, status)
    return AppointmentRecord.model_validate(appointment)


def vet_schedule(
    session: Session,
    viewer: Viewer,
    vet_id: int,
    day: dt.date,
    *,
    include_cancelled: bool = False,
) -> list[ScheduleEntry]:
    """A vet's appointments on one UTC day, in time order, with pet and owner names.

    Staff see the whole day; anyone else only the appointments of their own pets.

    Two statements whatever the day holds: the vet (for ``NotFound``), then
    one joined read of the rows the schedule shows. The day is the half-open
    range [00:00, next day 00:00) UTC, which the index on ``scheduled_at``
    serves.
    """
    get_or_raise(session, Vet, vet_id)
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    stmt = (
        select(
            Appointment.id.label("appointment_id"),
            Appointment.scheduled_at,
            Appointment.status,
            Appointment.reason,
            Pet.id.label("pet_id"),
            Pet.name.label("pet_name"),
            Owner.id.label("owner_id"),
            Owner.name.label("owner_name"),
        )
        .join(Appointment.pet)
        .join(Pet.owner)
        .where(
            Appointment.vet_id == vet_id,
            viewer.sees(Owner.user_id),
            Appointment.scheduled_at >= start,
            Appointment.scheduled_at < start + dt.timedelta(days=1),
        )
        .order_by(Appointment.scheduled_at, Appointment.id)
    )
    if not include_cancelled:
        stmt = stmt.where(Appointment.status != AppointmentStatus.CANCELLED)
    return [ScheduleEntry.model_validate(row._asdict()) for row in session.execute(stmt)]

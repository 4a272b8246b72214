"""The clinic: owners and their pets, vets and their schedules, appointments.

Who may do what. Owners' addresses and telephone numbers, their pets and
appointments are personal data (the clinic's client list), so nothing here is
anonymous (401), and no ordinary account reads another's:

* Admins, the clinic's staff, read everything and write: they register and
  delete owners (linking an owner to the user account they sign in with, if
  any), add, remove and transfer pets, manage vets, and book, cancel and
  complete appointments. Anyone else is refused those (403).
* An account linked to an owner record reads that owner, their pets and
  appointments, and sees only those in lists (the owner list, a vet's
  schedule). Any other owner, pet or appointment is 404 to them, exactly as
  one that does not exist, so existence does not leak.
* Vets are the clinic's public staff: every signed-in account reads them.

Owners and pets keep their history: ``/history`` lists the versions changes
replaced, ``?as_of=`` reads one as it was then, and staff ``/revert`` to an
old version (a new version, with ``If-Match``). Whoever may read the record
may read its history, while it is live: a deleted owner or pet is 404 there
too, until restored. Deleting and restoring are changes like any other (each
keeps the version it replaced; ``as_of`` a time it was deleted is 404); a
revert neither deletes nor restores, and never moves a pet to another owner.

An unknown owner, pet, vet or appointment is 404, and so is another owner's
pet named under an owner's path.
"""

from __future__ import annotations

import datetime as dt

from flask import Response
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field

from alchemy_patterns.domains.clinic import services
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
from alchemy_patterns.domains.schemas import Id, Input, RevertTo
from alchemy_patterns.web import preconditions
from alchemy_patterns.web.auth import (
    BEARER,
    FOUND,
    SIGNED_IN,
    AdminRoutes,
    current_user,
    current_viewer,
)
from alchemy_patterns.web.database import db_session
from alchemy_patterns.web.responses import json_response, no_content
from alchemy_patterns.web.schemas import (
    AsOfQuery,
    PageOut,
    PageQuery,
    Problem,
    Query,
    filters_of,
    page_out,
)

bp = APIBlueprint(
    "clinic",
    __name__,
    abp_tags=[
        Tag(
            name="clinic",
            description=(
                "The veterinary clinic: owners and their pets, vets, and appointments "
                "(one booking per vet and time)."
            ),
        )
    ],
)
admin = AdminRoutes(bp)


class OwnerPath(BaseModel):
    owner_id: Id


class PetPath(BaseModel):
    pet_id: Id


class OwnerPetPath(BaseModel):
    owner_id: Id
    pet_id: Id


class VetPath(BaseModel):
    vet_id: Id


class AppointmentPath(BaseModel):
    appointment_id: Id


class OwnerQuery(PageQuery, OwnerFilter):
    search: str | None = Field(None, max_length=200, description="part of the owner's name")


class PetQuery(PageQuery, PetFilter):
    pass


class VetQuery(PageQuery, VetFilter):
    pass


class AppointmentQuery(PageQuery, AppointmentFilter):
    pass


class ScheduleQuery(Query):
    # Within every backend's timestamps (MariaDB's start at year 1000), with a next day to end on.
    day: dt.date = Field(
        ge=dt.date(1000, 1, 1), le=dt.date(9999, 12, 30), description="the UTC day, YYYY-MM-DD"
    )
    include_cancelled: bool = False


class Transfer(Input):
    """The pet's current owner (checked, 409 if not) and its new one."""

    old_owner_id: Id
    new_owner_id: Id


class Schedule(BaseModel):
    """A vet's appointments on one UTC day: the day bounds the list, so it has no pages."""

    vet_id: Id
    day: dt.date
    items: list[ScheduleEntry]


# --- owners ------------------------------------------------------------------------------------


@bp.get("/owners", responses={200: PageOut[OwnerOut], **SIGNED_IN}, security=BEARER)
def list_owners(query: OwnerQuery) -> Response:
    """Owners by name: staff see all, anyone else only the record linked to their account.

    `name` keeps the names that start with it, in any case (`sm` finds Smith),
    `search` those that contain it; `sort` orders by `name` or `email`, `-` for
    descending. An unknown sort field or parameter is a 422 naming it. Filters
    and sort work with `page` and with `cursor`.
    """
    page = services.list_owners(
        db_session(),
        current_viewer(),
        search=query.search,
        filters=filters_of(query, OwnerFilter),
        **query.paging(),
    )
    return json_response(page_out(page))


OWNER = "/owners/<int:owner_id>"
preconditions.register(OWNER)


@admin.post("/owners", responses={201: OwnerRecord, 409: Problem})
def register_owner(body: OwnerIn) -> Response:
    """A new owner; an e-mail address already registered, whatever its case, is 409."""
    owner = services.register_owner(db_session(), body)
    return preconditions.versioned(owner, 201, Location=f"/owners/{owner.id}")


@bp.get(OWNER, responses={200: OwnerDetail, 404: Problem, **SIGNED_IN}, security=BEARER)
def get_owner(path: OwnerPath, query: AsOfQuery) -> Response:
    """The owner, their pets, each pet's appointments and each one's vet, in a fixed cost.

    Staff, or the owner's own account; anyone else gets 404. The `ETag` is
    the owner record's version and a digest of this answer, so it changes
    when a pet or an appointment does (304 only if `If-None-Match` names it
    whole); a PATCH or DELETE with it in `If-Match` is checked against the
    owner's version only. With `as_of`, the owner's own record as it was at
    that instant (no pets, no `ETag`); 404 before it existed or while deleted.
    """
    if query.as_of is not None:
        viewer = current_viewer()
        return json_response(services.owner_as_of(db_session(), viewer, path.owner_id, query.as_of))
    detail = services.owner_detail(db_session(), current_viewer(), path.owner_id)
    return preconditions.versioned(detail, whole=True)


@bp.get(f"{OWNER}/history", responses={200: PageOut[OwnerVersionOut], **FOUND}, security=BEARER)
def owner_history(path: OwnerPath, query: PageQuery) -> Response:
    """The versions of the owner's record that changes replaced, newest first, with who and when."""
    page = services.owner_history(db_session(), current_viewer(), path.owner_id, **query.paging())
    return json_response(page_out(page))


OWNER_REVERT = f"{OWNER}/revert"
preconditions.register(OWNER_REVERT, post=True)


@admin.post(OWNER_REVERT, responses={200: OwnerRecord, 404: Problem, 409: Problem})
def revert_owner(path: OwnerPath, body: RevertTo) -> Response:
    """Give the owner the name, e-mail, phone and account of an earlier version: a new version.

    Only if `If-Match` names the current version (412 when stale, 428
    without it); a version never stored, or a deleted owner, is 404; an old
    e-mail address another owner has now is 409.
    """
    expected = preconditions.expected_version(path.owner_id)
    owner = services.revert_owner(db_session(), path.owner_id, body.version, expected)
    return preconditions.versioned(owner)


@admin.patch(OWNER, responses={200: OwnerRecord, 404: Problem, 409: Problem})
def update_owner(path: OwnerPath, body: OwnerUpdate) -> Response:
    """Change the fields given, if `If-Match` names the current version (else 412).

    An e-mail address another owner has is 409.
    """
    expected = preconditions.expected_version(path.owner_id)
    owner = services.update_owner(db_session(), path.owner_id, body, expected)
    return preconditions.versioned(owner)


@admin.delete(OWNER, responses={204: None, 404: Problem})
def delete_owner(path: OwnerPath) -> Response:
    """Delete the owner with their pets (softly: ``restore`` puts them back); vets stay.

    From then on no read shows them, nor their pets' appointments, and their
    e-mail address is free for a new owner.
    """
    expected = preconditions.expected_version(path.owner_id)
    services.delete_owner(db_session(), path.owner_id, expected)
    return no_content()


@admin.post(
    "/owners/<int:owner_id>/restore",
    responses={200: OwnerRecord, 404: Problem, 409: Problem},
)
def restore_owner(path: OwnerPath) -> Response:
    """Put a deleted owner back, with the pets deleted with them (not those removed before).

    409 ``email_taken`` if another owner registered their address since.
    """
    return preconditions.versioned(services.restore_owner(db_session(), path.owner_id))


# --- pets ----------------------------------------------------------------------------------------


PET = "/pets/<int:pet_id>"
OWNERS_PET = "/owners/<int:owner_id>/pets/<int:pet_id>"
preconditions.register(PET)
preconditions.register(OWNERS_PET)


@admin.post("/owners/<int:owner_id>/pets", responses={201: PetRecord, 404: Problem})
def add_pet(path: OwnerPath, body: PetIn) -> Response:
    """Register a pet for the owner."""
    pet = services.add_pet(db_session(), path.owner_id, body)
    return preconditions.versioned(pet, 201, Location=f"/pets/{pet.id}")


@bp.get("/pets", responses={200: PageOut[PetOut], **SIGNED_IN}, security=BEARER)
def list_pets(query: PetQuery) -> Response:
    """Pets by name: staff see all, anyone else only their own owner record's.

    `species` keeps one species (spelt as registered); `sort` orders by `name`
    or `species` (then name), `-` for descending. An unknown sort field or
    parameter is a 422 naming it. Filters and sort work with `page` and with
    `cursor`.
    """
    page = services.list_pets(
        db_session(), current_viewer(), filters_of(query, PetFilter), **query.paging()
    )
    return json_response(page_out(page))


@bp.get(PET, responses={200: PetRecord, 404: Problem, **SIGNED_IN}, security=BEARER)
def get_pet(path: PetPath, query: AsOfQuery) -> Response:
    """The pet: for staff, or for its owner's account (anyone else: 404); 304 as for owners.

    With `as_of`, the pet as it was at that instant (no `ETag`); 404 before
    it existed or while deleted.
    """
    if query.as_of is not None:
        viewer = current_viewer()
        return json_response(services.pet_as_of(db_session(), viewer, path.pet_id, query.as_of))
    return preconditions.versioned(services.get_pet(db_session(), current_viewer(), path.pet_id))


@bp.get(f"{PET}/history", responses={200: PageOut[PetVersionOut], **FOUND}, security=BEARER)
def pet_history(path: PetPath, query: PageQuery) -> Response:
    """The versions of the pet that changes replaced, newest first, with who and when."""
    page = services.pet_history(db_session(), current_viewer(), path.pet_id, **query.paging())
    return json_response(page_out(page))


PET_REVERT = f"{PET}/revert"
preconditions.register(PET_REVERT, post=True)


@admin.post(PET_REVERT, responses={200: PetRecord, 404: Problem})
def revert_pet(path: PetPath, body: RevertTo) -> Response:
    """Give the pet the name, species and birth date of an earlier version: a new version.

    Its owner stays (a transfer moves a pet). `If-Match` as for a PATCH; a
    version never stored, or a deleted pet, is 404.
    """
    expected = preconditions.expected_version(path.pet_id)
    return preconditions.versioned(
        services.revert_pet(db_session(), path.pet_id, body.version, expected)
    )


@admin.patch(PET, responses={200: PetRecord, 404: Problem})
def update_pet(path: PetPath, body: PetUpdate) -> Response:
    """Change the fields given, if `If-Match` names the current version (else 412)."""
    expected = preconditions.expected_version(path.pet_id)
    return preconditions.versioned(services.update_pet(db_session(), path.pet_id, body, expected))


@admin.delete(OWNERS_PET, responses={204: None, 404: Problem})
def remove_pet(path: OwnerPetPath) -> Response:
    """Remove a pet (softly), with its appointments; a pet that is not this owner's is 404."""
    expected = preconditions.expected_version(path.pet_id)
    services.remove_pet(db_session(), path.owner_id, path.pet_id, expected)
    return no_content()


@admin.post("/pets/<int:pet_id>/transfer", responses={200: PetRecord, 404: Problem, 409: Problem})
def transfer_pet(path: PetPath, body: Transfer) -> Response:
    """Give the pet to a new owner; 409 if ``old_owner_id`` is not (or no longer) its owner."""
    pet = services.transfer_pet(db_session(), path.pet_id, body.old_owner_id, body.new_owner_id)
    return preconditions.versioned(pet)


# --- vets ----------------------------------------------------------------------------------------


@bp.get("/vets", responses={200: PageOut[VetOut], **SIGNED_IN}, security=BEARER)
def list_vets(query: VetQuery) -> Response:
    """The clinic's vets, by name (`sort=-name` for the other way)."""
    current_user()
    page = services.list_vets(db_session(), filters_of(query, VetFilter), **query.paging())
    return json_response(page_out(page))


VET = "/vets/<int:vet_id>"
preconditions.register(VET)


@admin.post("/vets", responses={201: VetDetail})
def add_vet(body: VetIn) -> Response:
    """Add a vet to the clinic."""
    vet = services.add_vet(db_session(), body)
    return preconditions.versioned(vet, 201, Location=f"/vets/{vet.id}")


@bp.get(VET, responses={200: VetDetail, 404: Problem, **SIGNED_IN}, security=BEARER)
def get_vet(path: VetPath) -> Response:
    """One vet, with its `ETag`; 304 if `If-None-Match` names it."""
    current_user()
    return preconditions.versioned(services.get_vet(db_session(), path.vet_id))


@admin.patch(VET, responses={200: VetDetail, 404: Problem})
def update_vet(path: VetPath, body: VetUpdate) -> Response:
    """Change the fields given, if `If-Match` names the current version (else 412)."""
    expected = preconditions.expected_version(path.vet_id)
    return preconditions.versioned(services.update_vet(db_session(), path.vet_id, body, expected))


@admin.delete(VET, responses={204: None, 404: Problem, 409: Problem})
def delete_vet(path: VetPath) -> Response:
    """Delete a vet who has never had an appointment; one who has is kept (409)."""
    services.delete_vet(db_session(), path.vet_id, preconditions.expected_version(path.vet_id))
    return no_content()


@bp.get(
    "/vets/<int:vet_id>/schedule",
    responses={200: Schedule, 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def get_vet_schedule(path: VetPath, query: ScheduleQuery) -> Response:
    """The vet's appointments on ``day`` (UTC) in time order, with each pet's and owner's name.

    Staff see the whole day; anyone else only their own pets' appointments.
    """
    entries = services.vet_schedule(
        db_session(),
        current_viewer(),
        path.vet_id,
        query.day,
        include_cancelled=query.include_cancelled,
    )
    return json_response(Schedule(vet_id=path.vet_id, day=query.day, items=entries))


# --- appointments ----------------------------------------------------------------------------


APPOINTMENT = "/appointments/<int:appointment_id>"
preconditions.register(APPOINTMENT)


@admin.post("/appointments", responses={201: AppointmentRecord, 404: Problem, 409: Problem})
def book_appointment(body: AppointmentIn) -> Response:
    """Book a pet with a vet at a future whole minute, with its time zone.

    409 if the vet is booked then; 422 naming ``scheduled_at`` for a time
    without a zone, with seconds, or in the past.
    """
    appointment = services.book_appointment(db_session(), body)
    return preconditions.versioned(appointment, 201, Location=f"/appointments/{appointment.id}")


@bp.get("/appointments", responses={200: PageOut[AppointmentOut], **SIGNED_IN}, security=BEARER)
def list_appointments(query: AppointmentQuery) -> Response:
    """Appointments in time order: staff see all, anyone else only their own pets'.

    `vet_id` keeps one vet's, `status` one status, `scheduled_from` and
    `scheduled_to` bound the UTC day (both included); `sort` orders by
    `scheduled_at`, `-` for descending. An unknown sort field or parameter is
    a 422 naming it. Filters and sort work with `page` and with `cursor`.
    """
    page = services.list_appointments(
        db_session(), current_viewer(), filters_of(query, AppointmentFilter), **query.paging()
    )
    return json_response(page_out(page))


@bp.get(APPOINTMENT, responses={200: AppointmentRecord, 404: Problem, **SIGNED_IN}, security=BEARER)
def get_appointment(path: AppointmentPath) -> Response:
    """The appointment: for staff, or for its pet's owner's account (anyone else: 404)."""
    appointment = services.get_appointment(db_session(), current_viewer(), path.appointment_id)
    return preconditions.versioned(appointment)


@admin.patch(APPOINTMENT, responses={200: AppointmentRecord, 404: Problem})
def update_appointment(path: AppointmentPath, body: AppointmentUpdate) -> Response:
    """Change the reason, if `If-Match` names the current version (else 412)."""
    expected = preconditions.expected_version(path.appointment_id)
    appointment = services.update_appointment(db_session(), path.appointment_id, body, expected)
    return preconditions.versioned(appointment)


@admin.post(
    "/appointments/<int:appointment_id>/cancel",
    responses={200: AppointmentRecord, 404: Problem, 409: Problem},
)
def cancel_appointment(path: AppointmentPath) -> Response:
    """Cancel a scheduled appointment, freeing its slot; any other status is 409."""
    return preconditions.versioned(services.cancel_appointment(db_session(), path.appointment_id))


@admin.post(
    "/appointments/<int:appointment_id>/complete",
    responses={200: AppointmentRecord, 404: Problem, 409: Problem},
)
def complete_appointment(path: AppointmentPath) -> Response:
    """Mark a scheduled appointment as done; any other status is 409."""
    appointment = services.complete_appointment(db_session(), path.appointment_id)
    return preconditions.versioned(appointment)

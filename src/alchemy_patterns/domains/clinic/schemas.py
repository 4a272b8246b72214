"""What goes into and comes out of the clinic services.

Appointment times are whole minutes in UTC. "The same time" must mean the
same stored value for the one-booking-per-slot rule to hold: if 10:00 and
10:00:00.000001 were both accepted they would be two slots, and a vet could be
booked twice for what anyone would call one appointment. A time with seconds
is refused, not rounded: a silently moved appointment is worse than an error.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from alchemy_patterns.domains.clinic.models import (
    APPOINTMENT_SORTING,
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    OWNER_SORTING,
    PET_SORTING,
    VET_SORTING,
    AppointmentStatus,
)
from alchemy_patterns.domains.schemas import (
    Id,
    Input,
    ReplacedOut,
    UtcDay,
    VersionOut,
    prefix_field,
    sort_field,
)


def _lower(value: str) -> str:
    return value.lower()


def _in_whole_minutes_utc(value: dt.datetime) -> dt.datetime:
    """10:30+02:00 -> 08:30 UTC; a time with seconds is not a bookable slot."""
    if value.second or value.microsecond:
        raise ValueError("appointments start on a whole minute (no seconds)")
    return value.astimezone(dt.UTC)


def _not_in_the_future(value: dt.date | None) -> dt.date | None:
    if value is not None and value > dt.datetime.now(dt.UTC).date():
        raise ValueError("a pet cannot be born in the future")
    return value


#: Stored lower case: that is what makes uniqueness case-insensitive (see the models).
Email = Annotated[EmailStr, Field(max_length=EMAIL_MAX_LENGTH), AfterValidator(_lower)]
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH)]
Phone = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9][0-9 ().-]*$")]
#: Timezone-aware (a naive time is refused, its zone would be a guess), whole minutes, UTC.
SlotTime = Annotated[AwareDatetime, AfterValidator(_in_whole_minutes_utc)]


class OwnerIn(Input):
    name: Name
    email: Email
    phone: Phone | None = None
    #: The user account this owner signs in with, if any: it reads this record.
    user_id: Id | None = None


class PetIn(Input):
    name: Name
    species: str = Field(min_length=1, max_length=50)
    born_on: Annotated[dt.date | None, AfterValidator(_not_in_the_future)] = None


class OwnerUpdate(Input):
    """Only the fields given are changed; a null phone clears it, a null ``user_id`` unlinks."""

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    user_id: Id | None = None


class PetUpdate(Input):
    """Only the fields given are changed; a null ``born_on`` clears it.

    A pet changes owners by a transfer, not here.
    """

    name: Name | None = None
    species: str | None = Field(default=None, min_length=1, max_length=50)
    born_on: Annotated[dt.date | None, AfterValidator(_not_in_the_future)] = None


class VetIn(Input):
    name: Name
    specialty: str | None = Field(default=None, min_length=1, max_length=100)


class VetUpdate(Input):
    """Only the fields given are changed; a null specialty clears it."""

    name: Name | None = None
    specialty: str | None = Field(default=None, min_length=1, max_length=100)


class AppointmentIn(Input):
    pet_id: Id
    vet_id: Id
    scheduled_at: SlotTime
    reason: str = Field(default="", max_length=200)


class OwnerFilter(BaseModel):
    """Which owners, in what order; every field is optional."""

    name: str | None = prefix_field("name", NAME_MAX_LENGTH)
    sort: str | None = sort_field(OWNER_SORTING.fields, "name", "-name")


class PetFilter(BaseModel):
    """Which pets, in what order; every field is optional."""

    species: str | None = Field(
        None, min_length=1, max_length=50, description="one species, spelt as registered"
    )
    sort: str | None = sort_field(PET_SORTING.fields, "name", "species")


class VetFilter(BaseModel):
    """The order of the vets."""

    sort: str | None = sort_field(VET_SORTING.fields, "name", "-name")


class AppointmentFilter(BaseModel):
    """Which appointments, in what order; every field is optional."""

    vet_id: Id | None = Field(None, description="one vet's")
    status: AppointmentStatus | None = Field(None, description="one status")
    scheduled_from: UtcDay | None = Field(None, description="first UTC day, included")
    scheduled_to: UtcDay | None = Field(None, description="last UTC day, included")
    sort: str | None = sort_field(APPOINTMENT_SORTING.fields, "scheduled_at", "-scheduled_at")


class OwnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    phone: str | None
    user_id: int | None
    created_at: dt.datetime


class PetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_id: int
    name: str
    species: str
    born_on: dt.date | None


class VetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    specialty: str | None


class VetDetail(VersionOut, VetOut):
    """One vet, with the version its `ETag` is made from."""


class OwnerRecord(VersionOut, OwnerOut):
    """One owner's own fields, with the version their `ETag` is made from."""


class PetRecord(VersionOut, PetOut):
    """One pet, with the version its `ETag` is made from."""


class DeletedOut(ReplacedOut):
    """A history entry of a soft-deletable record: also whether it was deleted in that version."""

    deleted_at: dt.datetime | None = Field(
        description="set in a version that a restore replaced: when the record had been deleted"
    )


class OwnerVersionOut(DeletedOut, OwnerRecord):
    """A version of an owner that a change replaced: its values then, who replaced it, when."""


class PetVersionOut(DeletedOut, PetRecord):
    """A version of a pet that a change replaced: its values then, who replaced it, when."""


class AppointmentUpdate(Input):
    """The reason may change; the time, vet and status change by booking and cancelling."""

    reason: str | None = Field(default=None, max_length=200)


class AppointmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    pet_id: int
    vet_id: int
    scheduled_at: dt.datetime
    reason: str
    status: AppointmentStatus


class AppointmentRecord(VersionOut, AppointmentOut):
    """One appointment, with the version its `ETag` is made from."""


class AppointmentWithVet(AppointmentOut):
    vet: VetOut


class PetDetail(PetOut):
    appointments: list[AppointmentWithVet]


class OwnerDetail(OwnerRecord):
    """An owner with their pets, each pet's appointments and each appointment's vet.

    Its `version` is the owner record's; its `ETag` adds a digest of the
    whole answer, so a change to a pet or an appointment changes it too.
    """

    pets: list[PetDetail]


class ScheduleEntry(BaseModel):
    """One line of a vet's day: the appointment, and whose pet it is."""

    appointment_id: int
    scheduled_at: dt.datetime
    status: AppointmentStatus
    reason: str
    pet_id: int
    pet_name: str
    owner_id: int
    owner_name: str

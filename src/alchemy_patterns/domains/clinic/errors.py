"""Errors of the clinic: each a ``Conflict`` with a stable code and the field it is about."""

from __future__ import annotations

import datetime as dt

from alchemy_patterns.db import Conflict
from alchemy_patterns.domains.clinic.models import AppointmentStatus


class VetHasAppointments(Conflict):
    """A vet with appointments, past, cancelled or to come, stays: the records need them."""

    code = "vet_has_appointments"

    def __init__(self, vet_id: int) -> None:
        self.vet_id = vet_id
        super().__init__(
            f"vet {vet_id} has appointments and cannot be deleted",
            constraint="fk_appointments_vet_id_vets",
            columns=("vet_id",),
            table="appointments",
        )


class SlotTaken(Conflict):
    code = "slot_taken"

    def __init__(self, vet_id: int, scheduled_at: dt.datetime) -> None:
        self.vet_id = vet_id
        self.scheduled_at = scheduled_at
        super().__init__(
            f"vet {vet_id} is already booked at {scheduled_at.isoformat()}",
            constraint="uq_appointments_vet_id_scheduled_at_books_slot",
            columns=("scheduled_at",),
            table="appointments",
        )


class InvalidTransition(Conflict):
    """Only a scheduled appointment can be completed or cancelled."""

    code = "invalid_transition"

    def __init__(
        self, appointment_id: int, current: AppointmentStatus, wanted: AppointmentStatus
    ) -> None:
        self.appointment_id = appointment_id
        self.current = current
        self.wanted = wanted
        super().__init__(
            f"appointment {appointment_id} is {current.value} and cannot become {wanted.value}",
            columns=("status",),
            table="appointments",
        )


class NotTheOwner(Conflict):
    """A transfer named as the current owner someone who is not (or no longer is)."""

    code = "not_the_owner"

    def __init__(self, pet_id: int, owner_id: int) -> None:
        self.pet_id = pet_id
        self.owner_id = owner_id
        super().__init__(
            f"pet {pet_id} does not belong to owner {owner_id}",
            columns=("owner_id",),
            table="pets",
        )


class EmailTaken(Conflict):
    """A deleted owner cannot be restored while a live owner holds their e-mail address."""

    code = "email_taken"

    def __init__(self, email: str) -> None:
        self.email = email
        super().__init__(
            f"another owner has registered {email} since; change theirs first",
            constraint="uq_owners_email",
            columns=("email",),
            table="owners",
        )

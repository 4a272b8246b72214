"""Owners, pets, vets and appointments: the guide's one-to-many and its cascades.

Owners and pets are soft-deleted (``deleted_at``): the API's DELETE marks
them, every read leaves them out, and an admin can restore them
(:func:`~.services.restore_owner`). They keep their history too
(``owners_history``, ``pets_history``): deleting and restoring are changes
like any other, each keeping the version it replaced. The cascades below are for what is
deleted for good (``alchemy-patterns db purge``, or a direct DELETE).

Ownership is written twice, once for the ORM and once for the database, and
the two agree:

* an owner owns its pets (``all, delete-orphan``) and a pet owns its
  appointments; the foreign keys say ``ON DELETE CASCADE`` and the
  relationships ``passive_deletes=True``, so deleting an owner is one DELETE
  and the database removes the rest without the ORM loading every child;
* a vet is independent (the guide's "no cascade"): ``ON DELETE RESTRICT``,
  and ``passive_deletes="all"`` so the ORM never tries to orphan a vet's
  appointments by setting their ``vet_id`` to NULL. Deleting a vet who has
  appointments is refused by the database itself.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alchemy_patterns.db import (
    Base,
    Historied,
    SoftDeletable,
    TimestampMixin,
    Versioned,
    live_flag,
    text_enum,
    unique_while_live,
)
from alchemy_patterns.db.sorting import Sorting
from alchemy_patterns.domains.accounts.access import LinkedToAccount
from alchemy_patterns.domains.audit.models import Auditable

NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254


class Owner(Historied, SoftDeletable, LinkedToAccount, Auditable, Versioned, TimestampMixin, Base):
    """A client of the clinic. Deleting one is soft: they, and their pets, can be restored.

    Each change keeps the version it replaced in ``owners_history``.
    """

    __tablename__ = "owners"
    # Stored lower case, so the UNIQUE is case-insensitive on every backend
    # (the same rule as users' addresses, see accounts.models). Unique among
    # live owners only: a deleted owner's address can be registered again.
    __table_args__ = (
        CheckConstraint("email = lower(email)", "email_lowercase"),
        # The list's order (name, then id for equal names): a page is a range of it.
        Index(None, "name", "id"),
        *unique_while_live("owners", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    phone: Mapped[str | None] = mapped_column(String(32))
    live: Mapped[int | None] = live_flag()  # MariaDB's half of the unique e-mail

    pets: Mapped[list[Pet]] = relationship(
        back_populates="owner",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Pet.id",
        lazy="raise",
    )

    def __repr__(self) -> str:
        return f"<Owner {self.id} {self.email!r}>"


class Pet(Historied, SoftDeletable, Auditable, Versioned, TimestampMixin, Base):
    """A pet of one owner; each change keeps the version it replaced in ``pets_history``."""

    __tablename__ = "pets"
    # A revert restores the pet's own data, never its owner: a pet changes hands by a transfer.
    __history_keep__ = Historied.__history_keep__ | {"owner_id"}
    __table_args__ = (
        # The list's orders (sort=name, sort=species: by species, then name),
        # which are also one species' pets by name.
        Index(None, "name", "id"),
        Index(None, "species", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not null and indexed: a pet always has an owner, and "the owner's pets"
    # is the read this key serves (the guide's version has neither).
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    species: Mapped[str] = mapped_column(String(50))
    born_on: Mapped[dt.date | None]

    owner: Mapped[Owner] = relationship(back_populates="pets", lazy="raise")
    appointments: Mapped[list[Appointment]] = relationship(
        back_populates="pet",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Appointment.scheduled_at",
        lazy="raise",
    )

    def __repr__(self) -> str:
        return f"<Pet {self.id} {self.name!r} owner={self.owner_id}>"


class Vet(Versioned, TimestampMixin, Base):
    __tablename__ = "vets"
    __table_args__ = (Index(None, "name", "id"),)  # the list's order

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    specialty: Mapped[str | None] = mapped_column(String(100))

    # No cascade, and "all": deleting a vet never touches the appointments; the
    # database's RESTRICT refuses it while there are any.
    appointments: Mapped[list[Appointment]] = relationship(
        back_populates="vet",
        passive_deletes="all",
        order_by="Appointment.scheduled_at",
        lazy="raise",
    )

    def __repr__(self) -> str:
        return f"<Vet {self.id} {self.name!r}>"


class AppointmentStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Appointment(Versioned, TimestampMixin, Base):
    """A pet seen by a vet at a time.

    A vet cannot be booked twice for one time, but a cancelled appointment
    frees its slot. ``books_slot`` is what makes that portable: it is true
    while the appointment holds the slot and NULL once cancelled, and a
    UNIQUE over (vet, time, books_slot) ignores rows with a NULL, on every
    backend. (A partial unique index would say it more directly, but MariaDB
    has none.)
    """

    __tablename__ = "appointments"
    __table_args__ = (
        UniqueConstraint("vet_id", "scheduled_at", "books_slot"),
        # The list in time order: all of it, one vet's, or one status's.
        Index(None, "scheduled_at", "id"),
        Index(None, "vet_id", "scheduled_at", "id"),
        Index(None, "status", "scheduled_at", "id"),
        CheckConstraint(
            "(status = 'cancelled' AND books_slot IS NULL)"
            " OR (status <> 'cancelled' AND books_slot IS NOT NULL)",
            "books_slot_unless_cancelled",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pet_id: Mapped[int] = mapped_column(ForeignKey("pets.id", ondelete="CASCADE"), index=True)
    vet_id: Mapped[int] = mapped_column(ForeignKey("vets.id", ondelete="RESTRICT"), index=True)
    scheduled_at: Mapped[dt.datetime] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    status: Mapped[AppointmentStatus] = mapped_column(
        text_enum(AppointmentStatus, "appointment_status"),
        default=AppointmentStatus.SCHEDULED,
        server_default=AppointmentStatus.SCHEDULED.value,
    )
    books_slot: Mapped[bool | None] = mapped_column(default=True)

    pet: Mapped[Pet] = relationship(back_populates="appointments", lazy="raise")
    vet: Mapped[Vet] = relationship(back_populates="appointments", lazy="raise")

    def __repr__(self) -> str:
        return f"<Appointment {self.id} pet={self.pet_id} vet={self.vet_id} {self.scheduled_at}>"


# What each list may be sorted by; tests/test_indexes.py checks an index serves every one
# (and that no column is nullable: a cursor cannot point past a NULL).
OWNER_SORTING = Sorting({"name": Owner.name, "email": Owner.email}, Owner.id, frozenset({"email"}))
PET_SORTING = Sorting({"name": Pet.name, "species": (Pet.species, Pet.name)}, Pet.id)
VET_SORTING = Sorting({"name": Vet.name}, Vet.id)
APPOINTMENT_SORTING = Sorting({"scheduled_at": Appointment.scheduled_at}, Appointment.id)

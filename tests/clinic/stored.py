"""What the database holds, read in a unit of work of its own (never the writer's session)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from alchemy_patterns.db import Database
from alchemy_patterns.domains.audit.models import AuditRecord
from alchemy_patterns.domains.clinic.models import Appointment, Pet, Vet


def count_rows(db: Database, model: type[Any]) -> int:
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def pet_ids(db: Database) -> list[int]:
    with db.session_scope(read_only=True) as session:
        return list(session.scalars(select(Pet.id).order_by(Pet.id)))


def vet_ids(db: Database) -> list[int]:
    with db.session_scope(read_only=True) as session:
        return list(session.scalars(select(Vet.id).order_by(Vet.id)))


def owner_of(db: Database, pet_id: int) -> int | None:
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(Pet.owner_id).where(Pet.id == pet_id))


def appointments(db: Database) -> list[tuple[int, int, int, str, bool | None]]:
    """Every appointment as (id, pet_id, vet_id, status, books_slot), in id order."""
    with db.session_scope(read_only=True) as session:
        stmt = select(
            Appointment.id,
            Appointment.pet_id,
            Appointment.vet_id,
            Appointment.status,
            Appointment.books_slot,
        ).order_by(Appointment.id)
        return [
            (row.id, row.pet_id, row.vet_id, row.status.value, row.books_slot)
            for row in session.execute(stmt)
        ]


def audit_records(db: Database, entity: str) -> list[tuple[str, str | None]]:
    """(action, entity_id) of every audit record of ``entity``, oldest first."""
    with db.session_scope(read_only=True) as session:
        stmt = (
            select(AuditRecord.action, AuditRecord.entity_id)
            .where(AuditRecord.entity == entity)
            .order_by(AuditRecord.id)
        )
        return [(row.action, row.entity_id) for row in session.execute(stmt)]

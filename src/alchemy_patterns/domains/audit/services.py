"""Reading the trail, and recording what the ORM listener cannot see."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from alchemy_patterns.db import ACTOR_KEY, Page, PageArgs, paginate
from alchemy_patterns.domains.audit.models import AuditDetail, AuditRecord
from alchemy_patterns.domains.audit.recording import render
from alchemy_patterns.domains.audit.schemas import AuditRecordOut


def set_actor(session: Session, user_id: int | None) -> None:
    """Name the user this session acts for; every record it writes carries the id."""
    session.info[ACTOR_KEY] = user_id


def record_event(
    session: Session,
    action: str,
    entity: str,
    entity_id: object = None,
    details: Mapping[str, tuple[object, object]] | None = None,
) -> AuditRecordOut:
    """Record an event the unit of work does not see, such as a bulk UPDATE.

    The guide's pattern: flush the record to learn its id and timestamp, in the
    same transaction as the change, so both commit or neither does. Its detail
    rows hang off the relationship, so their foreign key is filled in for us.
    """
    record = AuditRecord(
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        actor_id=session.info.get(ACTOR_KEY),
        details=[
            AuditDetail(field=name, old_value=render(old), new_value=render(new))
            for name, (old, new) in (details or {}).items()
        ],
    )
    session.add(record)
    session.flush()
    return AuditRecordOut.model_validate(record)


def audit_trail(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: object = None,
    **paging: Unpack[PageArgs],
) -> Page[AuditRecordOut]:
    """Records newest first, each with its details: two statements and a count."""
    stmt = select(AuditRecord).options(selectinload(AuditRecord.details))
    if entity is not None:
        stmt = stmt.where(AuditRecord.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditRecord.entity_id == str(entity_id))
    stmt = stmt.order_by(AuditRecord.id.desc())
    records = paginate(session, stmt, **paging)
    return records.map(AuditRecordOut.model_validate)

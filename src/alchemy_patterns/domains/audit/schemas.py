"""What the audit trail shows its readers."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class AuditDetailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    field: str
    old_value: str | None
    new_value: str | None


class AuditRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    entity: str
    entity_id: str | None
    actor_id: int | None
    created_at: dt.datetime
    details: list[AuditDetailOut]

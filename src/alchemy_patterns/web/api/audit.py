"""The audit trail, read-only, for admins."""

from __future__ import annotations

from flask import Response
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import Field

from alchemy_patterns.domains.audit.schemas import AuditRecordOut
from alchemy_patterns.domains.audit.services import audit_trail
from alchemy_patterns.web.auth import AdminRoutes
from alchemy_patterns.web.database import db_session
from alchemy_patterns.web.responses import json_response
from alchemy_patterns.web.schemas import PageOut, PageQuery, page_out

bp = APIBlueprint(
    "audit",
    __name__,
    abp_tags=[
        Tag(
            name="audit",
            description=(
                "Who changed what: the audit trail every change writes, field by field "
                "(staff only)."
            ),
        )
    ],
)
admin = AdminRoutes(bp)


class AuditQuery(PageQuery):
    entity: str | None = Field(None, max_length=50, description="a table name, e.g. users")
    entity_id: str | None = Field(None, max_length=64)


@admin.get("/audit", responses={200: PageOut[AuditRecordOut]})
def list_audit_records(query: AuditQuery) -> Response:
    """Who changed what, newest first, each record with its field-by-field details."""
    records = audit_trail(
        db_session(),
        entity=query.entity,
        entity_id=query.entity_id,
        **query.paging(),
    )
    return json_response(page_out(records))

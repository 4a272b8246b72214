"""Audit records and their detail rows (the guide's ``AuditRecord`` / ``AuditDetail``).

A record says what happened to which entity, when, and who did it; its
details say which field went from which value to which. Values are kept as
text: the trail outlives the schema of the rows it describes.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alchemy_patterns.db import Base, utcnow

#: A 64-bit key where the trail grows large; SQLite's rowid key must be INTEGER.
BigKey = BigInteger().with_variant(Integer(), "sqlite")


class Auditable:
    """Mixin marking a model whose inserts, updates and deletes are audited.

    ``__audit_redact__`` names columns whose change is recorded but whose
    values are not (a password hash); ``__audit_ignore__`` names columns not
    worth a detail row (timestamps the database maintains, and the version,
    which moves with every change).
    """

    __audit_redact__: ClassVar[frozenset[str]] = frozenset()
    __audit_ignore__: ClassVar[frozenset[str]] = frozenset({"created_at", "updated_at", "version"})


class AuditRecord(Base):
    __tablename__ = "audit_records"
    # One entity's records, newest first (by id), are a range of this index.
    __table_args__ = (Index(None, "entity", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    # No foreign key: the trail must outlive the user it names.
    actor_id: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow(), index=True)

    details: Mapped[list[AuditDetail]] = relationship(
        back_populates="record",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="AuditDetail.id",
        lazy="raise",
    )

    def __repr__(self) -> str:
        return f"<AuditRecord {self.id} {self.action} {self.entity} {self.entity_id}>"


class AuditDetail(Base):
    __tablename__ = "audit_details"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    record_id: Mapped[int] = mapped_column(
        BigKey,
        ForeignKey("audit_records.id", ondelete="CASCADE"),
        index=True,
    )
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)

    record: Mapped[AuditRecord] = relationship(back_populates="details", lazy="raise")

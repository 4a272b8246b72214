"""Automatic auditing: an ORM ``after_flush`` listener on every ``Session``.

Each flush writes, for every :class:`~.models.Auditable` object it inserted,
updated or deleted, one ``AuditRecord`` and a detail row per changed column
(old -> new). An update that sets a soft-deletable row's ``deleted_at`` is
recorded as ``soft_delete``, one that clears it as ``restore``. The rows go
through the flush's own connection, so they commit or roll back with the
change they describe: an audit row never survives a rolled-back transaction
or savepoint.

``after_flush`` is the one moment that has everything: the new rows' primary
keys are known, and ``session.new/dirty``, the flush's deletions (orphans
included) and each attribute's history still show what the flush changed.
Values are read from that history and the instance's own dict, never through
attribute access, so auditing does not load anything. Bulk statements
(``update_where``, ``bulk_insert``) bypass the unit of work and are not seen
here; services that run them record an event themselves
(:func:`alchemy_patterns.domains.audit.services.record_event`), or, for a
row they insert with a Core statement, the very record this listener would
have written (:func:`record_inserted`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstanceState, Mapper, Session, UOWTransaction

from alchemy_patterns.db import ACTOR_KEY, SoftDeletable, execute_on, prepared, table_of
from alchemy_patterns.domains.audit.models import Auditable, AuditDetail, AuditRecord

# ACTOR_KEY (the data layer's): the user the session acts for, also named in version history.
REDACTED = "[redacted]"

# Built once: every audited write runs them, and a statement built per call
# costs more in Python than it takes the database to run it.
_records = table_of(AuditRecord)
_INSERT_RECORD = prepared(insert(_records).returning(_records.c.id))
_INSERT_DETAILS = prepared(insert(table_of(AuditDetail)))


@dataclass
class Change:
    action: str
    entity: str
    entity_id: str
    details: list[dict[str, str | None]] = field(default_factory=list)


def render(value: Any) -> str | None:
    """A column value as audit text: stable, readable, and exact for money and time."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _detail(model: type[Auditable], key: str, old: Any, new: Any) -> dict[str, str | None]:
    if key in model.__audit_redact__:
        return {"field": key, "old_value": old and REDACTED, "new_value": new and REDACTED}
    return {"field": key, "old_value": render(old), "new_value": render(new)}


def _columns(mapper: Mapper[Any]) -> Iterator[str]:
    model = mapper.class_
    for attribute in mapper.column_attrs:
        if attribute.key not in model.__audit_ignore__:
            yield attribute.key


def _describe(state: InstanceState[Any], action: str) -> Change:
    identity = state.mapper.primary_key_from_instance(state.obj())
    return Change(action, state.class_.__tablename__, ",".join(map(str, identity)))


def _whole_row(state: InstanceState[Any], action: str) -> Change:
    """An insert (None -> value) or a delete (value -> None): every column that has a value."""
    change = _describe(state, action)
    change.details = _row_details(state.mapper, state.dict, action)
    return change


def _row_details(
    mapper: Mapper[Any], values: Mapping[str, Any], action: str
) -> list[dict[str, str | None]]:
    details = []
    for key in _columns(mapper):
        if (value := values.get(key)) is not None:
            old, new = (None, value) if action == "insert" else (value, None)
            details.append(_detail(mapper.class_, key, old, new))
    return details


def _updated(state: InstanceState[Any]) -> Change:
    change = _describe(state, _update_action(state))
    for key in _columns(state.mapper):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if render(old) != render(new):
            change.details.append(_detail(state.class_, key, old, new))
    return change


def _update_action(state: InstanceState[Any]) -> str:
    """``soft_delete`` or ``restore`` for an update that sets or clears ``deleted_at``."""
    if not isinstance(state.obj(), SoftDeletable):
        return "update"
    history = state.attrs["deleted_at"].history
    if not history.has_changes():
        return "update"
    return "restore" if history.added == [None] else "soft_delete"


def _auditable(objects: Iterable[object]) -> Iterator[InstanceState[Any]]:
    for obj in objects:
        if isinstance(obj, Auditable):
            yield inspect(obj)


def _deleted(flush: UOWTransaction) -> Iterator[object]:
    """Every object the flush deleted: ``session.deleted`` and the orphans.

    An object removed from a ``delete-orphan`` collection is deleted by the
    flush without ever being in ``session.deleted``; the flush's own list of
    states has it.
    """
    for state, (is_delete, list_only) in flush.states.items():
        if is_delete and not list_only:
            yield state.obj()


def pending_changes(session: Session, flush: UOWTransaction) -> list[Change]:
    """What the flush in progress changed in auditable objects (call from ``after_flush``)."""
    changes = [_whole_row(state, "insert") for state in _auditable(session.new)]
    changes += [_whole_row(state, "delete") for state in _auditable(_deleted(flush))]
    for state in _auditable(session.dirty):
        if (change := _updated(state)).details:
            changes.append(change)
    return changes


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, flush_context: UOWTransaction) -> None:
    changes = pending_changes(session, flush_context)
    if changes:
        _write(session.connection(), changes, session.info.get(ACTOR_KEY))


def record_inserted(session: Session, model: type[Auditable], row: Mapping[str, Any]) -> None:
    """Record a row inserted by a Core statement exactly as the listener records an ORM insert.

    ``row`` holds the values stored, keyed by attribute name, primary key
    included (from ``RETURNING``). Call it in the same transaction as the
    insert, so that the record commits or rolls back with the row.
    """
    mapper: Mapper[Any] = inspect(model)
    identity = [row[mapper.get_property_by_column(column).key] for column in mapper.primary_key]
    change = Change("insert", mapper.class_.__tablename__, ",".join(map(str, identity)))
    change.details = _row_details(mapper, row, "insert")
    _write(session.connection(), [change], session.info.get(ACTOR_KEY))


def _write(connection: Connection, changes: list[Change], actor: int | None) -> None:
    """One INSERT per record (its id is needed), then every detail in one executemany."""
    details: list[dict[str, Any]] = []
    for change in changes:
        result = execute_on(
            connection,
            _INSERT_RECORD,
            {
                "action": change.action,
                "entity": change.entity,
                "entity_id": change.entity_id,
                "actor_id": actor,
            },
        )
        record_id = result.scalar_one()
        details += [{"record_id": record_id, **detail} for detail in change.details]
    if details:
        execute_on(connection, _INSERT_DETAILS, details)

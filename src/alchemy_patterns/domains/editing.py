"""Partial updates of versioned records: what every domain's PATCH does the same way."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from alchemy_patterns.db import Expected, check_version, revert, savepoint


def changes(data: BaseModel, *, kept: Collection[str] = ()) -> dict[str, Any]:
    """The fields a partial update sets: only those sent.

    A null sent for one of ``kept`` (a column that cannot be cleared, such as
    a name) leaves it as it is; a null for any other field clears it.
    """
    sent = data.model_dump(exclude_unset=True)
    return {name: value for name, value in sent.items() if value is not None or name not in kept}


def edit(
    session: Session,
    record: object,
    data: BaseModel,
    expected_version: Expected,
    *,
    entity: str,
    kept: Collection[str] = (),
) -> None:
    """Set the fields ``data`` sends on ``record``, if it is at ``expected_version``.

    Otherwise :class:`~alchemy_patterns.db.StaleVersion` (None expects any
    version). Load ``record`` ``FOR UPDATE`` first, so a rival edit waits and
    then sees this one's version; the UPDATE checks the version again. The
    change is flushed in a savepoint: a value another row holds (a taken
    e-mail address, a course code) is a ``Conflict`` naming the field, and
    leaves the caller's transaction usable.
    """
    check_version(record, expected_version, entity=entity)
    with savepoint(session):
        for name, value in changes(data, kept=kept).items():
            setattr(record, name, value)


def revert_to(
    session: Session, record: object, version: int, expected_version: Expected, *, entity: str
) -> None:
    """Give ``record`` the values of its ``version``, if it is at ``expected_version``.

    As :func:`edit`: load it ``FOR UPDATE`` first; a stale one is
    :class:`~alchemy_patterns.db.StaleVersion`, a version never stored
    ``NotFound``, an old value another row holds now a ``Conflict`` (in a
    savepoint). The flush keeps the current version in history
    (:func:`~alchemy_patterns.db.revert`); reverting to the current one
    changes nothing.
    """
    check_version(record, expected_version, entity=entity)
    with savepoint(session):
        revert(session, record, version)

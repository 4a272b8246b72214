"""Who may read a private record: its staff, and the account it belongs to.

The clinic's owners (with their pets and appointments) and the school's
students (with their enrollments and grades) are personal data. Staff (the
admin role) read all of them. Any other account reads only the record linked
to it, if staff linked one (``user_id``), and nothing else: a single record
that is not theirs is *not found*, so its existence does not leak, and a list
shows them only their own rows.

The rule is one ``WHERE`` criterion added to the statement that reads the
records (:meth:`Viewer.sees`), so it costs no extra statement and cannot be
forgotten by a later step that filters in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, ForeignKey, true
from sqlalchemy.orm import Mapped, mapped_column

from alchemy_patterns.domains.accounts.models import Role
from alchemy_patterns.domains.accounts.schemas import UserOut

__all__ = ["SYSTEM", "LinkedToAccount", "Viewer"]


@dataclass(frozen=True)
class Viewer:
    """The account a read is made for, and whether it is staff."""

    user_id: int
    is_staff: bool

    @classmethod
    def of(cls, user: UserOut) -> Viewer:
        """The viewer a signed-in user is: staff if an admin."""
        return cls(user_id=user.id, is_staff=user.role is Role.ADMIN)

    def sees(self, account_column: Mapped[int | None]) -> ColumnElement[bool]:
        """A criterion that keeps the rows this viewer may read: all for staff, else its own."""
        return true() if self.is_staff else account_column == self.user_id


#: A caller that is no account (the command line, a job, a test): it reads everything.
SYSTEM = Viewer(user_id=0, is_staff=True)


class LinkedToAccount:
    """A record that may belong to one user account (at most one record per account).

    ``ON DELETE SET NULL``: deleting the account keeps the clinic's or the
    school's record, which is theirs to keep, unlinked.
    """

    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )

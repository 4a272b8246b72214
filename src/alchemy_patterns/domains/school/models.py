"""Students, clubs, courses and enrollments: association tables against association objects.

* A club membership is a plain link, so it is a plain table, ``student_clubs``,
  with a composite primary key: the guide's table has none, and a student
  could join one club twice.
* An enrollment carries data of its own (when, the status, the grade, notes),
  so it is an association object, ``Enrollment``, unique per student and
  course, with a timezone-aware UTC date set by the database (the guide's
  ``datetime.now`` is naive local time).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alchemy_patterns.db import Base, TimestampMixin, UTCDateTime, Versioned, text_enum, utcnow
from alchemy_patterns.db.sorting import Sorting
from alchemy_patterns.domains.accounts.access import LinkedToAccount

NAME_MAX_LENGTH = 50
EMAIL_MAX_LENGTH = 254
NOTES_MAX_LENGTH = 500

student_clubs = Table(
    "student_clubs",
    Base.metadata,
    Column("student_id", ForeignKey("students.id", ondelete="CASCADE"), primary_key=True),
    Column("club_id", ForeignKey("clubs.id", ondelete="CASCADE"), primary_key=True),
    Column("joined_at", UTCDateTime(), server_default=utcnow(), nullable=False),
    # The primary key leads with the student; the club's members are read by this one,
    # in its order: a page of a club's members is a range of it.
    Index(None, "club_id", "student_id"),
)


class Student(LinkedToAccount, TimestampMixin, Base):
    __tablename__ = "students"
    __table_args__ = (
        CheckConstraint("email = lower(email)", "email_lowercase"),
        # The list's order (and a roster's): a page of students is a range of it.
        Index(None, "last_name", "first_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    last_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)

    # passive_deletes: ON DELETE CASCADE removes the links of a deleted student
    # without the ORM loading them first.
    clubs: Mapped[list[Club]] = relationship(
        secondary=student_clubs,
        back_populates="members",
        passive_deletes=True,
        order_by="Club.name",
        lazy="raise",
    )
    enrollments: Mapped[list[Enrollment]] = relationship(
        back_populates="student",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Enrollment.id",
        lazy="raise",
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def __repr__(self) -> str:
        return f"<Student {self.id} {self.email!r}>"


class Club(TimestampMixin, Base):
    __tablename__ = "clubs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")

    members: Mapped[list[Student]] = relationship(
        secondary=student_clubs,
        back_populates="clubs",
        passive_deletes=True,
        order_by="(Student.last_name, Student.first_name, Student.id)",
        lazy="raise",
    )

    def __repr__(self) -> str:
        return f"<Club {self.id} {self.name!r}>"


class Course(Versioned, TimestampMixin, Base):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("credits > 0 AND credits <= 30", "credits_range"),
        Index(None, "title", "id"),  # sort=title
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    credits: Mapped[int] = mapped_column(default=3, server_default="3")

    # A course with enrollments is an academic record: it cannot be deleted
    # from under them (RESTRICT below), so the ORM must not orphan them either.
    enrollments: Mapped[list[Enrollment]] = relationship(
        back_populates="course", passive_deletes="all", order_by="Enrollment.id", lazy="raise"
    )

    def __repr__(self) -> str:
        return f"<Course {self.id} {self.code!r}>"


class EnrollmentStatus(enum.StrEnum):
    ACTIVE = "active"
    DROPPED = "dropped"
    COMPLETED = "completed"


class Grade(enum.StrEnum):
    """Letter grades and the points each is worth on a 4.0 scale."""

    A = "A"
    A_MINUS = "A-"
    B_PLUS = "B+"
    B = "B"
    B_MINUS = "B-"
    C_PLUS = "C+"
    C = "C"
    C_MINUS = "C-"
    D_PLUS = "D+"
    D = "D"
    F = "F"

    @property
    def points(self) -> Decimal:
        return GRADE_POINTS[self]


GRADE_POINTS: dict[Grade, Decimal] = {
    Grade.A: Decimal("4.0"),
    Grade.A_MINUS: Decimal("3.7"),
    Grade.B_PLUS: Decimal("3.3"),
    Grade.B: Decimal("3.0"),
    Grade.B_MINUS: Decimal("2.7"),
    Grade.C_PLUS: Decimal("2.3"),
    Grade.C: Decimal("2.0"),
    Grade.C_MINUS: Decimal("1.7"),
    Grade.D_PLUS: Decimal("1.3"),
    Grade.D: Decimal("1.0"),
    Grade.F: Decimal("0.0"),
}


class Enrollment(Base):
    """A student in a course, with the data of that link (the guide's association object)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("student_id", "course_id"),
        CheckConstraint("grade IS NULL OR status = 'completed'", "graded_only_when_completed"),
        # A course's roster, in its order: a page of it is a range of this index.
        Index(None, "course_id", "student_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"))
    enrolled_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())
    status: Mapped[EnrollmentStatus] = mapped_column(
        text_enum(EnrollmentStatus, "enrollment_status"),
        default=EnrollmentStatus.ACTIVE,
        server_default=EnrollmentStatus.ACTIVE.value,
    )
    grade: Mapped[Grade | None] = mapped_column(text_enum(Grade, "grade"))
    notes: Mapped[str | None] = mapped_column(String(NOTES_MAX_LENGTH))

    student: Mapped[Student] = relationship(back_populates="enrollments", lazy="raise")
    course: Mapped[Course] = relationship(back_populates="enrollments", lazy="raise")

    def __repr__(self) -> str:
        return f"<Enrollment {self.id} student={self.student_id} course={self.course_id}>"


# What each list may be sorted by; tests/test_indexes.py checks an index serves every one.
STUDENT_SORTING = Sorting(
    {"name": (Student.last_name, Student.first_name), "email": Student.email},
    Student.id,
    frozenset({"email"}),
)
CLUB_SORTING = Sorting({"name": Club.name}, Club.id, frozenset({"name"}))
COURSE_SORTING = Sorting(
    {"code": Course.code, "title": Course.title}, Course.id, frozenset({"code"})
)

"""What goes into and comes out of the school services.

Input models list what a client may set and nothing more (``extra="forbid"``);
output models carry plain values, never ORM objects.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from alchemy_patterns.domains.schemas import Id, Input, VersionOut, prefix_field, sort_field
from alchemy_patterns.domains.school.models import (
    CLUB_SORTING,
    COURSE_SORTING,
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    NOTES_MAX_LENGTH,
    STUDENT_SORTING,
    EnrollmentStatus,
    Grade,
)

MAX_CREDITS = 30


def _lower(value: str) -> str:
    return value.lower()


def _upper(value: str) -> str:
    return value.upper()


#: Stored lower case: that is what makes the unique address case-insensitive.
Email = Annotated[EmailStr, Field(max_length=EMAIL_MAX_LENGTH), AfterValidator(_lower)]
PersonName = Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH)]
#: Stored upper case, so "cs101" and "CS101" are one course.
CourseCode = Annotated[
    str,
    Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
    AfterValidator(_upper),
]


class StudentIn(Input):
    first_name: PersonName
    last_name: PersonName
    email: Email
    #: The user account this student signs in with, if any: it reads this record.
    user_id: Id | None = None


class ClubIn(Input):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)


class CourseIn(Input):
    code: CourseCode
    title: str = Field(min_length=1, max_length=200)
    credits: int = Field(default=3, ge=1, le=MAX_CREDITS)


class CourseUpdate(Input):
    """Only the fields given are changed; none can be cleared, so a null leaves it."""

    code: CourseCode | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    credits: int | None = Field(default=None, ge=1, le=MAX_CREDITS)


class EnrollIn(Input):
    notes: str | None = Field(default=None, max_length=NOTES_MAX_LENGTH)


class SetGrade(Input):
    grade: Grade


class StudentFilter(BaseModel):
    """Which students, in what order; every field is optional."""

    last_name: str | None = prefix_field("last name", NAME_MAX_LENGTH)
    sort: str | None = sort_field(
        STUDENT_SORTING.fields, "name (last name, then first name)", "-name"
    )


class ClubFilter(BaseModel):
    """The order of the clubs."""

    sort: str | None = sort_field(CLUB_SORTING.fields, "name", "-name")


class CourseFilter(BaseModel):
    """The order of the courses."""

    sort: str | None = sort_field(COURSE_SORTING.fields, "code", "title")


class StudentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str
    last_name: str
    email: str
    user_id: int | None


class ClubOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str


class ClubSummary(ClubOut):
    member_count: int


class ClubMemberOut(StudentOut):
    joined_at: dt.datetime


class StudentClubOut(ClubOut):
    joined_at: dt.datetime


class CourseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    title: str
    credits: int


class CourseRecord(VersionOut, CourseOut):
    """One course, with the version its `ETag` is made from."""


class EnrollmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    student_id: int
    course_id: int
    status: EnrollmentStatus
    grade: Grade | None
    notes: str | None
    enrolled_at: dt.datetime


class RosterEntry(BaseModel):
    student_id: int
    first_name: str
    last_name: str
    email: str
    status: EnrollmentStatus
    grade: Grade | None
    enrolled_at: dt.datetime


class CourseRoster(BaseModel):
    """A course and a page of its students, by student id; ``next_cursor`` reads the next page."""

    course: CourseOut
    students: list[RosterEntry]
    next_cursor: str | None = None


class TranscriptLine(BaseModel):
    course_id: int
    code: str
    title: str
    credits: int
    status: EnrollmentStatus
    grade: Grade | None
    enrolled_at: dt.datetime


class Transcript(BaseModel):
    student: StudentOut
    courses: list[TranscriptLine]
    #: Credits of the graded courses: the weight behind ``gpa``.
    graded_credits: int
    #: Credit-weighted grade points, rounded half-up to 2 places; None until a grade is given.
    gpa: Decimal | None

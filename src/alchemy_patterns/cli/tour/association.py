"""Association table vs association object: a plain link, and a link with data of its own.

A club membership is only "this student, that club": ``student_clubs`` is a
table with a composite primary key, and ``join_club()`` is an
insert-or-ignore, so joining twice leaves one row and raises nothing. An
enrollment carries its own data (when, status, grade, notes): ``Enrollment``
is a mapped class, unique per student and course, and enrolling twice is
``AlreadyEnrolled``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, count_rows, measure
from alchemy_patterns.db import Conflict, Database
from alchemy_patterns.domains.school.models import Club, Course, Enrollment, Student, student_clubs
from alchemy_patterns.domains.school.schemas import EnrollIn
from alchemy_patterns.domains.school.services import enroll, join_club


def add_school(db: Database) -> tuple[int, int, int]:
    """A student, a club and a course: their ids."""
    with db.session_scope() as session:
        student = Student(first_name="Ada", last_name="Lovelace", email="ada@example.com")
        club = Club(name="Chess")
        course = Course(code="CS101", title="Programming")
        session.add_all([student, club, course])
        session.flush()
        return student.id, club.id, course.id


def columns(table: Any) -> list[str]:
    assert isinstance(table, Table)
    return [column.name for column in table.columns]


def join_twice(db: Database, student_id: int, club_id: int) -> Variant:
    with measure("association table: join_club() twice") as m:
        for _ in range(2):
            with db.session_scope() as session:
                join_club(session, student_id, club_id)
    return m.result(
        rows=count_rows(db, student_clubs),
        row_holds=columns(student_clubs),
        second_time="no-op",
    )


def enroll_twice(db: Database, student_id: int, course_id: int) -> Variant:
    second_time = "enrolled again"
    with measure("association object: enroll() twice") as m:
        with db.session_scope() as session:
            enroll(session, student_id, course_id, EnrollIn())
        try:
            with db.session_scope() as session:
                enroll(session, student_id, course_id, EnrollIn())
        except Conflict as error:
            second_time = error.code
    return m.result(
        rows=count_rows(db, Enrollment),
        row_holds=columns(Enrollment.__table__),
        second_time=second_time,
    )


def run(db: Database) -> list[Variant]:
    student_id, club_id, course_id = add_school(db)
    return [join_twice(db, student_id, club_id), enroll_twice(db, student_id, course_id)]


CHAPTER = Chapter(
    name="association",
    title="Association table vs association object",
    module="domains/school/models.py, services.py join_club(), enroll()",
    test="tests/school/test_clubs.py, tests/school/test_enrollment.py",
    lesson="A link without data is a table with a composite key (joining twice is a no-op); "
    "a link with data is an object, unique per pair (enrolling twice is a conflict).",
    run=run,
)

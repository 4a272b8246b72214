"""A student's transcript: the courses, and a grade-point average the database computes exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from alchemy_patterns.db import Database, NotFound, count_queries
from alchemy_patterns.domains.accounts.access import SYSTEM
from alchemy_patterns.domains.school.models import GRADE_POINTS, EnrollmentStatus, Grade, Student
from alchemy_patterns.domains.school.services import GRADE_HUNDREDTHS, student_transcript
from tests.school.builders import make_course, make_enrollment, make_student

COMPLETED = EnrollmentStatus.COMPLETED


def take(
    session: Session,
    student: Student,
    credits: int,
    grade: Grade | None = None,
    status: EnrollmentStatus | None = None,
    **course: object,
) -> None:
    """The student in a new course of ``credits``; completed with ``grade`` if one is given."""
    status = status or (COMPLETED if grade else EnrollmentStatus.ACTIVE)
    make_enrollment(
        session,
        student,
        make_course(session, credits=credits, **course),
        status=status,
        grade=grade,
    )


def test_the_average_is_weighted_by_credits_and_ignores_ungraded_courses(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        student = make_student(session)
        take(session, student, 4, Grade.A)
        take(session, student, 3, Grade.B_PLUS)
        take(session, student, 2, Grade.C)
        take(session, student, 5)  # active, not graded
        take(session, student, 6, status=EnrollmentStatus.DROPPED)

    with app_db.session_scope(read_only=True) as session:
        transcript = student_transcript(session, SYSTEM, student.id)

    # (4.0 * 4 + 3.3 * 3 + 2.0 * 2) / 9 = 29.9 / 9 = 3.3222...
    assert transcript.gpa == Decimal("3.32")
    assert str(transcript.gpa) == "3.32"
    assert transcript.graded_credits == 9
    assert len(transcript.courses) == 5


def test_the_average_rounds_half_up_and_exactly(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student = make_student(session)
        take(session, student, 1, Grade.A_MINUS)
        take(session, student, 19, Grade.F)

    with app_db.session_scope(read_only=True) as session:
        transcript = student_transcript(session, SYSTEM, student.id)

    # 3.7 / 20 = 0.185 exactly: half-up gives 0.19. Half-even would give 0.18, and
    # so would the float 0.185, which is 0.18499999999999999...
    assert str(transcript.gpa) == "0.19"
    assert isinstance(transcript.gpa, Decimal)


def test_an_f_counts_its_credits_with_no_points(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student = make_student(session)
        take(session, student, 3, Grade.A)
        take(session, student, 3, Grade.F)

    with app_db.session_scope(read_only=True) as session:
        transcript = student_transcript(session, SYSTEM, student.id)

    assert (transcript.gpa, transcript.graded_credits) == (Decimal("2.00"), 6)


@pytest.mark.parametrize("grade", list(Grade))
def test_one_graded_course_averages_to_its_grades_points(app_db: Database, grade: Grade) -> None:
    with app_db.session_scope() as session:
        student = make_student(session)
        take(session, student, 7, grade)

    with app_db.session_scope(read_only=True) as session:
        transcript = student_transcript(session, SYSTEM, student.id)

    assert transcript.gpa == GRADE_POINTS[grade]


def test_a_student_with_no_grades_has_no_average(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student = make_student(session)
        take(session, student, 3)

    with app_db.session_scope(read_only=True) as session:
        transcript = student_transcript(session, SYSTEM, student.id)

    assert (transcript.gpa, transcript.graded_credits) == (None, 0)
    assert [line.status for line in transcript.courses] == [EnrollmentStatus.ACTIVE]


def test_a_student_with_no_courses_has_an_empty_transcript(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student = make_student(session, first_name="Ada")

    with app_db.session_scope(read_only=True) as session:
        transcript = student_transcript(session, SYSTEM, student.id)

    assert (transcript.student.first_name, transcript.courses, transcript.gpa) == ("Ada", [], None)


def test_the_transcript_lists_code_title_credits_status_and_grade_by_code(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        student, other = make_student(session), make_student(session)
        take(session, student, 4, Grade.B, code="MA200", title="Calculus")
        take(session, student, 3, code="CS101", title="Programming")
        take(session, other, 5, Grade.A, code="PH100", title="Physics")

    with app_db.session_scope(read_only=True) as session:
        transcript = student_transcript(session, SYSTEM, student.id)

    assert [(c.code, c.title, c.credits, c.status, c.grade) for c in transcript.courses] == [
        ("CS101", "Programming", 3, EnrollmentStatus.ACTIVE, None),
        ("MA200", "Calculus", 4, COMPLETED, Grade.B),
    ]
    assert transcript.gpa == Decimal("3.00")


def test_the_transcript_of_an_unknown_student_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        student_transcript(session, SYSTEM, 424242)

    assert (failure.value.entity, failure.value.key) == ("student", 424242)


@pytest.mark.parametrize("courses", [1, 50])
def test_the_transcript_costs_two_statements_for_1_course_and_for_50(
    app_db: Database, courses: int
) -> None:
    with app_db.session_scope() as session:
        student = make_student(session)
        for _ in range(courses):
            take(session, student, 2, Grade.B_MINUS)

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        transcript = student_transcript(session, SYSTEM, student.id)

    assert counter.count == 2
    assert len(transcript.courses) == courses
    assert transcript.gpa == Decimal("2.70")


def test_every_grade_is_a_whole_number_of_hundredths_of_a_point() -> None:
    assert {grade: Decimal(h) / 100 for grade, h in GRADE_HUNDREDTHS.items()} == GRADE_POINTS

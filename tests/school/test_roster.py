"""A course's roster: its students by id, without those who dropped it, two statements a page."""

from __future__ import annotations

import pytest

from alchemy_patterns.db import (
    Database,
    NotFound,
    ValidationFailed,
    assert_max_queries,
    count_queries,
)
from alchemy_patterns.domains.accounts.access import SYSTEM
from alchemy_patterns.domains.school.models import EnrollmentStatus, Grade
from alchemy_patterns.domains.school.services import course_roster
from tests.school.builders import (
    enroll_all,
    make_course,
    make_enrollment,
    make_student,
    make_students,
)


def test_the_roster_lists_the_course_and_its_students_by_student_id(app_db: Database) -> None:
    with app_db.session_scope() as session:
        course = make_course(session, code="CS101", title="Programming", credits=4)
        names = [("Grace", "Hopper"), ("Ada", "Lovelace"), ("Alan", "Hopper"), ("Alan", "Kay")]
        students = [make_student(session, first_name=f, last_name=last) for f, last in names]
        enroll_all(session, course, students)

    with app_db.session_scope(read_only=True) as session:
        roster = course_roster(session, SYSTEM, course.id)

    assert (roster.course.code, roster.course.title, roster.course.credits) == (
        "CS101",
        "Programming",
        4,
    )
    # By id, the order of the index (course_id, student_id): here, the order they were added.
    assert [s.student_id for s in roster.students] == sorted(s.id for s in students)
    assert [(s.first_name, s.last_name) for s in roster.students] == names
    assert roster.next_cursor is None


def test_the_roster_walked_by_cursor_gives_every_student_once_in_order(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        course = make_course(session)
        students = make_students(session, 23)
        enroll_all(session, course, students[:20])
    seen: list[int] = []

    with app_db.session_scope(read_only=True) as session:
        roster = course_roster(session, SYSTEM, course.id, per_page=7)
        seen += [s.student_id for s in roster.students]
        while roster.next_cursor is not None:
            roster = course_roster(
                session, SYSTEM, course.id, cursor=roster.next_cursor, per_page=7
            )
            seen += [s.student_id for s in roster.students]

    assert seen == sorted(s.id for s in students[:20])


def test_a_roster_cursor_changed_by_hand_is_refused(app_db: Database) -> None:
    with app_db.session_scope() as session:
        course_id = make_course(session).id

    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        course_roster(session, SYSTEM, course_id, cursor="WyJub3QgYW4gaWQiXQ")  # ["not an id"]

    assert failure.value.columns == ("cursor",)


def test_the_roster_shows_status_grade_and_date_and_leaves_out_who_dropped(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        course, other_course = make_course(session), make_course(session)
        active, graded, dropped, elsewhere = (
            make_student(session, last_name=name)
            for name in ("Active", "Graded", "Dropped", "Else")
        )
        make_enrollment(session, active, course)
        make_enrollment(session, graded, course, status=EnrollmentStatus.COMPLETED, grade=Grade.A)
        make_enrollment(session, dropped, course, status=EnrollmentStatus.DROPPED)
        make_enrollment(session, elsewhere, other_course)

    with app_db.session_scope(read_only=True) as session:
        roster = course_roster(session, SYSTEM, course.id)

    assert [(s.student_id, s.status, s.grade) for s in roster.students] == [
        (active.id, EnrollmentStatus.ACTIVE, None),
        (graded.id, EnrollmentStatus.COMPLETED, Grade.A),
    ]
    assert all(s.enrolled_at.utcoffset() is not None for s in roster.students)


def test_the_roster_of_a_course_nobody_took_is_empty(app_db: Database) -> None:
    with app_db.session_scope() as session:
        course_id = make_course(session).id

    with app_db.session_scope(read_only=True) as session:
        roster = course_roster(session, SYSTEM, course_id)

    assert roster.students == []


def test_the_roster_of_an_unknown_course_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        course_roster(session, SYSTEM, 424242)

    assert (failure.value.entity, failure.value.key) == ("course", 424242)


@pytest.mark.parametrize("students", [1, 200])
def test_a_page_of_the_roster_costs_two_statements_for_1_student_and_for_200(
    app_db: Database, students: int
) -> None:
    with app_db.session_scope() as session:
        course = make_course(session)
        enroll_all(session, course, make_students(session, students))

    with (
        app_db.session_scope(read_only=True) as session,
        count_queries() as counter,
        assert_max_queries(2),
    ):
        roster = course_roster(session, SYSTEM, course.id)

    assert len(roster.students) == min(students, 20)
    assert counter.count == 2

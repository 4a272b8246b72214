"""The school's schema: cascades from a student, a course kept while enrolled, the plain link's key.

Every rule is proven on what the database holds afterwards, read in a new
unit of work.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import InvalidRequestError

from alchemy_patterns.db import Conflict, Database, InvalidReference, NotFound, ValidationFailed
from alchemy_patterns.domains.school.errors import CourseHasEnrollments
from alchemy_patterns.domains.school.models import (
    Club,
    Course,
    Enrollment,
    EnrollmentStatus,
    Grade,
    Student,
    student_clubs,
)
from alchemy_patterns.domains.school.services import delete_course
from tests.school.builders import add_members, make_club, make_course, make_enrollment, make_student


def count_rows(db: Database, model: type[object]) -> int:
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def links(db: Database) -> list[tuple[int, int]]:
    with db.session_scope(read_only=True) as session:
        rows = session.execute(select(student_clubs.c.student_id, student_clubs.c.club_id))
        return sorted((row.student_id, row.club_id) for row in rows)


def enrolled(db: Database) -> list[tuple[int, int]]:
    with db.session_scope(read_only=True) as session:
        rows = session.execute(select(Enrollment.student_id, Enrollment.course_id))
        return sorted((row.student_id, row.course_id) for row in rows)


# --- constraints written directly ----------------------------------------------------------


def test_a_second_identical_membership_written_directly_is_a_conflict(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student, club = make_student(session), make_club(session)
        add_members(session, club, [student])

    with pytest.raises(Conflict), app_db.session_scope() as session:
        session.execute(insert(student_clubs).values(student_id=student.id, club_id=club.id))

    assert links(app_db) == [(student.id, club.id)]


def test_a_second_enrollment_written_directly_is_a_conflict(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student, course = make_student(session), make_course(session)
        make_enrollment(session, student, course, status=EnrollmentStatus.DROPPED)

    with pytest.raises(Conflict), app_db.session_scope() as session:
        make_enrollment(session, student, course)

    assert enrolled(app_db) == [(student.id, course.id)]


# MariaDB's default collation compares case-insensitively, so there the CHECK
# ``email = lower(email)`` holds for any case; its UNIQUE index is the guard.
@pytest.mark.backends("postgresql", "sqlite")
def test_a_mixed_case_email_written_directly_is_refused(app_db: Database) -> None:
    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        make_student(session, email="Ada@Example.org")

    assert failure.value.constraint == "ck_students_email_lowercase"
    assert count_rows(app_db, Student) == 0


@pytest.mark.backends("mariadb")
def test_a_case_variant_of_a_stored_email_written_directly_is_a_conflict_on_mariadb(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        make_student(session, email="ada@example.org")

    with pytest.raises(Conflict) as failure, app_db.session_scope() as session:
        make_student(session, email="Ada@Example.org")

    assert failure.value.field == "email"
    assert count_rows(app_db, Student) == 1


@pytest.mark.parametrize("credits", [0, 31])
def test_credits_out_of_range_written_directly_are_refused(app_db: Database, credits: int) -> None:
    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        make_course(session, credits=credits)

    assert failure.value.field == "credits"
    assert count_rows(app_db, Course) == 0


# --- deleting a student: the database cascades --------------------------------------------


def test_deleting_a_student_deletes_their_memberships_and_enrollments_only(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        leaving, staying = make_student(session), make_student(session)
        club, course = make_club(session), make_course(session)
        add_members(session, club, [leaving, staying])
        make_enrollment(session, leaving, course, status=EnrollmentStatus.COMPLETED, grade=Grade.B)
        make_enrollment(session, staying, course)

    with app_db.session_scope() as session:
        session.delete(session.get_one(Student, leaving.id))

    assert links(app_db) == [(staying.id, club.id)]
    assert enrolled(app_db) == [(staying.id, course.id)]
    assert (count_rows(app_db, Club), count_rows(app_db, Course)) == (1, 1)


def test_deleting_a_student_row_in_sql_cascades_the_same_way(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student, club, course = make_student(session), make_club(session), make_course(session)
        add_members(session, club, [student])
        make_enrollment(session, student, course)

    with app_db.session_scope() as session:
        session.execute(delete(Student).where(Student.id == student.id))

    assert (links(app_db), enrolled(app_db)) == ([], [])
    assert (count_rows(app_db, Club), count_rows(app_db, Course)) == (1, 1)


def test_deleting_a_club_deletes_its_memberships_but_not_its_members(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student, club, other = make_student(session), make_club(session), make_club(session)
        add_members(session, club, [student])
        add_members(session, other, [student])

    with app_db.session_scope() as session:
        session.delete(session.get_one(Club, club.id))

    assert links(app_db) == [(student.id, other.id)]
    assert count_rows(app_db, Student) == 1


# --- deleting a course: refused while enrolled ------------------------------------------------


def test_deleting_a_course_with_enrollments_through_the_session_is_an_invalid_reference(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        student, course = make_student(session), make_course(session)
        make_enrollment(session, student, course, status=EnrollmentStatus.DROPPED)

    with pytest.raises(InvalidReference), app_db.session_scope() as session:
        session.delete(session.get_one(Course, course.id))

    assert enrolled(app_db) == [(student.id, course.id)]
    assert count_rows(app_db, Course) == 1


def test_delete_course_with_enrollments_is_a_conflict_and_deletes_nothing(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        student, course = make_student(session), make_course(session)
        make_enrollment(session, student, course)

    with pytest.raises(CourseHasEnrollments) as failure, app_db.session_scope() as session:
        delete_course(session, course.id)

    assert isinstance(failure.value, Conflict)
    assert (failure.value.code, failure.value.field) == ("course_has_enrollments", "course_id")
    assert enrolled(app_db) == [(student.id, course.id)]
    assert count_rows(app_db, Course) == 1


def test_delete_course_refused_leaves_the_callers_transaction_usable(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student, kept, doomed = make_student(session), make_course(session), make_course(session)
        make_enrollment(session, student, kept)

    with app_db.session_scope() as session:
        with pytest.raises(CourseHasEnrollments):
            delete_course(session, kept.id)
        delete_course(session, doomed.id)

    with app_db.session_scope(read_only=True) as session:
        assert session.scalars(select(Course.id)).all() == [kept.id]


def test_delete_course_without_enrollments_deletes_it(app_db: Database) -> None:
    with app_db.session_scope() as session:
        course_id = make_course(session).id

    with app_db.session_scope() as session:
        delete_course(session, course_id)

    assert count_rows(app_db, Course) == 0


def test_delete_course_of_an_unknown_course_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        delete_course(session, 424242)

    assert (failure.value.entity, failure.value.key) == ("course", 424242)


# --- lazy="raise": the N+1 guard -------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "attribute"),
    [(Student, "clubs"), (Student, "enrollments"), (Club, "members"), (Course, "enrollments")],
)
def test_reading_a_collection_that_was_not_loaded_raises(
    app_db: Database, model: type[Student | Club | Course], attribute: str
) -> None:
    with app_db.session_scope() as session:
        make_student(session)
        make_club(session)
        make_course(session)

    with app_db.session_scope(read_only=True) as session:
        instance = session.scalars(select(model)).one()
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            getattr(instance, attribute)


def test_reading_the_course_of_an_enrollment_that_was_not_loaded_raises(app_db: Database) -> None:
    with app_db.session_scope() as session:
        make_enrollment(session, make_student(session), make_course(session))

    with app_db.session_scope(read_only=True) as session:
        enrollment = session.scalars(select(Enrollment)).one()
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            _ = enrollment.course

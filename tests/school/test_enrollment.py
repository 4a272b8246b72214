"""Enrollments, a link with data: enroll once, drop, re-enroll, grade; the status rules hold."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from alchemy_patterns.db import Conflict, Database, NotFound, ValidationFailed
from alchemy_patterns.domains.accounts.access import SYSTEM
from alchemy_patterns.domains.school.errors import AlreadyEnrolled, EnrollmentStatusConflict
from alchemy_patterns.domains.school.models import Enrollment, EnrollmentStatus, Grade
from alchemy_patterns.domains.school.schemas import EnrollIn, SetGrade
from alchemy_patterns.domains.school.services import drop, enroll, get_enrollment, set_grade
from tests.school.builders import make_course, make_enrollment, make_student

ACTIVE, DROPPED, COMPLETED = EnrollmentStatus


def stored(db: Database) -> list[tuple[int, int, EnrollmentStatus, Grade | None]]:
    """Every enrollment as committed: (student_id, course_id, status, grade), sorted."""
    with db.session_scope(read_only=True) as session:
        stmt = select(
            Enrollment.student_id, Enrollment.course_id, Enrollment.status, Enrollment.grade
        )
        return sorted(tuple(row) for row in session.execute(stmt))  # type: ignore[misc]


def student_and_course(
    db: Database, status: EnrollmentStatus | None = None, grade: Grade | None = None
) -> tuple[int, int]:
    """A student and a course, enrolled with ``status`` (and ``grade``) unless None."""
    with db.session_scope() as session:
        student, course = make_student(session), make_course(session)
        if status is not None:
            make_enrollment(session, student, course, status=status, grade=grade)
        return student.id, course.id


# --- enroll ---------------------------------------------------------------------------------


def test_enroll_creates_an_active_enrollment_dated_now_in_utc(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db)

    with app_db.session_scope() as session:
        enrollment = enroll(session, student_id, course_id, EnrollIn(notes="late registration"))

    assert (enrollment.status, enrollment.grade, enrollment.notes) == (
        ACTIVE,
        None,
        "late registration",
    )
    assert enrollment.enrolled_at.utcoffset() is not None
    assert stored(app_db) == [(student_id, course_id, ACTIVE, None)]


def test_enrolling_twice_is_already_enrolled_and_leaves_one_row(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db)
    with app_db.session_scope() as session:
        enroll(session, student_id, course_id, EnrollIn())

    with pytest.raises(AlreadyEnrolled) as failure, app_db.session_scope() as session:
        enroll(session, student_id, course_id, EnrollIn())

    assert isinstance(failure.value, Conflict)
    assert (failure.value.code, failure.value.field) == ("already_enrolled", "course_id")
    assert stored(app_db) == [(student_id, course_id, ACTIVE, None)]


def test_enrolling_in_a_completed_course_is_already_enrolled(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, COMPLETED, Grade.B)

    with pytest.raises(AlreadyEnrolled), app_db.session_scope() as session:
        enroll(session, student_id, course_id, EnrollIn())

    assert stored(app_db) == [(student_id, course_id, COMPLETED, Grade.B)]


def test_already_enrolled_leaves_the_callers_transaction_usable(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, ACTIVE)
    with app_db.session_scope() as session:
        other_course_id = make_course(session).id

    with app_db.session_scope() as session:
        with pytest.raises(AlreadyEnrolled):
            enroll(session, student_id, course_id, EnrollIn())
        enroll(session, student_id, other_course_id, EnrollIn())

    assert stored(app_db) == [
        (student_id, course_id, ACTIVE, None),
        (student_id, other_course_id, ACTIVE, None),
    ]


@pytest.mark.parametrize("missing", ["student", "course"])
def test_enroll_names_what_is_missing(app_db: Database, missing: str) -> None:
    student_id, course_id = student_and_course(app_db)
    ids = {"student": student_id, "course": course_id} | {missing: 424242}

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        enroll(session, ids["student"], ids["course"], EnrollIn())

    assert (failure.value.entity, failure.value.key) == (missing, 424242)
    assert stored(app_db) == []


def test_re_enrolling_after_a_drop_reactivates_the_same_row(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student, course = make_student(session), make_course(session)
        old = make_enrollment(session, student, course, status=DROPPED, notes="moved away")

    with app_db.session_scope() as session:
        again = enroll(session, student.id, course.id, EnrollIn())

    assert (again.id, again.status, again.grade) == (old.id, ACTIVE, None)
    assert again.notes == "moved away"  # kept: no new notes were given
    assert again.enrolled_at >= old.enrolled_at
    assert stored(app_db) == [(student.id, course.id, ACTIVE, None)]


def test_re_enrolling_with_notes_replaces_the_old_notes(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student, course = make_student(session), make_course(session)
        make_enrollment(session, student, course, status=DROPPED, notes="moved away")

    with app_db.session_scope() as session:
        again = enroll(session, student.id, course.id, EnrollIn(notes="back again"))

    assert again.notes == "back again"


def test_get_enrollment_finds_it_whatever_its_status(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, DROPPED)

    with app_db.session_scope(read_only=True) as session:
        enrollment = get_enrollment(session, SYSTEM, student_id, course_id)

    assert (enrollment.student_id, enrollment.course_id) == (student_id, course_id)
    assert enrollment.status == DROPPED


def test_get_enrollment_of_a_student_not_enrolled_is_not_found(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        get_enrollment(session, SYSTEM, student_id, course_id)

    assert (failure.value.entity, failure.value.key) == ("enrollment", (student_id, course_id))


# --- drop -----------------------------------------------------------------------------------


def test_drop_turns_an_active_enrollment_dropped(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, ACTIVE)

    with app_db.session_scope() as session:
        dropped = drop(session, student_id, course_id)

    assert dropped.status == DROPPED
    assert stored(app_db) == [(student_id, course_id, DROPPED, None)]


def test_dropping_a_dropped_enrollment_changes_nothing(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, DROPPED)

    with app_db.session_scope() as session:
        dropped = drop(session, student_id, course_id)

    assert dropped.status == DROPPED
    assert stored(app_db) == [(student_id, course_id, DROPPED, None)]


def test_dropping_a_completed_enrollment_is_a_conflict_and_keeps_the_grade(
    app_db: Database,
) -> None:
    student_id, course_id = student_and_course(app_db, COMPLETED, Grade.A_MINUS)

    with pytest.raises(EnrollmentStatusConflict) as failure, app_db.session_scope() as session:
        drop(session, student_id, course_id)

    assert isinstance(failure.value, Conflict)
    assert (failure.value.status, failure.value.field) == (COMPLETED, "status")
    assert stored(app_db) == [(student_id, course_id, COMPLETED, Grade.A_MINUS)]


def test_dropping_a_course_one_is_not_enrolled_in_is_not_found(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        drop(session, student_id, course_id)

    assert failure.value.entity == "enrollment"
    assert stored(app_db) == []


# --- set_grade ------------------------------------------------------------------------------


def test_set_grade_grades_and_completes_an_active_enrollment(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, ACTIVE)

    with app_db.session_scope() as session:
        graded = set_grade(session, student_id, course_id, SetGrade(grade=Grade.B_PLUS))

    assert (graded.status, graded.grade) == (COMPLETED, Grade.B_PLUS)
    assert stored(app_db) == [(student_id, course_id, COMPLETED, Grade.B_PLUS)]


def test_set_grade_corrects_the_grade_of_a_completed_enrollment(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, COMPLETED, Grade.C)

    with app_db.session_scope() as session:
        graded = set_grade(session, student_id, course_id, SetGrade(grade=Grade.B))

    assert graded.grade == Grade.B
    assert stored(app_db) == [(student_id, course_id, COMPLETED, Grade.B)]


def test_set_grade_to_the_grade_already_given_is_not_a_conflict(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, COMPLETED, Grade.C)

    with app_db.session_scope() as session:
        graded = set_grade(session, student_id, course_id, SetGrade(grade=Grade.C))

    assert graded.grade == Grade.C


def test_grading_a_dropped_enrollment_is_a_conflict(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, DROPPED)

    with pytest.raises(EnrollmentStatusConflict) as failure, app_db.session_scope() as session:
        set_grade(session, student_id, course_id, SetGrade(grade=Grade.A))

    assert failure.value.status == DROPPED
    assert stored(app_db) == [(student_id, course_id, DROPPED, None)]


def test_grading_a_course_one_is_not_enrolled_in_is_not_found(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db)

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        set_grade(session, student_id, course_id, SetGrade(grade=Grade.A))

    assert failure.value.entity == "enrollment"


def test_a_student_re_enrolled_after_a_drop_can_be_graded(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, ACTIVE)
    with app_db.session_scope() as session:
        drop(session, student_id, course_id)
        enroll(session, student_id, course_id, EnrollIn())

    with app_db.session_scope() as session:
        graded = set_grade(session, student_id, course_id, SetGrade(grade=Grade.D))

    assert graded.status == COMPLETED
    assert stored(app_db) == [(student_id, course_id, COMPLETED, Grade.D)]


# --- the CHECK behind the rules -----------------------------------------------------------


@pytest.mark.parametrize("status", [ACTIVE, DROPPED])
def test_a_grade_on_an_enrollment_that_is_not_completed_is_refused_by_the_database(
    app_db: Database, status: EnrollmentStatus
) -> None:
    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        make_enrollment(
            session, make_student(session), make_course(session), status=status, grade=Grade.A
        )

    assert failure.value.constraint == "ck_enrollments_graded_only_when_completed"
    assert stored(app_db) == []


def test_an_update_grading_an_active_enrollment_directly_is_refused(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, ACTIVE)

    with pytest.raises(ValidationFailed), app_db.session_scope() as session:
        session.execute(update(Enrollment).values(grade=Grade.A))

    assert stored(app_db) == [(student_id, course_id, ACTIVE, None)]

"""Enrollments under real concurrency: threads, one session and connection each, real commits.

The UNIQUE (student, course) constraint and conditional UPDATEs decide, not a
prior SELECT. Each race sits beside a deliberately naive variant written the
guide's way (read, decide in Python, write), made to lose deterministically
(every thread reads before any writes): the same assertions fail for it, which
shows the test can see the bug. SQLite serialises write transactions (BEGIN
IMMEDIATE), so the naive variants are raced on the servers only.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from alchemy_patterns.db import Conflict, Database
from alchemy_patterns.domains.school.errors import AlreadyEnrolled, EnrollmentStatusConflict
from alchemy_patterns.domains.school.models import Enrollment, EnrollmentStatus, Grade
from alchemy_patterns.domains.school.schemas import EnrollIn, EnrollmentOut, SetGrade
from alchemy_patterns.domains.school.services import drop, enroll, set_grade
from tests.school.builders import make_course, make_enrollment, make_student, make_students
from tests.threads import race

RIVALS = 8


def enrollments(db: Database) -> list[tuple[int, EnrollmentStatus, Grade | None]]:
    with db.session_scope(read_only=True) as session:
        stmt = select(Enrollment.id, Enrollment.status, Enrollment.grade)
        return [(row.id, row.status, row.grade) for row in session.execute(stmt)]


def student_and_course(db: Database, status: EnrollmentStatus | None = None) -> tuple[int, int]:
    with db.session_scope() as session:
        student, course = make_student(session), make_course(session)
        if status is not None:
            make_enrollment(session, student, course, status=status)
        return student.id, course.id


def assert_one_enrollment_and_the_rest_already_enrolled(outcomes: Sequence[object]) -> None:
    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"EnrollmentOut": 1, "AlreadyEnrolled": RIVALS - 1}
    assert {o.field for o in outcomes if isinstance(o, Conflict)} == {"course_id"}


# --- enroll: one of N ----------------------------------------------------------------------


def test_rivals_enrolling_one_student_in_one_course_make_one_enrollment(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db)

    outcomes = race(
        RIVALS,
        lambda _: app_db.transaction(lambda s: enroll(s, student_id, course_id, EnrollIn())),
    )

    assert_one_enrollment_and_the_rest_already_enrolled(outcomes)
    [(_, status, _)] = enrollments(app_db)
    assert status == EnrollmentStatus.ACTIVE


def test_rivals_re_enrolling_after_a_drop_reactivate_the_row_once(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, EnrollmentStatus.DROPPED)
    [(dropped_id, _, _)] = enrollments(app_db)

    outcomes = race(
        RIVALS,
        lambda _: app_db.transaction(lambda s: enroll(s, student_id, course_id, EnrollIn())),
    )

    assert_one_enrollment_and_the_rest_already_enrolled(outcomes)
    assert enrollments(app_db) == [(dropped_id, EnrollmentStatus.ACTIVE, None)]


@contextmanager
def lock_waits_fail_fast(session: Session) -> Iterator[None]:
    """A statement that would wait for another transaction's lock fails after a second."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL lock_timeout = '1s'"))
        yield
        return
    session.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
    try:
        yield
    finally:  # the setting outlives the transaction: the pooled connection must not keep it
        session.execute(text("SET SESSION innodb_lock_wait_timeout = DEFAULT"))


@pytest.mark.backends("postgresql", "mariadb")
def test_an_uncommitted_enrollment_does_not_hold_up_another_in_the_same_course(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        first, second = make_students(session, 2)
        course_id = make_course(session).id

    with app_db.session_scope() as holding:
        enroll(holding, first.id, course_id, EnrollIn())  # not committed yet: its locks are held
        with app_db.session_scope() as other, lock_waits_fail_fast(other):
            enroll(other, second.id, course_id, EnrollIn())

    assert len(enrollments(app_db)) == 2


def naive_enroll(
    session: Session, student_id: int, course_id: int, all_read: threading.Barrier
) -> None:
    """The guide's way: look for an enrollment, and insert if there is none."""
    found = session.scalar(
        select(Enrollment.id).where(
            Enrollment.student_id == student_id, Enrollment.course_id == course_id
        )
    )
    all_read.wait()
    if found is not None:
        raise AlreadyEnrolled(student_id, course_id)
    session.add(Enrollment(student_id=student_id, course_id=course_id))


@pytest.mark.backends("postgresql", "mariadb")
def test_the_naive_look_then_insert_fails_the_enrollment_race_check(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db)
    all_read = threading.Barrier(RIVALS, timeout=30)

    def work(_: int) -> None:
        with app_db.session_scope() as session:
            naive_enroll(session, student_id, course_id, all_read)

    outcomes = race(RIVALS, work)

    # The constraint still keeps one row, but the losers get the database's bare
    # unique violation (on student_id, at commit), not AlreadyEnrolled.
    with pytest.raises(AssertionError):
        assert_one_enrollment_and_the_rest_already_enrolled(outcomes)
    assert len(enrollments(app_db)) == 1


# --- drop against set_grade: the status decides once ---------------------------------------


def assert_drops_and_grades_agree_with_the_stored_row(
    outcomes: Sequence[object], stored: list[tuple[int, EnrollmentStatus, Grade | None]]
) -> None:
    """Either the drop came first (every grade refused) or a grade did (every drop refused)."""
    drops, grades = outcomes[: RIVALS // 2], outcomes[RIVALS // 2 :]
    [(_, status, grade)] = stored
    assert all(isinstance(o, EnrollmentOut | EnrollmentStatusConflict) for o in outcomes)
    if status == EnrollmentStatus.DROPPED:
        assert grade is None
        assert all(isinstance(o, EnrollmentOut) for o in drops)
        assert all(isinstance(o, EnrollmentStatusConflict) for o in grades)
    else:
        assert (status, grade) == (EnrollmentStatus.COMPLETED, Grade.B)
        assert all(isinstance(o, EnrollmentStatusConflict) for o in drops)
        assert all(isinstance(o, EnrollmentOut) for o in grades)


def test_drops_and_grades_at_once_never_both_succeed(app_db: Database) -> None:
    student_id, course_id = student_and_course(app_db, EnrollmentStatus.ACTIVE)

    def work(i: int) -> EnrollmentOut:
        if i < RIVALS // 2:
            return app_db.transaction(lambda s: drop(s, student_id, course_id))
        return app_db.transaction(
            lambda s: set_grade(s, student_id, course_id, SetGrade(grade=Grade.B))
        )

    outcomes = race(RIVALS, work)

    assert_drops_and_grades_agree_with_the_stored_row(outcomes, enrollments(app_db))


@pytest.mark.backends("postgresql", "mariadb")
def test_the_naive_read_then_write_fails_the_drop_and_grade_race(app_db: Database) -> None:
    student_and_course(app_db, EnrollmentStatus.ACTIVE)
    all_read = threading.Barrier(RIVALS, timeout=30)

    def work(i: int) -> EnrollmentOut:
        with app_db.session_scope() as session:
            enrollment = session.scalars(select(Enrollment)).one()
            all_read.wait()
            if i < RIVALS // 2:  # active, so it may be dropped
                enrollment.status = EnrollmentStatus.DROPPED
            else:  # not dropped, so it may be graded
                enrollment.status, enrollment.grade = EnrollmentStatus.COMPLETED, Grade.B
            session.flush()
            return EnrollmentOut.model_validate(enrollment)

    outcomes = race(RIVALS, work)

    with pytest.raises(AssertionError):
        assert_drops_and_grades_agree_with_the_stored_row(outcomes, enrollments(app_db))

"""Errors of the school: each a ``Conflict`` with a code of its own."""

from __future__ import annotations

from alchemy_patterns.db import Conflict
from alchemy_patterns.domains.school.models import EnrollmentStatus


class AlreadyEnrolled(Conflict):
    """The student holds an active or completed enrollment in the course."""

    code = "already_enrolled"

    def __init__(self, student_id: int, course_id: int) -> None:
        self.student_id = student_id
        self.course_id = course_id
        super().__init__(
            f"student {student_id} is already enrolled in course {course_id}",
            constraint="uq_enrollments_student_id_course_id",
            columns=("course_id",),
            table="enrollments",
        )


class EnrollmentStatusConflict(Conflict):
    """The enrollment's status forbids the change asked for (drop a graded course, say)."""

    code = "enrollment_status_conflict"

    def __init__(self, action: str, status: EnrollmentStatus) -> None:
        self.action = action
        self.status = status
        super().__init__(
            f"cannot {action} an enrollment that is {status.value}",
            columns=("status",),
            table="enrollments",
        )


class CourseHasEnrollments(Conflict):
    """A course with enrollments is an academic record: it is not deleted from under them."""

    code = "course_has_enrollments"

    def __init__(self, course_id: int) -> None:
        self.course_id = course_id
        super().__init__(
            f"course {course_id} has enrollments and cannot be deleted",
            constraint="fk_enrollments_course_id_courses",
            columns=("course_id",),
            table="enrollments",
        )

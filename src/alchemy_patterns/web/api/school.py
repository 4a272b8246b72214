"""The school: students, clubs and their members, courses, enrollments and grades.

Who may do what. Students' names, e-mail addresses, clubs and grades are
personal data, so nothing here is anonymous (401), and no ordinary account
reads another's:

* Admins, the school's staff, read everything and write: they register
  students (linking a student to the user account they sign in with, if
  any), create clubs and courses, delete courses, enroll and drop students,
  grade them, and add students to clubs or take them out. Anyone else is
  refused those (403).
* An account linked to a student record reads that student, their
  transcript, clubs and enrollments, and sees only themselves in lists (the
  student list, a club's members, a course's roster). Any other student or
  enrollment is 404 to them, exactly as one that does not exist.
* Clubs and courses are the school's public catalogue: every signed-in
  account reads them.

Links are resources of their own, addressed by both ids:

* ``PUT /clubs/{club_id}/members/{student_id}`` makes the student a member and
  ``DELETE`` ends the membership; both are idempotent and answer 204.
* ``PUT /courses/{course_id}/students/{student_id}`` enrolls the student:
  201, with the enrollment, whether the row is new or a dropped enrollment
  made active again (a new enrollment period starts, its date renewed, its
  grade cleared). A student whose enrollment is active or completed is 409
  ``already_enrolled``, and nothing changes, so repeating the request is safe.
  ``DELETE`` drops the enrollment and answers it (200, status ``dropped``);
  dropping a dropped one changes nothing, a graded one is 409. The dropped
  enrollment stays readable: it is the record of the drop.

An unknown student, club, course or enrollment is 404.
"""

from __future__ import annotations

from flask import Response
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field

from alchemy_patterns.domains.schemas import Id
from alchemy_patterns.domains.school import services
from alchemy_patterns.domains.school.schemas import (
    ClubFilter,
    ClubIn,
    ClubMemberOut,
    ClubOut,
    ClubSummary,
    CourseFilter,
    CourseIn,
    CourseOut,
    CourseRecord,
    CourseRoster,
    CourseUpdate,
    EnrollIn,
    EnrollmentOut,
    SetGrade,
    StudentClubOut,
    StudentFilter,
    StudentIn,
    StudentOut,
    Transcript,
)
from alchemy_patterns.web import preconditions
from alchemy_patterns.web.auth import BEARER, SIGNED_IN, AdminRoutes, current_user, current_viewer
from alchemy_patterns.web.database import db_session
from alchemy_patterns.web.responses import created, json_response, no_content
from alchemy_patterns.web.schemas import (
    CursorQuery,
    PageOut,
    PageQuery,
    Problem,
    cursor_link,
    filters_of,
    page_out,
)

bp = APIBlueprint(
    "school",
    __name__,
    abp_tags=[
        Tag(
            name="school",
            description=(
                "The school: students, courses and enrollments with grades, clubs and "
                "their members."
            ),
        )
    ],
)
admin = AdminRoutes(bp)


class RosterPage(CourseRoster):
    next: str | None = Field(description="the next page of the roster; null on the last")


class StudentPath(BaseModel):
    student_id: Id


class StudentQuery(PageQuery, StudentFilter):
    pass


class ClubQuery(PageQuery, ClubFilter):
    pass


class CourseQuery(PageQuery, CourseFilter):
    pass


class ClubPath(BaseModel):
    club_id: Id


class CoursePath(BaseModel):
    course_id: Id


class MembershipPath(BaseModel):
    club_id: Id
    student_id: Id


class EnrollmentPath(BaseModel):
    course_id: Id
    student_id: Id


# --- students ----------------------------------------------------------------------------------


@bp.get("/students", responses={200: PageOut[StudentOut], **SIGNED_IN}, security=BEARER)
def list_students(query: StudentQuery) -> Response:
    """Students by last name, then first name: staff see all, anyone else their own record.

    `last_name` keeps the last names that start with it, in any case; `sort`
    orders by `name` (last name, then first name) or `email`, `-` for
    descending. An unknown sort field or parameter is a 422 naming it. Filters
    and sort work with `page` and with `cursor`.
    """
    filters = filters_of(query, StudentFilter)
    page = services.list_students(db_session(), current_viewer(), filters, **query.paging())
    return json_response(page_out(page))


@admin.post("/students", responses={201: StudentOut, 409: Problem})
def create_student(body: StudentIn) -> Response:
    """A new student; an e-mail address already registered, whatever its case, is 409."""
    student = services.create_student(db_session(), body)
    return created(student, f"/students/{student.id}")


@bp.get(
    "/students/<int:student_id>",
    responses={200: StudentOut, 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def get_student(path: StudentPath) -> Response:
    """The student: for staff, or for the account linked to the record (anyone else: 404)."""
    return json_response(services.get_student(db_session(), current_viewer(), path.student_id))


@bp.get(
    "/students/<int:student_id>/transcript",
    responses={200: Transcript, 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def get_transcript(path: StudentPath) -> Response:
    """The student's courses with their grades, and the credit-weighted GPA (null until graded).

    Staff, or the student's own account; anyone else gets 404.
    """
    transcript = services.student_transcript(db_session(), current_viewer(), path.student_id)
    return json_response(transcript)


@bp.get(
    "/students/<int:student_id>/clubs",
    responses={200: PageOut[StudentClubOut], 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def list_student_clubs(path: StudentPath, query: PageQuery) -> Response:
    """The clubs the student belongs to, by name, with the date each was joined (staff or self)."""
    page = services.list_student_clubs(
        db_session(), current_viewer(), path.student_id, **query.paging()
    )
    return json_response(page_out(page))


# --- clubs ---------------------------------------------------------------------------------------


@bp.get("/clubs", responses={200: PageOut[ClubSummary], **SIGNED_IN}, security=BEARER)
def list_clubs(query: ClubQuery) -> Response:
    """Clubs by name, each with its member count (`sort=-name` for the other way)."""
    current_user()
    page = services.list_clubs(db_session(), filters_of(query, ClubFilter), **query.paging())
    return json_response(page_out(page))


@admin.post("/clubs", responses={201: ClubOut, 409: Problem})
def create_club(body: ClubIn) -> Response:
    """A new club; a name already taken is 409."""
    club = services.create_club(db_session(), body)
    return created(club, f"/clubs/{club.id}")


@bp.get(
    "/clubs/<int:club_id>",
    responses={200: ClubSummary, 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def get_club(path: ClubPath) -> Response:
    """One club, with its member count."""
    current_user()
    return json_response(services.get_club(db_session(), path.club_id))


@bp.get(
    "/clubs/<int:club_id>/members",
    responses={200: PageOut[ClubMemberOut], 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def list_club_members(path: ClubPath, query: PageQuery) -> Response:
    """The club's members by student id, with the date each joined; others see only themselves."""
    page = services.club_members(db_session(), current_viewer(), path.club_id, **query.paging())
    return json_response(page_out(page))


@admin.put("/clubs/<int:club_id>/members/<int:student_id>", responses={204: None, 404: Problem})
def join_club(path: MembershipPath) -> Response:
    """Make the student a member; a member already stays one (the first join date is kept)."""
    services.join_club(db_session(), path.student_id, path.club_id)
    return no_content()


@admin.delete("/clubs/<int:club_id>/members/<int:student_id>", responses={204: None, 404: Problem})
def leave_club(path: MembershipPath) -> Response:
    """End the membership; a student who is not a member stays so."""
    services.leave_club(db_session(), path.student_id, path.club_id)
    return no_content()


# --- courses -------------------------------------------------------------------------------------


@bp.get("/courses", responses={200: PageOut[CourseOut], **SIGNED_IN}, security=BEARER)
def list_courses(query: CourseQuery) -> Response:
    """Courses by code, or sorted by `code` or `title` (`-` for descending)."""
    current_user()
    page = services.list_courses(db_session(), filters_of(query, CourseFilter), **query.paging())
    return json_response(page_out(page))


COURSE = "/courses/<int:course_id>"
preconditions.register(COURSE)


@admin.post("/courses", responses={201: CourseRecord, 409: Problem})
def create_course(body: CourseIn) -> Response:
    """A new course; its code is stored upper case, and a code already taken is 409."""
    course = services.create_course(db_session(), body)
    return preconditions.versioned(course, 201, Location=f"/courses/{course.id}")


@bp.get(COURSE, responses={200: CourseRecord, 404: Problem, **SIGNED_IN}, security=BEARER)
def get_course(path: CoursePath) -> Response:
    """One course, with its `ETag`; 304 if `If-None-Match` names it."""
    current_user()
    return preconditions.versioned(services.get_course(db_session(), path.course_id))


@admin.patch(COURSE, responses={200: CourseRecord, 404: Problem, 409: Problem})
def update_course(path: CoursePath, body: CourseUpdate) -> Response:
    """Change the fields given, if `If-Match` names the current version (else 412).

    A code another course has is 409.
    """
    expected = preconditions.expected_version(path.course_id)
    course = services.update_course(db_session(), path.course_id, body, expected)
    return preconditions.versioned(course)


@admin.delete(COURSE, responses={204: None, 404: Problem, 409: Problem})
def delete_course(path: CoursePath) -> Response:
    """Delete a course nobody is or was enrolled in; one with enrollments is a record (409)."""
    expected = preconditions.expected_version(path.course_id)
    services.delete_course(db_session(), path.course_id, expected)
    return no_content()


@bp.get(
    "/courses/<int:course_id>/roster",
    responses={200: RosterPage, 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def get_course_roster(path: CoursePath, query: CursorQuery) -> Response:
    """The course and a page of its students by student id (not those who dropped it).

    A page costs the same however many took the course; `next` (or `cursor` =
    `next_cursor`) reads the next. Anyone but staff sees only their own line.
    """
    roster = services.course_roster(
        db_session(), current_viewer(), path.course_id, cursor=query.cursor, per_page=query.per_page
    )
    return json_response(RosterPage(**dict(roster), next=cursor_link(roster.next_cursor)))


# --- enrollments ---------------------------------------------------------------------------------


@bp.get(
    "/courses/<int:course_id>/students/<int:student_id>",
    responses={200: EnrollmentOut, 404: Problem, **SIGNED_IN},
    security=BEARER,
)
def get_enrollment(path: EnrollmentPath) -> Response:
    """The student's enrollment in the course, whatever its status (staff or the student)."""
    enrollment = services.get_enrollment(
        db_session(), current_viewer(), path.student_id, path.course_id
    )
    return json_response(enrollment)


@admin.put(
    "/courses/<int:course_id>/students/<int:student_id>",
    responses={201: EnrollmentOut, 404: Problem, 409: Problem},
)
def enroll_student(path: EnrollmentPath, body: EnrollIn) -> Response:
    """Enroll the student (the body may be ``{}``), or re-enroll one who dropped the course.

    201 either way; a student already enrolled (active or graded) is 409.
    """
    enrollment = services.enroll(db_session(), path.student_id, path.course_id, body)
    return created(enrollment, f"/courses/{path.course_id}/students/{path.student_id}")


@admin.delete(
    "/courses/<int:course_id>/students/<int:student_id>",
    responses={200: EnrollmentOut, 404: Problem, 409: Problem},
)
def drop_enrollment(path: EnrollmentPath) -> Response:
    """Drop the enrollment and answer it; a dropped one stays so, a graded one is 409."""
    return json_response(services.drop(db_session(), path.student_id, path.course_id))


@admin.put(
    "/courses/<int:course_id>/students/<int:student_id>/grade",
    responses={200: EnrollmentOut, 404: Problem, 409: Problem},
)
def set_grade(path: EnrollmentPath, body: SetGrade) -> Response:
    """Grade the enrollment, which completes it; a grade may be corrected, a dropped one is 409."""
    return json_response(services.set_grade(db_session(), path.student_id, path.course_id, body))

"""School services: each takes a ``Session``, does one unit of work, never commits.

Two kinds of many-to-many, as the guide has them, written so that concurrent
requests cannot break them:

* club membership is a plain link: joining is an insert-or-ignore against the
  link's composite primary key, so joining twice (or twice at once) leaves one
  row and no error;
* an enrollment is an association object: the UNIQUE (student, course)
  constraint, not a prior SELECT, decides who enrolls, and status changes are
  conditional UPDATEs (``... WHERE status = 'active'``), so a graded course
  cannot be dropped by a request that read it before it was graded.

Students, their clubs, enrollments and grades are personal data: the reads
take the :class:`~alchemy_patterns.domains.accounts.access.Viewer` they are
made for, and show staff everything and anyone else only the student record
linked to their account. A student who is not theirs is ``NotFound``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Unpack

from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    Select,
    SQLColumnExpression,
    Subquery,
    and_,
    case,
    delete,
    func,
    select,
    true,
)
from sqlalchemy.orm import Session

from alchemy_patterns.db import (
    Conflict,
    Expected,
    InvalidReference,
    NotFound,
    Page,
    PageArgs,
    check_version,
    get_or_raise,
    paginate,
    rowcount,
    savepoint,
    update_where,
    upsert,
    utcnow,
)
from alchemy_patterns.db.filtering import starts_with_any_case
from alchemy_patterns.domains.accounts.access import Viewer
from alchemy_patterns.domains.editing import edit
from alchemy_patterns.domains.school.errors import (
    AlreadyEnrolled,
    CourseHasEnrollments,
    EnrollmentStatusConflict,
)
from alchemy_patterns.domains.school.models import (
    CLUB_SORTING,
    COURSE_SORTING,
    GRADE_POINTS,
    STUDENT_SORTING,
    Club,
    Course,
    Enrollment,
    EnrollmentStatus,
    Grade,
    Student,
)
from alchemy_patterns.domains.school.models import student_clubs as memberships
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
    RosterEntry,
    SetGrade,
    StudentClubOut,
    StudentFilter,
    StudentIn,
    StudentOut,
    Transcript,
    TranscriptLine,
)

# --- students, clubs, courses -----------------------------------------------------


def create_student(session: Session, data: StudentIn) -> StudentOut:
    """A new student; a taken e-mail address (in any case) is a ``Conflict`` on ``email``."""
    student = Student(**data.model_dump())
    with savepoint(session):
        session.add(student)
    return StudentOut.model_validate(student)


def get_student(session: Session, viewer: Viewer, student_id: int) -> StudentOut:
    """The student, if ``viewer`` may read them; ``NotFound`` otherwise."""
    return StudentOut.model_validate(_visible_student(session, viewer, student_id))


def list_students(
    session: Session,
    viewer: Viewer,
    filters: StudentFilter | None = None,
    **paging: Unpack[PageArgs],
) -> Page[StudentOut]:
    """Students by name (or as ``filters`` sort them) that ``viewer`` may read.

    Staff read all, anyone else their own. ``filters.last_name`` keeps the
    last names that start with it in any case, read as ranges of the
    (last_name, first_name, id) index; an unknown sort field is
    ``ValidationFailed`` on ``sort``.
    """
    filters = filters or StudentFilter()
    stmt = (
        select(Student)
        .where(viewer.sees(Student.user_id))
        .order_by(*STUDENT_SORTING.terms(filters.sort or "name"))
    )
    if filters.last_name:
        stmt = stmt.where(starts_with_any_case(session, Student.last_name, filters.last_name))
    return paginate(session, stmt, **paging).map(StudentOut.model_validate)


def create_club(session: Session, data: ClubIn) -> ClubOut:
    """A new club; a taken name is a ``Conflict`` on ``name``."""
    club = Club(**data.model_dump())
    with savepoint(session):
        session.add(club)
    return ClubOut.model_validate(club)


def list_clubs(
    session: Session,
    filters: ClubFilter | None = None,
    **paging: Unpack[PageArgs],
) -> Page[ClubSummary]:
    """Clubs by name (unique: its index is the order) with their member counts, in one statement.

    The clubs are paged first, in a subquery, and only the page's are counted:
    a deep page does not count the members of every club its OFFSET skips.
    ``filters.sort`` may turn the order (an unknown field is ``ValidationFailed``).
    """
    sort = (filters or ClubFilter()).sort or "name"
    clubs = select(Club.id, Club.name, Club.description).order_by(*CLUB_SORTING.terms(sort))

    def with_member_counts(page: Subquery) -> Select[*tuple[Any, ...]]:
        counted = select(*page.c, _member_count(page.c.id))
        return counted.order_by(*CLUB_SORTING.terms(sort, on=page))

    rows = paginate(session, clubs, **paging, enrich=with_member_counts)
    return rows.map(_summary)


def get_club(session: Session, club_id: int) -> ClubSummary:
    """The club with its member count, in one statement."""
    stmt = select(Club.id, Club.name, Club.description, _member_count(Club.id))
    row = session.execute(stmt.where(Club.id == club_id)).one_or_none()
    if row is None:
        raise NotFound("club", club_id)
    return _summary(row)


def _member_count(club_id: ColumnExpressionArgument[int]) -> ColumnElement[int]:
    counted = select(func.count()).where(memberships.c.club_id == club_id)
    return counted.scalar_subquery().label("member_count")


def _summary(row: Any) -> ClubSummary:
    return ClubSummary.model_validate(row._asdict())


def create_course(session: Session, data: CourseIn) -> CourseRecord:
    """A new course; a taken code is a ``Conflict`` on ``code``."""
    course = Course(**data.model_dump())
    with savepoint(session):
        session.add(course)
    return CourseRecord.model_validate(course)


def update_course(
    session: Session, course_id: int, data: CourseUpdate, expected_version: Expected = None
) -> CourseRecord:
    """Change the fields given, if the course is at ``expected_version`` (else ``StaleVersion``).

    A code another course has is a ``Conflict`` on ``code``.
    """
    course = get_or_raise(session, Course, course_id, with_for_update=True)
    kept = ("code", "title", "credits")
    edit(session, course, data, expected_version, entity="course", kept=kept)
    return CourseRecord.model_validate(course)


def list_courses(
    session: Session,
    filters: CourseFilter | None = None,
    **paging: Unpack[PageArgs],
) -> Page[CourseOut]:
    """Courses by code, or as ``filters`` sort them (an unknown field is ``ValidationFailed``)."""
    sort = (filters or CourseFilter()).sort or "code"
    stmt = select(Course).order_by(*COURSE_SORTING.terms(sort))
    return paginate(session, stmt, **paging).map(CourseOut.model_validate)


def get_course(session: Session, course_id: int) -> CourseRecord:
    """The course, with its version; ``NotFound`` if there is none."""
    return CourseRecord.model_validate(get_or_raise(session, Course, course_id))


def delete_course(session: Session, course_id: int, expected_version: Expected = None) -> None:
    """Delete a course nobody is or was enrolled in.

    The foreign key (``ON DELETE RESTRICT``) decides, not a prior count, so an
    enrollment committed meanwhile cannot be orphaned; its refusal becomes
    :class:`CourseHasEnrollments`, a ``Conflict``. With ``expected_version``
    the course is read ``FOR UPDATE`` first, and a changed one is ``StaleVersion``.
    """
    if expected_version is not None:
        check_version(
            get_or_raise(session, Course, course_id, with_for_update=True),
            expected_version,
            entity="course",
        )
    try:
        with savepoint(session):
            result = session.execute(delete(Course).where(Course.id == course_id))
    except InvalidReference as error:
        raise CourseHasEnrollments(course_id) from error
    if not rowcount(result):
        raise NotFound("course", course_id)


def _visible_student(session: Session, viewer: Viewer, student_id: int) -> Student:
    """The student if ``viewer`` may read them: one statement, and ``NotFound`` either way."""
    stmt = select(Student).where(Student.id == student_id, viewer.sees(Student.user_id))
    student = session.scalars(stmt).one_or_none()
    if student is None:
        raise NotFound("student", student_id)
    return student


# --- clubs: a plain link ------------------------------------------------------------


def join_club(session: Session, student_id: int, club_id: int) -> None:
    """Make the student a member; a member already is one, and nothing changes.

    One insert-or-ignore against the link's primary key (``ON CONFLICT DO
    NOTHING``; MariaDB's no-op ``ON DUPLICATE KEY UPDATE``): two requests at
    once cannot both insert, and neither fails.
    """
    get_or_raise(session, Student, student_id)
    get_or_raise(session, Club, club_id)
    link = {"student_id": student_id, "club_id": club_id}
    with savepoint(session):
        upsert(session, memberships, [link], conflict=["student_id", "club_id"], update=[])


def leave_club(session: Session, student_id: int, club_id: int) -> None:
    """End the membership; a student who is not a member has nothing to leave."""
    get_or_raise(session, Student, student_id)
    get_or_raise(session, Club, club_id)
    session.execute(
        delete(memberships).where(
            memberships.c.student_id == student_id, memberships.c.club_id == club_id
        )
    )


def club_members(
    session: Session, viewer: Viewer, club_id: int, **paging: Unpack[PageArgs]
) -> Page[ClubMemberOut]:
    """The club's members by student id, with the date each joined (for non-staff: themselves).

    The page is read from the link's index ``(club_id, student_id)`` alone, then
    joined to its students (``enrich``): a range of the index, however large the
    club, and twenty students looked up by key. Joined before the LIMIT, the
    database may merge the index with the whole students table instead. An order
    by name would sort every member of the club to return twenty.
    """
    get_or_raise(session, Club, club_id)
    links = (
        select(memberships.c.student_id, memberships.c.joined_at)
        .where(memberships.c.club_id == club_id, _readable(viewer, memberships.c.student_id))
        .order_by(memberships.c.student_id)
    )
    rows = paginate(session, links, enrich=_with_members, **paging)
    return rows.map(_member)


def _readable(viewer: Viewer, student_id: SQLColumnExpression[int]) -> ColumnElement[bool]:
    """Links to students ``viewer`` may read: all for staff, else the viewer's own record."""
    if viewer.is_staff:
        return true()
    return student_id.in_(select(Student.id).where(viewer.sees(Student.user_id)))


def _with_members(links: Subquery) -> Select[*tuple[Any, ...]]:
    return (
        select(
            links.c.student_id,
            Student.first_name,
            Student.last_name,
            Student.email,
            Student.user_id,
            links.c.joined_at,
        )
        .join(Student, Student.id == links.c.student_id)
        .order_by(links.c.student_id)
    )


def _member(row: Any) -> ClubMemberOut:
    return ClubMemberOut.model_validate({**row._asdict(), "id": row.student_id})


def student_clubs(session: Session, viewer: Viewer, student_id: int) -> list[StudentClubOut]:
    """The clubs the student belongs to, by name, with the date each was joined."""
    _visible_student(session, viewer, student_id)
    return [_student_club(row) for row in session.execute(_clubs_of(student_id))]


def list_student_clubs(
    session: Session,
    viewer: Viewer,
    student_id: int,
    **paging: Unpack[PageArgs],
) -> Page[StudentClubOut]:
    """The student's clubs as :func:`student_clubs` has them, a page at a time."""
    _visible_student(session, viewer, student_id)
    page_of_rows = paginate(session, _clubs_of(student_id), **paging)
    return page_of_rows.map(_student_club)


def _clubs_of(student_id: int) -> Select[*tuple[Any, ...]]:
    return (
        select(Club.id, Club.name, Club.description, memberships.c.joined_at)
        .join(memberships, memberships.c.club_id == Club.id)
        .where(memberships.c.student_id == student_id)
        .order_by(Club.name)
    )


def _student_club(row: Any) -> StudentClubOut:
    return StudentClubOut.model_validate(row._asdict())


# --- enrollments: a link with data ------------------------------------------------------


def enroll(session: Session, student_id: int, course_id: int, data: EnrollIn) -> EnrollmentOut:
    """Enroll the student, or re-enroll one who dropped the course.

    A dropped enrollment is reactivated by a conditional UPDATE (``WHERE
    status = 'dropped'``); otherwise a new row is inserted in a savepoint and
    the UNIQUE (student, course) constraint decides: of N concurrent requests
    one enrolls, the others get :class:`AlreadyEnrolled`, as does a student
    whose enrollment is active or completed.
    """
    get_or_raise(session, Student, student_id)
    get_or_raise(session, Course, course_id)
    enrollment = _reactivate(session, student_id, course_id, data.notes)
    if enrollment is None:
        enrollment = _insert_enrollment(session, student_id, course_id, data.notes)
    return EnrollmentOut.model_validate(enrollment)


def _reactivate(
    session: Session, student_id: int, course_id: int, notes: str | None
) -> Enrollment | None:
    """Turn a dropped enrollment active again (grade cleared, date renewed); None if none.

    A plain read first looks for a dropped row, and the conditional UPDATE runs
    only when there is one: on MariaDB (REPEATABLE READ) an UPDATE locks every
    index record and gap it scans even when it matches nothing, and through
    the course index that is the course's other enrollments, so each new
    enrollment in a course would wait for the one before to commit. The UPDATE
    re-checks the status itself, so a row reactivated meanwhile is not
    reactivated twice (the INSERT that follows then conflicts).
    """
    dropped_id = session.scalar(
        select(Enrollment.id).where(
            _enrollment_of(student_id, course_id), Enrollment.status == EnrollmentStatus.DROPPED
        )
    )
    if dropped_id is None:
        return None
    values: dict[str, Any] = {
        "status": EnrollmentStatus.ACTIVE,
        "grade": None,
        "enrolled_at": utcnow(),
    }
    if notes is not None:
        values["notes"] = notes
    matched = update_where(
        session,
        Enrollment,
        Enrollment.id == dropped_id,
        Enrollment.status == EnrollmentStatus.DROPPED,
        values=values,
    )
    return session.get(Enrollment, dropped_id, populate_existing=True) if matched else None


def _insert_enrollment(
    session: Session, student_id: int, course_id: int, notes: str | None
) -> Enrollment:
    enrollment = Enrollment(student_id=student_id, course_id=course_id, notes=notes)
    try:
        with savepoint(session):
            session.add(enrollment)
    except Conflict as error:
        raise AlreadyEnrolled(student_id, course_id) from error
    return enrollment


def drop(session: Session, student_id: int, course_id: int) -> EnrollmentOut:
    """Drop an active enrollment; dropping a dropped one changes nothing.

    A completed (graded) enrollment is a record and cannot be dropped:
    :class:`EnrollmentStatusConflict`. The UPDATE's ``WHERE status = 'active'``
    makes that hold against a grade given at the same moment.
    """
    dropped = update_where(
        session,
        Enrollment,
        _enrollment_of(student_id, course_id),
        Enrollment.status == EnrollmentStatus.ACTIVE,
        values={"status": EnrollmentStatus.DROPPED},
    )
    enrollment = _current_enrollment(session, student_id, course_id)
    if not dropped and enrollment.status is EnrollmentStatus.COMPLETED:
        raise EnrollmentStatusConflict("drop", enrollment.status)
    return EnrollmentOut.model_validate(enrollment)


def set_grade(session: Session, student_id: int, course_id: int, data: SetGrade) -> EnrollmentOut:
    """Grade the enrollment, which completes it; a grade can be corrected, a dropped course not."""
    graded = update_where(
        session,
        Enrollment,
        _enrollment_of(student_id, course_id),
        Enrollment.status != EnrollmentStatus.DROPPED,
        values={"status": EnrollmentStatus.COMPLETED, "grade": data.grade},
    )
    enrollment = _current_enrollment(session, student_id, course_id)
    if not graded:
        raise EnrollmentStatusConflict("grade", enrollment.status)
    return EnrollmentOut.model_validate(enrollment)


def get_enrollment(
    session: Session, viewer: Viewer, student_id: int, course_id: int
) -> EnrollmentOut:
    """The student's enrollment in the course, whatever its status (a dropped one too).

    ``NotFound`` too when ``viewer`` may not read the student.
    """
    stmt = (
        select(Enrollment)
        .join(Enrollment.student)
        .where(_enrollment_of(student_id, course_id), viewer.sees(Student.user_id))
    )
    enrollment = session.scalars(stmt).one_or_none()
    if enrollment is None:
        raise _not_enrolled(student_id, course_id)
    return EnrollmentOut.model_validate(enrollment)


def _enrollment_of(student_id: int, course_id: int) -> ColumnElement[bool]:
    return and_(Enrollment.student_id == student_id, Enrollment.course_id == course_id)


def _current_enrollment(session: Session, student_id: int, course_id: int) -> Enrollment:
    """The enrollment as committed now, or ``NotFound``.

    A locking read: after an UPDATE that matched nothing, MariaDB's plain
    SELECT would show this transaction's older snapshot, not the status the
    UPDATE saw.
    """
    stmt = (
        select(Enrollment)
        .where(_enrollment_of(student_id, course_id))
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    enrollment = session.scalars(stmt).one_or_none()
    if enrollment is None:
        raise _not_enrolled(student_id, course_id)
    return enrollment


def _not_enrolled(student_id: int, course_id: int) -> NotFound:
    return NotFound(
        "enrollment",
        (student_id, course_id),
        f"student {student_id} is not enrolled in course {course_id}",
    )


# --- reads across the link ---------------------------------------------------------------


def course_roster(
    session: Session,
    viewer: Viewer,
    course_id: int,
    *,
    cursor: str | None = None,
    per_page: int = 20,
) -> CourseRoster:
    """The course and a page of its students (not those who dropped it) by student id.

    Two statements: the course, then the page, read after ``cursor`` from the
    index ``(course_id, student_id)`` of the enrollments alone and joined to its
    students (``enrich``): a range of the index and twenty lookups by key,
    however many took the course. Anyone but staff sees only their own line.
    """
    course = get_or_raise(session, Course, course_id)
    enrollments = (
        select(Enrollment.student_id, Enrollment.status, Enrollment.grade, Enrollment.enrolled_at)
        .where(
            Enrollment.course_id == course_id,
            Enrollment.status != EnrollmentStatus.DROPPED,
            _readable(viewer, Enrollment.student_id),
        )
        .order_by(Enrollment.student_id)
    )
    page = paginate(
        session,
        enrollments,
        cursor=cursor,
        per_page=per_page,
        count=False,
        enrich=_with_students,
    )
    return CourseRoster(
        course=CourseOut.model_validate(course),
        students=[RosterEntry.model_validate(row._asdict()) for row in page.items],
        next_cursor=page.next_cursor,
    )


def _with_students(enrollments: Subquery) -> Select[*tuple[Any, ...]]:
    return (
        select(
            enrollments.c.student_id,
            Student.first_name,
            Student.last_name,
            Student.email,
            enrollments.c.status,
            enrollments.c.grade,
            enrollments.c.enrolled_at,
        )
        .join(Student, Student.id == enrollments.c.student_id)
        .order_by(enrollments.c.student_id)
    )


def _hundredths(points: Decimal) -> int:
    scaled = points * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{points} grade points are not a whole number of hundredths")
    return int(scaled)


#: Grade points in integer hundredths (A = 400, B+ = 330): what the database sums.
GRADE_HUNDREDTHS: dict[Grade, int] = {
    grade: _hundredths(points) for grade, points in GRADE_POINTS.items()
}


def student_transcript(session: Session, viewer: Viewer, student_id: int) -> Transcript:
    """The student's courses and credit-weighted grade-point average: two statements.

    The database computes the average's parts beside the lines (window
    ``SUM() OVER ()``): the sum of points x credits and the graded credits.
    SQLite has no decimal type and would sum ``3.3 * 3`` as a binary float,
    so the points are summed as integer hundredths (a SQL CASE over the
    letters, from :data:`GRADE_POINTS`), which every backend adds exactly;
    the one division, rounded half-up to 2 places, is done here in integer
    arithmetic, so no float ever touches the average. Ungraded (active or
    dropped) courses count for nothing; with no grade at all the average is None.
    A student ``viewer`` may not read is ``NotFound``.
    """
    student = _visible_student(session, viewer, student_id)
    rows = session.execute(_transcript_lines(student_id)).all()
    weighted = int(rows[0].weighted_hundredths or 0) if rows else 0
    credits = int(rows[0].graded_credits or 0) if rows else 0
    return Transcript(
        student=StudentOut.model_validate(student),
        courses=[TranscriptLine.model_validate(row._asdict()) for row in rows],
        graded_credits=credits,
        gpa=_average(weighted, credits),
    )


def _transcript_lines(student_id: int) -> Select[*tuple[Any, ...]]:
    points = case(
        *((Enrollment.grade == grade, hundredths) for grade, hundredths in GRADE_HUNDREDTHS.items())
    )  # NULL when ungraded: SUM skips it
    graded_credits = case((Enrollment.grade.is_not(None), Course.credits), else_=0)
    return (
        select(
            Course.id.label("course_id"),
            Course.code,
            Course.title,
            Course.credits,
            Enrollment.status,
            Enrollment.grade,
            Enrollment.enrolled_at,
            func.sum(points * Course.credits).over().label("weighted_hundredths"),
            func.sum(graded_credits).over().label("graded_credits"),
        )
        .select_from(Enrollment)
        .join(Enrollment.course)
        .where(Enrollment.student_id == student_id)
        .order_by(Course.code)
    )


def _average(weighted_hundredths: int, credits: int) -> Decimal | None:
    """``weighted_hundredths / credits`` hundredths, rounded half-up, as a 2-place Decimal."""
    if not credits:
        return None
    # floor(n / c + 1/2) in integers: exact, whatever the size of n and c.
    hundredths = (2 * weighted_hundredths + credits) // (2 * credits)
    return (Decimal(hundredths) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

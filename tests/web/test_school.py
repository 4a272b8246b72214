"""The school over HTTP: staff (admins) write and read all, reads cost a fixed count.

Who else reads what is tested in ``test_authorization.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from alchemy_patterns.db import Database
from alchemy_patterns.domains.school.models import (
    Club,
    Course,
    Enrollment,
    EnrollmentStatus,
    Grade,
    Student,
    student_clubs,
)
from tests.school.builders import (
    add_members,
    enroll_all,
    make_club,
    make_course,
    make_enrollment,
    make_student,
    make_students,
)
from tests.web.conftest import Caller, queries

NEW_STUDENT = {"first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.com"}
NEW_CLUB = {"name": "Chess", "description": "Sundays"}
NEW_COURSE = {"code": "cs101", "title": "Programming", "credits": 4}

_codes = itertools.count(1)


def count_rows(db: Database, model: Any) -> int:
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def student_and_course(
    db: Database, status: EnrollmentStatus | None = None, grade: Grade | None = None
) -> str:
    """The enrollment URL of a new student in a new course, enrolled with ``status`` unless None."""
    with db.session_scope() as session:
        student, course = make_student(session), make_course(session)
        if status is not None:
            make_enrollment(session, student, course, status=status, grade=grade)
        return f"/courses/{course.id}/students/{student.id}"


def student_and_club(db: Database) -> str:
    """The membership URL of a new student in a new club (not yet a member)."""
    with db.session_scope() as session:
        student, club = make_student(session), make_club(session)
        return f"/clubs/{club.id}/members/{student.id}"


def graded_courses(db: Database, student_id: int, count: int) -> None:
    """``count`` new 3-credit courses the student completed with an A, in one flush."""
    with db.session_scope() as session:
        courses = [Course(code=f"G{next(_codes):05d}", title="Graded") for _ in range(count)]
        session.add_all(courses)
        session.flush()
        session.add_all(
            Enrollment(
                student_id=student_id,
                course_id=course.id,
                status=EnrollmentStatus.COMPLETED,
                grade=Grade.A,
            )
            for course in courses
        )


#: A new row for each top-level list, by the list's URL.
NEW_ROW: dict[str, Callable[[], object]] = {
    "/students": lambda: Student(
        first_name="Listed", last_name="Student", email=f"listed{next(_codes)}@school.example"
    ),
    "/clubs": lambda: Club(name=f"Club {next(_codes)}"),
    "/courses": lambda: Course(code=f"L{next(_codes):05d}", title="Listed"),
}


def add_rows(db: Database, url: str, count: int) -> None:
    """``count`` rows of the list at ``url``, in one flush."""
    with db.session_scope() as session:
        session.add_all(NEW_ROW[url]() for _ in range(count))


def refused(response: TestResponse) -> tuple[int, list[str]]:
    """The status of a response and the fields its problem names."""
    return response.status_code, [e["field"] for e in response.get_json().get("errors") or []]


def members(db: Database) -> list[tuple[int, int]]:
    with db.session_scope(read_only=True) as session:
        rows = session.execute(select(student_clubs.c.club_id, student_clubs.c.student_id))
        return sorted((row.club_id, row.student_id) for row in rows)


def enrollments(db: Database) -> list[tuple[str, str | None]]:
    with db.session_scope(read_only=True) as session:
        rows = session.execute(select(Enrollment.status, Enrollment.grade).order_by(Enrollment.id))
        return [(row.status.value, row.grade and row.grade.value) for row in rows]


# --- who may do what ----------------------------------------------------------------------------

READS = [
    "/students",
    "/students/1",
    "/students/1/transcript",
    "/students/1/clubs",
    "/clubs",
    "/clubs/1",
    "/clubs/1/members",
    "/courses",
    "/courses/1",
    "/courses/1/roster",
    "/courses/1/students/1",
]
STAFF_OPERATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/students", NEW_STUDENT),
    ("POST", "/clubs", NEW_CLUB),
    ("PUT", "/clubs/{club}/members/{student}", None),
    ("DELETE", "/clubs/{club}/members/{student}", None),
    ("POST", "/courses", NEW_COURSE),
    ("DELETE", "/courses/{course}", None),
    ("PUT", "/courses/{course}/students/{student}", {}),
    ("DELETE", "/courses/{course}/students/{student}", None),
    ("PUT", "/courses/{course}/students/{student}/grade", {"grade": "A"}),
]


def test_reading_the_school_needs_a_signed_in_user(client: FlaskClient) -> None:
    statuses = {url: client.get(url).status_code for url in READS}

    assert statuses == dict.fromkeys(READS, 401)
    assert client.get("/students").get_json()["type"] == "/problems/authentication_required"


def test_changing_the_school_needs_a_signed_in_user(client: FlaskClient) -> None:
    statuses = {
        f"{method} {url}": client.open(
            url.format(club=1, course=1, student=1), method=method, json=body
        ).status_code
        for method, url, body in STAFF_OPERATIONS
    }

    assert statuses == dict.fromkeys(statuses, 401)


def test_changing_the_school_is_for_staff_only(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    with app_db.session_scope() as session:
        student, club, course = make_student(session), make_club(session), make_course(session)
        add_members(session, club, [student])
        make_enrollment(session, student, course)
        ids = {"club": club.id, "course": course.id, "student": student.id}

    responses = {
        f"{method} {url}": client.open(
            url.format(**ids), method=method, json=body, headers=alice.headers
        )
        for method, url, body in STAFF_OPERATIONS
    }

    statuses = {operation: response.status_code for operation, response in responses.items()}
    assert statuses == dict.fromkeys(statuses, 403)
    assert {r.get_json()["type"] for r in responses.values()} == {"/problems/forbidden"}
    assert [count_rows(app_db, model) for model in (Student, Club, Course)] == [1, 1, 1]
    assert members(app_db) == [(club.id, student.id)]
    assert enrollments(app_db) == [("active", None)]


# --- students ----------------------------------------------------------------------------------


def test_staff_register_a_student(client: FlaskClient, admin: Caller) -> None:
    response = client.post("/students", json=NEW_STUDENT, headers=admin.headers)

    assert response.status_code == 201
    student = response.get_json()
    assert response.headers["Location"] == f"/students/{student['id']}"
    assert student["email"] == "ada@example.com"
    assert client.get(response.headers["Location"], headers=admin.headers).get_json() == student


def test_an_email_already_registered_in_another_case_is_a_409_naming_it(
    client: FlaskClient, admin: Caller
) -> None:
    client.post("/students", json=NEW_STUDENT, headers=admin.headers)

    response = client.post(
        "/students", json=NEW_STUDENT | {"email": "ADA@example.com"}, headers=admin.headers
    )

    assert response.status_code == 409
    assert response.get_json()["field"] == "email"


BAD_STUDENTS = [
    (NEW_STUDENT | {"email": "not an address"}, "email"),
    (NEW_STUDENT | {"first_name": ""}, "first_name"),
    (NEW_STUDENT | {"last_name": "Love\x00lace"}, "last_name"),  # PostgreSQL cannot store it
    (NEW_STUDENT | {"id": 7}, "id"),
    ({"first_name": "Ada", "email": "ada@example.com"}, "last_name"),
]


def test_a_bad_student_is_a_422_naming_the_field(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    answers = [
        refused(client.post("/students", json=body, headers=admin.headers))
        for body, _ in BAD_STUDENTS
    ]

    assert answers == [(422, [field]) for _, field in BAD_STUDENTS]
    assert count_rows(app_db, Student) == 0


def test_students_are_listed_by_name_a_page_at_a_time(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        for first, last in [("Grace", "Hopper"), ("Ada", "Lovelace"), ("Alan", "Hopper")]:
            make_student(session, first_name=first, last_name=last)

    page = client.get("/students?per_page=2", headers=admin.headers).get_json()

    assert [s["first_name"] for s in page["items"]] == ["Alan", "Grace"]
    assert (page["total"], page["links"]["next"]) == (3, "/students?per_page=2&page=2")


def test_a_bad_list_query_is_a_422(client: FlaskClient, alice: Caller) -> None:
    urls = ["/students?per_page=101", "/clubs?page=0", "/courses?sort=credits", "/courses?q=x"]

    statuses = {url: client.get(url, headers=alice.headers).status_code for url in urls}

    assert statuses == dict.fromkeys(urls, 422)


def test_an_id_too_large_for_the_column_is_a_422_not_a_driver_error(
    client: FlaskClient, admin: Caller
) -> None:
    too_large = [f"/students/{2**31}", "/clubs/99999999999/members", f"/courses/1/students/{2**40}"]

    answers = {url: refused(client.get(url, headers=admin.headers)) for url in too_large}

    assert answers == {
        too_large[0]: (422, ["student_id"]),
        too_large[1]: (422, ["club_id"]),
        too_large[2]: (422, ["student_id"]),
    }


UNKNOWN = [
    "/students/424242",
    "/students/424242/transcript",
    "/students/424242/clubs",
    "/clubs/424242",
    "/clubs/424242/members",
    "/courses/424242",
    "/courses/424242/roster",
]


def test_an_unknown_student_club_or_course_is_a_404(client: FlaskClient, alice: Caller) -> None:
    responses = {url: client.get(url, headers=alice.headers) for url in UNKNOWN}

    assert {url: r.status_code for url, r in responses.items()} == dict.fromkeys(UNKNOWN, 404)
    assert {r.get_json()["type"] for r in responses.values()} == {"/problems/not_found"}


def test_the_transcript_lists_courses_grades_and_the_credit_weighted_gpa(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        student = make_student(session)
        four, three, ungraded = (
            make_course(session, code=code, credits=credits)
            for code, credits in (("CS101", 4), ("MA200", 3), ("PH150", 3))
        )
        make_enrollment(session, student, four, status=EnrollmentStatus.COMPLETED, grade=Grade.A)
        make_enrollment(session, student, three, status=EnrollmentStatus.COMPLETED, grade=Grade.B)
        make_enrollment(session, student, ungraded)

    transcript = client.get(f"/students/{student.id}/transcript", headers=admin.headers).get_json()

    lines = [(c["code"], c["status"], c["grade"]) for c in transcript["courses"]]
    assert lines == [
        ("CS101", "completed", "A"),
        ("MA200", "completed", "B"),
        ("PH150", "active", None),
    ]
    assert (transcript["graded_credits"], transcript["gpa"]) == (7, "3.57")  # (16 + 9) / 7
    assert transcript["student"]["id"] == student.id


def test_a_transcript_without_a_grade_has_no_gpa(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        student_id = make_student(session).id

    transcript = client.get(f"/students/{student_id}/transcript", headers=admin.headers).get_json()

    assert (transcript["courses"], transcript["gpa"]) == ([], None)


def test_a_transcript_costs_the_same_statements_for_1_course_and_for_50(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        small, large = (s.id for s in make_students(session, 2))
    graded_courses(app_db, small, 1)
    graded_courses(app_db, large, 50)

    one = client.get(f"/students/{small}/transcript", headers=admin.headers)
    fifty = client.get(f"/students/{large}/transcript", headers=admin.headers)

    assert (len(fifty.get_json()["courses"]), fifty.get_json()["gpa"]) == (50, "4.00")
    assert queries(one) == queries(fifty) <= 3  # the token, the student, the lines


def test_a_students_clubs_are_listed_by_name_a_page_at_a_time(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        student = make_student(session)
        for name in ("Drama", "Chess", "Choir"):
            add_members(session, make_club(session, name=name), [student])
        make_club(session, name="Archery")

    page = client.get(f"/students/{student.id}/clubs?per_page=2", headers=admin.headers).get_json()

    assert [c["name"] for c in page["items"]] == ["Chess", "Choir"]
    assert page["total"] == 3
    assert page["items"][0]["joined_at"].endswith("Z")


# --- clubs ---------------------------------------------------------------------------------------


def test_staff_create_a_club(client: FlaskClient, admin: Caller, alice: Caller) -> None:
    response = client.post("/clubs", json=NEW_CLUB, headers=admin.headers)

    assert response.status_code == 201
    club = response.get_json()
    assert response.headers["Location"] == f"/clubs/{club['id']}"
    shown = client.get(response.headers["Location"], headers=alice.headers).get_json()
    assert shown == club | {"member_count": 0}


def test_a_club_name_already_taken_is_a_409_naming_it(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    client.post("/clubs", json=NEW_CLUB, headers=admin.headers)

    response = client.post("/clubs", json=NEW_CLUB, headers=admin.headers)

    assert response.status_code == 409
    assert response.get_json()["field"] == "name"
    assert count_rows(app_db, Club) == 1


def test_clubs_are_listed_by_name_with_their_member_counts(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    with app_db.session_scope() as session:
        students = make_students(session, 3)
        chess, drama, _ = (make_club(session, name=n) for n in ("Chess", "Drama", "Empty"))
        add_members(session, chess, students)
        add_members(session, drama, students[:1])

    page = client.get("/clubs", headers=alice.headers).get_json()

    counts = [(c["name"], c["member_count"]) for c in page["items"]]
    assert counts == [("Chess", 3), ("Drama", 1), ("Empty", 0)]


def test_joining_a_club_twice_makes_one_membership(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    url = student_and_club(app_db)

    statuses = [client.put(url, headers=admin.headers).status_code for _ in range(2)]

    assert statuses == [204, 204]
    club_id, student_id = int(url.split("/")[2]), int(url.split("/")[4])
    assert members(app_db) == [(club_id, student_id)]
    listed = client.get(f"/clubs/{club_id}/members", headers=admin.headers).get_json()
    assert [(m["id"], m["joined_at"][-1]) for m in listed["items"]] == [(student_id, "Z")]


def test_leaving_a_club_twice_leaves_no_membership(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    url = student_and_club(app_db)
    client.put(url, headers=admin.headers)

    statuses = [client.delete(url, headers=admin.headers).status_code for _ in range(2)]

    assert statuses == [204, 204]
    assert members(app_db) == []


def test_a_membership_of_an_unknown_club_or_student_is_a_404_naming_it(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    _, _, club_id, _, student_id = student_and_club(app_db).split("/")
    urls = {
        "club": f"/clubs/424242/members/{student_id}",
        "student": f"/clubs/{club_id}/members/424242",
    }

    answers = {
        (missing, method): client.open(url, method=method, headers=admin.headers)
        for missing, url in urls.items()
        for method in ("PUT", "DELETE")
    }

    named = {key: (r.status_code, r.get_json()["detail"].split()[0]) for key, r in answers.items()}
    assert named == {(missing, method): (404, missing) for missing, method in answers}
    assert members(app_db) == []


def test_club_members_are_listed_by_id_a_page_at_a_time(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        club, other = make_club(session), make_club(session)
        names = [("Grace", "Hopper"), ("Ada", "Lovelace"), ("Alan", "Hopper"), ("Not", "Member")]
        students = [make_student(session, first_name=f, last_name=last) for f, last in names]
        add_members(session, club, students[:3])
        add_members(session, other, students[3:])

    page = client.get(f"/clubs/{club.id}/members?per_page=2", headers=admin.headers).get_json()

    assert [m["first_name"] for m in page["items"]] == ["Grace", "Ada"]  # by id
    assert (page["total"], page["links"]["next"]) == (
        3,
        f"/clubs/{club.id}/members?per_page=2&page=2",
    )


def test_club_members_cost_the_same_statements_for_1_member_and_for_50(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        small, large = make_club(session), make_club(session)
        students = make_students(session, 50)
        add_members(session, small, students[:1])
        add_members(session, large, students)

    one = client.get(f"/clubs/{small.id}/members?per_page=100", headers=admin.headers)
    fifty = client.get(f"/clubs/{large.id}/members?per_page=100", headers=admin.headers)

    assert len(fifty.get_json()["items"]) == 50
    assert queries(one) == queries(fifty) <= 3  # the token, the club, the page (no COUNT)


def test_a_students_clubs_cost_the_same_statements_for_1_club_and_for_50(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        small, large = make_students(session, 2)
        clubs = [Club(name=f"Club {next(_codes)}") for _ in range(50)]
        session.add_all(clubs)
        session.flush()
        add_members(session, clubs[0], [small])
        for club in clubs:
            add_members(session, club, [large])

    one = client.get(f"/students/{small.id}/clubs?per_page=100", headers=admin.headers)
    fifty = client.get(f"/students/{large.id}/clubs?per_page=100", headers=admin.headers)

    assert len(fifty.get_json()["items"]) == 50
    assert queries(one) == queries(fifty) <= 3  # the token, the student, the page (no COUNT)


# --- courses -------------------------------------------------------------------------------------


def test_staff_create_a_course_with_its_code_upper_case(
    client: FlaskClient, admin: Caller, alice: Caller
) -> None:
    response = client.post("/courses", json=NEW_COURSE, headers=admin.headers)

    assert response.status_code == 201
    course = response.get_json()
    assert response.headers["Location"] == f"/courses/{course['id']}"
    assert (course["code"], course["credits"]) == ("CS101", 4)
    assert client.get(response.headers["Location"], headers=alice.headers).get_json() == course


def test_a_course_code_already_taken_in_another_case_is_a_409_naming_it(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    client.post("/courses", json=NEW_COURSE, headers=admin.headers)

    response = client.post("/courses", json=NEW_COURSE | {"code": "CS101"}, headers=admin.headers)

    assert response.status_code == 409
    assert response.get_json()["field"] == "code"
    assert count_rows(app_db, Course) == 1


BAD_COURSES = [
    (NEW_COURSE | {"credits": 31}, "credits"),
    (NEW_COURSE | {"credits": 0}, "credits"),
    (NEW_COURSE | {"code": "CS 101"}, "code"),
    (NEW_COURSE | {"title": "\x00"}, "title"),
    (NEW_COURSE | {"id": 1}, "id"),
]


def test_a_bad_course_is_a_422_naming_the_field(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    answers = [
        refused(client.post("/courses", json=body, headers=admin.headers))
        for body, _ in BAD_COURSES
    ]

    assert answers == [(422, [field]) for _, field in BAD_COURSES]
    assert count_rows(app_db, Course) == 0


def test_courses_are_listed_by_code(client: FlaskClient, app_db: Database, alice: Caller) -> None:
    with app_db.session_scope() as session:
        for code in ("MA200", "CS101", "PH150"):
            make_course(session, code=code)

    page = client.get("/courses?per_page=2", headers=alice.headers).get_json()

    assert [c["code"] for c in page["items"]] == ["CS101", "MA200"]
    assert page["total"] == 3


@pytest.mark.parametrize("url", list(NEW_ROW))
def test_a_list_costs_the_same_statements_for_1_row_and_for_50(
    client: FlaskClient, app_db: Database, admin: Caller, url: str
) -> None:
    add_rows(app_db, url, 1)
    one = client.get(f"{url}?per_page=100", headers=admin.headers)
    add_rows(app_db, url, 49)

    fifty = client.get(f"{url}?per_page=100", headers=admin.headers)

    assert len(fifty.get_json()["items"]) == 50
    assert queries(one) == queries(fifty) <= 2  # the token, the page (short: no COUNT)


def test_staff_delete_a_course_nobody_enrolled_in(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        course_id = make_course(session).id

    read_at = admin.headers | {"If-Match": f'"{course_id}.1"'}
    assert client.delete(f"/courses/{course_id}", headers=read_at).status_code == 204
    assert client.delete(f"/courses/{course_id}", headers=read_at).status_code == 404
    assert count_rows(app_db, Course) == 0


def test_a_course_with_enrollments_even_dropped_or_graded_is_not_deleted(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    grades = {EnrollmentStatus.COMPLETED: Grade.B}
    urls = [
        student_and_course(app_db, status, grades.get(status)).rsplit("/students", 1)[0]
        for status in EnrollmentStatus
    ]

    any_version = admin.headers | {"If-Match": "*"}
    responses = [client.delete(url, headers=any_version) for url in urls]

    assert [(r.status_code, r.get_json()["type"]) for r in responses] == [
        (409, "/problems/course_has_enrollments")
    ] * 3
    assert count_rows(app_db, Course) == 3


def test_the_roster_lists_the_students_by_id_but_not_those_who_dropped(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        course = make_course(session, code="CS101")
        names = [("Grace", "Hopper"), ("Ada", "Lovelace"), ("Alan", "Hopper")]
        grace, ada, alan = (make_student(session, first_name=f, last_name=ln) for f, ln in names)
        make_enrollment(session, grace, course, status=EnrollmentStatus.COMPLETED, grade=Grade.A)
        make_enrollment(session, ada, course)
        make_enrollment(session, alan, course, status=EnrollmentStatus.DROPPED)

    roster = client.get(f"/courses/{course.id}/roster", headers=admin.headers).get_json()

    assert roster["course"]["code"] == "CS101"
    listed = [(s["first_name"], s["status"], s["grade"]) for s in roster["students"]]
    assert listed == [("Grace", "completed", "A"), ("Ada", "active", None)]
    assert (roster["next_cursor"], roster["next"]) == (None, None)


def test_the_roster_is_read_a_page_at_a_time_by_its_next_link(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        course = make_course(session)
        students = make_students(session, 5)
        enroll_all(session, course, students)
    url: str | None = f"/courses/{course.id}/roster?per_page=2"
    seen = []

    while url is not None:
        roster = client.get(url, headers=admin.headers).get_json()
        seen += [s["student_id"] for s in roster["students"]]
        url = roster["next"]

    assert seen == sorted(s.id for s in students)


def test_a_roster_cursor_changed_by_hand_is_a_422_on_cursor(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        course = make_course(session)

    response = client.get(f"/courses/{course.id}/roster?cursor=bm90IGpzb24", headers=admin.headers)

    assert response.status_code == 422
    assert response.get_json()["field"] == "cursor"


def test_a_roster_page_costs_the_same_statements_for_1_student_and_for_50(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        small, large = make_course(session), make_course(session)
        students = make_students(session, 50)
        enroll_all(session, small, students[:1])
        enroll_all(session, large, students)

    one = client.get(f"/courses/{small.id}/roster", headers=admin.headers)
    fifty = client.get(f"/courses/{large.id}/roster", headers=admin.headers)

    assert len(fifty.get_json()["students"]) == 20  # a page
    assert queries(one) == queries(fifty) <= 3  # the token, the course, the students


# --- enrollments ---------------------------------------------------------------------------------


def test_staff_enroll_a_student(client: FlaskClient, app_db: Database, admin: Caller) -> None:
    url = student_and_course(app_db)

    response = client.put(url, json={"notes": "late registration"}, headers=admin.headers)

    assert response.status_code == 201
    assert response.headers["Location"] == url
    enrollment = response.get_json()
    assert (enrollment["status"], enrollment["grade"], enrollment["notes"]) == (
        "active",
        None,
        "late registration",
    )
    assert client.get(url, headers=admin.headers).get_json() == enrollment


def test_enrolling_an_enrolled_student_again_is_a_409_and_changes_nothing(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    url = student_and_course(app_db, EnrollmentStatus.COMPLETED, Grade.B)

    response = client.put(url, json={}, headers=admin.headers)

    assert response.status_code == 409
    assert response.get_json()["type"] == "/problems/already_enrolled"
    assert enrollments(app_db) == [("completed", "B")]


def test_re_enrolling_after_a_drop_is_a_201_on_the_same_enrollment(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    url = student_and_course(app_db)
    first = client.put(url, json={}, headers=admin.headers).get_json()
    client.delete(url, headers=admin.headers)

    response = client.put(url, json={}, headers=admin.headers)

    assert response.status_code == 201
    assert (response.get_json()["id"], response.get_json()["status"]) == (first["id"], "active")
    assert enrollments(app_db) == [("active", None)]


def test_a_bad_enrollment_is_a_422_naming_the_field(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    url = student_and_course(app_db)
    bodies = [({"notes": "x" * 501}, "notes"), ({"status": "completed"}, "status"), (None, "body")]

    answers = [refused(client.put(url, json=body, headers=admin.headers)) for body, _ in bodies]

    assert answers == [(422, [field]) for _, field in bodies]
    assert enrollments(app_db) == []


def test_enrolling_in_an_unknown_course_or_student_is_a_404_naming_it(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    _, _, course_id, _, student_id = student_and_course(app_db).split("/")
    urls = {
        "course": f"/courses/424242/students/{student_id}",
        "student": f"/courses/{course_id}/students/424242",
    }

    answers = {
        missing: client.put(url, json={}, headers=admin.headers) for missing, url in urls.items()
    }

    named = {key: (r.status_code, r.get_json()["detail"].split()[0]) for key, r in answers.items()}
    assert named == {"course": (404, "course"), "student": (404, "student")}
    assert enrollments(app_db) == []


def test_dropping_twice_answers_the_dropped_enrollment_each_time(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    url = student_and_course(app_db, EnrollmentStatus.ACTIVE)

    responses = [client.delete(url, headers=admin.headers) for _ in range(2)]

    assert [(r.status_code, r.get_json()["status"]) for r in responses] == [(200, "dropped")] * 2
    assert enrollments(app_db) == [("dropped", None)]


def test_dropping_a_graded_course_is_a_409_and_keeps_the_grade(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    url = student_and_course(app_db, EnrollmentStatus.COMPLETED, Grade.A_MINUS)

    response = client.delete(url, headers=admin.headers)

    assert response.status_code == 409
    assert response.get_json()["type"] == "/problems/enrollment_status_conflict"
    assert enrollments(app_db) == [("completed", "A-")]


def test_an_enrollment_that_does_not_exist_is_a_404(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    url = student_and_course(app_db)  # both exist, not enrolled
    calls = [("GET", url, None), ("DELETE", url, None), ("PUT", f"{url}/grade", {"grade": "A"})]

    responses = [client.open(u, method=m, json=body, headers=admin.headers) for m, u, body in calls]

    details = [(r.status_code, r.get_json()["detail"]) for r in responses]
    _, _, course_id, _, student_id = url.split("/")
    assert details == [(404, f"student {student_id} is not enrolled in course {course_id}")] * 3


def test_staff_grade_an_enrollment_and_may_correct_the_grade(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    url = student_and_course(app_db, EnrollmentStatus.ACTIVE)

    graded = client.put(f"{url}/grade", json={"grade": "B+"}, headers=admin.headers)
    corrected = client.put(f"{url}/grade", json={"grade": "A-"}, headers=admin.headers)

    assert (graded.status_code, graded.get_json()["status"]) == (200, "completed")
    assert (corrected.status_code, corrected.get_json()["grade"]) == (200, "A-")
    assert enrollments(app_db) == [("completed", "A-")]


def test_grading_a_dropped_enrollment_is_a_409(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    url = student_and_course(app_db, EnrollmentStatus.DROPPED)

    response = client.put(f"{url}/grade", json={"grade": "A"}, headers=admin.headers)

    assert response.status_code == 409
    assert enrollments(app_db) == [("dropped", None)]


def test_a_bad_grade_is_a_422_naming_the_field(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    url = student_and_course(app_db, EnrollmentStatus.ACTIVE)
    bodies = [({"grade": "E"}, "grade"), ({"grade": "A", "status": "completed"}, "status")]

    answers = [
        refused(client.put(f"{url}/grade", json=body, headers=admin.headers)) for body, _ in bodies
    ]

    assert answers == [(422, [field]) for _, field in bodies]
    assert enrollments(app_db) == [("active", None)]

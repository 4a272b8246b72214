"""Students, clubs and courses: creating, finding, listing, and what the inputs refuse."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from alchemy_patterns.db import Conflict, Database, NotFound, ValidationFailed, count_queries
from alchemy_patterns.domains.accounts.access import SYSTEM
from alchemy_patterns.domains.school.models import Club, Course, Grade, Student
from alchemy_patterns.domains.school.schemas import (
    ClubIn,
    CourseIn,
    EnrollIn,
    SetGrade,
    StudentIn,
)
from alchemy_patterns.domains.school.services import (
    create_club,
    create_course,
    create_student,
    get_club,
    get_course,
    get_student,
    list_clubs,
    list_courses,
    list_students,
)
from tests.school.builders import add_members, make_club, make_course, make_student, make_students


def count_rows(db: Database, model: type[object]) -> int:
    with db.session_scope(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def student_in(**overrides: Any) -> StudentIn:
    values: dict[str, Any] = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@x.org"}
    return StudentIn(**(values | overrides))


# --- input models -------------------------------------------------------------------------


def test_student_in_refuses_an_unknown_field() -> None:
    with pytest.raises(ValidationError) as failure:
        student_in(id=7)

    assert [(e["loc"], e["type"]) for e in failure.value.errors()] == [(("id",), "extra_forbidden")]


def test_enroll_in_refuses_an_unknown_field() -> None:
    with pytest.raises(ValidationError) as failure:
        EnrollIn.model_validate({"notes": "late", "status": "completed"})

    assert [(e["loc"], e["type"]) for e in failure.value.errors()] == [
        (("status",), "extra_forbidden")
    ]


@pytest.mark.parametrize("grade", ["E", "a", "A+", ""])
def test_set_grade_refuses_a_grade_not_in_the_scale_naming_the_field(grade: str) -> None:
    with pytest.raises(ValidationError) as failure:
        SetGrade.model_validate({"grade": grade})

    assert [(e["loc"], e["type"]) for e in failure.value.errors()] == [(("grade",), "enum")]


def test_set_grade_reads_a_letter_as_its_grade() -> None:
    grade = SetGrade.model_validate({"grade": "B+"}).grade

    assert grade is Grade.B_PLUS
    assert grade.points == Decimal("3.3")


def test_student_in_stores_the_email_lower_case() -> None:
    assert student_in(email="Ada.King@Example.ORG").email == "ada.king@example.org"


def test_student_in_refuses_an_address_that_is_not_one() -> None:
    with pytest.raises(ValidationError) as failure:
        student_in(email="not an address")

    assert failure.value.errors()[0]["loc"] == ("email",)


@pytest.mark.parametrize("credits", [0, 31])
def test_course_in_refuses_credits_out_of_range(credits: int) -> None:
    with pytest.raises(ValidationError) as failure:
        CourseIn(code="CS101", title="Programming", credits=credits)

    assert failure.value.errors()[0]["loc"] == ("credits",)


def test_course_in_stores_the_code_upper_case() -> None:
    assert CourseIn(code="cs101", title="Programming").code == "CS101"


# --- students ------------------------------------------------------------------------------


def test_create_student_stores_the_student(app_db: Database) -> None:
    with app_db.session_scope() as session:
        created = create_student(session, student_in())

    with app_db.session_scope(read_only=True) as session:
        found = get_student(session, SYSTEM, created.id)
    assert found == created
    assert (found.first_name, found.last_name, found.email) == ("Ada", "Lovelace", "ada@x.org")


def test_a_taken_email_in_another_case_is_a_conflict_on_email(app_db: Database) -> None:
    with app_db.session_scope() as session:
        create_student(session, student_in(email="ada@x.org"))

    with pytest.raises(Conflict) as failure, app_db.session_scope() as session:
        create_student(session, student_in(first_name="Augusta", email="ADA@X.org"))

    assert failure.value.field == "email"
    assert count_rows(app_db, Student) == 1


def test_a_conflict_leaves_the_callers_transaction_usable(app_db: Database) -> None:
    with app_db.session_scope() as session:
        create_student(session, student_in(email="ada@x.org"))

    with app_db.session_scope() as session:
        with pytest.raises(Conflict):
            create_student(session, student_in(email="ada@x.org"))
        create_student(session, student_in(email="grace@x.org"))

    assert count_rows(app_db, Student) == 2


def test_get_student_of_an_unknown_id_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        get_student(session, SYSTEM, 424242)

    assert (failure.value.entity, failure.value.key) == ("student", 424242)


def test_list_students_pages_by_last_then_first_name(app_db: Database) -> None:
    with app_db.session_scope() as session:
        for first_name, last_name in [("Grace", "Hopper"), ("Ada", "Lovelace"), ("Alan", "Hopper")]:
            make_student(session, first_name=first_name, last_name=last_name)

    with app_db.session_scope(read_only=True) as session:
        first = list_students(session, SYSTEM, page=1, per_page=2)
        second = list_students(session, SYSTEM, page=2, per_page=2)

    assert [(s.first_name, s.last_name) for s in first.items] == [
        ("Alan", "Hopper"),
        ("Grace", "Hopper"),
    ]
    assert [(s.first_name, s.last_name) for s in second.items] == [("Ada", "Lovelace")]
    assert (first.total, first.pages, second.has_next) == (3, 2, False)


def test_list_students_refuses_a_page_size_beyond_the_cap(app_db: Database) -> None:
    with pytest.raises(ValidationFailed) as failure, app_db.session_scope() as session:
        list_students(session, SYSTEM, per_page=101)

    assert failure.value.field == "per_page"


# --- clubs -----------------------------------------------------------------------------------


def test_create_club_stores_the_club(app_db: Database) -> None:
    with app_db.session_scope() as session:
        created = create_club(session, ClubIn(name="Chess", description="Sundays"))

    with app_db.session_scope(read_only=True) as session:
        club = session.get(Club, created.id)
        assert club is not None
        assert (club.name, club.description) == ("Chess", "Sundays")


def test_a_taken_club_name_is_a_conflict_on_name(app_db: Database) -> None:
    with app_db.session_scope() as session:
        create_club(session, ClubIn(name="Chess"))

    with pytest.raises(Conflict) as failure, app_db.session_scope() as session:
        create_club(session, ClubIn(name="Chess"))

    assert failure.value.field == "name"
    assert count_rows(app_db, Club) == 1


def test_list_clubs_counts_each_clubs_members(app_db: Database) -> None:
    with app_db.session_scope() as session:
        students = make_students(session, 3)
        chess, drama, _ = (make_club(session, name=n) for n in ("Chess", "Drama", "Empty"))
        add_members(session, chess, students)
        add_members(session, drama, students[:1])

    with app_db.session_scope(read_only=True) as session:
        clubs = list_clubs(session)

    assert [(c.name, c.member_count) for c in clubs.items] == [
        ("Chess", 3),
        ("Drama", 1),
        ("Empty", 0),
    ]


def test_get_club_counts_its_members_in_one_statement(app_db: Database) -> None:
    with app_db.session_scope() as session:
        chess = make_club(session, name="Chess", description="Sundays")
        add_members(session, chess, make_students(session, 3))

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        club = get_club(session, chess.id)

    assert (club.name, club.description, club.member_count) == ("Chess", "Sundays", 3)
    assert counter.count == 1


def test_get_club_of_an_unknown_id_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        get_club(session, 424242)

    assert (failure.value.entity, failure.value.key) == ("club", 424242)


@pytest.mark.parametrize("clubs", [1, 50])
def test_list_clubs_counts_members_in_the_same_statement(app_db: Database, clubs: int) -> None:
    with app_db.session_scope() as session:
        students = make_students(session, 4)
        for _ in range(clubs):
            add_members(session, make_club(session), students)

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        page = list_clubs(session, per_page=100)

    assert counter.count == 1
    assert [c.member_count for c in page.items] == [4] * clubs


# --- courses ---------------------------------------------------------------------------------


def test_create_course_stores_the_course(app_db: Database) -> None:
    with app_db.session_scope() as session:
        created = create_course(session, CourseIn(code="cs101", title="Programming", credits=4))

    with app_db.session_scope(read_only=True) as session:
        course = session.get(Course, created.id)
        assert course is not None
        assert (course.code, course.title, course.credits) == ("CS101", "Programming", 4)


def test_a_taken_course_code_is_a_conflict_on_code(app_db: Database) -> None:
    with app_db.session_scope() as session:
        create_course(session, CourseIn(code="CS101", title="Programming"))

    with pytest.raises(Conflict) as failure, app_db.session_scope() as session:
        create_course(session, CourseIn(code="cs101", title="Another"))

    assert failure.value.field == "code"
    assert count_rows(app_db, Course) == 1


def test_list_courses_pages_by_code(app_db: Database) -> None:
    with app_db.session_scope() as session:
        for code in ("MA200", "CS101", "PH150"):
            make_course(session, code=code)

    with app_db.session_scope(read_only=True) as session:
        page = list_courses(session, per_page=2)

    assert [c.code for c in page.items] == ["CS101", "MA200"]
    assert page.total == 3


def test_get_course_finds_the_course(app_db: Database) -> None:
    with app_db.session_scope() as session:
        course_id = make_course(session, code="CS101", title="Programming").id

    with app_db.session_scope(read_only=True) as session:
        course = get_course(session, course_id)

    assert (course.id, course.code, course.title) == (course_id, "CS101", "Programming")


def test_get_course_of_an_unknown_id_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        get_course(session, 424242)

    assert (failure.value.entity, failure.value.key) == ("course", 424242)

"""Club membership, a plain link: joining twice is a no-op, leaving twice too."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from alchemy_patterns.db import Database, NotFound, count_queries
from alchemy_patterns.domains.accounts.access import SYSTEM
from alchemy_patterns.domains.school.models import Club, Student, student_clubs
from alchemy_patterns.domains.school.services import (
    club_members,
    join_club,
    leave_club,
    list_student_clubs,
)
from alchemy_patterns.domains.school.services import (
    student_clubs as clubs_of_student,
)
from tests.school.builders import add_members, make_club, make_student, make_students
from tests.threads import race


def memberships(db: Database) -> list[tuple[int, int]]:
    """Every stored (student_id, club_id) link, sorted, read in a new unit of work."""
    with db.session_scope(read_only=True) as session:
        rows = session.execute(select(student_clubs.c.student_id, student_clubs.c.club_id))
        return sorted((row.student_id, row.club_id) for row in rows)


def student_and_club(db: Database) -> tuple[int, int]:
    with db.session_scope() as session:
        return make_student(session).id, make_club(session).id


# --- join_club ---------------------------------------------------------------------------


def test_join_club_makes_the_student_a_member(app_db: Database) -> None:
    student_id, club_id = student_and_club(app_db)

    with app_db.session_scope() as session:
        join_club(session, student_id, club_id)

    assert memberships(app_db) == [(student_id, club_id)]


def test_joining_a_club_twice_leaves_one_row_and_raises_nothing(app_db: Database) -> None:
    student_id, club_id = student_and_club(app_db)
    with app_db.session_scope() as session:
        join_club(session, student_id, club_id)

    with app_db.session_scope() as session:
        join_club(session, student_id, club_id)
        join_club(session, student_id, club_id)

    assert memberships(app_db) == [(student_id, club_id)]


def test_joining_keeps_the_date_of_the_first_join(app_db: Database) -> None:
    student_id, club_id = student_and_club(app_db)
    with app_db.session_scope() as session:
        join_club(session, student_id, club_id)
    with app_db.session_scope(read_only=True) as session:
        [first] = clubs_of_student(session, SYSTEM, student_id)

    with app_db.session_scope() as session:
        join_club(session, student_id, club_id)

    with app_db.session_scope(read_only=True) as session:
        [again] = clubs_of_student(session, SYSTEM, student_id)
    assert again.joined_at == first.joined_at


def test_rivals_joining_one_club_at_once_make_one_membership(app_db: Database) -> None:
    student_id, club_id = student_and_club(app_db)

    outcomes = race(8, lambda _: app_db.transaction(lambda s: join_club(s, student_id, club_id)))

    assert Counter(type(outcome).__name__ for outcome in outcomes) == {"NoneType": 8}
    assert memberships(app_db) == [(student_id, club_id)]


@pytest.mark.parametrize("missing", ["student", "club"])
def test_join_club_names_what_is_missing(app_db: Database, missing: str) -> None:
    student_id, club_id = student_and_club(app_db)
    ids = {"student": student_id, "club": club_id} | {missing: 424242}

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        join_club(session, ids["student"], ids["club"])

    assert (failure.value.entity, failure.value.key) == (missing, 424242)
    assert memberships(app_db) == []


# --- leave_club --------------------------------------------------------------------------


def test_leave_club_ends_only_that_membership(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student, other = make_students(session, 2)
        chess, drama = make_club(session), make_club(session)
        add_members(session, chess, [student, other])
        add_members(session, drama, [student])

    with app_db.session_scope() as session:
        leave_club(session, student.id, chess.id)

    assert memberships(app_db) == sorted([(other.id, chess.id), (student.id, drama.id)])


def test_leaving_a_club_one_is_not_a_member_of_raises_nothing(app_db: Database) -> None:
    student_id, club_id = student_and_club(app_db)

    with app_db.session_scope() as session:
        leave_club(session, student_id, club_id)

    assert memberships(app_db) == []


@pytest.mark.parametrize("missing", ["student", "club"])
def test_leave_club_names_what_is_missing(app_db: Database, missing: str) -> None:
    student_id, club_id = student_and_club(app_db)
    ids = {"student": student_id, "club": club_id} | {missing: 424242}

    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        leave_club(session, ids["student"], ids["club"])

    assert failure.value.entity == missing


# --- reading memberships -------------------------------------------------------------------


def test_club_members_lists_members_by_id_with_the_date_they_joined(app_db: Database) -> None:
    with app_db.session_scope() as session:
        club, other_club = make_club(session), make_club(session)
        names = [("Grace", "Hopper"), ("Ada", "Lovelace"), ("Alan", "Hopper"), ("Not", "Member")]
        students = [make_student(session, first_name=f, last_name=last) for f, last in names]
        add_members(session, club, students[:3])
        add_members(session, other_club, students[3:])

    with app_db.session_scope(read_only=True) as session:
        page = club_members(session, SYSTEM, club.id, per_page=2)
        rest = club_members(session, SYSTEM, club.id, page=2, per_page=2)

    # By student id, the order of the index (club_id, student_id): here, the order added.
    listed = [(m.id, m.first_name, m.last_name) for m in page.items + rest.items]
    assert listed == [(s.id, f, last) for s, (f, last) in zip(students, names[:3], strict=False)]
    assert page.total == 3
    assert all(m.joined_at.tzinfo is not None for m in page.items)


def test_club_members_of_an_unknown_club_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        club_members(session, SYSTEM, 424242)

    assert (failure.value.entity, failure.value.key) == ("club", 424242)


@pytest.mark.parametrize("members", [1, 50])
def test_club_members_costs_the_same_statements_for_1_and_50(
    app_db: Database, members: int
) -> None:
    with app_db.session_scope() as session:
        club = make_club(session)
        add_members(session, club, make_students(session, members))

    with app_db.session_scope(read_only=True) as session, count_queries() as counter:
        page = club_members(session, SYSTEM, club.id, per_page=100)

    assert len(page.items) == members
    assert counter.count == 2  # the club, the page (short: no count needed)


def test_student_clubs_lists_the_students_clubs_by_name(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student, other = make_students(session, 2)
        drama, chess, choir = (make_club(session, name=n) for n in ("Drama", "Chess", "Choir"))
        add_members(session, drama, [student])
        add_members(session, chess, [student])
        add_members(session, choir, [other])

    with app_db.session_scope(read_only=True) as session:
        clubs = clubs_of_student(session, SYSTEM, student.id)

    assert [club.name for club in clubs] == ["Chess", "Drama"]


def test_list_student_clubs_pages_the_students_clubs_by_name(app_db: Database) -> None:
    with app_db.session_scope() as session:
        student = make_student(session)
        for name in ("Drama", "Chess", "Choir"):
            add_members(session, make_club(session, name=name), [student])

    with app_db.session_scope(read_only=True) as session:
        page = list_student_clubs(session, SYSTEM, student.id, per_page=2)
        rest = list_student_clubs(session, SYSTEM, student.id, page=2, per_page=2)

    assert [club.name for club in page.items + rest.items] == ["Chess", "Choir", "Drama"]
    assert page.total == 3


def test_list_student_clubs_of_an_unknown_student_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        list_student_clubs(session, SYSTEM, 424242)

    assert failure.value.entity == "student"


def test_student_clubs_of_an_unknown_student_is_not_found(app_db: Database) -> None:
    with pytest.raises(NotFound) as failure, app_db.session_scope() as session:
        clubs_of_student(session, SYSTEM, 424242)

    assert failure.value.entity == "student"


def test_student_clubs_and_club_members_agree(app_db: Database) -> None:
    links = {(0, 0), (0, 2), (1, 0), (2, 1), (3, 0), (3, 1), (3, 2)}
    with app_db.session_scope() as session:
        students = make_students(session, 4)
        clubs = [make_club(session) for _ in range(3)]
        for s, c in sorted(links):
            join_club(session, students[s].id, clubs[c].id)

    with app_db.session_scope(read_only=True) as session:
        loaded_students = session.scalars(select(Student).options(selectinload(Student.clubs)))
        by_student = {(s.id, c.id) for s in loaded_students for c in s.clubs}
        loaded_clubs = session.scalars(select(Club).options(selectinload(Club.members)))
        by_club = {(m.id, c.id) for c in loaded_clubs for m in c.members}

    expected = {(students[s].id, clubs[c].id) for s, c in links}
    assert by_student == by_club == expected
    with app_db.session_scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(student_clubs)) == len(links)

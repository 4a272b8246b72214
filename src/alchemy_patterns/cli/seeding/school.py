"""The school: clubs and courses, then students with their memberships and enrollments.

A membership is a plain link (``student_clubs``), an enrollment an object
with a status and, only once completed, a grade. Each student joins distinct
clubs and enrolls in distinct courses, so both unique keys hold.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from alchemy_patterns.cli.seeding.accounts import demo_account_to_link
from alchemy_patterns.cli.seeding.context import Seeding, slug
from alchemy_patterns.cli.seeding.loading import Family, Row, Target
from alchemy_patterns.cli.seeding.plan import CLUBS_PER_STUDENT, COURSES_PER_STUDENT
from alchemy_patterns.domains.school.models import (
    Club,
    Course,
    Enrollment,
    EnrollmentStatus,
    Grade,
    Student,
    student_clubs,
)

CLUB_THEMES = (
    "Chess", "Robotics", "Drama", "Debate", "Photography", "Astronomy", "Choir", "Hiking",
    "Film", "Poetry", "Coding", "Gardening", "Jazz", "Chemistry", "Model UN", "Cycling",
)  # fmt: skip
DEPARTMENTS = {
    "CS": "Computer Science", "MATH": "Mathematics", "PHYS": "Physics", "CHEM": "Chemistry",
    "BIO": "Biology", "HIST": "History", "ECON": "Economics", "PHIL": "Philosophy",
    "ENG": "English", "ART": "Art",
}  # fmt: skip
LEVELS = ("Introduction to", "Topics in", "Advanced", "Seminar in", "Foundations of")
ENROLLMENT_STATUSES = {
    EnrollmentStatus.ACTIVE: 50,
    EnrollmentStatus.COMPLETED: 40,
    EnrollmentStatus.DROPPED: 10,
}


def seed_school(seeding: Seeding) -> None:
    """Clubs and courses first: the students' links point at them."""
    rng = seeding.rng("school")
    club_ids = seeding.loader.insert_families(Club, _clubs(seeding, rng), key="club_id")
    course_ids = seeding.loader.insert_families(Course, _courses(seeding, rng), key="course_id")
    students = _students(seeding, rng, club_ids, course_ids)
    seeding.loader.insert_families(Student, students, key="student_id")


def _numbered(names: Sequence[str], serial: int) -> tuple[str, int]:
    """The ``serial``-th name of a cycle, and which round of the cycle it is (0 first)."""
    round_, index = divmod(serial, len(names))
    return names[index], round_


def _clubs(seeding: Seeding, rng: random.Random) -> Iterator[Family]:
    serial = seeding.loader.max_id(Club)
    for i in range(seeding.plan.clubs):
        theme, round_ = _numbered(CLUB_THEMES, serial + i)
        name = f"{theme} Club" + (f" {round_ + 1}" if round_ else "")
        yield {"name": name, "description": seeding.sentence(rng)}, {}


def _courses(seeding: Seeding, rng: random.Random) -> Iterator[Family]:
    serial = seeding.loader.max_id(Course)
    for i in range(seeding.plan.courses):
        department, round_ = _numbered(list(DEPARTMENTS), serial + i)
        title = f"{rng.choice(LEVELS)} {DEPARTMENTS[department]}"
        code = f"{department}{101 + round_}"
        yield {"code": code, "title": title, "credits": rng.choice((1, 2, 3, 3, 4, 5, 6))}, {}


def _students(
    seeding: Seeding, rng: random.Random, club_ids: Sequence[int], course_ids: Sequence[int]
) -> Iterator[Family]:
    serial = seeding.loader.max_id(Student)
    demo_id = demo_account_to_link(seeding, Student.user_id)
    for i in range(seeding.plan.students):
        first, last = seeding.person(rng)
        student = {
            "first_name": first,
            "last_name": last,
            "email": f"{slug(first)}.{slug(last)}{serial + i + 1}@school.example.edu",
            "user_id": demo_id if i == 0 else None,
        }
        links: dict[Target, list[Row]] = {
            student_clubs: _memberships(rng, club_ids),
            Enrollment: _enrollments(rng, course_ids),
        }
        yield student, links


def _memberships(rng: random.Random, club_ids: Sequence[int]) -> list[Row]:
    count = min(rng.randint(*CLUBS_PER_STUDENT), len(club_ids))
    return [{"club_id": club_id} for club_id in rng.sample(club_ids, count)]


def _enrollments(rng: random.Random, course_ids: Sequence[int]) -> list[Row]:
    count = min(rng.randint(*COURSES_PER_STUDENT), len(course_ids))
    statuses, weights = list(ENROLLMENT_STATUSES), list(ENROLLMENT_STATUSES.values())
    rows = []
    for course_id in rng.sample(course_ids, count):
        status = rng.choices(statuses, weights)[0]
        grade = rng.choice(list(Grade)) if status is EnrollmentStatus.COMPLETED else None
        rows.append({"course_id": course_id, "status": status, "grade": grade, "notes": None})
    return rows

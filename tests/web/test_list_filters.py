"""The clinic's, the school's and an author's lists filtered and sorted, as one parametrised set.

Each case is a list, a query and what it must answer, in order. Every case is
also walked by cursor and by page number, each list's filtered and sorted page
costs the statements of its plain one, and an unknown sort field or filter is
a 422 naming it. The expected orders hold on every backend: the names are
chosen so that a binary order (SQLite, PostgreSQL's ``C.UTF-8``) and
MariaDB's case-insensitive one agree on them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select, text, update

from alchemy_patterns.db import Database
from alchemy_patterns.db.filtering import starts_with_any_case
from alchemy_patterns.domains.clinic.models import Appointment, AppointmentStatus, Owner, Pet, Vet
from alchemy_patterns.domains.school.models import Club, Course, Student
from alchemy_patterns.domains.social.models import Post
from tests.builders import make_user
from tests.web.conftest import Caller, queries

DAY = dt.datetime(2030, 5, 6, tzinfo=dt.UTC)

#: (name, e-mail) of each owner; Sam Smith's record is alice's.
OWNERS = [
    ("Sam Smith", "sam@example.com"),
    ("SALLY Jones", "sally@example.com"),
    ("Samuel Stone", "samuel@example.com"),
    ("Alan Ford", "alan@example.com"),
    ("Al_ex Day", "alex@example.com"),
    ("Zed 100%", "zed@example.com"),
]


@pytest.fixture
def ids(app_db: Database, alice: Caller) -> dict[str, int]:
    """The clinic, the school and an author's posts every case reads; the ids the cases name."""
    with app_db.session_scope() as session:
        owners = [Owner(name=name, email=email) for name, email in OWNERS]
        owners[0].user_id = alice.id
        session.add_all(owners)
        session.flush()
        pets = [
            Pet(owner_id=owners[0].id, name="Tom", species="cat"),
            Pet(owner_id=owners[1].id, name="Felix", species="cat"),
            Pet(owner_id=owners[0].id, name="Rex", species="dog"),
            Pet(owner_id=owners[2].id, name="Ada", species="cat"),
        ]
        vets = [Vet(name="Dr Brown"), Vet(name="Dr Adams"), Vet(name="Dr Clark")]
        session.add_all([*pets, *vets])
        session.flush()
        for reason, pet, vet, at, status in [
            ("a1", pets[0], vets[0], DAY.replace(hour=9), "scheduled"),
            ("a2", pets[1], vets[1], DAY.replace(hour=10), "cancelled"),
            ("a3", pets[2], vets[0], DAY + dt.timedelta(days=1, hours=9), "completed"),
            ("a4", pets[3], vets[1], DAY + dt.timedelta(days=2, hours=11), "scheduled"),
        ]:
            session.add(Appointment(pet_id=pet.id, vet_id=vet.id, scheduled_at=at, reason=reason))
            session.flush()
            cancelled = status == "cancelled"
            session.execute(
                update(Appointment)
                .where(Appointment.reason == reason)
                .values(status=AppointmentStatus(status), books_slot=None if cancelled else True)
            )
        for first, last in [("Grace", "Hopper"), ("Alan", "Turing"), ("Tina", "turner")]:
            session.add(Student(first_name=first, last_name=last, email=f"{first.lower()}@s.org"))
        session.add_all(Club(name=name) for name in ["Chess", "Drama", "Art"])
        session.add_all(
            Course(code=code, title=title)
            for code, title in [("CS101", "Zoology"), ("BIO1", "Anatomy"), ("MATH1", "Calculus")]
        )
        author = make_user(session)
        for n in range(1, 4):
            session.add(Post(author_id=author.id, body=f"p{n}", created_at=DAY.replace(minute=n)))
        return {"vet_a": vets[0].id, "vet_b": vets[1].id, "author": author.id}


#: Each case: a list, a query, the field each item is read by, the items expected in order.
CASES = [
    pytest.param(
        "/owners",
        {"name": "sa"},
        "name",
        ["SALLY Jones", "Sam Smith", "Samuel Stone"],
        id="owners-prefix",
    ),
    pytest.param(
        "/owners",
        {"name": "SAM", "sort": "-name"},
        "name",
        ["Samuel Stone", "Sam Smith"],
        id="owners-prefix-desc",
    ),
    pytest.param("/owners", {"name": "al_"}, "name", ["Al_ex Day"], id="owners-underscore"),
    pytest.param("/owners", {"name": "zed 100%"}, "name", ["Zed 100%"], id="owners-percent"),
    pytest.param(
        "/owners",
        {"name": "s", "sort": "-email"},
        "email",
        ["samuel@example.com", "sam@example.com", "sally@example.com"],
        id="owners-by-email",
    ),
    pytest.param("/pets", {"species": "cat"}, "name", ["Ada", "Felix", "Tom"], id="pets-species"),
    pytest.param(
        "/pets",
        {"species": "cat", "sort": "-name"},
        "name",
        ["Tom", "Felix", "Ada"],
        id="pets-species-desc",
    ),
    pytest.param(
        "/pets", {"sort": "species"}, "name", ["Ada", "Felix", "Tom", "Rex"], id="pets-by-species"
    ),
    pytest.param(
        "/vets", {"sort": "-name"}, "name", ["Dr Clark", "Dr Brown", "Dr Adams"], id="vets-desc"
    ),
    pytest.param("/appointments", {}, "reason", ["a1", "a2", "a3", "a4"], id="appointments"),
    pytest.param(
        "/appointments", {"vet_id": "{vet_a}"}, "reason", ["a1", "a3"], id="appointments-vet"
    ),
    pytest.param(
        "/appointments", {"status": "scheduled"}, "reason", ["a1", "a4"], id="appointments-status"
    ),
    pytest.param(
        "/appointments",
        {"scheduled_from": "2030-05-07", "scheduled_to": "2030-05-08"},
        "reason",
        ["a3", "a4"],
        id="appointments-days",
    ),
    pytest.param(
        "/appointments",
        {"scheduled_to": "2030-05-06"},
        "reason",
        ["a1", "a2"],
        id="appointments-to",
    ),
    pytest.param(
        "/appointments",
        {"vet_id": "{vet_b}", "sort": "-scheduled_at"},
        "reason",
        ["a4", "a2"],
        id="appointments-vet-desc",
    ),
    pytest.param(
        "/students", {"last_name": "tu"}, "last_name", ["Turing", "turner"], id="students-last-name"
    ),
    pytest.param(
        "/students",
        {"last_name": "TUR", "sort": "-name"},
        "last_name",
        ["turner", "Turing"],
        id="students-last-name-desc",
    ),
    pytest.param(
        "/students",
        {"sort": "-email"},
        "email",
        ["tina@s.org", "grace@s.org", "alan@s.org"],
        id="students-by-email",
    ),
    pytest.param("/clubs", {"sort": "-name"}, "name", ["Drama", "Chess", "Art"], id="clubs-desc"),
    pytest.param(
        "/courses",
        {"sort": "title"},
        "title",
        ["Anatomy", "Calculus", "Zoology"],
        id="courses-by-title",
    ),
    pytest.param(
        "/courses", {"sort": "-code"}, "code", ["MATH1", "CS101", "BIO1"], id="courses-desc"
    ),
    pytest.param("/users/{author}/posts", {}, "body", ["p3", "p2", "p1"], id="posts-newest"),
    pytest.param(
        "/users/{author}/posts",
        {"sort": "created_at"},
        "body",
        ["p1", "p2", "p3"],
        id="posts-oldest",
    ),
]

#: (list, a query that sorts and filters it) for the statement count; each keeps 2 rows or more.
BUSIEST = [
    ("/owners", {"name": "sa", "sort": "-email"}),
    ("/pets", {"species": "cat", "sort": "-name"}),
    ("/vets", {"sort": "-name"}),
    (
        "/appointments",
        {"vet_id": "{vet_a}", "scheduled_from": "2030-05-06", "sort": "-scheduled_at"},
    ),
    ("/students", {"last_name": "tu", "sort": "-name"}),
    ("/clubs", {"sort": "-name"}),
    ("/courses", {"sort": "-title"}),
    ("/users/{author}/posts", {"sort": "created_at"}),
]

#: Each list's sort allow-list, as the 422 names it.
ALLOWED = {
    "/owners": "name, email",
    "/pets": "name, species",
    "/vets": "name",
    "/appointments": "scheduled_at",
    "/students": "name, email",
    "/clubs": "name",
    "/courses": "code, title",
    "/users/{author}/posts": "created_at",
}


def url(path: str, query: dict[str, str], ids: dict[str, int], **extra: Any) -> str:
    values = {name: value.format(**ids) for name, value in query.items()}
    return f"{path.format(**ids)}?{urlencode({**values, **extra})}"


def read(client: FlaskClient, admin: Caller, target: str) -> dict[str, Any]:
    response = client.get(target, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    page: dict[str, Any] = response.get_json()
    return page


@pytest.mark.parametrize(("path", "query", "field", "expected"), CASES)
def test_a_list_keeps_and_orders_what_the_query_asks(
    client: FlaskClient,
    admin: Caller,
    ids: dict[str, int],
    path: str,
    query: dict[str, str],
    field: str,
    expected: list[str],
) -> None:
    page = read(client, admin, url(path, query, ids, per_page=100))

    assert [item[field] for item in page["items"]] == expected


@pytest.mark.parametrize(("path", "query", "field", "expected"), CASES)
def test_filters_and_sort_compose_with_cursor_and_numbered_pages(
    client: FlaskClient,
    admin: Caller,
    ids: dict[str, int],
    path: str,
    query: dict[str, str],
    field: str,
    expected: list[str],
) -> None:
    page = read(client, admin, url(path, query, ids, per_page=1))
    walked = [item[field] for item in page["items"]]
    while page["next_cursor"]:
        page = read(client, admin, url(path, query, ids, per_page=1, cursor=page["next_cursor"]))
        walked += [item[field] for item in page["items"]]

    assert walked == expected
    if "total" in page:  # an offset page (the author's posts are cursor pages only)
        last = read(client, admin, url(path, query, ids, per_page=1, page=len(expected)))
        assert [item[field] for item in last["items"]] == expected[-1:]
        assert last["total"] == len(expected)


@pytest.mark.parametrize(("path", "query"), BUSIEST)
def test_a_filtered_sorted_page_costs_the_statements_of_a_plain_one(
    client: FlaskClient, admin: Caller, ids: dict[str, int], path: str, query: dict[str, str]
) -> None:
    plain = client.get(url(path, {}, ids, per_page=1), headers=admin.headers)
    chosen = client.get(url(path, query, ids, per_page=1), headers=admin.headers)

    assert chosen.status_code == 200, chosen.get_json()
    assert len(chosen.get_json()["items"]) == 1
    assert chosen.get_json()["next_cursor"] is not None  # a full page, as the plain one is
    assert queries(chosen) == queries(plain)


@pytest.mark.parametrize("path", list(ALLOWED))
@pytest.mark.parametrize("sort", ["colour", "-colour", "{first},-colour"])
def test_an_unknown_sort_field_is_a_422_naming_it_and_the_allowed_ones(
    client: FlaskClient, admin: Caller, ids: dict[str, int], path: str, sort: str
) -> None:
    first = ALLOWED[path].split(", ")[0]

    response = client.get(url(path, {"sort": sort.format(first=first)}, ids), headers=admin.headers)

    assert response.status_code == 422
    problem = response.get_json()
    assert problem["field"] == "sort"
    assert "'colour'" in problem["detail"]
    assert ALLOWED[path] in problem["detail"]


@pytest.mark.parametrize("path", list(ALLOWED))
@pytest.mark.parametrize("query", [{"colour": "red"}, {"sort": "name;drop"}, {"sort": ""}])
def test_an_unknown_filter_or_a_malformed_sort_is_a_422_naming_it(
    client: FlaskClient, admin: Caller, ids: dict[str, int], path: str, query: dict[str, str]
) -> None:
    response = client.get(url(path, query, ids), headers=admin.headers)

    assert response.status_code == 422
    (name,) = query
    assert name in [error["field"] for error in response.get_json()["errors"]]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/appointments", {"vet_id": "0"}),
        ("/appointments", {"status": "lost"}),
        ("/appointments", {"scheduled_from": "2030-13-01"}),
        ("/appointments", {"scheduled_to": "0999-12-31"}),
        ("/pets", {"species": ""}),
        ("/owners", {"name": "x" * 101}),
        ("/students", {"last_name": ""}),
    ],
)
def test_a_bad_filter_value_is_a_422_naming_it(
    client: FlaskClient, admin: Caller, path: str, query: dict[str, str]
) -> None:
    response = client.get(url(path, query, {}), headers=admin.headers)

    assert response.status_code == 422
    (name,) = query
    assert name in [error["field"] for error in response.get_json()["errors"]]


def test_every_filter_and_sort_a_list_takes_is_documented(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    lists = [path.replace("{author}", "{user_id}") for path in ALLOWED]
    paging = {"page", "per_page", "cursor", "count", "user_id", "Consistency-Token"}

    undocumented = [
        f"{path} {parameter['name']}"
        for path in lists
        for parameter in paths[path]["get"]["parameters"]
        if parameter["name"] not in paging and not parameter.get("description")
    ]
    documented = {p["name"] for p in paths["/appointments"]["get"]["parameters"]}

    assert undocumented == []
    assert {"vet_id", "status", "scheduled_from", "scheduled_to", "sort"} <= documented


def test_the_pets_and_appointments_an_owner_reads_are_their_own_filtered(
    client: FlaskClient, alice: Caller, ids: dict[str, int]
) -> None:
    pets = client.get("/pets?sort=-name", headers=alice.headers).get_json()
    cats = client.get("/pets?species=cat", headers=alice.headers).get_json()
    booked = client.get("/appointments?status=scheduled", headers=alice.headers).get_json()

    assert [pet["name"] for pet in pets["items"]] == ["Tom", "Rex"]  # Sam Smith's
    assert [pet["name"] for pet in cats["items"]] == ["Tom"]
    assert [appointment["reason"] for appointment in booked["items"]] == ["a1"]


@pytest.mark.parametrize(
    ("prefix", "found"),
    [
        ("s", {"Sam Smith", "SALLY Jones", "Samuel Stone"}),
        ("sAmU", {"Samuel Stone"}),
        ("al", {"Alan Ford", "Al_ex Day"}),
        ("al_", {"Al_ex Day"}),
        ("%", set()),
        ("mith", set()),  # a prefix, not a part
    ],
)
def test_a_name_prefix_finds_the_names_that_start_with_it_in_any_case(
    app_db: Database, ids: dict[str, int], prefix: str, found: set[str]
) -> None:
    with app_db.session_scope() as session:
        criterion = starts_with_any_case(session, Owner.name, prefix)
        names = set(session.scalars(select(Owner.name).where(criterion)))

    assert names == found


def test_a_name_prefix_is_read_as_ranges_of_the_name_index(app_db: Database) -> None:
    with app_db.session_scope() as session:
        # Enough owners, analysed, that reading the whole table would cost more.
        others = [{"name": f"Owner {n}", "email": f"o{n}@example.com"} for n in range(3000)]
        session.execute(insert(Owner), others)
        dialect = session.get_bind().dialect
        session.execute(text({"mysql": "ANALYZE TABLE owners"}.get(dialect.name, "ANALYZE")))
        stmt = select(Owner.id).where(starts_with_any_case(session, Owner.name, "sam"))
        sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        if dialect.name == "postgresql":
            sql = sql.replace("%%", "%")  # psycopg's dialect doubles it for its placeholders
            plan = "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {sql}")))
            ranged = "Index Cond: (((name)::text >= 'sam'::text)" in plan
        elif dialect.name == "sqlite":
            plan = "\n".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            ranged = "ix_owners_name_id (name>? AND name<?)" in plan
        else:
            found = session.execute(text(f"EXPLAIN {sql}")).mappings().one()
            plan = str(dict(found))
            ranged = found["key"] == "ix_owners_name_id" and found["type"] == "range"

    assert ranged, plan

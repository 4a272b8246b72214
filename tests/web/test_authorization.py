"""Who may call what: every route with an object id, every method, as four callers.

The expectations live in one table, :data:`EXPECTED`: for each route of the
app's URL map that addresses an object, the status that an anonymous caller,
another ordinary account, the account the objects belong to, and an admin
get. Each call starts from the same world (:func:`build_world`), so a write by
one caller never changes what the next one sees. A route added to the app
without a row here fails :func:`test_every_route_with_an_id_has_expectations`.

Private records answer 404 to accounts that may not read them, the same as a
record that does not exist, so their existence does not leak; staff-only
operations answer 403, which says nothing about any one record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts.models import Role, User
from alchemy_patterns.domains.accounts.tokens import issue_token
from alchemy_patterns.domains.clinic.models import Owner
from alchemy_patterns.domains.school.models import Student
from alchemy_patterns.web.app import Api
from alchemy_patterns.web.auth import is_admin_only
from alchemy_patterns.web.openapi import operation_id
from tests.builders import make_order, make_product, make_user, put_in_cart
from tests.clinic.builders import make_appointment, make_owner, make_pet, make_vet, next_week
from tests.school.builders import add_members, make_club, make_course, make_enrollment, make_student
from tests.social.builders import make_comments, make_post

CALLERS = ("anonymous", "other", "owner", "admin")

#: (method, rule) -> statuses for (anonymous, another account, the owner's account, admin).
#: "The owner" is the account the world's records belong to: linked to the clinic's
#: owner and the school's student, author of the post and the comment, buyer of the order.
EXPECTED: dict[tuple[str, str], tuple[int, int, int, int]] = {
    # clinic: owners, pets and appointments are private; vets are the clinic's public staff
    ("GET", "/owners/<int:owner_id>"): (401, 404, 200, 200),
    ("PATCH", "/owners/<int:owner_id>"): (401, 403, 403, 200),
    ("DELETE", "/owners/<int:owner_id>"): (401, 403, 403, 204),
    ("POST", "/owners/<int:owner_id>/restore"): (401, 403, 403, 200),  # live: unchanged
    ("GET", "/owners/<int:owner_id>/history"): (401, 404, 200, 200),
    ("POST", "/owners/<int:owner_id>/revert"): (401, 403, 403, 200),  # to its own version
    ("POST", "/owners/<int:owner_id>/pets"): (401, 403, 403, 201),
    ("DELETE", "/owners/<int:owner_id>/pets/<int:pet_id>"): (401, 403, 403, 204),
    ("GET", "/pets/<int:pet_id>"): (401, 404, 200, 200),
    ("PATCH", "/pets/<int:pet_id>"): (401, 403, 403, 200),
    ("POST", "/pets/<int:pet_id>/transfer"): (401, 403, 403, 200),
    ("GET", "/pets/<int:pet_id>/history"): (401, 404, 200, 200),
    ("POST", "/pets/<int:pet_id>/revert"): (401, 403, 403, 200),  # to its own version
    ("GET", "/appointments/<int:appointment_id>"): (401, 404, 200, 200),
    ("PATCH", "/appointments/<int:appointment_id>"): (401, 403, 403, 200),
    ("POST", "/appointments/<int:appointment_id>/cancel"): (401, 403, 403, 200),
    ("POST", "/appointments/<int:appointment_id>/complete"): (401, 403, 403, 200),
    ("GET", "/vets/<int:vet_id>"): (401, 200, 200, 200),
    ("PATCH", "/vets/<int:vet_id>"): (401, 403, 403, 200),
    ("DELETE", "/vets/<int:vet_id>"): (401, 403, 403, 409),  # it has an appointment
    ("GET", "/vets/<int:vet_id>/schedule"): (401, 200, 200, 200),  # rows filtered, see below
    # school: students, their clubs, enrollments and grades are private
    ("GET", "/students/<int:student_id>"): (401, 404, 200, 200),
    ("GET", "/students/<int:student_id>/transcript"): (401, 404, 200, 200),
    ("GET", "/students/<int:student_id>/clubs"): (401, 404, 200, 200),
    ("GET", "/clubs/<int:club_id>"): (401, 200, 200, 200),
    ("GET", "/clubs/<int:club_id>/members"): (401, 200, 200, 200),  # rows filtered
    ("PUT", "/clubs/<int:club_id>/members/<int:student_id>"): (401, 403, 403, 204),
    ("DELETE", "/clubs/<int:club_id>/members/<int:student_id>"): (401, 403, 403, 204),
    ("GET", "/courses/<int:course_id>"): (401, 200, 200, 200),
    ("PATCH", "/courses/<int:course_id>"): (401, 403, 403, 200),
    ("DELETE", "/courses/<int:course_id>"): (401, 403, 403, 409),  # it has an enrollment
    ("GET", "/courses/<int:course_id>/roster"): (401, 200, 200, 200),  # rows filtered
    ("GET", "/courses/<int:course_id>/students/<int:student_id>"): (401, 404, 200, 200),
    ("PUT", "/courses/<int:course_id>/students/<int:student_id>"): (401, 403, 403, 409),
    ("DELETE", "/courses/<int:course_id>/students/<int:student_id>"): (401, 403, 403, 200),
    ("PUT", "/courses/<int:course_id>/students/<int:student_id>/grade"): (401, 403, 403, 200),
    # social: posts and profiles are public to accounts; only authors edit and delete
    ("GET", "/posts/<int:post_id>"): (401, 200, 200, 200),
    ("PATCH", "/posts/<int:post_id>"): (401, 404, 200, 404),
    ("DELETE", "/posts/<int:post_id>"): (401, 404, 204, 404),
    ("POST", "/posts/<int:post_id>/restore"): (401, 404, 200, 200),  # live: unchanged
    ("GET", "/posts/<int:post_id>/comments"): (401, 200, 200, 200),
    ("POST", "/posts/<int:post_id>/comments"): (401, 201, 201, 201),
    ("PUT", "/posts/<int:post_id>/like"): (401, 200, 200, 200),
    ("DELETE", "/posts/<int:post_id>/like"): (401, 200, 200, 200),
    ("GET", "/comments/<int:comment_id>"): (401, 200, 200, 200),
    ("DELETE", "/comments/<int:comment_id>"): (401, 404, 204, 404),
    ("PUT", "/users/<int:user_id>/follow"): (401, 200, 422, 200),  # following oneself is refused
    ("DELETE", "/users/<int:user_id>/follow"): (401, 200, 200, 200),
    ("GET", "/users/<int:user_id>/followers"): (401, 200, 200, 200),
    ("GET", "/users/<int:user_id>/following"): (401, 200, 200, 200),
    ("GET", "/users/<int:user_id>/posts"): (401, 200, 200, 200),
    # accounts: administration of other accounts
    ("GET", "/users/<int:user_id>"): (401, 403, 403, 200),
    ("PUT", "/users/<int:user_id>/active"): (401, 403, 403, 200),
    ("PUT", "/users/<int:user_id>/role"): (401, 403, 403, 200),
    # shop: the catalogue is public; a cart line and an order are their buyer's
    ("GET", "/products/<int:product_id>"): (200, 200, 200, 200),
    ("PATCH", "/products/<int:product_id>"): (401, 403, 403, 200),
    ("POST", "/products/<int:product_id>/restock"): (401, 403, 403, 200),
    ("GET", "/products/<int:product_id>/history"): (200, 200, 200, 200),
    ("POST", "/products/<int:product_id>/revert"): (401, 403, 403, 200),  # to its own version
    ("PUT", "/cart/items/<int:product_id>"): (401, 404, 200, 404),  # a line of one's own cart
    ("DELETE", "/cart/items/<int:product_id>"): (401, 404, 204, 404),
    ("GET", "/orders/<int:order_id>"): (401, 404, 200, 404),
}

#: Bodies for the operations that take one (the rest send none).
BODIES: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    ("POST", "/owners/<int:owner_id>/pets"): lambda w: {"name": "Tom", "species": "cat"},
    ("POST", "/pets/<int:pet_id>/transfer"): lambda w: {
        "old_owner_id": w.ids["owner_id"],
        "new_owner_id": w.other_owner_id,
    },
    ("PUT", "/courses/<int:course_id>/students/<int:student_id>"): lambda w: {},
    ("PUT", "/courses/<int:course_id>/students/<int:student_id>/grade"): lambda w: {"grade": "B+"},
    ("POST", "/posts/<int:post_id>/comments"): lambda w: {"body": "A comment"},
    ("PUT", "/users/<int:user_id>/active"): lambda w: {"active": False},
    ("PUT", "/users/<int:user_id>/role"): lambda w: {"role": "admin"},
    ("PATCH", "/products/<int:product_id>"): lambda w: {"name": "Renamed"},
    ("PATCH", "/vets/<int:vet_id>"): lambda w: {"specialty": "Dentistry"},
    ("PATCH", "/owners/<int:owner_id>"): lambda w: {"phone": "+44 20 7946 0000"},
    ("PATCH", "/pets/<int:pet_id>"): lambda w: {"name": "Felix"},
    ("PATCH", "/appointments/<int:appointment_id>"): lambda w: {"reason": "check-up"},
    ("PATCH", "/courses/<int:course_id>"): lambda w: {"title": "Renamed"},
    ("PATCH", "/posts/<int:post_id>"): lambda w: {"body": "Edited"},
    ("POST", "/products/<int:product_id>/restock"): lambda w: {"quantity": 5},
    ("POST", "/products/<int:product_id>/revert"): lambda w: {"version": 1},
    ("POST", "/owners/<int:owner_id>/revert"): lambda w: {"version": 1},
    ("POST", "/pets/<int:pet_id>/revert"): lambda w: {"version": 1},
    ("PUT", "/cart/items/<int:product_id>"): lambda w: {"quantity": 2},
}


@dataclass
class World:
    """The ids of one of everything, and a token per caller."""

    ids: dict[str, int]
    other_owner_id: int
    tokens: dict[str, str]

    def headers(self, caller: str) -> dict[str, str]:
        token = self.tokens.get(caller)
        return {"Authorization": f"Bearer {token}"} if token else {}


def build_world(db: Database) -> World:
    """Accounts (another, the owner, an admin) and records that belong to the owner."""
    with db.session_scope() as session:
        other, owner, admin = make_user(session), make_user(session), make_user(session)
        admin.role = Role.ADMIN
        clinic_owner = make_owner(session, user_id=owner.id)
        pet, vet = make_pet(session, clinic_owner), make_vet(session)
        appointment = make_appointment(session, pet, vet, next_week(9))
        student = make_student(session, user_id=owner.id)
        club, course = make_club(session), make_course(session)
        add_members(session, club, [student])
        make_enrollment(session, student, course)
        post = make_post(session, owner)
        [comment] = make_comments(session, post, owner)
        product = make_product(session, stock=10)
        put_in_cart(session, owner, product)
        order = make_order(session, owner, [(product, 1)])
        ids = {
            "owner_id": clinic_owner.id,
            "pet_id": pet.id,
            "vet_id": vet.id,
            "appointment_id": appointment.id,
            "student_id": student.id,
            "club_id": club.id,
            "course_id": course.id,
            "post_id": post.id,
            "comment_id": comment.id,
            "user_id": owner.id,
            "product_id": product.id,
            "order_id": order.id,
        }
        tokens = {
            name: issue_token(session, user.id).token
            for name, user in (("other", other), ("owner", owner), ("admin", admin))
        }
        other_owner_id = make_owner(session).id
    return World(ids, other_owner_id, tokens)


def routes_with_ids(app: Api) -> set[tuple[str, str]]:
    """(method, rule) of every route of the app whose path names an object by id."""
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if "<int:" in rule.rule
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


#: Query strings for the operations that need one.
QUERIES = {("GET", "/vets/<int:vet_id>/schedule"): f"?day={next_week(9).date().isoformat()}"}


def url_for_world(method: str, rule: str, world: World) -> str:
    path = re.sub(r"<int:(\w+)>", lambda m: str(world.ids[m.group(1)]), rule)
    return path + QUERIES.get((method, rule), "")


def test_every_route_with_an_id_has_expectations(app: Api) -> None:
    routes = routes_with_ids(app)

    assert routes - EXPECTED.keys() == set(), "routes with no row in EXPECTED"
    assert EXPECTED.keys() - routes == set(), "rows in EXPECTED for routes the app lacks"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "rule"), sorted(EXPECTED))
def test_each_caller_gets_the_expected_status(
    client: FlaskClient, app_db: Database, method: str, rule: str, caller: str
) -> None:
    world = build_world(app_db)
    body = BODIES.get((method, rule))

    response = client.open(
        url_for_world(method, rule, world),
        method=method,
        # any version: the preconditions are tested in test_preconditions.py
        headers=world.headers(caller) | {"If-Match": "*"},
        json=body(world) if body else None,
    )

    expected = EXPECTED[(method, rule)][CALLERS.index(caller)]
    assert response.status_code == expected, response.get_data(as_text=True)


def test_the_operations_documented_admin_only_are_those_that_check_the_role(
    app: Api, client: FlaskClient
) -> None:
    document = client.get("/openapi.json").get_json()

    documented = {
        operation["operationId"]
        for path_item in document["paths"].values()
        for operation in path_item.values()
        if "403" in operation["responses"]
    }
    checked = {operation_id(view) for view in app.view_functions.values() if is_admin_only(view)}

    assert documented == checked
    assert "registerOwner" in checked


# --- lists show an account only what is theirs -----------------------------------------------


#: Lists of private records, and how many rows admin sees in the world (the owner sees 1).
PRIVATE_LISTS = {
    "/owners": 2,  # the owner's record and the one a pet can be transferred to
    "/students": 1,
    "/clubs/{club_id}/members": 1,
    "/courses/{course_id}/roster": 1,
    "/vets/{vet_id}/schedule?day={day}": 1,
}


def _items(answer: dict[str, Any]) -> list[Any]:
    for key in ("items", "students"):
        if key in answer:
            items: list[Any] = answer[key]
            return items
    raise AssertionError(f"no list in {answer}")


@pytest.mark.parametrize(("path", "everything"), PRIVATE_LISTS.items())
def test_a_private_list_shows_another_account_nothing(
    client: FlaskClient, app_db: Database, path: str, everything: int
) -> None:
    world = build_world(app_db)
    url = path.format(**world.ids, day=next_week(9).date().isoformat())

    seen = {caller: client.get(url, headers=world.headers(caller)) for caller in CALLERS[1:]}

    assert {caller: answer.status_code for caller, answer in seen.items()} == dict.fromkeys(
        CALLERS[1:], 200
    )
    assert [len(_items(seen[c].get_json())) for c in CALLERS[1:]] == [0, 1, everything]


def test_an_owner_reads_their_own_pets_and_appointments_in_their_detail(
    client: FlaskClient, app_db: Database
) -> None:
    world = build_world(app_db)

    detail = client.get(f"/owners/{world.ids['owner_id']}", headers=world.headers("owner"))

    [pet] = detail.get_json()["pets"]
    assert pet["id"] == world.ids["pet_id"]
    assert [a["id"] for a in pet["appointments"]] == [world.ids["appointment_id"]]


def test_an_unlinked_account_reads_no_owner_and_no_student(
    client: FlaskClient, app_db: Database
) -> None:
    world = build_world(app_db)
    other = world.headers("other")

    owners = client.get("/owners", headers=other).get_json()
    students = client.get("/students", headers=other).get_json()

    assert (owners["total"], owners["items"]) == (0, [])
    assert (students["total"], students["items"]) == (0, [])


def test_deleting_an_account_keeps_its_records_unlinked(app_db: Database) -> None:
    with app_db.session_scope() as session:
        user = make_user(session)
        owner, student = (
            make_owner(session, user_id=user.id),
            make_student(session, user_id=user.id),
        )

    with app_db.session_scope() as session:
        session.delete(session.get(User, user.id))

    with app_db.session_scope() as session:
        assert session.get(Owner, owner.id).user_id is None  # type: ignore[union-attr]
        assert session.get(Student, student.id).user_id is None  # type: ignore[union-attr]


# --- /docs says who may call each operation, and agrees with the table -------------------------


def _operation(document: dict[str, Any], method: str, rule: str) -> dict[str, Any]:
    path = re.sub(r"<int:(\w+)>", r"{\1}", rule)
    operation: dict[str, Any] = document["paths"][path][method.lower()]
    return operation


def test_every_operation_says_who_may_call_it(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()

    silent = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "**Who may call it:**" not in operation.get("description", "")
    ]
    assert silent == []


@pytest.mark.parametrize(("method", "rule"), sorted(EXPECTED))
def test_the_document_names_the_callers_the_table_expects(
    client: FlaskClient, method: str, rule: str
) -> None:
    description = _operation(client.get("/openapi.json").get_json(), method, rule)["description"]
    anonymous, other, _, _ = EXPECTED[(method, rule)]

    if other == 403:
        assert "staff (the admin role) only" in description
    elif anonymous == 401:
        assert "any signed-in account" in description
    else:
        assert "anyone, no token needed" in description

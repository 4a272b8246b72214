"""The clinic over HTTP: staff (admins) write and read all, reads cost a fixed count.

Who else reads what is tested in ``test_authorization.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from flask.testing import FlaskClient

from alchemy_patterns.db import Database
from alchemy_patterns.domains.clinic.models import AppointmentStatus, Owner, Pet, Vet
from tests.clinic.builders import (
    make_appointment,
    make_household,
    make_owner,
    make_pet,
    make_vet,
    next_week,
)
from tests.clinic.stored import appointments, count_rows, owner_of, pet_ids, vet_ids
from tests.web.conftest import Caller, queries

NEW_OWNER = {"name": "Ada Lovelace", "email": "Ada@Example.com", "phone": "+44 20 7946 0000"}
NEW_PET = {"name": "Rex", "species": "dog", "born_on": "2020-02-29"}
NEW_VET = {"name": "Dr Herriot", "specialty": "large animals"}

_emails = itertools.count(1)


def when(at: dt.datetime) -> str:
    return at.isoformat()


def owners(db: Database, count: int) -> None:
    """``count`` owners, one flush."""
    with db.session_scope() as session:
        session.add_all(
            Owner(name=f"Owner {n}", email=f"bulk{next(_emails)}@example.com") for n in range(count)
        )
        session.flush()


def pet_and_vet(db: Database) -> tuple[int, int, int]:
    """(owner_id, pet_id, vet_id) of a new owner, their pet and a vet."""
    with db.session_scope() as session:
        owner = make_owner(session)
        pet, vet = make_pet(session, owner), make_vet(session)
        return owner.id, pet.id, vet.id


def scheduled(db: Database, status: AppointmentStatus = AppointmentStatus.SCHEDULED) -> int:
    with db.session_scope() as session:
        pet, vet = make_pet(session, make_owner(session)), make_vet(session)
        return make_appointment(session, pet, vet, next_week(9), status=status).id


def booking(pet_id: int, vet_id: int, at: str, **extra: Any) -> dict[str, Any]:
    return {"pet_id": pet_id, "vet_id": vet_id, "scheduled_at": at, **extra}


# --- who may do what ----------------------------------------------------------------------------

READS = [
    "/owners",
    "/owners/1",
    "/pets/1",
    "/vets",
    "/vets/1",
    f"/vets/1/schedule?day={next_week().date()}",
    "/appointments/1",
]
STAFF_OPERATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/owners", NEW_OWNER),
    ("DELETE", "/owners/1", None),
    ("POST", "/owners/1/pets", NEW_PET),
    ("DELETE", "/owners/1/pets/1", None),
    ("POST", "/pets/1/transfer", {"old_owner_id": 1, "new_owner_id": 2}),
    ("POST", "/vets", NEW_VET),
    ("DELETE", "/vets/1", None),
    ("POST", "/appointments", booking(1, 1, when(next_week()))),
    ("POST", "/appointments/1/cancel", None),
    ("POST", "/appointments/1/complete", None),
]


def test_reading_the_clinic_needs_a_signed_in_user(client: FlaskClient) -> None:
    statuses = {url: client.get(url).status_code for url in READS}

    assert statuses == dict.fromkeys(READS, 401)
    assert client.get("/owners").get_json()["type"] == "/problems/authentication_required"


def test_changing_the_clinic_needs_a_signed_in_user(client: FlaskClient) -> None:
    statuses = {
        f"{method} {url}": client.open(url, method=method, json=body).status_code
        for method, url, body in STAFF_OPERATIONS
    }

    assert statuses == dict.fromkeys(statuses, 401)


def test_changing_the_clinic_is_for_staff_only(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    responses = {
        f"{method} {url}": client.open(url, method=method, json=body, headers=alice.headers)
        for method, url, body in STAFF_OPERATIONS
    }

    statuses = {operation: response.status_code for operation, response in responses.items()}
    assert statuses == dict.fromkeys(statuses, 403)
    assert {r.get_json()["type"] for r in responses.values()} == {"/problems/forbidden"}
    assert (count_rows(app_db, Owner), count_rows(app_db, Vet)) == (0, 0)


# --- owners -------------------------------------------------------------------------------------


def test_staff_register_an_owner(client: FlaskClient, admin: Caller) -> None:
    response = client.post("/owners", json=NEW_OWNER, headers=admin.headers)

    assert response.status_code == 201
    owner = response.get_json()
    assert response.headers["Location"] == f"/owners/{owner['id']}"
    assert (owner["name"], owner["email"]) == ("Ada Lovelace", "ada@example.com")
    shown = client.get(response.headers["Location"], headers=admin.headers).get_json()
    assert (shown["id"], shown["pets"]) == (owner["id"], [])


def test_an_email_already_registered_in_another_case_is_a_409_naming_it(
    client: FlaskClient, admin: Caller
) -> None:
    client.post("/owners", json=NEW_OWNER, headers=admin.headers)

    response = client.post(
        "/owners", json=NEW_OWNER | {"email": "ADA@example.com"}, headers=admin.headers
    )

    assert response.status_code == 409
    assert response.get_json()["field"] == "email"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (NEW_OWNER | {"email": "not an address"}, "email"),
        (NEW_OWNER | {"phone": "call me"}, "phone"),
        (NEW_OWNER | {"id": 7}, "id"),
        ({"email": "ada@example.com"}, "name"),
    ],
)
def test_a_bad_owner_is_a_422_naming_the_field(
    client: FlaskClient, app_db: Database, admin: Caller, body: dict[str, Any], field: str
) -> None:
    response = client.post("/owners", json=body, headers=admin.headers)

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
    assert count_rows(app_db, Owner) == 0


def test_owners_are_listed_a_page_at_a_time_and_searched_by_name(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        for name in ("Cleo", "Ada", "Bea", "Adam"):
            make_owner(session, name=name)

    first = client.get("/owners?per_page=3", headers=admin.headers).get_json()
    found = client.get("/owners?search=ADA", headers=admin.headers).get_json()

    assert [o["name"] for o in first["items"]] == ["Ada", "Adam", "Bea"]
    assert (first["total"], first["links"]["next"]) == (4, "/owners?per_page=3&page=2")
    assert [o["name"] for o in found["items"]] == ["Ada", "Adam"]


@pytest.mark.parametrize("query", ["per_page=101", "page=0", "sort=age", "colour=red"])
def test_a_bad_owner_list_query_is_a_422(client: FlaskClient, alice: Caller, query: str) -> None:
    assert client.get(f"/owners?{query}", headers=alice.headers).status_code == 422


def test_the_owner_shows_their_pets_appointments_and_vets(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        owner, vet = make_owner(session, name="Ada"), make_vet(session, name="Dr Herriot")
        rex = make_pet(session, owner, name="Rex")
        make_appointment(session, rex, vet, next_week(9), reason="jab")

    response = client.get(f"/owners/{owner.id}", headers=admin.headers)

    assert response.status_code == 200
    detail = response.get_json()
    [pet] = detail["pets"]
    [appointment] = pet["appointments"]
    assert (detail["name"], pet["name"], appointment["reason"]) == ("Ada", "Rex", "jab")
    assert (appointment["scheduled_at"], appointment["vet"]["name"]) == (
        when(next_week(9)).replace("+00:00", "Z"),
        "Dr Herriot",
    )


def test_an_unknown_owner_is_a_404(client: FlaskClient, alice: Caller) -> None:
    response = client.get("/owners/424242", headers=alice.headers)

    assert response.status_code == 404
    assert response.get_json()["type"] == "/problems/not_found"


def test_deleting_an_owner_hides_their_pets_and_appointments_but_no_vet(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        vet = make_vet(session)
        leaving = make_household(session, [vet], pets=2, appointments_each=2)
        staying = make_pet(session, make_owner(session))
    visit = appointments(app_db)[0][0]

    read_at = admin.headers | {"If-Match": f'"{leaving.id}.1"'}
    assert client.delete(f"/owners/{leaving.id}", headers=read_at).status_code == 204
    assert client.delete(f"/owners/{leaving.id}", headers=read_at).status_code == 404
    assert client.get(f"/owners/{leaving.id}", headers=admin.headers).status_code == 404
    assert client.get(f"/appointments/{visit}", headers=admin.headers).status_code == 404
    assert (pet_ids(app_db), vet_ids(app_db)) == ([staying.id], [vet.id])


def test_an_owners_detail_costs_the_same_statements_for_1_pet_and_for_50(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        small_vets = [make_vet(session) for _ in range(3)]
        large_vets = [make_vet(session) for _ in range(3)]
        small = make_household(session, small_vets, pets=1, appointments_each=3).id
        large = make_household(session, large_vets, pets=50, appointments_each=3).id

    one = client.get(f"/owners/{small}", headers=admin.headers)
    fifty = client.get(f"/owners/{large}", headers=admin.headers)

    pets = fifty.get_json()["pets"]
    assert (len(pets), {len(p["appointments"]) for p in pets}) == (50, {3})
    assert queries(one) == queries(fifty) <= 4  # the token, then owner_detail's three


def test_the_owner_list_costs_the_same_statements_for_1_owner_and_for_50(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    owners(app_db, 1)
    one = client.get("/owners?per_page=100", headers=admin.headers)
    owners(app_db, 49)

    fifty = client.get("/owners?per_page=100", headers=admin.headers)

    assert len(fifty.get_json()["items"]) == 50
    assert queries(one) == queries(fifty) <= 2  # the token, the page (short: no COUNT)


# --- pets ---------------------------------------------------------------------------------------


def test_staff_add_a_pet_to_an_owner(client: FlaskClient, app_db: Database, admin: Caller) -> None:
    with app_db.session_scope() as session:
        owner_id = make_owner(session).id

    response = client.post(f"/owners/{owner_id}/pets", json=NEW_PET, headers=admin.headers)

    assert response.status_code == 201
    pet = response.get_json()
    assert response.headers["Location"] == f"/pets/{pet['id']}"
    shown = client.get(response.headers["Location"], headers=admin.headers).get_json()
    assert shown == {"id": pet["id"], "owner_id": owner_id, "version": 1, **NEW_PET}


def test_a_pet_for_an_unknown_owner_is_a_404(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    response = client.post("/owners/424242/pets", json=NEW_PET, headers=admin.headers)

    assert response.status_code == 404
    assert count_rows(app_db, Pet) == 0


def test_a_pet_born_in_the_future_is_a_422_naming_the_field(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        owner_id = make_owner(session).id
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)

    response = client.post(
        f"/owners/{owner_id}/pets",
        json=NEW_PET | {"born_on": tomorrow.isoformat()},
        headers=admin.headers,
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["born_on"]


def test_an_unknown_pet_is_a_404(client: FlaskClient, alice: Caller) -> None:
    assert client.get("/pets/424242", headers=alice.headers).status_code == 404


def test_staff_remove_a_pet_and_its_appointments_go_out_of_sight(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    owner_id, pet_id, vet_id = pet_and_vet(app_db)
    with app_db.session_scope() as session:
        make_appointment(session, session.get_one(Pet, pet_id), session.get_one(Vet, vet_id))
    url = f"/owners/{owner_id}/pets/{pet_id}"
    read_at = admin.headers | {"If-Match": f'"{pet_id}.1"'}

    [(visit, *_)] = appointments(app_db)

    assert client.delete(url, headers=read_at).status_code == 204
    assert client.delete(url, headers=read_at).status_code == 404
    assert client.get(f"/appointments/{visit}", headers=admin.headers).status_code == 404
    assert pet_ids(app_db) == []


def test_removing_another_owners_pet_is_a_404_and_keeps_it(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    _, pet_id, _ = pet_and_vet(app_db)
    other_owner, _, _ = pet_and_vet(app_db)

    any_version = admin.headers | {"If-Match": "*"}
    response = client.delete(f"/owners/{other_owner}/pets/{pet_id}", headers=any_version)

    assert response.status_code == 404
    assert pet_id in pet_ids(app_db)


def test_staff_transfer_a_pet_to_a_new_owner(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    old_owner, pet_id, _ = pet_and_vet(app_db)
    new_owner, _, _ = pet_and_vet(app_db)

    response = client.post(
        f"/pets/{pet_id}/transfer",
        json={"old_owner_id": old_owner, "new_owner_id": new_owner},
        headers=admin.headers,
    )

    assert response.status_code == 200
    assert response.get_json()["owner_id"] == new_owner == owner_of(app_db, pet_id)


def test_a_transfer_from_someone_not_the_owner_is_a_409(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    owner, pet_id, _ = pet_and_vet(app_db)
    stranger, _, _ = pet_and_vet(app_db)

    response = client.post(
        f"/pets/{pet_id}/transfer",
        json={"old_owner_id": stranger, "new_owner_id": owner},
        headers=admin.headers,
    )

    assert response.status_code == 409
    assert response.get_json()["type"] == "/problems/not_the_owner"
    assert owner_of(app_db, pet_id) == owner


@pytest.mark.parametrize("missing", ["pet", "old_owner_id", "new_owner_id"])
def test_a_transfer_naming_an_unknown_pet_or_owner_is_a_404(
    client: FlaskClient, app_db: Database, admin: Caller, missing: str
) -> None:
    owner, pet_id, _ = pet_and_vet(app_db)
    other, _, _ = pet_and_vet(app_db)
    body = {"old_owner_id": owner, "new_owner_id": other}
    if missing != "pet":
        body[missing] = 424242

    url = f"/pets/{424242 if missing == 'pet' else pet_id}/transfer"
    response = client.post(url, json=body, headers=admin.headers)

    assert response.status_code == 404
    assert owner_of(app_db, pet_id) == owner


def test_a_transfer_to_the_same_owner_is_a_422_naming_the_new_owner(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    owner, pet_id, _ = pet_and_vet(app_db)

    response = client.post(
        f"/pets/{pet_id}/transfer",
        json={"old_owner_id": owner, "new_owner_id": owner},
        headers=admin.headers,
    )

    assert response.status_code == 422
    assert response.get_json()["field"] == "new_owner_id"


# --- vets ---------------------------------------------------------------------------------------


def test_staff_add_a_vet(client: FlaskClient, admin: Caller, alice: Caller) -> None:
    response = client.post("/vets", json=NEW_VET, headers=admin.headers)

    assert response.status_code == 201
    vet = response.get_json()
    assert response.headers["Location"] == f"/vets/{vet['id']}"
    assert client.get(response.headers["Location"], headers=alice.headers).get_json() == vet


def test_an_unknown_vet_is_a_404(client: FlaskClient, alice: Caller) -> None:
    assert client.get("/vets/424242", headers=alice.headers).status_code == 404


def test_vets_are_listed_a_page_at_a_time(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    with app_db.session_scope() as session:
        for name in ("Dr C", "Dr A", "Dr B"):
            make_vet(session, name=name)

    page = client.get("/vets?per_page=2&page=2", headers=alice.headers).get_json()

    assert [v["name"] for v in page["items"]] == ["Dr C"]
    assert (page["total"], page["links"]["prev"]) == (3, "/vets?per_page=2&page=1")


def test_the_vet_list_costs_the_same_statements_for_1_vet_and_for_50(
    client: FlaskClient, app_db: Database, alice: Caller
) -> None:
    with app_db.session_scope() as session:
        make_vet(session)
    one = client.get("/vets?per_page=100", headers=alice.headers)
    with app_db.session_scope() as session:
        session.add_all(Vet(name=f"Dr {n}") for n in range(49))

    fifty = client.get("/vets?per_page=100", headers=alice.headers)

    assert len(fifty.get_json()["items"]) == 50
    assert queries(one) == queries(fifty) <= 2


def test_staff_delete_a_vet_without_appointments(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        vet_id = make_vet(session).id

    read_at = admin.headers | {"If-Match": f'"{vet_id}.1"'}
    assert client.delete(f"/vets/{vet_id}", headers=read_at).status_code == 204
    assert client.delete(f"/vets/{vet_id}", headers=read_at).status_code == 404
    assert vet_ids(app_db) == []


@pytest.mark.parametrize("status", list(AppointmentStatus))
def test_a_vet_with_appointments_is_kept_with_a_409(
    client: FlaskClient, app_db: Database, admin: Caller, status: AppointmentStatus
) -> None:
    scheduled(app_db, status)
    [vet_id] = vet_ids(app_db)

    response = client.delete(f"/vets/{vet_id}", headers=admin.headers | {"If-Match": "*"})

    assert response.status_code == 409
    assert response.get_json()["type"] == "/problems/vet_has_appointments"
    assert vet_ids(app_db) == [vet_id]


def test_a_vets_schedule_lists_the_day_in_time_order_with_names(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        vet, other_vet = make_vet(session), make_vet(session)
        rex = make_pet(session, make_owner(session, name="Ada"), name="Rex")
        make_appointment(session, rex, vet, next_week(11))
        make_appointment(session, rex, vet, next_week(9))
        make_appointment(session, rex, vet, next_week(10), status=AppointmentStatus.CANCELLED)
        make_appointment(session, rex, other_vet, next_week(12))
        make_appointment(session, rex, vet, next_week(9) + dt.timedelta(days=1))
    day = next_week().date()

    shown = client.get(f"/vets/{vet.id}/schedule?day={day}", headers=admin.headers)
    everything = client.get(
        f"/vets/{vet.id}/schedule?day={day}&include_cancelled=true", headers=admin.headers
    )

    assert shown.status_code == 200
    schedule = shown.get_json()
    assert (schedule["vet_id"], schedule["day"]) == (vet.id, day.isoformat())
    assert [(e["pet_name"], e["owner_name"]) for e in schedule["items"]] == [("Rex", "Ada")] * 2
    assert [e["scheduled_at"][11:16] for e in schedule["items"]] == ["09:00", "11:00"]
    assert [e["status"] for e in everything.get_json()["items"]] == [
        "scheduled",
        "cancelled",
        "scheduled",
    ]


@pytest.mark.parametrize(
    "query", ["", "?day=14-05-2031", "?day=9999-12-31", "?day=0999-12-31", "?day=2031-05-14&hour=9"]
)
def test_a_schedule_without_a_valid_day_is_a_422(
    client: FlaskClient, app_db: Database, alice: Caller, query: str
) -> None:
    with app_db.session_scope() as session:
        vet_id = make_vet(session).id

    response = client.get(f"/vets/{vet_id}/schedule{query}", headers=alice.headers)

    assert response.status_code == 422


def test_the_schedule_of_an_unknown_vet_is_a_404(client: FlaskClient, alice: Caller) -> None:
    response = client.get("/vets/424242/schedule?day=2031-05-14", headers=alice.headers)

    assert response.status_code == 404


def test_a_schedule_costs_the_same_statements_for_1_appointment_and_for_50(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        quiet, busy = make_vet(session), make_vet(session)
        make_household(session, [quiet], pets=1, appointments_each=1)
        make_household(session, [busy], pets=50, appointments_each=1)
    day = next_week().date()

    one = client.get(f"/vets/{quiet.id}/schedule?day={day}", headers=admin.headers)
    fifty = client.get(f"/vets/{busy.id}/schedule?day={day}", headers=admin.headers)

    assert len(fifty.get_json()["items"]) == 50
    assert queries(one) == queries(fifty) <= 3


# --- appointments -------------------------------------------------------------------------------


def test_staff_book_an_appointment(client: FlaskClient, app_db: Database, admin: Caller) -> None:
    _, pet_id, vet_id = pet_and_vet(app_db)
    local = next_week(12, 30).astimezone(dt.timezone(dt.timedelta(hours=2)))

    response = client.post(
        "/appointments", json=booking(pet_id, vet_id, when(local)), headers=admin.headers
    )

    assert response.status_code == 201
    appointment = response.get_json()
    assert response.headers["Location"] == f"/appointments/{appointment['id']}"
    assert (appointment["status"], appointment["scheduled_at"]) == (
        "scheduled",
        when(next_week(12, 30)).replace("+00:00", "Z"),
    )
    assert client.get(response.headers["Location"], headers=admin.headers).get_json() == appointment


def test_booking_a_taken_slot_is_a_409_naming_the_time(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    _, pet_id, vet_id = pet_and_vet(app_db)
    body = booking(pet_id, vet_id, when(next_week(9)))
    client.post("/appointments", json=body, headers=admin.headers)

    response = client.post("/appointments", json=body, headers=admin.headers)

    assert response.status_code == 409
    problem = response.get_json()
    assert (problem["type"], problem["field"]) == ("/problems/slot_taken", "scheduled_at")
    assert len(appointments(app_db)) == 1


@pytest.mark.parametrize(
    "at",
    [
        when(next_week(9)).removesuffix("+00:00"),  # naive: whose 09:00?
        when(next_week(9, 0) + dt.timedelta(seconds=30)),  # not a whole minute
        when(dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(days=1)),
        "next tuesday",
    ],
    ids=["naive", "seconds", "past", "garbage"],
)
def test_a_bad_appointment_time_is_a_422_naming_scheduled_at(
    client: FlaskClient, app_db: Database, admin: Caller, at: str
) -> None:
    _, pet_id, vet_id = pet_and_vet(app_db)

    response = client.post("/appointments", json=booking(pet_id, vet_id, at), headers=admin.headers)

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["scheduled_at"]
    assert appointments(app_db) == []


@pytest.mark.parametrize("missing", ["pet_id", "vet_id"])
def test_booking_an_unknown_pet_or_vet_is_a_404(
    client: FlaskClient, app_db: Database, admin: Caller, missing: str
) -> None:
    _, pet_id, vet_id = pet_and_vet(app_db)
    body = booking(pet_id, vet_id, when(next_week())) | {missing: 424242}

    response = client.post("/appointments", json=body, headers=admin.headers)

    assert response.status_code == 404
    assert appointments(app_db) == []


def test_a_booking_may_not_set_its_status(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    _, pet_id, vet_id = pet_and_vet(app_db)
    body = booking(pet_id, vet_id, when(next_week()), status="completed")

    response = client.post("/appointments", json=body, headers=admin.headers)

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["status"]


def test_an_unknown_appointment_is_a_404(client: FlaskClient, alice: Caller) -> None:
    assert client.get("/appointments/424242", headers=alice.headers).status_code == 404


@pytest.mark.parametrize(("action", "status"), [("cancel", "cancelled"), ("complete", "completed")])
def test_staff_cancel_or_complete_a_scheduled_appointment(
    client: FlaskClient, app_db: Database, admin: Caller, action: str, status: str
) -> None:
    appointment_id = scheduled(app_db)

    response = client.post(f"/appointments/{appointment_id}/{action}", headers=admin.headers)

    assert response.status_code == 200
    assert response.get_json()["status"] == status
    assert [row[3] for row in appointments(app_db)] == [status]


@pytest.mark.parametrize("action", ["cancel", "complete"])
@pytest.mark.parametrize("status", [AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED])
def test_only_a_scheduled_appointment_is_cancelled_or_completed(
    client: FlaskClient, app_db: Database, admin: Caller, action: str, status: AppointmentStatus
) -> None:
    appointment_id = scheduled(app_db, status)

    response = client.post(f"/appointments/{appointment_id}/{action}", headers=admin.headers)

    assert response.status_code == 409
    assert response.get_json()["type"] == "/problems/invalid_transition"
    assert [row[3] for row in appointments(app_db)] == [status.value]


@pytest.mark.parametrize("action", ["cancel", "complete"])
def test_a_transition_of_an_unknown_appointment_is_a_404(
    client: FlaskClient, admin: Caller, action: str
) -> None:
    response = client.post(f"/appointments/424242/{action}", headers=admin.headers)

    assert response.status_code == 404


def test_a_cancelled_slot_can_be_booked_again(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    _, pet_id, vet_id = pet_and_vet(app_db)
    body = booking(pet_id, vet_id, when(next_week(9)))
    first = client.post("/appointments", json=body, headers=admin.headers).get_json()
    client.post(f"/appointments/{first['id']}/cancel", headers=admin.headers)

    response = client.post("/appointments", json=body, headers=admin.headers)

    assert response.status_code == 201

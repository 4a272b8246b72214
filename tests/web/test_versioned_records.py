"""Owners, pets, appointments, posts and courses under the preconditions products and vets have.

One set of tests, run for each record: its GET carries the ``ETag``
``"<id>.<version>"`` (``"<id>.<version>.<digest>"`` where the answer holds
more than the record: an owner's detail, a post) and answers 304 to an
``If-None-Match`` naming it; its
PATCH (and DELETE, where it has one) is 428 without ``If-Match``, 412 with a
version that is no longer current (carrying the current ``ETag``), and
changes only the fields sent; a bad value is a 422 naming the field. Who may
write is as before: staff for the clinic's and the school's records, the
author for a post (tests/web/test_authorization.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.clinic.models import Appointment, Owner, Pet
from alchemy_patterns.domains.school.models import Course
from alchemy_patterns.domains.social.models import Post
from tests.clinic.builders import make_appointment, make_owner, make_pet, make_vet
from tests.school.builders import make_course
from tests.social.builders import make_post
from tests.web.conftest import Caller

PROBLEM = "application/problem+json"


def a_pet(session: Session, author: User) -> dict[str, int]:
    pet = make_pet(session, make_owner(session))
    return {"id": pet.id, "owner_id": pet.owner_id}


def an_appointment(session: Session, author: User) -> dict[str, int]:
    pet = make_pet(session, make_owner(session))
    return {"id": make_appointment(session, pet, make_vet(session), reason="vaccination").id}


@dataclass(frozen=True)
class Kind:
    """A kind of versioned record, and how its tests build, edit and read one."""

    name: str
    model: type[Any]
    path: str
    #: The DELETE's path (None: the record has no DELETE).
    delete_path: str | None
    #: Builds one record (a post by ``author``): its ids ("id" and those its paths name).
    build: Callable[[Session, User], dict[str, int]]
    #: A field the PATCH changes, and two values for it (the first differs from the stored one).
    field: str
    values: tuple[Any, Any]
    #: A PATCH body refused with a 422 naming its one field.
    invalid: dict[str, Any]
    #: Written by its author (posts) rather than by staff.
    by_author: bool = False
    #: Its GET answers more than the record: the tag adds a digest of the body.
    whole: bool = False


KINDS = [
    Kind(
        "owner",
        Owner,
        "/owners/{id}",
        "/owners/{id}",
        lambda session, author: {"id": make_owner(session, name="Ada").id},
        "name",
        ("Ada Lovelace", "Ada King"),
        {"email": "not an address"},
        whole=True,
    ),
    Kind(
        "pet",
        Pet,
        "/pets/{id}",
        "/owners/{owner_id}/pets/{id}",
        a_pet,
        "species",
        ("dog", "rabbit"),
        {"born_on": (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()},
    ),
    Kind(
        "appointment",
        Appointment,
        "/appointments/{id}",
        None,
        an_appointment,
        "reason",
        ("check-up", "limping"),
        {"reason": "x" * 201},
    ),
    Kind(
        "post",
        Post,
        "/posts/{id}",
        "/posts/{id}",
        lambda session, author: {"id": make_post(session, author, body="First").id},
        "body",
        ("Edited once", "Edited twice"),
        {"body": ""},
        by_author=True,
        whole=True,
    ),
    Kind(
        "course",
        Course,
        "/courses/{id}",
        "/courses/{id}",
        lambda session, author: {"id": make_course(session, title="Algebra").id},
        "title",
        ("Linear algebra", "Abstract algebra"),
        {"credits": 0},
    ),
]


@dataclass
class Record:
    """One record of a kind in the test's database, and the caller who may write it."""

    kind: Kind
    ids: dict[str, int]
    editor: dict[str, str]
    db: Database

    @property
    def id(self) -> int:
        return self.ids["id"]

    @property
    def path(self) -> str:
        return self.kind.path.format(**self.ids)

    @property
    def delete_path(self) -> str:
        assert self.kind.delete_path is not None
        return self.kind.delete_path.format(**self.ids)

    def tag(self, version: int) -> str:
        return f'"{self.id}.{version}"'

    def read_tag(self, version: int) -> re.Pattern[str]:
        """The GET's tag at ``version``: the write's, or with a digest of the body."""
        digest = r"\.[0-9a-f]{16}" if self.kind.whole else ""
        return re.compile(rf'"{self.id}\.{version}{digest}"')

    def headers(self, **extra: str) -> dict[str, str]:
        return self.editor | {name.replace("_", "-"): value for name, value in extra.items()}

    def stored(self) -> tuple[Any, int] | None:
        """The edited field's stored value and the version, or None once deleted."""
        with self.db.session_scope() as session:
            row = session.get(self.kind.model, self.id)
            return None if row is None else (getattr(row, self.kind.field), row.version)


@pytest.fixture(params=KINDS, ids=lambda kind: kind.name)
def record(
    request: pytest.FixtureRequest, app_db: Database, admin: Caller, alice: Caller
) -> Record:
    kind: Kind = request.param
    with app_db.session_scope() as session:
        ids = kind.build(session, session.get_one(User, alice.id))
    return Record(kind, ids, (alice if kind.by_author else admin).headers, app_db)


#: The kinds with a DELETE (an appointment is cancelled, not deleted).
DELETABLE = [kind for kind in KINDS if kind.delete_path is not None]


# --- reads ---------------------------------------------------------------------------------------


def test_a_read_carries_the_etag_of_the_id_and_version(client: FlaskClient, record: Record) -> None:
    response = client.get(record.path, headers=record.editor)

    assert response.status_code == 200
    assert record.read_tag(1).fullmatch(response.headers["ETag"])
    assert response.json is not None
    assert (response.json["id"], response.json["version"]) == (record.id, 1)


def test_a_read_naming_the_current_etag_is_304_without_a_body(
    client: FlaskClient, record: Record
) -> None:
    read = client.get(record.path, headers=record.editor).headers["ETag"]
    same = client.get(record.path, headers=record.headers(If_None_Match=read))
    other = client.get(record.path, headers=record.headers(If_None_Match=record.tag(9)))

    assert (same.status_code, same.data, same.headers["ETag"]) == (304, b"", read)
    assert other.status_code == 200


# --- PATCH ---------------------------------------------------------------------------------------


def test_a_patch_without_if_match_is_428_and_changes_nothing(
    client: FlaskClient, record: Record
) -> None:
    before = record.stored()

    response = client.patch(
        record.path, json={record.kind.field: record.kind.values[0]}, headers=record.editor
    )

    assert response.status_code == 428
    assert response.mimetype == PROBLEM
    assert response.json is not None
    assert response.json["type"] == "/problems/precondition_required"
    assert record.stored() == before


def test_a_patch_with_a_stale_etag_is_412_with_the_current_etag(
    client: FlaskClient, record: Record
) -> None:
    read = client.get(record.path, headers=record.editor).headers["ETag"]
    first, second = (
        client.patch(
            record.path, json={record.kind.field: value}, headers=record.headers(If_Match=read)
        )
        for value in record.kind.values
    )

    assert (first.status_code, first.headers["ETag"]) == (200, record.tag(2))
    assert first.json is not None
    assert first.json[record.kind.field] == record.kind.values[0]
    assert (second.status_code, second.mimetype) == (412, PROBLEM)
    assert second.json is not None
    assert second.json["type"] == "/problems/stale_version"
    assert second.headers["ETag"] == record.tag(2)
    assert record.stored() == (record.kind.values[0], 2)
    after = client.get(record.path, headers=record.headers(If_None_Match=read))
    assert after.status_code == 200
    assert record.read_tag(2).fullmatch(after.headers["ETag"])


def test_a_patch_with_a_bad_value_is_422_naming_the_field(
    client: FlaskClient, record: Record
) -> None:
    before = record.stored()
    current = record.headers(If_Match=record.tag(1))

    invalid = client.patch(record.path, json=record.kind.invalid, headers=current)
    unknown = client.patch(record.path, json={"colour": "blue"}, headers=current)

    assert invalid.status_code == unknown.status_code == 422
    assert invalid.json is not None
    assert unknown.json is not None
    assert [e["field"] for e in invalid.json["errors"]] == list(record.kind.invalid)
    assert [e["field"] for e in unknown.json["errors"]] == ["colour"]
    assert record.stored() == before


# --- DELETE --------------------------------------------------------------------------------------


@pytest.mark.parametrize("record", DELETABLE, ids=lambda kind: kind.name, indirect=True)
def test_a_delete_needs_the_current_version(client: FlaskClient, record: Record) -> None:
    edit = {record.kind.field: record.kind.values[0]}
    client.patch(record.path, json=edit, headers=record.headers(If_Match=record.tag(1)))

    missing = client.delete(record.delete_path, headers=record.editor)
    stale = client.delete(record.delete_path, headers=record.headers(If_Match=record.tag(1)))
    kept = record.stored()
    deleted = client.delete(record.delete_path, headers=record.headers(If_Match=record.tag(2)))

    assert missing.status_code == 428
    assert (stale.status_code, stale.headers["ETag"]) == (412, record.tag(2))
    assert kept == (record.kind.values[0], 2)
    assert deleted.status_code == 204
    assert record.stored() is None


# --- what a PATCH changes ------------------------------------------------------------------------


def test_an_owner_patch_changes_only_what_it_sends_and_null_clears_only_optional_fields(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        owner_id = make_owner(session, name="Ada", phone="+44 1", email="ada@example.com").id
    current = admin.headers | {"If-Match": f'"{owner_id}.1"'}

    response = client.patch(
        f"/owners/{owner_id}", json={"name": None, "phone": None}, headers=current
    )

    assert response.status_code == 200
    assert response.json is not None
    shown = {key: response.json[key] for key in ("name", "email", "phone", "version")}
    assert shown == {"name": "Ada", "email": "ada@example.com", "phone": None, "version": 2}


@pytest.mark.parametrize(
    ("path", "field", "taken"),
    [("/owners/{}", "email", "TAKEN@example.com"), ("/courses/{}", "code", "taken1")],
    ids=["owner e-mail", "course code"],
)
def test_a_patch_to_a_value_another_record_holds_is_409_naming_the_field(
    client: FlaskClient, app_db: Database, admin: Caller, path: str, field: str, taken: str
) -> None:
    with app_db.session_scope() as session:
        if field == "email":
            make_owner(session, email="taken@example.com")
            record_id = make_owner(session).id
        else:
            make_course(session, code="TAKEN1")
            record_id = make_course(session).id
    current = admin.headers | {"If-Match": f'"{record_id}.1"'}

    response = client.patch(path.format(record_id), json={field: taken}, headers=current)
    retried = client.get(path.format(record_id), headers=admin.headers)

    assert response.status_code == 409
    assert response.json is not None
    assert response.json["field"] == field
    assert retried.json is not None
    assert retried.json["version"] == 1


# --- composite answers: the tag covers the body --------------------------------------------------


def test_an_owner_read_is_not_304_once_a_pet_is_added_and_a_patch_takes_its_tag(
    client: FlaskClient, app_db: Database, admin: Caller
) -> None:
    with app_db.session_scope() as session:
        owner_id = make_owner(session, name="Ada").id
    path = f"/owners/{owner_id}"
    first = client.get(path, headers=admin.headers).headers["ETag"]
    unchanged = client.get(path, headers=admin.headers | {"If-None-Match": first})

    added = client.post(
        f"{path}/pets", json={"name": "Rex", "species": "dog"}, headers=admin.headers
    )
    changed = client.get(path, headers=admin.headers | {"If-None-Match": first})
    second = changed.headers["ETag"]
    again = client.get(path, headers=admin.headers | {"If-None-Match": second})
    patched = client.patch(
        path, json={"name": "Ada K"}, headers=admin.headers | {"If-Match": second}
    )
    stale = client.patch(path, json={"name": "Ada L"}, headers=admin.headers | {"If-Match": second})

    assert unchanged.status_code == 304
    assert added.status_code == 201
    assert changed.status_code == 200
    assert changed.json is not None
    assert [pet["name"] for pet in changed.json["pets"]] == ["Rex"]
    assert changed.json["version"] == 1  # the owner's record did not change: its pets did
    assert second != first
    assert second.startswith(f'"{owner_id}.1.')
    assert (again.status_code, again.headers["ETag"]) == (304, second)
    assert (patched.status_code, patched.headers["ETag"]) == (200, f'"{owner_id}.2"')
    assert (stale.status_code, stale.headers["ETag"]) == (412, f'"{owner_id}.2"')


def test_a_post_read_is_not_304_once_it_is_liked_and_the_tag_is_the_callers(
    client: FlaskClient, app_db: Database, alice: Caller, bob: Caller
) -> None:
    with app_db.session_scope() as session:
        post_id = make_post(session, session.get_one(User, alice.id), body="First").id
    path = f"/posts/{post_id}"
    first = client.get(path, headers=alice.headers).headers["ETag"]

    liked = client.put(f"{path}/like", headers=bob.headers)
    alices = client.get(path, headers=alice.headers | {"If-None-Match": first})
    bobs = client.get(path, headers=bob.headers | {"If-None-Match": alices.headers["ETag"]})

    assert liked.status_code == 200
    assert alices.status_code == 200
    assert alices.json is not None
    assert (alices.json["version"], alices.json["like_count"]) == (1, 1)
    assert alices.headers["ETag"] != first
    # Bob likes it, Alice does not: the same post and version, two representations.
    assert bobs.status_code == 200
    assert bobs.headers["ETag"] != alices.headers["ETag"]

"""Owners' and pets' history over HTTP: ``/history``, ``?as_of=``, ``/revert`` (staff, If-Match).

One set of tests for both kinds of record. Who may read a record's history is
who may read the record (staff, the owner's own account); a deleted record's
history and revert are 404 until it is restored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from alchemy_patterns.db import Database
from tests.clinic.builders import make_owner, make_pet
from tests.web.conftest import Caller


@dataclass(frozen=True)
class Record:
    """An owner or a pet named "Ada", of an owner linked to Alice's account."""

    path: str
    delete_path: str
    id: int

    def tag(self, version: int) -> str:
        return f'"{self.id}.{version}"'


@pytest.fixture(params=["owner", "pet"])
def record(request: pytest.FixtureRequest, app_db: Database, alice: Caller) -> Record:
    with app_db.session_scope() as session:
        owner = make_owner(session, name="Ada", user_id=alice.id)
        pet = make_pet(session, owner, name="Ada")
    if request.param == "owner":
        return Record(f"/owners/{owner.id}", f"/owners/{owner.id}", owner.id)
    return Record(f"/pets/{pet.id}", f"/owners/{owner.id}/pets/{pet.id}", pet.id)


def body(response: TestResponse) -> Any:
    """The JSON body (a failing test if there is none)."""
    assert response.json is not None, response.get_data(as_text=True)
    return response.json


def rename(client: FlaskClient, admin: Caller, record: Record, name: str, version: int) -> None:
    headers = admin.headers | {"If-Match": record.tag(version)}
    assert client.patch(record.path, json={"name": name}, headers=headers).status_code == 200


def test_history_is_paged_newest_first_for_staff_and_the_owners_account(
    client: FlaskClient, admin: Caller, alice: Caller, bob: Caller, record: Record
) -> None:
    rename(client, admin, record, "Ada Lovelace", 1)
    rename(client, admin, record, "Ada King", 2)

    first = client.get(f"{record.path}/history?per_page=1", headers=admin.headers)
    second = client.get(f"{record.path}/history?per_page=1&page=2", headers=alice.headers)
    strangers = client.get(f"{record.path}/history", headers=bob.headers)
    anonymous = client.get(f"{record.path}/history")

    [newest], [oldest] = body(first)["items"], body(second)["items"]
    assert (newest["version"], newest["name"], newest["changed_by"]) == (
        2,
        "Ada Lovelace",
        admin.id,
    )
    assert (oldest["version"], oldest["name"], oldest["deleted_at"]) == (1, "Ada", None)
    assert body(first)["total"] == 2
    assert (strangers.status_code, anonymous.status_code) == (404, 401)


def test_as_of_gives_the_record_as_it_was_without_an_etag(
    client: FlaskClient, admin: Caller, alice: Caller, record: Record
) -> None:
    rename(client, admin, record, "Ada Lovelace", 1)
    [replaced] = body(client.get(f"{record.path}/history", headers=admin.headers))["items"]
    replaced_at = dt.datetime.fromisoformat(replaced["changed_at"])

    def as_of(when: dt.datetime) -> TestResponse:
        query = {"as_of": when.isoformat()}
        return client.get(record.path, query_string=query, headers=alice.headers)

    then = as_of(replaced_at - dt.timedelta(microseconds=1))
    now = as_of(replaced_at)
    before = as_of(replaced_at - dt.timedelta(days=1))
    naive = client.get(
        record.path, query_string={"as_of": "2026-01-01T00:00:00"}, headers=alice.headers
    )

    assert (then.status_code, body(then)["name"], body(then)["version"]) == (200, "Ada", 1)
    assert "ETag" not in then.headers
    assert (body(now)["name"], body(now)["version"]) == ("Ada Lovelace", 2)
    assert before.status_code == 404
    assert naive.status_code == 422
    assert [error["field"] for error in body(naive)["errors"]] == ["as_of"]


def test_staff_revert_with_if_match_as_a_new_version(
    client: FlaskClient, admin: Caller, alice: Caller, record: Record
) -> None:
    rename(client, admin, record, "Ada Lovelace", 1)
    revert = f"{record.path}/revert"

    missing = client.post(revert, json={"version": 1}, headers=admin.headers)
    stale = client.post(
        revert, json={"version": 1}, headers=admin.headers | {"If-Match": record.tag(1)}
    )
    forbidden = client.post(revert, json={"version": 1}, headers=alice.headers | {"If-Match": "*"})
    never = client.post(revert, json={"version": 9}, headers=admin.headers | {"If-Match": "*"})
    reverted = client.post(
        revert, json={"version": 1}, headers=admin.headers | {"If-Match": record.tag(2)}
    )

    assert missing.status_code == 428
    assert (stale.status_code, stale.headers["ETag"]) == (412, record.tag(2))
    assert forbidden.status_code == 403
    assert never.status_code == 404
    assert (reverted.status_code, reverted.headers["ETag"]) == (200, record.tag(3))
    assert (body(reverted)["name"], body(reverted)["version"]) == ("Ada", 3)
    history = body(client.get(f"{record.path}/history", headers=admin.headers))
    assert [item["version"] for item in history["items"]] == [2, 1]


def test_a_deleted_records_history_as_of_and_revert_are_404(
    client: FlaskClient, admin: Caller, record: Record
) -> None:
    assert (
        client.delete(record.delete_path, headers=admin.headers | {"If-Match": "*"}).status_code
        == 204
    )

    history = client.get(f"{record.path}/history", headers=admin.headers)
    revert = client.post(
        f"{record.path}/revert", json={"version": 1}, headers=admin.headers | {"If-Match": "*"}
    )
    now = client.get(
        record.path,
        query_string={"as_of": dt.datetime.now(dt.UTC).isoformat()},
        headers=admin.headers,
    )

    assert (history.status_code, revert.status_code, now.status_code) == (404, 404, 404)

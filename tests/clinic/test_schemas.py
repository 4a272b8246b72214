"""What a client may send to the clinic: allow-listed fields, lower-case addresses, aware times."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from alchemy_patterns.domains.clinic.schemas import AppointmentIn, OwnerIn, PetIn, VetIn

PLUS_TWO = dt.timezone(dt.timedelta(hours=2))


def appointment_in(**overrides: Any) -> AppointmentIn:
    values: dict[str, Any] = {
        "pet_id": 1,
        "vet_id": 2,
        "scheduled_at": dt.datetime(2031, 5, 14, 10, 30, tzinfo=dt.UTC),
    }
    return AppointmentIn(**(values | overrides))


def error_kinds(failure: pytest.ExceptionInfo[ValidationError]) -> list[tuple[Any, str]]:
    return [(error["loc"], error["type"]) for error in failure.value.errors()]


def test_owner_in_stores_the_email_address_in_lower_case() -> None:
    data = OwnerIn(name="Ada", email="Ada.Lovelace@Example.COM")

    assert data.email == "ada.lovelace@example.com"


def test_owner_in_refuses_an_address_that_is_not_one() -> None:
    with pytest.raises(ValidationError) as failure:
        OwnerIn(name="Ada", email="ada at example.com")

    assert [loc for loc, _ in error_kinds(failure)] == [("email",)]


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (OwnerIn, {"name": "Ada", "email": "ada@example.com", "id": 7}),
        (PetIn, {"name": "Rex", "species": "dog", "owner_id": 7}),
        (VetIn, {"name": "Dr Who", "appointments": []}),
    ],
)
def test_input_models_refuse_fields_they_do_not_know(model: Any, values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as failure:
        model(**values)

    assert [kind for _, kind in error_kinds(failure)] == ["extra_forbidden"]


def test_appointment_in_refuses_a_status_set_by_the_client() -> None:
    with pytest.raises(ValidationError) as failure:
        appointment_in(status="completed")

    assert error_kinds(failure) == [(("status",), "extra_forbidden")]


def test_appointment_in_refuses_a_naive_time_naming_the_field() -> None:
    with pytest.raises(ValidationError) as failure:
        appointment_in(scheduled_at=dt.datetime(2031, 5, 14, 10, 30))

    assert error_kinds(failure) == [(("scheduled_at",), "timezone_aware")]
    assert "timezone" in failure.value.errors()[0]["msg"]


def test_appointment_in_refuses_a_naive_time_given_as_text() -> None:
    with pytest.raises(ValidationError) as failure:
        appointment_in(scheduled_at="2031-05-14T10:30:00")

    assert error_kinds(failure) == [(("scheduled_at",), "timezone_aware")]


def test_appointment_in_converts_the_time_to_utc() -> None:
    data = appointment_in(scheduled_at=dt.datetime(2031, 5, 14, 12, 30, tzinfo=PLUS_TWO))

    assert data.scheduled_at == dt.datetime(2031, 5, 14, 10, 30, tzinfo=dt.UTC)
    assert data.scheduled_at.utcoffset() == dt.timedelta(0)
    assert data.scheduled_at.tzinfo is dt.UTC


@pytest.mark.parametrize("extra", [dt.timedelta(seconds=30), dt.timedelta(microseconds=1)])
def test_appointment_in_refuses_a_time_that_is_not_a_whole_minute(extra: dt.timedelta) -> None:
    with pytest.raises(ValidationError) as failure:
        appointment_in(scheduled_at=dt.datetime(2031, 5, 14, 10, 30, tzinfo=dt.UTC) + extra)

    assert error_kinds(failure) == [(("scheduled_at",), "value_error")]
    assert "whole minute" in failure.value.errors()[0]["msg"]


def test_appointment_in_refuses_ids_below_one() -> None:
    with pytest.raises(ValidationError) as failure:
        appointment_in(pet_id=0, vet_id=-1)

    assert [loc for loc, _ in error_kinds(failure)] == [("pet_id",), ("vet_id",)]


def test_appointment_in_refuses_ids_no_integer_column_holds() -> None:
    with pytest.raises(ValidationError) as failure:
        appointment_in(pet_id=2**31, vet_id=10**30)

    assert [loc for loc, _ in error_kinds(failure)] == [("pet_id",), ("vet_id",)]


def test_pet_in_refuses_a_birthday_in_the_future() -> None:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)

    with pytest.raises(ValidationError) as failure:
        PetIn(name="Rex", species="dog", born_on=tomorrow)

    assert [loc for loc, _ in error_kinds(failure)] == [("born_on",)]


def test_pet_in_strips_whitespace_and_refuses_an_empty_name() -> None:
    assert PetIn(name="  Rex ", species="dog").name == "Rex"
    with pytest.raises(ValidationError) as failure:
        PetIn(name="   ", species="dog")

    assert error_kinds(failure) == [(("name",), "string_too_short")]

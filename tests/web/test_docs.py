"""The OpenAPI document, and a docs page that works with no network at all."""

from __future__ import annotations

import enum
import re
from typing import Any
from urllib.parse import urljoin

import pytest
from flask.testing import FlaskClient
from pydantic import BaseModel

from alchemy_patterns.domains.school.models import Grade
from alchemy_patterns.web.app import Api
from alchemy_patterns.web.enum_names import enum_varnames, objects_in, varname


def test_the_openapi_document_is_3_1_and_lists_the_operations(client: FlaskClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert {"/auth/register", "/auth/login", "/me", "/healthz", "/readyz"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_problems_are_documented_as_problem_json(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()

    conflict = document["paths"]["/auth/register"]["post"]["responses"]["409"]
    assert "application/problem+json" in conflict["content"]


def test_the_docs_page_and_every_asset_it_references_come_from_the_app(
    client: FlaskClient,
) -> None:
    page = client.get("/docs", follow_redirects=True)
    assert page.status_code == 200
    page_url = page.request.path

    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets, "the page references no assets"
    for asset in assets:
        assert "//" not in asset, f"{asset} is not served by the app"
        with client.get(urljoin(page_url, asset)) as fetched:  # closes the file it streams
            assert fetched.status_code == 200, asset
            assert len(fetched.data) > 0, asset
    spec_url = re.search(r'new URL\("([^"]+)"', page.text)
    assert spec_url is not None
    assert client.get(urljoin(page_url, spec_url.group(1))).status_code == 200


# --- enum names for client generators --------------------------------------------------------


def enums_of_values_that_are_no_identifiers(document: Any) -> list[dict[str, Any]]:
    return [
        schema
        for schema in objects_in(document)
        if isinstance(schema.get("enum"), list)
        and not all(str(value).isidentifier() for value in schema["enum"])
    ]


def test_every_enum_of_values_that_are_no_identifiers_names_each_value_once(
    client: FlaskClient,
) -> None:
    document = client.get("/openapi.json").get_json()

    enums = enums_of_values_that_are_no_identifiers(document)

    assert enums, "no such enum: Grade (A-, B+) should be one"
    for schema in enums:
        names = schema.get("x-enum-varnames")
        assert names is not None, schema
        assert len(names) == len(schema["enum"]), schema
        assert len(set(names)) == len(names), schema
        assert all(name.isidentifier() for name in names), schema


def test_the_grades_are_named_as_in_python(client: FlaskClient) -> None:
    grade = client.get("/openapi.json").get_json()["components"]["schemas"]["Grade"]

    assert grade["x-enum-varnames"] == [member.name for member in Grade]


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("A-", "A_MINUS"),
        ("B+", "B_PLUS"),
        ("in progress", "IN_PROGRESS"),
        ("a.b/c", "A_B_C"),
        ("-1", "MINUS_1"),
        ("1", "VALUE_1"),
        ("", "VALUE"),
    ],
)
def test_a_value_is_named_by_the_rule(value: str, name: str) -> None:
    assert varname(value) == name


def test_values_that_would_share_a_name_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\['x l', 'x\.l'\].*X_L"):
        enum_varnames(["x l", "x.l", "x-l"])


class Size(enum.StrEnum):
    SPACED = "x l"
    DOTTED = "x.l"


class Shirt(BaseModel):
    size: Size


def test_an_app_whose_document_names_a_value_twice_does_not_build_it() -> None:
    app = Api(__name__)

    @app.post("/shirts")
    def order_shirt(body: Shirt) -> str:
        return body.size

    with pytest.raises(ValueError, match="X_L"):
        app.api_doc  # noqa: B018

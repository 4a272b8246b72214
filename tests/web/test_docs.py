"""The OpenAPI document, and a docs page that works with no network at all."""

from __future__ import annotations

import enum
import re
from typing import Any
from urllib.parse import urljoin

import pytest
from flask.testing import FlaskClient
from pydantic import BaseModel

# Imported for the application errors they define (every domain's, below).
import alchemy_patterns.domains.accounts.errors
import alchemy_patterns.domains.clinic.errors
import alchemy_patterns.domains.school.errors
import alchemy_patterns.domains.shop.errors
import alchemy_patterns.domains.social.errors  # noqa: F401
from alchemy_patterns.db.errors import AppError
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


def test_the_root_points_to_the_docs_and_the_document(client: FlaskClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    body = response.get_json()
    assert body["docs"] == "/docs"
    assert body["openapi"] == "/openapi.json"
    assert client.get(body["docs"], follow_redirects=True).status_code == 200
    assert client.get(body["openapi"]).status_code == 200


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


# --- what the document says to the people who read it -------------------------------------------


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, path_item in document["paths"].items()
        for method, operation in path_item.items()
    ]


def test_every_operation_has_a_unique_camel_case_id_a_summary_and_a_description(
    client: FlaskClient,
) -> None:
    found = operations(client.get("/openapi.json").get_json())

    ids = [operation["operationId"] for _, _, operation in found]
    assert len(set(ids)) == len(ids)
    for method, path, operation in found:
        assert re.fullmatch(r"[a-z]+(?:[A-Z0-9][a-z0-9]*)*", operation["operationId"]), path
        assert operation["summary"].strip(), (method, path)
        assert "\n" not in operation["summary"], (method, path)
        assert "**Who may call it:**" in operation["description"], (method, path)
        assert "**On error**" in operation["description"], (method, path)


def test_operation_ids_read_as_what_they_do(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]

    assert paths["/products"]["get"]["operationId"] == "listProducts"
    assert paths["/orders/{order_id}"]["get"]["operationId"] == "getOrder"
    assert paths["/checkout"]["post"]["operationId"] == "checkout"
    assert paths["/users/{user_id}/follow"]["put"]["operationId"] == "followUser"


def test_operations_without_a_token_declare_no_security_and_answer_anonymously(
    client: FlaskClient,
) -> None:
    found = operations(client.get("/openapi.json").get_json())

    public = [(m, p) for m, p, operation in found if operation["security"] == []]
    assert ("GET", "/products") in public
    assert ("POST", "/auth/login") in public
    assert ("GET", "/me") not in public
    for method, path in public:
        if method == "GET" and "{" not in path:
            assert client.get(path).status_code in (200, 503), path


def test_the_document_is_markdown_with_no_rest_backticks_or_html_breaks(
    client: FlaskClient,
) -> None:
    text = client.get("/openapi.json").get_data(as_text=True)

    assert "``" not in text
    assert "<br/>" not in text


def test_the_api_describes_itself_its_tags_servers_licence_and_contact(
    client: FlaskClient,
) -> None:
    document = client.get("/openapi.json").get_json()

    description = document["info"]["description"]
    for topic in ("Authorize", "Bearer", "problem+json", "cursor", "Idempotency-Key"):
        assert topic in description
    for topic in ("429", "Retry-After", "Consistency-Token", "demo password"):
        assert topic in description
    assert document["servers"]
    assert document["info"]["license"]["identifier"] == "MIT"
    assert document["info"]["contact"]["name"]
    assert all(tag.get("description") for tag in document["tags"])


def test_every_problem_type_the_app_raises_is_described(client: FlaskClient) -> None:
    description = client.get("/openapi.json").get_json()["info"]["description"]

    for error in application_errors(AppError):
        if "code" not in vars(error):
            continue  # a base class, never raised as such
        assert f"`/problems/{error.code}`" in description, error


def application_errors(base: type[AppError]) -> list[type[AppError]]:
    found = []
    for error in base.__subclasses__():
        found += [error, *application_errors(error)]
    return found


def test_every_integer_has_a_format(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()

    integers = [schema for schema in objects_in(document) if schema.get("type") == "integer"]

    assert integers
    assert all(schema.get("format") in ("int32", "int64") for schema in integers), integers

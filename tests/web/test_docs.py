"""The OpenAPI document, and a docs page that works with no network at all."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from flask.testing import FlaskClient


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

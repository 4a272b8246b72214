"""A client generated from /openapi.json by openapi-python-client works against ``serve``.

The generator runs once per session, with its default configuration, on the
document the app serves; the client it writes is imported from the temporary
directory and talks to a live ``serve`` over a real socket.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest

from alchemy_patterns.db import Database
from alchemy_patterns.settings import Settings
from alchemy_patterns.web import create_app
from tests.serving import serving

#: The package the generator names after the document's title, "alchemy-patterns".
PACKAGE = "alchemy_patterns_client"
GENERATE_TIMEOUT_S = 120
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Generated:
    run: subprocess.CompletedProcess[str]
    directory: Path


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """``openapi-python-client generate`` (default configuration) on the app's own document."""
    directory = tmp_path_factory.mktemp("client")
    document = create_app(Settings(), db=Database("sqlite://")).test_client().get("/openapi.json")
    (directory / "openapi.json").write_bytes(document.data)
    scripts = Path(sys.executable).parent  # the generator, and the ruff its post-hooks run
    run = subprocess.run(
        [scripts / "openapi-python-client", "generate", "--path", "openapi.json"],
        cwd=directory,
        env={**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=GENERATE_TIMEOUT_S,
        check=False,
    )
    return Generated(run, directory / "alchemy-patterns-client")


@pytest.fixture
def client_package(generated: Generated, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The generated package, importable for the test (and forgotten after it)."""
    assert generated.run.returncode == 0, generated.run.stdout + generated.run.stderr
    monkeypatch.syspath_prepend(str(generated.directory))
    yield PACKAGE
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def api(operation: str) -> ModuleType:
    """The generated module of an operation: ``"shop.checkout"`` (its tag, its id in snake_case)."""
    return module(f"api.{operation}")


def unmodelled(value: Any) -> list[str]:
    """Members of an answer that its generated model has no attribute for, however deep."""
    if isinstance(value, list):
        return [name for item in value for name in unmodelled(item)]
    if not attrs.has(type(value)):
        return []
    found = list(value.additional_properties)
    for field in attrs.fields(type(value)):
        if field.name != "additional_properties":
            found += unmodelled(getattr(value, field.name))
    return found


def test_the_generator_takes_the_document_with_its_default_configuration(
    generated: Generated,
) -> None:
    output = generated.run.stdout + generated.run.stderr

    assert generated.run.returncode == 0, output
    assert "Warning" not in output
    assert "Error" not in output
    assert (generated.directory / PACKAGE / "models" / "grade.py").is_file()


class Answers:
    """Each answer the generated client parsed, kept to check them all at the end."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def __call__(self, response: Any, status: int, model: type) -> Any:
        """The parsed answer, which must have ``status`` and be a ``model``."""
        content = response.content.decode()
        assert response.status_code == status, content
        assert isinstance(response.parsed, model), content
        self.seen.append((content, response.parsed))
        return response.parsed


def test_the_generated_client_runs_the_readme_quickstart(
    client_package: str, tmp_path: Path
) -> None:
    """The README's quickstart, step for step, through the generated client and its models."""
    client, models = module("client"), module("models")
    answer = Answers()

    with serving(tmp_path, "serve", "--demo", "--workers", "1", "--threads", "2") as server:
        base_url = f"http://127.0.0.1:{server.port}"
        with client.Client(base_url=base_url) as anonymous:
            users = {
                name: answer(
                    api("accounts.register_user").sync_detailed(
                        client=anonymous,
                        body=models.RegisterUser(
                            username=name, email=f"{name}@example.com", password=PASSWORD
                        ),
                    ),
                    201,
                    models.UserOut,
                )
                for name in ("ada", "bob")
            }
            taken = answer(
                api("accounts.register_user").sync_detailed(
                    client=anonymous,
                    body=models.RegisterUser(
                        username="ada", email="ada2@example.com", password=PASSWORD
                    ),
                ),
                409,
                models.Problem,
            )
            tokens = {
                name: answer(
                    api("accounts.login").sync_detailed(
                        client=anonymous, body=models.Credentials(login=name, password=PASSWORD)
                    ),
                    200,
                    models.TokenOut,
                ).access_token
                for name in users
            }
            first_page = answer(
                api("shop.list_products").sync_detailed(client=anonymous, per_page=3),
                200,
                models.ProductOutPage,
            )
            catalogue = answer(
                api("shop.list_products").sync_detailed(client=anonymous, per_page=100),
                200,
                models.ProductOutPage,
            )
        product = next(item for item in catalogue.items if item.stock >= 2)
        ada = client.AuthenticatedClient(base_url=base_url, token=tokens["ada"])
        bob = client.AuthenticatedClient(base_url=base_url, token=tokens["bob"])
        with ada, bob:
            line = answer(
                api("shop.add_to_cart").sync_detailed(
                    client=ada, body=models.AddToCart(product_id=product.id, quantity=2)
                ),
                200,
                models.CartItemOut,
            )
            cart = answer(api("shop.get_cart").sync_detailed(client=ada), 200, models.CartView)
            order = answer(
                api("shop.checkout").sync_detailed(client=ada, idempotency_key="ada-order-1"),
                201,
                models.OrderOut,
            )
            again = answer(
                api("shop.checkout").sync_detailed(client=ada, idempotency_key="ada-order-1"),
                200,
                models.OrderOut,
            )
            post = answer(
                api("social.create_post").sync_detailed(
                    client=bob, body=models.PostIn(body="Hello from bob")
                ),
                201,
                models.PostRecord,
            )
            follow = answer(
                api("social.follow_user").sync_detailed(users["bob"].id, client=ada),
                200,
                models.FollowState,
            )
            feed = answer(
                api("social.get_feed").sync_detailed(client=ada), 200, models.FeedItemCursorPage
            )

    assert taken.field == "username"
    assert len(first_page.items) == 3
    assert (line.product_id, line.quantity) == (product.id, 2)
    assert [item.quantity for item in cart.items] == [2]
    assert again.id == order.id  # the same key: the first order, not a second
    assert [item.quantity for item in order.items] == [2]
    assert (follow.follower_id, follow.followed_id, follow.following) == (
        users["ada"].id,
        users["bob"].id,
        True,
    )
    assert [item.id for item in feed.items] == [post.id]
    assert feed.items[0].body == "Hello from bob"
    for content, parsed in answer.seen:  # every member of every answer has its attribute
        assert unmodelled(parsed) == [], json.loads(content)

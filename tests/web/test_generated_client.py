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


def test_the_generated_client_registers_logs_in_and_lists_products(
    client_package: str, tmp_path: Path
) -> None:
    client, models = module("client"), module("models")
    register = module("api.accounts.register_user")
    login = module("api.accounts.login")
    list_products = module("api.shop.list_products")

    with serving(tmp_path, "serve", "--demo", "--workers", "1", "--threads", "2") as server:
        base_url = f"http://127.0.0.1:{server.port}"
        with client.Client(base_url=base_url) as anonymous:
            ada = models.RegisterUser(username="ada", email="ada@example.com", password=PASSWORD)
            registered = register.sync_detailed(client=anonymous, body=ada)
            token = login.sync_detailed(
                client=anonymous, body=models.Credentials(login="ada", password=PASSWORD)
            )
        with client.AuthenticatedClient(base_url=base_url, token=token.parsed.access_token) as ada:
            products = list_products.sync_detailed(client=ada, per_page=5)

    assert registered.status_code == 201, registered.content
    assert isinstance(registered.parsed, models.UserOut)
    assert registered.parsed.username == "ada"
    assert isinstance(token.parsed, models.TokenOut)
    assert token.parsed.user.id == registered.parsed.id
    assert isinstance(products.parsed, models.ProductOutPage), products.content
    assert len(products.parsed.items) == 5
    assert all(isinstance(item, models.ProductOut) for item in products.parsed.items)
    for answer in (registered, token, products):
        assert unmodelled(answer.parsed) == [], json.loads(answer.content)

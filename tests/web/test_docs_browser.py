"""``/docs`` in a real browser: Debian's ``chromium``, headless, driven by Playwright.

Swagger UI is a JavaScript page: the Flask test client sees its HTML, never
what it renders from the document. Here a live ``serve --demo`` answers over a
socket, as to a reader: the operations must render under their tags, the
Authorize dialog must take a token from ``/auth/login``, and "Try it out" on
``GET /me`` must answer 200 with it (and 401 without). Playwright launches the
system's browser (``executable_path``), so it downloads none of its own;
``.ci/run`` installs ``chromium`` where it is missing.

A test that fails keeps a screenshot and the page's HTML under
:data:`ARTIFACTS` (``ALCHEMY_PATTERNS_TEST_ARTIFACTS`` chooses another
directory); the failure names the files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.serving import Server, serving

#: Where a failing test leaves its screenshot and HTML.
ARTIFACTS = Path(
    os.environ.get("ALCHEMY_PATTERNS_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
)
#: How long the page may take to render or answer, in ms (seconds on a busy machine).
WAIT_MS = 30_000
SCREENSHOT_MS = 60_000
#: Tall enough for an operation opened near the top, with its answer (screenshots show this).
VIEWPORT = {"width": 1280, "height": 2000}
DEMO = {"login": "demo", "password": "demo password"}  # `serve --demo`'s account


def chromium() -> str:
    """The system's Chromium (Debian's ``chromium`` package), which .ci/run installs."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "no chromium on PATH: apt-get install chromium (.ci/run does)"
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(
        tmp_path_factory.mktemp("docs"), "serve", "--demo", "--workers", "1", "--threads", "4"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """``/docs`` of the live server, rendered once for the module (Swagger UI takes seconds)."""
    context = browser.new_context(base_url=f"http://127.0.0.1:{server.port}", viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    with kept_on_failure(opened, "docs-render"):
        opened.goto("/docs")
        opened.locator(".opblock-tag-section").first.wait_for()
    yield opened
    context.close()


@contextmanager
def kept_on_failure(page: Page, name: str) -> Iterator[None]:
    """Save a screenshot and the HTML of ``page`` if the block fails, and name them in the error.

    A block, not a fixture: pytest does not throw a test's failure into its fixtures.
    """
    try:
        yield
    except Exception as error:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot = ARTIFACTS / f"{name}.png"
        try:  # a page still busy rendering may not give one: the failure is the news, not this
            page.screenshot(path=screenshot, timeout=SCREENSHOT_MS)
            (ARTIFACTS / f"{name}.html").write_text(page.content())
            error.add_note(f"screenshot: {screenshot} (and the page's HTML beside it)")
        except PlaywrightError as failed:
            error.add_note(f"no screenshot in {ARTIFACTS}: {failed.message.splitlines()[0]}")
        print(f"artifacts of {name}: {ARTIFACTS}")
        raise


def document(server: Server) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(server.text("/openapi.json"))
    return found


def login(server: Server) -> str:
    """A token for the demo account, from ``POST /auth/login`` as a client gets one."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/auth/login",
        data=json.dumps(DEMO).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        token: str = json.load(answer)["access_token"]
        return token


def test_the_operations_render_grouped_by_their_tags(page: Page, server: Server) -> None:
    with kept_on_failure(page, "operations-by-tag"):
        spec = document(server)
        expected: dict[str, list[str]] = {tag["name"]: [] for tag in spec["tags"]}
        for path_item in spec["paths"].values():
            for operation in path_item.values():
                for tag in operation["tags"]:
                    expected[tag].append(f"operations-{tag}-{operation['operationId']}")

        sections = page.locator(".opblock-tag-section")
        rendered = {
            section.locator("h3.opblock-tag").get_attribute("data-tag"): sorted(
                section.locator(".opblock").evaluate_all("blocks => blocks.map(b => b.id)")
            )
            for section in sections.all()
        }

        assert list(rendered) == list(expected)  # the tags in the document's order
        assert rendered == {tag: sorted(ids) for tag, ids in expected.items()}
        for tag in spec["tags"]:  # each with its description beside it
            heading = page.locator(f"h3.opblock-tag[data-tag={tag['name']}]")
            assert heading.locator("small").inner_text().strip(), tag["name"]


def test_authorize_with_a_login_token_makes_try_it_out_on_get_me_answer_200(
    page: Page, server: Server
) -> None:
    with kept_on_failure(page, "authorize-and-try-get-me"):
        me = page.locator("#operations-accounts-getMe")
        me.locator(".opblock-summary").click()
        me.locator(".try-out__btn").click()
        status = me.locator(".live-responses-table .response .response-col_status")

        me.locator("button.execute").click()
        expect(status).to_have_text("401")  # without a token first: the dialog is what fixes it

        token = login(server)
        page.locator(".auth-wrapper button.authorize").click()
        dialog = page.locator(".dialog-ux")
        dialog.locator("input").fill(token)
        dialog.locator("button.authorize").click()
        expect(dialog.locator("button", has_text="Logout")).to_be_visible()  # accepted
        dialog.locator("button.btn-done").click()
        me.locator("button.btn-clear").click()
        me.locator("button.execute").click()

        expect(status).to_have_text("200")
        body = me.locator(".live-responses-table .response-col_description .microlight").first
        expect(body).to_contain_text('"username": "demo"')
        curl = me.locator(".curl-command").inner_text()
        assert re.search(rf"Authorization: Bearer {re.escape(token)}", curl), curl

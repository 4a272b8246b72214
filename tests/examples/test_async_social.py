"""examples/async_social: the Starlette app on AsyncDatabase under uvicorn, called by many at once.

It runs as its README says: ``uvicorn app:app`` in the example's folder (a
copy of it, so nothing is written into the repository), with the library
imported as installed, on the backend under test, over real HTTP.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving import Server, clean_env, free_port, running

EXAMPLE = Path(__file__).parents[2] / "examples" / "async_social"
AUTHORS = 8
POSTS_EACH = 5


@pytest.fixture
def server(fresh_database_url: str, tmp_path: Path) -> Iterator[Server]:
    folder = tmp_path / "async_social"
    shutil.copytree(EXAMPLE, folder)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--no-access-log"]
    with running(folder, command, port, clean_env() | {"DATABASE_URL": fresh_database_url}) as app:
        yield app


async def register(client: httpx.AsyncClient, name: str) -> int:
    password = "correct horse battery"
    body = {"username": name, "email": f"{name}@example.com", "password": password}
    answer = await client.post("/users", json=body)
    assert answer.status_code == 201, answer.text
    user_id: int = answer.json()["id"]
    return user_id


async def as_user(
    client: httpx.AsyncClient, user_id: int, method: str, path: str, **kw: Any
) -> Any:
    answer = await client.request(method, path, headers={"X-User-Id": str(user_id)}, **kw)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def whole_feed(client: httpx.AsyncClient, user_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"cursor": cursor} if cursor else {}
        page = await as_user(client, user_id, "GET", "/feed", params=params)
        items += page["items"]
        cursor = page["next"]
        if cursor is None:
            return items


def test_many_authors_posting_at_once_make_one_readers_feed(server: Server) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[int], tuple[int, int]]:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as c:
            reader = await register(c, "reader")
            authors = await asyncio.gather(*(register(c, f"author{i}") for i in range(AUTHORS)))
            await asyncio.gather(
                *(as_user(c, reader, "PUT", f"/users/{author}/follow") for author in authors)
            )
            posts = [
                as_user(c, author, "POST", "/posts", json={"body": f"{author}: post {n}"})
                for author in authors
                for n in range(POSTS_EACH)
            ]
            await asyncio.gather(*posts)
            # Every author reads at once too: their own posts only (they follow no one).
            own = await asyncio.gather(*(whole_feed(c, author) for author in authors))
            unknown = await c.post("/posts", json={"body": "hi"}, headers={"X-User-Id": "999"})
            bad = await c.post("/users", json={"username": "x", "role": "admin"})
            refused = (unknown.status_code, bad.status_code)
            return await whole_feed(c, reader), [len(feed) for feed in own], refused

    feed, own_counts, refused = asyncio.run(scenario())

    assert len(feed) == AUTHORS * POSTS_EACH
    assert len({item["id"] for item in feed}) == len(feed)  # every post once across the pages
    # Parsed, not compared as text: ISO 8601 omits zero microseconds ("…18Z"
    # would sort after "…18.333000Z").
    newest_first = [(dt.datetime.fromisoformat(item["created_at"]), item["id"]) for item in feed]
    assert newest_first == sorted(newest_first, reverse=True)
    assert own_counts == [POSTS_EACH] * AUTHORS
    assert refused == (404, 422)  # a post by no one; a field the input does not allow

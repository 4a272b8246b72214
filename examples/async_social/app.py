"""A small async social network: Starlette and uvicorn on ``AsyncDatabase``, the library's services.

Run it (from this folder, with ``pip install 'alchemy-patterns[app,async]' starlette uvicorn``)::

    DATABASE_URL=sqlite:///social.sqlite3 uvicorn app:app

The routes are thin: parse, one unit of work, serialise. Each unit is an
``AsyncDatabase.transaction()`` that calls the social domain's sync services
unchanged through ``run_sync``, so a deadlock or a serialization failure
re-runs the unit, and a refused write is a ``Conflict``/``NotFound``, as
in the sync application. The caller is named by an ``X-User-Id`` header: a
stand-in for authentication, which is not what this example shows.

    POST /users                 {"username", "email", "password"} -> 201 the user
    PUT  /users/{id}/follow     the caller follows user {id}
    POST /posts                 {"body"} -> 201 the post, by the caller
    GET  /feed?cursor=          the caller's feed, newest first, and the next cursor
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alchemy_patterns import migrations
from alchemy_patterns.db import (
    AppError,
    AsyncDatabase,
    Conflict,
    NotFound,
    Unavailable,
    ValidationFailed,
)
from alchemy_patterns.domains import metadata
from alchemy_patterns.domains.accounts import services as accounts
from alchemy_patterns.domains.accounts.schemas import RegisterUser
from alchemy_patterns.domains.social import services as social
from alchemy_patterns.domains.social.schemas import PostIn

T = TypeVar("T")

STATUS = {NotFound: 404, Conflict: 409, ValidationFailed: 422, Unavailable: 503}


def database(request: Request) -> AsyncDatabase:
    db: AsyncDatabase = request.app.state.db
    return db


async def unit(request: Request, service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """One retried transaction running the sync ``service(session, *args)`` through run_sync."""

    async def work(session: Any) -> T:
        return await session.run_sync(lambda sync: service(sync, *args, **kwargs))

    return await database(request).transaction(work)


def caller(request: Request) -> int:
    try:
        return int(request.headers["X-User-Id"])
    except (KeyError, ValueError):
        raise NotFound("user", request.headers.get("X-User-Id")) from None


async def register(request: Request) -> Response:
    data = RegisterUser.model_validate(await request.json())
    user = await unit(request, accounts.register_user, data)
    return JSONResponse(user.model_dump(mode="json", include={"id", "username"}), 201)


async def follow(request: Request) -> Response:
    state = await unit(request, social.follow, caller(request), request.path_params["user_id"])
    return JSONResponse(state.model_dump(mode="json"))


async def post(request: Request) -> Response:
    data = PostIn.model_validate(await request.json())
    created = await unit(request, social.create_post, caller(request), data)
    return JSONResponse(created.model_dump(mode="json"), 201)


async def feed(request: Request) -> Response:
    cursor = request.query_params.get("cursor")
    page = await unit(request, social.feed, caller(request), cursor=cursor)
    items = [item.model_dump(mode="json") for item in page.items]
    return JSONResponse({"items": items, "next": page.next_cursor})


async def healthz(request: Request) -> Response:
    ready = await database(request).ping()
    return JSONResponse({"database": ready}, 200 if ready else 503)


async def app_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, AppError)
    status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
    return JSONResponse({"code": error.code, "detail": error.message}, status)


async def invalid(request: Request, error: Exception) -> Response:
    assert isinstance(error, ValidationError)
    return JSONResponse({"code": "invalid", "detail": error.errors(include_url=False)}, 422)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    url = os.environ.get("DATABASE_URL", "sqlite:///social.sqlite3")
    await asyncio.to_thread(migrations.upgrade, url)  # Alembic is sync: off the event loop
    app.state.db = AsyncDatabase(url, metadata=metadata)
    yield
    await app.state.db.dispose()


app = Starlette(
    routes=[
        Route("/users", register, methods=["POST"]),
        Route("/users/{user_id:int}/follow", follow, methods=["PUT"]),
        Route("/posts", post, methods=["POST"]),
        Route("/feed", feed),
        Route("/healthz", healthz),
    ],
    exception_handlers={AppError: app_error, ValidationError: invalid},
    lifespan=lifespan,
)

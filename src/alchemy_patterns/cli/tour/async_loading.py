"""Lazy loading under asyncio: ``MissingGreenlet``, and the three ways around it.

An ``AsyncSession`` runs the ORM in a greenlet only while one of its awaited
methods runs. Touching an unloaded relationship afterwards, in plain async
code, would need a query with nothing to await it: SQLAlchemy raises
``MissingGreenlet`` instead (the guide's lazy loads cannot work here at all).
The ways around it, each on the same owner and pets:

* ``lazy="raise"`` (``raiseload``): the mistake fails at once, by name, in
  sync and async code alike: the project's relationships are made so;
* eager loading (``selectinload``): the pets arrive with the owner, one
  statement more, and reading them needs no query;
* an awaitable attribute: ``await owner.awaitable_attrs.pets`` on a model
  that mixes in ``AsyncAttrs``, which reads the attribute in the greenlet,
  lazy load and all (here the same read, written out: ``greenlet_spawn``
  of ``getattr``, as ``awaitable_attrs`` does it): one statement per
  relationship touched, so an N+1 in a loop.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload, raiseload, selectinload
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.util import greenlet_spawn

from alchemy_patterns.cli.tour.chapter import Chapter, Variant, measure
from alchemy_patterns.cli.tour.data import add_household
from alchemy_patterns.db import AsyncDatabase, Database
from alchemy_patterns.domains.clinic.models import Owner, Pet

PETS = 5

Read = Callable[[Owner], Awaitable[list[Pet]]]


async def plain_read(owner: Owner) -> list[Pet]:
    return list(owner.pets)


async def awaitable_read(owner: Owner) -> list[Pet]:
    pets: list[Pet] = await greenlet_spawn(getattr, owner, "pets")
    return list(pets)


VARIANTS: dict[str, tuple[ExecutableOption, Read]] = {
    "lazy load (the guide's)": (lazyload(Owner.pets), plain_read),
    'lazy="raise"': (raiseload(Owner.pets), plain_read),
    "selectinload": (selectinload(Owner.pets), plain_read),
    "awaitable attribute (AsyncAttrs)": (lazyload(Owner.pets), awaitable_read),
}


async def read_pets(session: AsyncSession, owner_id: int, name: str) -> dict[str, Any]:
    option, read = VARIANTS[name]
    owner = (await session.scalars(select(Owner).where(Owner.id == owner_id).options(option))).one()
    with warnings.catch_warnings():
        # aiosqlite's adapter has already made the cursor's coroutine when the
        # lazy load finds no greenlet to await it in: it is dropped unawaited.
        warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
        try:
            return {"raised": None, "pets": len(await read(owner))}
        except sa_exc.SQLAlchemyError as error:
            # A lazy load's MissingGreenlet comes inside the statement's StatementError.
            cause = getattr(error, "orig", None) or error
            return {"raised": type(cause).__name__, "pets": None}
        finally:
            gc.collect()  # the dropped coroutine goes now, while its warning is ignored


async def variant(database: AsyncDatabase, owner_id: int, name: str) -> dict[str, Any]:
    async with database.session_scope(read_only=True) as session:
        return await read_pets(session, owner_id, name)


def run(db: Database) -> list[Variant]:
    owner_id = add_household(db, pets=PETS, appointments_each=1, vets=1).owner_id

    async def each() -> list[Variant]:
        database = AsyncDatabase(db.url, metadata=db.metadata, n_plus_one="off")
        try:
            results = []
            for name in VARIANTS:
                await variant(database, owner_id, name)  # warm up: compile once, unmeasured
                with measure(name) as m:
                    seen = await variant(database, owner_id, name)
                results.append(m.result(**seen))
            return results
        finally:
            await database.dispose()

    return asyncio.run(each())


CHAPTER = Chapter(
    name="async-loading",
    title="Lazy loading under asyncio: MissingGreenlet",
    module="db/asyncio.py AsyncDatabase",
    test="tests/cli/test_tour.py, tests/db/test_asyncio.py",
    lesson="Under asyncio a lazy load raises MissingGreenlet; lazy='raise' names the mistake, "
    "selectinload loads the pets with the owner (2 statements), an awaitable attribute "
    "lazy-loads them in the greenlet (2 here, one more per relationship touched).",
    run=run,
)

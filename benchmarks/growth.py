"""Reads whose cost does not grow with the tables: every list and detail read, small vs large seed.

Seeds two scratch PostgreSQL databases, ``alchemy_patterns_growth_small`` and
``alchemy_patterns_growth_large``, with ``alchemy-patterns seed --size small``
(about 2,500 rows) and ``--size large`` (about 1.3 million; a minute or so),
refreshes their statistics, then times every list and detail endpoint of the
API in process, through the Flask test client, on both: each list's first
page (counted, as a client gets it by default), each offset list read deep
the way a client walks a long list, the feed of ``demo`` and of a heavy
follower (a user added to both databases, following the same number of
accounts in each). Rounds are interleaved (small, large, large, small, ...)
and each time is the median of ``--rounds``.

Deep, for an offset list, is the page a client reaches by following
``next_cursor`` from page 1, after ``DEEP_ROWS`` (10,000) rows, uncounted
(``cursor=...&count=false``): its cursor is found by walking the list untimed
(100 rows a page) before the rounds. A list shorter than that (every small
list, and the large seed's short ones) is timed at the deepest cursor it has,
its last page. Page numbers are not timed deep: page 500 reads and skips
9,980 rows with OFFSET, a cost that grows with the table by design; the API
documents the cursor as the way to walk deep. The lists' first pages are
numbered and counted, and ``count=estimate`` is timed on the three longest
lists, where an exact count is what grows.

Prints, per request, the statements it ran and its median time on each
database, and the large/small ratio; a ratio over ``--limit`` (2.0) is
flagged, and any flag makes the exit status 1. The databases are dropped at
the end unless ``--keep`` (then a second run reuses them: no seeding).

    .venv/bin/python benchmarks/growth.py [--rounds 15] [--limit 2.0] [--keep] [--json FILE|-]
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from werkzeug.test import Client

from alchemy_patterns.db import Database
from alchemy_patterns.domains import metadata
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.accounts.tokens import issue_token
from alchemy_patterns.domains.clinic.models import Appointment, Owner
from alchemy_patterns.domains.school.models import Club, Enrollment
from alchemy_patterns.domains.shop.models import Order, Product
from alchemy_patterns.domains.social.models import Comment, Post, follows
from alchemy_patterns.settings import Settings
from alchemy_patterns.web import create_app
from common import SERVERS, write_json

SIZES = ("small", "large")
#: Accounts the heavy follower follows in both databases (the small seed has 60 users).
HEAVY_FOLLOWS = 50
#: How deep into an offset list the deep read starts: where page 500 of 20 would.
DEEP_ROWS = 10_000

#: The offset lists: each is timed on its first page and on page 500 uncounted. Private
#: records (the clinic's and the school's) are read as admin, who sees them all: the demo
#: account sees only its own.
OFFSET_LISTS = [
    "/products",
    "/orders",
    "/audit#admin",
    "/owners#admin",
    "/vets",
    "/students#admin",
    "/students/{student}/clubs#admin",
    "/clubs",
    "/clubs/{club}/members#admin",
    "/courses",
    "/posts/{post}/comments",
    "/users/{demo}/followers",
    "/users/{demo}/following",
]
OTHER_READS = [
    "/feed",
    "/feed#heavy",
    "/users/{author}/posts",
    "/me",
    "/cart",
    "/users/{demo}#admin",
    "/products/{product}",
    "/orders/{order}",
    "/owners/{owner}#admin",
    "/pets/{pet}#admin",
    "/vets/{vet}",
    "/vets/{vet}/schedule?day={day}#admin",
    "/appointments/{appointment}#admin",
    "/students/{student}#admin",
    "/students/{student}/transcript#admin",
    "/clubs/{club}",
    "/courses/{course}",
    "/courses/{course}/roster#admin",
    "/courses/{course}/students/{student}#admin",
    "/products?count=estimate",
    "/owners?count=estimate#admin",
    "/students?count=estimate#admin",
    "/posts/{post}",
    "/comments/{comment}",
]


@dataclass
class Site:
    """One seeded database, its app, and the ids and tokens the requests use."""

    size: str
    client: Client
    ids: dict[str, Any]
    tokens: dict[str, str]
    times: dict[str, list[float]] = field(default_factory=dict)
    statements: dict[str, int] = field(default_factory=dict)

    def get(self, request: str) -> None:
        path, _, who = request.partition("#")  # as whom: demo, unless named
        token = self.tokens[who or "demo"]
        url = path.format(**self.ids)
        start = time.perf_counter()
        response = self.client.get(url, headers={"Authorization": f"Bearer {token}"})
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            raise SystemExit(f"{self.size}: GET {url} answered {response.status_code}")
        self.times.setdefault(request, []).append(elapsed)
        match = re.search(r'desc="(\d+) queries"', response.headers.get("Server-Timing", ""))
        self.statements[request] = int(match.group(1)) if match else -1

    def find_deep_cursor(self, number: int, request: str) -> None:
        """Walk list ``request`` by cursor, untimed, to ``DEEP_ROWS`` rows or its last page.

        The position is kept as ``ids["deep<number>"]``, the query of the deep read:
        the cursor of the deepest page reached, or page 1 for a list of one page.
        """
        path, _, who = request.partition("#")
        headers = {"Authorization": f"Bearer {self.tokens[who or 'demo']}"}
        url: str | None = path.format(**self.ids) + "?per_page=100&count=false"
        query, rows = "page=1", 0
        while url is not None and rows < DEEP_ROWS:
            body = self.client.get(url, headers=headers).get_json()
            rows += len(body["items"])
            if body["next_cursor"] is not None:
                query = f"cursor={body['next_cursor']}"
            url = body["links"]["next"]
        self.ids[f"deep{number}"] = query


def requests() -> list[str]:
    """Every request timed: ``path#user`` (as ``demo`` when no user is named)."""
    return [*OFFSET_LISTS, *map(_deep, range(len(OFFSET_LISTS)), OFFSET_LISTS), *OTHER_READS]


def _deep(number: int, request: str) -> str:
    """The deep read of list ``request``: at its ``deep<number>`` cursor, uncounted."""
    path, hash_, who = request.partition("#")
    return f"{path}?{{deep{number}}}&count=false{hash_}{who}"


def label(request: str) -> str:
    """The request as the report shows it: ``cursor=@deep`` for the deep reads' cursors."""
    return re.sub(r"\{deep\d+\}", "cursor=@deep", request)


# --- the databases -------------------------------------------------------------------------------


#: Appended to the databases' names (``--suffix``): runs side by side keep apart.
SUFFIX = ""


def database_name(size: str) -> str:
    return f"alchemy_patterns_growth_{size}{SUFFIX}"


def server_url(size: str) -> str:
    url = make_url(SERVERS["postgresql"]).set(database=database_name(size))
    return url.render_as_string(hide_password=False)


def _admin(statement: str) -> None:
    engine = create_engine(make_url(server_url("small")).set(database="postgres"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(statement)
    engine.dispose()


def _exists(size: str) -> bool:
    engine = create_engine(make_url(server_url(size)).set(database="postgres"))
    with engine.connect() as connection:
        name = database_name(size)
        found = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    engine.dispose()
    return bool(found)


def prepare(size: str, reuse: bool) -> None:
    """Create and seed the database (unless ``reuse`` and it is there), then refresh statistics."""
    name = database_name(size)
    if reuse and _exists(size):
        print(f"reusing {name}", file=sys.stderr)
        return
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    print(f"seeding {name} (--size {size})", file=sys.stderr)
    started = time.perf_counter()
    command = [sys.executable, "-m", "alchemy_patterns", "--database-url", server_url(size)]
    subprocess.run([*command, "seed", "--size", size], check=True, stdout=subprocess.DEVNULL)
    add_heavy_follower(server_url(size))
    engine = create_engine(server_url(size))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    print(f"  {time.perf_counter() - started:.0f} s", file=sys.stderr)


def drop(size: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{database_name(size)}" WITH (FORCE)')


def add_heavy_follower(url: str) -> None:
    """A user ``heavy`` who follows the first ``HEAVY_FOLLOWS`` accounts that have posted."""
    engine = create_engine(url)
    with engine.begin() as connection:
        demo_hash = connection.scalar(select(User.password_hash).where(User.username == "demo"))
        heavy = connection.scalar(
            insert(User)
            .values(username="heavy", email="heavy@example.com", password_hash=demo_hash)
            .returning(User.id)
        )
        posters = select(Post.author_id).distinct().order_by(Post.author_id).limit(HEAVY_FOLLOWS)
        followed = [{"follower_id": heavy, "followed_id": a} for a in connection.scalars(posters)]
        connection.execute(insert(follows), followed)
    engine.dispose()


@contextmanager
def site(size: str) -> Iterator[Site]:
    settings = Settings(database_url=server_url(size), slow_query_ms=None, n_plus_one="off")
    db = Database(server_url(size), metadata=metadata, n_plus_one="off")
    try:
        ids, tokens = _ids(db), _tokens(db)
        app = create_app(settings, db=db)
        yield Site(size, app.test_client(), ids, tokens)
    finally:
        db.dispose()


def _tokens(db: Database) -> dict[str, str]:
    """A bearer token each for ``demo``, ``admin`` and ``heavy``."""
    wanted = select(User.username, User.id).where(User.username.in_(("demo", "admin", "heavy")))
    with db.session_scope() as session:
        users = session.execute(wanted).all()
        return {name: issue_token(session, user_id).token for name, user_id in users}


def _ids(db: Database) -> dict[str, Any]:
    """The objects the detail requests read: the first of each kind, the demo user's own."""
    with db.session_scope(read_only=True) as session:
        demo = session.scalar(select(User.id).where(User.username == "demo"))

        def first(column: Any) -> Any:
            return session.scalar(select(func.min(column)))

        appointment = session.get_one(Appointment, first(Appointment.id))
        enrollment = session.get_one(Enrollment, first(Enrollment.id))
        comment = session.get_one(Comment, first(Comment.id))
        return {
            "demo": demo,
            "author": session.scalar(select(Post.author_id).where(Post.id == first(Post.id))),
            "product": first(Product.id),
            "order": session.scalar(select(func.max(Order.id)).where(Order.user_id == demo)),
            "owner": first(Owner.id),
            "pet": appointment.pet_id,
            "vet": appointment.vet_id,
            "day": appointment.scheduled_at.date().isoformat(),
            "appointment": appointment.id,
            "student": enrollment.student_id,
            "course": enrollment.course_id,
            "club": first(Club.id),
            "post": comment.post_id,
            "comment": comment.id,
        }


# --- timing --------------------------------------------------------------------------------------


def run(sites: list[Site], rounds: int) -> None:
    every = requests()
    for site_ in sites:
        for number, request in enumerate(OFFSET_LISTS):
            site_.find_deep_cursor(number, request)
    for site_ in sites:  # warm: first-use costs (the app's first request, the caches)
        for request in every:
            site_.get(request)
        site_.times.clear()
    for number in range(rounds):
        order = sites if number % 2 == 0 else sites[::-1]
        for request in every:
            for site_ in order:
                site_.get(request)


def report(small: Site, large: Site, limit: float) -> list[dict[str, Any]]:
    results = []
    print(f"{'request':56} {'stmts':>9} {'small ms':>9} {'large ms':>9} {'ratio':>6}")
    for request in requests():
        fast = statistics.median(small.times[request]) * 1000
        slow = statistics.median(large.times[request]) * 1000
        ratio = slow / fast
        flag = "  <-- over" if ratio > limit else ""
        counts = f"{small.statements[request]}/{large.statements[request]}"
        print(f"{label(request):56} {counts:>9} {fast:9.2f} {slow:9.2f} {ratio:6.2f}{flag}")
        results.append(
            {
                "request": label(request),
                "small_ms": fast,
                "large_ms": slow,
                "ratio": ratio,
                "over": bool(flag),
            }
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--limit", type=float, default=2.0, help="the ratio flagged (2.0)")
    parser.add_argument("--keep", action="store_true", help="keep the databases (and reuse them)")
    parser.add_argument("--json", help="write the results to FILE ('-' for stdout)")
    parser.add_argument("--suffix", default="", help="appended to the databases' names")
    args = parser.parse_args()
    global SUFFIX
    SUFFIX = args.suffix
    logging.getLogger("alchemy_patterns").setLevel(logging.ERROR)  # no access log per request
    for size in SIZES:
        prepare(size, reuse=args.keep)
    try:
        with site("small") as small, site("large") as large:
            run([small, large], args.rounds)
            results = report(small, large, args.limit)
    finally:
        if not args.keep:
            for size in SIZES:
                drop(size)
    write_json(results, args.json)
    over = [result["request"] for result in results if result["over"]]
    if over:
        print(f"{len(over)} of {len(results)} requests cost over {args.limit}x on the large seed")
        return 1
    print(f"every request costs at most {args.limit}x on the large seed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

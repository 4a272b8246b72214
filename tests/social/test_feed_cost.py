"""A feed page reads what the page needs, not what the posts table holds.

The work a statement does is read from each database itself: PostgreSQL's
``EXPLAIN ANALYZE`` (rows each scan of ``posts`` produced or filtered out),
MariaDB's handler counters (index and row reads of every table), SQLite's
virtual-machine steps. The first two pages are read, then read again after
13,000 more posts: 10,000 by strangers, in among the posts of the people
followed (which a walk of all posts newest first has to filter out), and
3,000 older posts of the people followed (which a read of all their posts has
to sort). The old ``author_id IN (...) OR author_id = me`` read does at least
twice the work the second time on every backend. The statistics are
refreshed before each read, as a server's own maintenance would: on tables of
a few rows a planner rightly reads them whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, event, insert
from sqlalchemy.orm import Session

from alchemy_patterns.db import Database
from alchemy_patterns.domains.accounts.models import User
from alchemy_patterns.domains.social.models import Post
from alchemy_patterns.domains.social.services import feed
from tests.social.builders import EPOCH, make_follows, make_users

PER_PAGE = 10


@contextmanager
def last_statement(session: Session) -> Iterator[list[tuple[str, Any]]]:
    """The SQL and parameters of the statements run on the session's engine meanwhile."""
    seen: list[tuple[str, Any]] = []

    def remember(conn: Connection, cursor: Any, sql: str, params: Any, *args: Any) -> None:
        seen.append((sql, params))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", remember)


def work(connection: Connection, sql: str, params: Any) -> int:
    """How much the database reads to run ``sql`` once, in its own measure."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    backend = connection.dialect.name
    if backend == "postgresql":
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        return _posts_rows(cursor.fetchone()[0][0]["Plan"])
    if backend == "mysql":
        cursor.execute("FLUSH STATUS")
        cursor.execute(sql, params)
        cursor.fetchall()
        cursor.execute("SHOW SESSION STATUS LIKE 'Handler_read%'")
        return sum(int(value) for _, value in cursor.fetchall())
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0

    raw.set_progress_handler(step, 10)  # type: ignore[attr-defined]
    try:
        cursor.execute(sql, params)
        cursor.fetchall()
    finally:
        raw.set_progress_handler(None, 0)  # type: ignore[attr-defined]
    return steps[0]


def _posts_rows(node: dict[str, Any]) -> int:
    """Rows the scans of ``posts`` in a plan produced or threw away, over all their loops."""
    rows = 0
    if node.get("Relation Name") == "posts":
        read = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        rows = round(read * node["Actual Loops"])
    return rows + sum(_posts_rows(child) for child in node.get("Plans", []))


def first_pages_work(db: Database, viewer_id: int) -> int:
    """The work of the statements that read the viewer's first two feed pages."""
    total, cursor = 0, None
    with db.session_scope(read_only=True) as session:
        for _ in range(2):
            with last_statement(session) as seen:
                page = feed(session, viewer_id, cursor=cursor, per_page=PER_PAGE)
            assert len(page.items) == PER_PAGE
            sql, params = seen[-1]  # after any the session began the transaction with
            total += work(session.connection(), sql, params)
            cursor = page.next_cursor
    return total


def add_posts(
    db: Database, authors: list[User], count: int, start: dt.datetime, every: float
) -> None:
    """``count`` posts by ``authors`` in turn, ``every`` seconds apart from ``start`` on."""
    rows = [
        {
            "author_id": authors[i % len(authors)].id,
            "body": "a post",
            "created_at": start + dt.timedelta(seconds=i * every),
        }
        for i in range(count)
    ]
    with db.session_scope() as session:
        session.execute(insert(Post), rows)
    refresh_statistics(db)


def refresh_statistics(db: Database) -> None:
    statement = {
        "postgresql": "ANALYZE posts",
        "mysql": "ANALYZE TABLE posts",
        "sqlite": "ANALYZE",
    }[db.engine.dialect.name]
    with db.engine.connect() as connection:
        connection.exec_driver_sql(statement)
        connection.commit()


def test_a_feed_page_reads_no_more_when_the_posts_table_grows(app_db: Database) -> None:
    with app_db.session_scope() as session:
        viewer, *followed = make_users(session, 4)
        strangers = make_users(session, 5)
        make_follows(session, viewer, followed)
    add_posts(app_db, followed, 90, EPOCH, every=100)
    add_posts(app_db, strangers, 10_000, EPOCH, every=0.9)
    before = first_pages_work(app_db, viewer.id)

    add_posts(app_db, strangers, 10_000, EPOCH + dt.timedelta(seconds=0.3), every=0.9)
    add_posts(app_db, followed, 3_000, EPOCH - dt.timedelta(days=1), every=1)
    after = first_pages_work(app_db, viewer.id)

    # An equal plan reads exactly as much; room is left for one chosen on fresher statistics.
    assert after <= before * 1.2, (before, after)

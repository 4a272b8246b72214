"""Which posts make one page of a feed, chosen so that the cost does not grow with the table.

A feed page is the newest ``n`` posts of a few authors: the people the viewer
follows, and the viewer. Asked as ``author_id IN (...) ORDER BY created_at``,
the database either walks every post newest first and throws away the other
authors' (67,000 rows for one page of a sparse feed, on the large seed), or
reads every post of every followed author and sorts them. Both grow with the
posts table.

Here each author's posts are read from the ``(author_id, created_at, id)``
index, at most about ``n + 1`` of them after the cursor, and the database
merges those few and keeps the newest ``n + 1``. The work is bounded by the
page size times the number of authors, however many posts there are:

* PostgreSQL: a ``LATERAL`` subquery per author, an index range scan stopped
  by its LIMIT;
* MariaDB (10.11 has no ``LATERAL``) and SQLite: per author, one probe of the
  index finds when their ``(n + 1)``-th post after the cursor was made, and
  their posts from then to the cursor are one index range.

On MariaDB the probe starts from the author's newest post (a correlated
subquery cannot seek to the cursor there), so a deep page also reads the
author's posts newer than the cursor; the other two seek straight to it.

Deleted posts take no place in a page: each alias of the posts table here
says ``deleted_at IS NULL`` itself (:func:`~alchemy_patterns.db.live`), in
the per-author subqueries too (``tests/social/test_soft_delete.py`` proves a
page stays full). The statement is Core, on the tables, not ORM entities:
it then runs without the Session's per-execution ORM work, which cost a
feed page more Python than the database took to run it; and the session's
soft-delete filter, which only sees entities, does not see it.

The statement of each shape (backend, first page or after a cursor) is built
once, with the viewer, the cursor's position and the limit as bound
parameters (:func:`feed_params`): building this SELECT took longer than the
database took to run it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Subquery,
    and_,
    bindparam,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import UnaryExpression

from alchemy_patterns.db import keyset_after, keyset_position, live, table_of
from alchemy_patterns.domains.social.models import Post, follows

#: The posts table: the feed's statements are Core (see the module's docstring).
posts = table_of(Post)

#: Columns a subquery of authors carries besides ``author_id``, made from it.
AuthorColumns = Callable[[ColumnElement[int]], list[ColumnElement[Any]]]

#: Not after any post: "since the beginning", for an author with fewer posts than a page.
EARLIEST = dt.datetime(1, 1, 1, tzinfo=dt.UTC)

#: The values a feed statement is run with (:func:`feed_params`).
VIEWER = bindparam("feed_viewer_id", type_=Integer)
LIMIT = bindparam("feed_limit", type_=Integer)
NTH = bindparam("feed_nth", type_=Integer)  # LIMIT - 1: the OFFSET of an author's last post
CURSOR = (
    bindparam("feed_cursor_at", type_=posts.c.created_at.type),
    bindparam("feed_cursor_id", type_=Integer),
)
#: A cursor's position: the bound values, or columns carrying them.
Position = tuple[ColumnElement[Any], ColumnElement[Any]]


def newest_first(rows: FromClause) -> tuple[UnaryExpression[Any], UnaryExpression[Any]]:
    """The feed's order on ``rows`` (the posts table, or an alias): the id breaks ties."""
    return rows.c.created_at.desc(), rows.c.id.desc()


#: Newest first on the posts table: the order of every list of posts.
NEWEST_FIRST = newest_first(posts)


def feed_params(
    session: Session, viewer_id: int, cursor: str | None, per_page: int
) -> dict[str, Any]:
    """The values :func:`feed_page`'s statement runs with for this viewer, cursor and page size.

    A damaged cursor is a ``ValidationFailed``, as for ``keyset_paginate``.
    """
    limit = per_page + 1
    params = {VIEWER.key: viewer_id, LIMIT.key: limit, NTH.key: limit - 1}
    position = keyset_position(session, NEWEST_FIRST, cursor)
    if position is not None:
        params |= {CURSOR[0].key: position[0], CURSOR[1].key: position[1]}
    return params


@functools.cache
def feed_page(dialect: str, after_cursor: bool) -> Subquery:
    """The ids of the feed's next ``LIMIT`` posts, newest first, as a subquery; built once.

    ``LIMIT`` is one more than a page, so that the caller can tell whether
    another follows. Without ``after_cursor``, the first page.
    """
    position = CURSOR if after_cursor else None
    if dialect == "postgresql":
        candidates = _top_per_author(position)
    else:
        candidates = _since_per_author(position, dialect)
    found = candidates.subquery("candidates")
    return (
        select(found.c.id)
        .order_by(found.c.created_at.desc(), found.c.id.desc())
        .limit(LIMIT)
        .subquery("page")
    )


def _authors(more: AuthorColumns = lambda author_id: []) -> Subquery:
    """Whose posts the viewer's feed shows: the people they follow, and their own.

    ``more`` adds columns computed from each author's id (in each branch of
    the UNION, which every backend materializes, computing them once).
    """
    followed = follows.c.followed_id
    own = VIEWER.label("author_id")
    return union_all(
        select(followed.label("author_id"), *more(followed)).where(follows.c.follower_id == VIEWER),
        select(own, *more(VIEWER)),
    ).subquery("authors")


def _live_after(rows: FromClause, position: Position | None) -> list[ColumnElement[bool]]:
    """The live posts of ``rows`` after the cursor's position (all of them without a cursor)."""
    after = [] if position is None else [keyset_after(newest_first(rows), position)]
    return [live(rows), *after]


def _top_per_author(position: Position | None) -> Select[*tuple[Any, ...]]:
    """Each author's newest ``LIMIT`` posts after the cursor: a LATERAL range scan per author."""
    authors = _authors()
    theirs = posts.alias("theirs")
    top = (
        select(theirs.c.id, theirs.c.created_at)
        .where(theirs.c.author_id == authors.c.author_id, *_live_after(theirs, position))
        .order_by(*newest_first(theirs))
        .limit(LIMIT)
        .lateral("top")
    )
    return select(top.c.id, top.c.created_at).select_from(authors).join(top, true())


def _since_per_author(position: Position | None, dialect: str) -> Select[*tuple[Any, ...]]:
    """Each author's posts after the cursor back to their ``LIMIT``-th: one index range each.

    The cursor's position is a column of the authors' subquery too, so that
    the range's both ends come from the author's row: MariaDB plans a range
    from the row's values, but given a constant end it scans the whole index.
    """

    def per_author(author_id: ColumnElement[int]) -> list[ColumnElement[Any]]:
        return [_since(author_id, position), *_position_columns(position)]

    authors = _authors(per_author)
    found = posts.alias("found")
    cursor = None if position is None else (authors.c.cursor_at, authors.c.cursor_id)
    return select(found.c.id, found.c.created_at).join(
        authors,
        and_(
            _same_author(found, authors.c.author_id, dialect),
            found.c.created_at >= authors.c.since,
            *_live_after(found, cursor),
        ),
    )


def _since(author_id: ColumnElement[int], position: Position | None) -> ColumnElement[Any]:
    """When the author's ``LIMIT``-th post after the cursor was made; the earliest time if none."""
    probe = posts.alias("probe")
    nth = (
        select(probe.c.created_at)
        .where(probe.c.author_id == author_id, *_live_after(probe, position))
        .order_by(*newest_first(probe))
        .offset(NTH)
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(nth, literal(EARLIEST, posts.c.created_at.type)).label("since")


def _position_columns(position: Position | None) -> list[ColumnElement[Any]]:
    if position is None:
        return []
    created_at, post_id = position
    return [created_at.label("cursor_at"), post_id.label("cursor_id")]


def _same_author(
    rows: FromClause, author_id: ColumnElement[int], dialect: str
) -> ColumnElement[bool]:
    """``rows.author_id = author_id``; on MariaDB, written so that the index range is sought.

    Given an equality, MariaDB reads the author's posts by it alone (a "ref")
    and filters on the time, reading all their posts; as a two-sided range
    it plans the index range again for each author, with the bounds known
    ("range checked for each record"), and reads only the posts since.
    """
    if dialect == "mysql":
        return and_(rows.c.author_id >= author_id, rows.c.author_id <= author_id)
    return rows.c.author_id == author_id

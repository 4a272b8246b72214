"""``alchemy-patterns db purge --older-than 30d``: soft-deleted rows deleted for good."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from alchemy_patterns.cli import cli
from alchemy_patterns.db import INCLUDE_DELETED, Database
from alchemy_patterns.domains.clinic.models import Owner, Pet
from alchemy_patterns.domains.social.models import Comment, Post
from tests.clinic.builders import make_owner, make_pet
from tests.social.builders import make_comments, make_post, make_users


def purge(db: Database, *args: str) -> Result:
    url = db.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, ["--database-url", url, "db", "purge", *args])


def stored(db: Database, model: type[object]) -> int:
    """Every row of ``model``, deleted or not."""
    every = select(func.count()).select_from(model).execution_options(**{INCLUDE_DELETED: True})
    with db.session_scope(read_only=True) as session:
        return session.scalar(every) or 0


def days_ago(days: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=days)


def test_purge_deletes_rows_soft_deleted_long_enough_ago_and_reports_each_table(
    app_db: Database,
) -> None:
    with app_db.session_scope() as session:
        old_owner, recent_owner, live_owner = (make_owner(session) for _ in range(3))
        for owner, when in ((old_owner, days_ago(40)), (recent_owner, days_ago(10))):
            owner.deleted_at = when
            for _ in range(3):
                make_pet(session, owner, deleted_at=when)
        make_pet(session, live_owner)
        author, reader = make_users(session, 2)
        old_post, live_post = make_post(session, author), make_post(session, author)
        old_post.deleted_at = days_ago(31)
        for comment in make_comments(session, live_post, reader, count=5):
            comment.deleted_at = days_ago(45)

    result = purge(app_db, "--older-than", "30d", "--batch-size", "2")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert {"pets: 3 purged", "owners: 1 purged", "comments: 5 purged", "posts: 1 purged"} <= set(
        lines
    )
    assert lines[-1].startswith("10 rows deleted for good")
    assert (stored(app_db, Owner), stored(app_db, Pet)) == (2, 4)
    assert (stored(app_db, Post), stored(app_db, Comment)) == (1, 0)


def test_purge_with_nothing_to_purge_reports_zeros(app_db: Database) -> None:
    with app_db.session_scope() as session:
        make_pet(session, make_owner(session))

    result = purge(app_db, "--older-than", "1d")

    assert result.exit_code == 0, result.output
    assert "0 rows deleted for good" in result.output
    assert (stored(app_db, Owner), stored(app_db, Pet)) == (1, 1)


@pytest.mark.parametrize("age", ["0d", "30", "soon", "-3d", "30y"])
def test_purge_refuses_an_age_it_cannot_read(app_db: Database, age: str) -> None:
    result = purge(app_db, "--older-than", age)

    assert result.exit_code == 2
    assert "30d" in result.output

"""Running chapters: each starts from empty tables, so each runs alone or in any order."""

from __future__ import annotations

from sqlalchemy import delete

from alchemy_patterns.cli.tour.chapter import Chapter, PatternResult
from alchemy_patterns.db import Database
from alchemy_patterns.domains import metadata


def empty_tables(db: Database) -> None:
    """Delete every row of the app's tables, children first."""
    with db.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(delete(table))


def run_chapter(db: Database, chapter: Chapter) -> PatternResult:
    """Run the chapter's variants on empty tables."""
    empty_tables(db)
    return chapter.result(chapter.run(db))

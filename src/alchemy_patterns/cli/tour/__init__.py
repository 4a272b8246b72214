"""``alchemy-patterns tour``: each chapter of the guide, run on a scratch database.

Every chapter is a module of its own with two or more variants of one
pattern, in the style of SQLAlchemy's ``examples/``: small, one idea per
file. The tour measures each variant the same way (statements, time, the SQL
it emitted) and keeps the figures that prove the chapter's point.
"""

from __future__ import annotations

import click
from rich.console import Console

from alchemy_patterns.cli.tour import (
    association,
    async_loading,
    bulk,
    cart,
    cascades,
    errors,
    flush,
    follows,
    history,
    loading,
    optimistic,
    pagination,
    savepoints,
    session_scope,
    soft_delete,
)
from alchemy_patterns.cli.tour.chapter import Chapter, PatternResult
from alchemy_patterns.cli.tour.render import as_json, chapters_as_json, print_chapters, print_tour
from alchemy_patterns.cli.tour.runner import run_chapter
from alchemy_patterns.cli.tour.scratch import scratch_database, where

__all__ = ["CHAPTERS", "run_tour", "tour"]

#: The guide's chapters, in the guide's order.
CHAPTERS: dict[str, Chapter] = {
    chapter.name: chapter
    for chapter in (
        session_scope.CHAPTER,
        flush.CHAPTER,
        loading.CHAPTER,
        pagination.CHAPTER,
        bulk.CHAPTER,
        association.CHAPTER,
        follows.CHAPTER,
        cascades.CHAPTER,
        soft_delete.CHAPTER,
        savepoints.CHAPTER,
        cart.CHAPTER,
        errors.CHAPTER,
        async_loading.CHAPTER,
        history.CHAPTER,
        optimistic.CHAPTER,
    )
}


class UnknownPattern(click.ClickException):
    """A usage error told in one line (click's own repeats the usage first)."""

    exit_code = 2

    def __init__(self, pattern: str) -> None:
        super().__init__(f"unknown pattern {pattern!r}: choose one of {', '.join(CHAPTERS)}")


def chosen(pattern: str | None) -> list[Chapter]:
    """The one chapter asked for, or all of them."""
    if pattern is None:
        return list(CHAPTERS.values())
    if pattern not in CHAPTERS:
        raise UnknownPattern(pattern)
    return [CHAPTERS[pattern]]


def run_tour(url: str | None, names: list[str] | None = None) -> list[PatternResult]:
    """Run the chapters named (all by default) on a scratch database for ``url``."""
    chapters = [CHAPTERS[name] for name in names] if names else list(CHAPTERS.values())
    with scratch_database(url) as db:
        return [run_chapter(db, chapter) for chapter in chapters]


def _database_url(ctx: click.Context, given: str | None) -> str | None:
    """The URL given after ``tour``, else the global one (option or environment), else None.

    One given here replaces the global one in the shared settings too, so an
    error about the database names the server the tour was pointed at.
    """
    settings = getattr(ctx.obj, "settings", None)
    if given and settings is not None:
        ctx.obj.settings = settings = settings.model_copy(update={"database_url": given})
    url: str | None = given or getattr(settings, "database_url", None)
    return url


@click.command(short_help="Run the guide's patterns, measured side by side.")
@click.argument("pattern", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the patterns and exit.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Tables and highlighted SQL, or JSON with the same figures.",
)
@click.option(
    "--database-url",
    metavar="URL",
    help="PostgreSQL or MariaDB server to run on (the same as the global option).",
)
@click.pass_context
def tour(
    ctx: click.Context, pattern: str | None, list_only: bool, output: str, database_url: str | None
) -> None:
    """Run each pattern of the guide (or PATTERN only) and show its variants side by side.

    Each variant shows its statement count, its time and the SQL it emitted;
    each pattern names the module that implements it and the test that
    proves it. Without a URL the tour runs on an SQLite file in a temporary
    directory, never the app's database. With a PostgreSQL or MariaDB URL
    (--database-url before or after `tour`, or ALCHEMY_PATTERNS_DATABASE_URL)
    it runs on a scratch database on that server, named after the URL's with
    `_tour` appended: created and dropped by the tour, or, if it exists, used
    only when it holds no table, and emptied again afterwards.
    """
    chapters = chosen(pattern)
    if list_only:
        show_patterns(output)
    else:
        show_tour(_database_url(ctx, database_url), chapters, output)


def show_patterns(output: str) -> None:
    if output == "json":
        click.echo(chapters_as_json(CHAPTERS.values()))
    else:
        print_chapters(Console(), CHAPTERS.values())


def show_tour(url: str | None, chapters: list[Chapter], output: str) -> None:
    """Run the chapters on a scratch database, each shown as soon as it ends (in text)."""
    with scratch_database(url) as db:
        results = (run_chapter(db, chapter) for chapter in chapters)
        if output == "json":
            click.echo(as_json(results))
        else:
            print_tour(Console(), where(db), results)

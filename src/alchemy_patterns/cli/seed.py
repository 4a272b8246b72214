"""``alchemy-patterns seed``: fill the database with realistic demo data in every domain.

The command migrates the database first, so it works on a fresh URL, and
refuses a database that already has users unless ``--append`` says to add
to it: demo data mixed into real data by mistake is hard to take out again.
The work is :func:`alchemy_patterns.cli.seeding.seed_demo_data`, which
``serve --demo`` calls too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from alchemy_patterns import migrations
from alchemy_patterns.cli.seeding import (
    ADMIN_USERNAME,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    PLANS,
    SIZES,
    database_is_empty,
    seed_demo_data,
)
from alchemy_patterns.db import Database
from alchemy_patterns.settings import Settings, make_database

__all__ = ["database_is_empty", "seed", "seed_database", "seed_demo_data"]


class DatabaseNotEmpty(click.ClickException):
    """The database has users, and the user did not ask to add to it."""

    def __init__(self) -> None:
        super().__init__("the database already has users: pass --append to add demo data to it")


class OneLineUsage(click.Command):
    """Usage errors as one line (``Error: Invalid value for '--size': …``), no usage block."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            # Without a context, click prints the message alone; the exit code stays 2.
            raise click.UsageError(error.format_message()) from error


@click.command(cls=OneLineUsage, short_help="Fill the database with demo data.")
@click.option(
    "--size",
    type=click.Choice(SIZES),
    default="small",
    show_default=True,
    help="small: a few hundred rows per domain; medium: about 50,000 rows; "
    "large: over a million (minutes, on PostgreSQL).",
)
@click.option(
    "--seed",
    "seed_number",
    type=int,
    default=0,
    show_default=True,
    help="Random seed: the same seed gives the same data.",
)
@click.option(
    "--append",
    is_flag=True,
    help="Add demo data to a database that already has users (without it, such a "
    "database is refused).",
)
@click.pass_context
def seed(ctx: click.Context, size: str, seed_number: int, append: bool) -> None:
    """Fill the database with realistic demo data in every domain.

    Migrates the database first. Every demo account's password is
    "demo password"; "admin" is an administrator. The same --seed gives the
    same rows. A database that already has users is refused unless --append.
    """
    started = time.perf_counter()
    counts = seed_database(ctx.obj.settings, size=size, seed=seed_number, append=append)
    echo_summary(counts, size=size, seed=seed_number, seconds=time.perf_counter() - started)


def seed_database(settings: Settings, *, size: str, seed: int, append: bool) -> dict[str, int]:
    """Migrate, refuse a database with users unless ``append``, seed with a progress bar."""
    migrations.upgrade(settings.resolved_database_url)
    db = _quiet_database(settings)
    try:
        if not append and not database_is_empty(db):
            raise DatabaseNotEmpty
        with progress_bar(PLANS[size].estimated_rows()) as advance:
            return seed_demo_data(db, size=size, seed=seed, progress=advance)
    finally:
        db.dispose()


def _quiet_database(settings: Settings) -> Database:
    """The app's database without the slow-query log: every bulk batch of 5,000 rows is slow."""
    return make_database(settings.model_copy(update={"slow_query_ms": None}))


@contextmanager
def progress_bar(estimated_rows: int) -> Iterator[Callable[[str, int], None]]:
    """A rich progress bar on stderr (hidden when stderr is not a terminal)."""
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task("seeding", total=estimated_rows)

        def advance(table: str, rows: int) -> None:
            bar.update(task, advance=rows, description=table)

        yield advance


def echo_summary(counts: dict[str, int], *, size: str, seed: int, seconds: float) -> None:
    """Rows per table, the total, and how to log in."""
    width = max(map(len, counts), default=0)
    for table, rows in counts.items():
        click.echo(f"  {table:<{width}}  {rows:>9,}")
    total = sum(counts.values())
    click.echo(f"seeded {total:,} rows ({size}, seed {seed}) in {seconds:.1f} s")
    click.echo(
        f'log in as "{ADMIN_USERNAME}" (admin) or "{DEMO_USERNAME}" (user),'
        f' password "{DEMO_PASSWORD}" (every demo account has it)'
    )

"""``alchemy-patterns db``: migrate the schema with the Alembic scripts the package ships.

And ``db purge``: delete for good what was soft-deleted long enough ago.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from functools import partial

import click
from sqlalchemy.engine import make_url

from alchemy_patterns import migrations
from alchemy_patterns.db import Base, Database, purge_batch, soft_deletable_tables
from alchemy_patterns.domains import metadata
from alchemy_patterns.settings import make_database


def _url(ctx: click.Context) -> str:
    url: str = ctx.obj.settings.resolved_database_url
    return url


@click.group(short_help="Migrate, check and reset the schema (Alembic).")
def db() -> None:
    """Manage the database schema (Alembic migrations)."""


@db.command(short_help="Upgrade the schema (default: to the newest).")
@click.argument("revision", default="head")
@click.pass_context
def upgrade(ctx: click.Context, revision: str) -> None:
    """Upgrade the schema to REVISION (default: the newest)."""
    migrations.upgrade(_url(ctx), revision)
    click.echo(f"database at {migrations.current(_url(ctx))}")


# "-1" (one step down) is a revision, not an unknown option.
@db.command(
    short_help="Downgrade the schema (-1: one step).",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("revision")
@click.pass_context
def downgrade(ctx: click.Context, revision: str) -> None:
    """Downgrade the schema to REVISION ("-1" for one step, "base" for empty)."""
    migrations.downgrade(_url(ctx), revision)
    click.echo(f"database at {migrations.current(_url(ctx)) or 'base'}")


@db.command(short_help="Say which database, and whether it is at head.")
@click.pass_context
def current(ctx: click.Context) -> None:
    """Say which database this is (no password) and its revision: at head, or behind it."""
    url = _url(ctx)
    at = migrations.current(url)
    click.echo(f"database: {make_url(url).render_as_string(hide_password=True)}")
    click.echo(f"revision: {revision_state(at, migrations.head())}")


def revision_state(at: str | None, head: str) -> str:
    """``at`` told against ``head``: current, behind (what to run), or unknown to this version."""
    upgrade = "run `alchemy-patterns db upgrade`"
    if at == head:
        return f"{at} (head: up to date)"
    if at is None:
        return f"base, no migration applied (head is {head}: {upgrade})"
    if at in migrations.revisions():
        return f"{at} (behind head {head}: {upgrade})"
    return f"{at} (not a revision of this version, whose head is {head}: a newer one migrated it)"


@db.command(short_help="Fail if the models and the migrations differ.")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Fail if the models differ from the migrated schema (a migration is missing)."""
    differences = migrations.drift(_url(ctx))
    if differences:
        for difference in differences:
            click.echo(f"drift: {difference}", err=True)
        raise click.ClickException(f"{len(differences)} difference(s): write a migration")
    click.echo("models and migrations agree")


@db.command(short_help="Empty the database: drop it all, migrate again.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (scripts, CI).")
@click.pass_context
def reset(ctx: click.Context, yes: bool) -> None:
    """Drop every table and migrate again: an empty database at the newest schema.

    Asks first, unless --yes; without a terminal to ask on, refuses.
    """
    url = _url(ctx)
    if not yes:
        confirm_reset(url)
    migrations.downgrade(url, "base")
    migrations.upgrade(url, "head")
    click.echo(f"database reset: empty, at {migrations.current(url)}")


def confirm_reset(url: str) -> None:
    """Ask on the terminal; with no terminal, refuse rather than wait for an answer."""
    if not sys.stdin.isatty():
        raise click.ClickException("db reset deletes every row: confirm with --yes (no terminal)")
    at = migrations.current(url) or "base"
    shown = make_url(url).render_as_string(hide_password=True)
    click.confirm(f"Delete every row of {shown} (at {at})?", abort=True)


@db.command(short_help="Write a migration script (for developers).")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--autogenerate/--empty", default=True, help="Compare models with the database.")
@click.pass_context
def revision(ctx: click.Context, message: str, autogenerate: bool) -> None:
    """Write a new migration script (for developers, from a source checkout)."""
    from alembic import command

    command.revision(
        migrations.alembic_config(_url(ctx)), message=message, autogenerate=autogenerate
    )


#: ``--older-than`` units: days, hours, minutes.
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_age(value: str) -> dt.timedelta:
    """``30d``, ``12h``, ``90m``: a positive whole number and a unit."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([dhm])\s*", value)
    if match is None or int(match.group(1)) == 0:
        raise click.BadParameter(f"{value!r}: give a positive age such as 30d, 12h or 90m")
    return dt.timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


@db.command(short_help="Delete for good what was soft-deleted long ago.")
@click.option(
    "--older-than",
    "age",
    required=True,
    help="Rows soft-deleted longer ago than this: 30d, 12h, 90m.",
)
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.pass_context
def purge(ctx: click.Context, age: str, batch_size: int) -> None:
    """Delete for good the rows soft-deleted longer ago than --older-than, in batches.

    Each batch is a short transaction of its own. Prints how many rows each
    table lost (rows their parents' ON DELETE CASCADE took along are not counted).
    """
    before = dt.datetime.now(dt.UTC) - parse_age(age)
    database = make_database(ctx.obj.settings)
    try:
        counts = purge_deleted(database, before, batch_size)
    finally:
        database.dispose()
    for table, purged in counts.items():
        click.echo(f"{table}: {purged} purged")
    total = sum(counts.values())
    click.echo(f"{total} rows deleted for good (soft-deleted before {before:%Y-%m-%d %H:%M} UTC)")


def purge_deleted(database: Database, before: dt.datetime, batch_size: int) -> dict[str, int]:
    """Rows deleted for good per table, children first, one transaction per batch."""
    counts: dict[str, int] = {}
    for table in soft_deletable_tables(metadata, Base.registry):
        counts[table.name] = 0
        while True:
            purged = database.transaction(
                partial(purge_batch, table=table, before=before, limit=batch_size)
            )
            counts[table.name] += purged
            if purged < batch_size:
                break
    return counts

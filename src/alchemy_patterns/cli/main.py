"""Entry point: global options, and errors as one clear line instead of a traceback."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import click
from alembic.util import CommandError
from sqlalchemy import exc as sa_exc

from alchemy_patterns import __version__
from alchemy_patterns.cli.db import db
from alchemy_patterns.cli.errors import NamingUnreachableDatabase
from alchemy_patterns.cli.seed import seed
from alchemy_patterns.cli.serve import serve
from alchemy_patterns.cli.tour import tour
from alchemy_patterns.db import AppError
from alchemy_patterns.settings import Settings


@dataclass
class Context:
    """What every command needs: the settings, and whether to show tracebacks."""

    settings: Settings
    debug: bool


@click.group(
    cls=NamingUnreachableDatabase, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, "-V", "--version", prog_name="alchemy-patterns")
@click.option(
    "--database-url",
    envvar="ALCHEMY_PATTERNS_DATABASE_URL",
    help="SQLAlchemy URL (default: an SQLite file in ./instance).",
)
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, debug: bool) -> None:
    """alchemy-patterns: the SQLAlchemy Advanced Patterns Guide, built for real."""
    settings = Settings(database_url=database_url) if database_url else Settings()
    ctx.obj = Context(settings=settings, debug=debug)


cli.add_command(db)
cli.add_command(seed)
cli.add_command(serve)
cli.add_command(tour)


def main() -> None:
    """Run the CLI; a failure prints one line and exits 1 (2 for usage errors)."""
    debug = "--debug" in sys.argv
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    # CommandError: Alembic's, e.g. a revision it cannot find (`db downgrade nope`).
    except (AppError, sa_exc.SQLAlchemyError, CommandError, OSError, ValueError) as error:
        if debug:
            raise
        message = getattr(error, "orig", None) or error
        click.echo(f"Error: {type(error).__name__}: {' '.join(str(message).split())}", err=True)
        sys.exit(1)

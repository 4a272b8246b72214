"""The ``alchemy-patterns`` command, run as a user runs it: a subprocess in a fresh directory.

What needs no interpreter of its own (help texts, ``db current``'s answers) runs in-process.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from alchemy_patterns import __version__, migrations
from alchemy_patterns.cli import cli

HEAD = migrations.head()


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALCHEMY_PATTERNS_")}
    return subprocess.run(
        [sys.executable, "-m", "alchemy_patterns", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version(tmp_path: Path) -> None:
    result = run(tmp_path, "--version")

    assert result.returncode == 0
    assert __version__ in result.stdout


def upgraded(cwd: Path) -> Path:
    """Given: the default SQLite database in ``cwd``, migrated to head."""
    result = run(cwd, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return cwd


def test_db_upgrade_creates_the_default_sqlite_database(tmp_path: Path) -> None:
    result = run(tmp_path, "db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "instance" / "alchemy_patterns.sqlite3").is_file()
    assert f"database at {HEAD}" in result.stdout


def test_db_current_names_the_database_and_says_it_is_at_head(tmp_path: Path) -> None:
    cwd = upgraded(tmp_path)

    result = run(cwd, "db", "current")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"database: sqlite:///{cwd.resolve() / 'instance' / 'alchemy_patterns.sqlite3'}",
        f"revision: {HEAD} (head: up to date)",
    ]


def db_command(url: str, *args: str) -> list[str]:
    """``alchemy-patterns --database-url URL db ARGS`` in-process: the lines it printed."""
    result = CliRunner().invoke(cli, ["--database-url", url, "db", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_db_current_says_a_database_one_step_down_is_behind_and_what_to_run(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    migrations.upgrade(url)
    db_command(url, "downgrade", "-1")  # "-1" is a revision, not an unknown option

    revision = db_command(url, "current")[1]

    assert revision.startswith("revision: ")
    assert revision.endswith(f"(behind head {HEAD}: run `alchemy-patterns db upgrade`)")
    assert revision.split()[1] not in (HEAD, "base")


def test_db_current_says_an_empty_database_has_no_migration_and_what_to_run(
    tmp_path: Path,
) -> None:
    revision = db_command(f"sqlite:///{tmp_path / 'app.sqlite3'}", "current")[1]

    assert revision == (
        f"revision: base, no migration applied (head is {HEAD}: run `alchemy-patterns db upgrade`)"
    )


def test_db_current_names_a_revision_this_version_does_not_know(tmp_path: Path) -> None:
    database = tmp_path / "app.sqlite3"
    migrations.upgrade(f"sqlite:///{database}")
    with sqlite3.connect(database) as connection:  # as a newer version would leave it
        connection.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    connection.close()

    revision = db_command(f"sqlite:///{database}", "current")[1]

    assert revision.startswith("revision: 0099_from_the_future (not a revision of this version")


@pytest.mark.backends("postgresql")  # a server that takes any password from 127.0.0.1
def test_db_current_hides_the_password(fresh_database_url: str) -> None:
    url = make_url(fresh_database_url).set(password="s3cret")

    lines = db_command(url.render_as_string(False), "current")

    assert "s3cret" not in "\n".join(lines)
    assert lines[0] == f"database: {url.render_as_string(True)}"


def test_an_unknown_revision_is_one_clear_line(tmp_path: Path) -> None:
    result = run(tmp_path, "db", "upgrade", "nope")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: CommandError: Can't locate revision identified by 'nope'"
    ]


def test_db_check_passes_when_models_and_migrations_agree(tmp_path: Path) -> None:
    cwd = upgraded(tmp_path)

    result = run(cwd, "db", "check")

    assert result.returncode == 0, result.stderr
    assert "agree" in result.stdout


def test_db_downgrade_to_base(tmp_path: Path) -> None:
    cwd = upgraded(tmp_path)

    result = run(cwd, "db", "downgrade", "base")

    assert result.returncode == 0, result.stderr
    assert run(cwd, "db", "current").stdout.splitlines()[1].startswith("revision: base")


def test_db_upgrade_on_the_chosen_backend(tmp_path: Path, fresh_database_url: str) -> None:
    result = run(tmp_path, "--database-url", fresh_database_url, "db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert migrations.current(fresh_database_url) == HEAD


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"

    result = run(tmp_path, "--database-url", url, "db", "current")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "127.0.0.1" in lines[0]
    assert "refused" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["no-such-command"], ["db", "upgrade", "a", "b"]])
def test_a_usage_error_exits_2(tmp_path: Path, args: list[str]) -> None:
    result = run(tmp_path, *args)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [("not a url", "Could not parse"), ("oracle://scott@db/orcl", "unsupported database backend")],
)
def test_a_bad_database_url_is_one_clear_line(tmp_path: Path, url: str, says: str) -> None:
    result = run(tmp_path, "--database-url", url, "db", "upgrade")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert says in lines[0]


# --- help ----------------------------------------------------------------------------------


def every_command(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of every command under ``group``, groups included, as typed after the program."""
    found = []
    for name, command in group.commands.items():
        found.append((*path, name))
        if isinstance(command, click.Group):
            found += every_command(command, (*path, name))
    return found


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def test_every_command_has_a_one_line_help_that_is_a_whole_sentence() -> None:
    paths = every_command(cli)

    assert ("db", "current") in paths
    for path in paths:
        # click cuts a docstring's first sentence at 45 characters with "..."
        short = command_at(path).get_short_help_str()
        assert short.endswith("."), path
        assert not short.endswith("..."), path
        assert len(short) <= 56, (path, short)  # one line at 80 columns, beside the names


@pytest.mark.parametrize("group", [(), ("db",)])
def test_the_command_lists_show_each_one_line_help_whole(group: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*group, "--help"], terminal_width=80)

    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:\n", 1)[1].splitlines()
    parent = command_at(group)
    assert isinstance(parent, click.Group)
    assert [line.split(None, 1) for line in listed] == [
        [name, command.get_short_help_str()] for name, command in sorted(parent.commands.items())
    ]

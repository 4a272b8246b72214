"""``serve`` and ``db reset``, run as a user runs them: subprocesses in a fresh directory.

The quickstart test runs the README's own block, so the README cannot drift
from the API: what a reader pastes is what was tested.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from alchemy_patterns import migrations
from alchemy_patterns.cli import cli
from alchemy_patterns.db import Database
from alchemy_patterns.domains import metadata
from alchemy_patterns.domains.shop.models import Product
from tests.cli.test_cli import HEAD
from tests.serving import clean_env, serving
from tests.threads import race

README = Path(__file__).parents[2] / "README.md"
#: The line of the quickstart that names the server; the test points it at its own port.
README_API = "API=http://127.0.0.1:8000"
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/x"


def quickstart(port: int) -> str:
    """The README's quickstart block, pointed at ``port`` the way the README says to."""
    section = README.read_text().split("## Quickstart", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "no ```sh block in the README's quickstart"
    script = block.group(1)
    assert script.count(README_API) == 1, f"the quickstart should set {README_API} once"
    return script.replace(README_API, f"API=http://127.0.0.1:{port}")


# --- serve -------------------------------------------------------------------------------------


def quickstart_requests(registered: int) -> list[tuple[str, str, int]]:
    """What one run of the quickstart asks, with the status of each register (201, then 409)."""
    return [
        ("POST", "/auth/register", registered),
        ("POST", "/auth/register", registered),
        ("POST", "/auth/login", 200),
        ("POST", "/auth/login", 200),
        ("GET", "/products", 200),
        ("GET", "/products", 200),  # searched
        ("GET", "/products", 200),  # filtered and sorted
        ("GET", "/products", 200),
        ("POST", "/cart/items", 200),
        ("GET", "/cart", 200),
        ("POST", "/checkout", 201),
        ("POST", "/checkout", 200),  # the same Idempotency-Key: the first order, not a second
        ("POST", "/posts", 201),
        ("PUT", "/users/{id}/follow", 200),
        ("GET", "/feed", 200),
    ]


def test_the_readme_quickstart_works_as_written_and_again(tmp_path: Path) -> None:
    script = ["bash", "-c", "set -euo pipefail\n"]
    with serving(tmp_path, "serve", "--demo", "--workers", "1", "--threads", "2") as server:
        script[-1] += quickstart(server.port)
        first, second = (
            subprocess.run(script, capture_output=True, text=True, timeout=60, check=False)
            for _ in range(2)
        )

        assert first.returncode == 0, f"{first.stderr}\n{server.output()}"
        assert second.returncode == 0, f"{second.stderr}\n{server.output()}"
        assert server.stop() == 0
    assert server.requests() == quickstart_requests(201) + quickstart_requests(409)
    assert "Hello from bob" in first.stdout  # the feed shows the post of the user ada follows
    # The second run says what it found, and carries on to a second order of its own.
    assert second.stdout.count("username on users is already taken") == 2
    assert (first.stderr, second.stderr) == ("", "")
    assert (tmp_path / "instance" / "alchemy_patterns.sqlite3").is_file()


def test_the_quickstarts_pick_shows_an_answer_without_the_field_instead_of_a_traceback() -> None:
    pick = re.search(r"^pick\(\) \{.*?; \}$", quickstart(1), re.DOTALL | re.MULTILINE)
    assert pick is not None, "no pick() in the quickstart"
    problem = '{"status": 409, "title": "Conflict"}'

    result = subprocess.run(
        ["bash", "-c", f"{pick[0]}\necho '{problem}' | pick 'data[\"id\"]'"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "no data[\"id\"] in this answer: {'status': 409, 'title': 'Conflict'}"
    )


@pytest.mark.backends("postgresql", "mariadb")  # SQLite: the quickstart above
def test_serve_migrates_the_chosen_backend_and_serves_it_from_several_workers(
    tmp_path: Path, fresh_database_url: str
) -> None:
    args = ("--database-url", fresh_database_url, "serve", "--workers", "2", "--threads", "2")
    with serving(tmp_path, *args) as server:
        statuses = {server.get("/readyz") for _ in range(6)}  # from either worker

        assert statuses == {200}
        assert migrations.current(fresh_database_url) == HEAD
        assert server.stop(signal.SIGINT) == 0  # Ctrl-C
    assert server.output().count("Booting worker") == 2


def test_serve_spreads_connections_over_its_workers(
    tmp_path: Path, fresh_database_url: str
) -> None:
    args = ("--database-url", fresh_database_url, "serve", "--workers", "2", "--threads", "4")
    with serving(tmp_path, *args) as server:
        # 32 connections opened at once: without SO_REUSEPORT one worker often takes them all.
        race(32, lambda _: server.get("/readyz"))

    workers = {line["pid"] for line in server.access_log() if line["path"] == "/readyz"}
    assert len(workers) == 2


def test_serve_refuses_a_port_that_is_taken_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        database = f"sqlite:///{tmp_path / 'app.sqlite3'}"

        result = CliRunner().invoke(cli, ["--database-url", database, "serve", "--port", str(port)])

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_serve_reload_runs_the_development_server(tmp_path: Path) -> None:
    with serving(tmp_path, "serve", "--reload") as server:
        assert server.get("/readyz") == 200
        assert server.stop() == 0


def test_serve_help_explains_the_options() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])

    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--threads", "--demo", "--reload"):
        assert option in result.output
    assert "--no-migrate" in result.output
    assert "SQLite" in result.output


# --- db reset ----------------------------------------------------------------------------------


def with_a_product(url: str) -> Database:
    """Given: the database at ``url`` migrated to head, with one product in it."""
    migrations.upgrade(url)
    db = Database(url, metadata=metadata)
    with db.session_scope() as session:
        session.add(Product(sku="SKU-1", name="Kettle", price=Decimal("12.50"), stock=3))
    return db


def row_counts(db: Database) -> dict[str, int]:
    with db.session_scope(read_only=True) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in metadata.sorted_tables
        }


def test_db_reset_yes_empties_every_table_and_leaves_the_schema_at_head(
    fresh_database_url: str,
) -> None:
    db = with_a_product(fresh_database_url)
    try:
        result = CliRunner().invoke(
            cli, ["--database-url", fresh_database_url, "db", "reset", "--yes"]
        )

        assert result.exit_code == 0, result.output
        assert migrations.current(fresh_database_url) == HEAD
        assert set(row_counts(db).values()) == {0}
    finally:
        db.dispose()


def test_db_reset_without_yes_and_without_a_terminal_refuses_at_once(tmp_path: Path) -> None:
    db = with_a_product(f"sqlite:///{tmp_path / 'instance' / 'alchemy_patterns.sqlite3'}")
    try:
        with subprocess.Popen(
            [sys.executable, "-m", "alchemy_patterns", "db", "reset"],
            cwd=tmp_path,
            env=clean_env(),
            stdin=subprocess.PIPE,  # open and silent: a prompt would wait on it forever
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            try:
                returncode = process.wait(timeout=60)
            finally:
                process.kill()  # nothing to do once it has exited
            assert process.stderr is not None
            stderr = process.stderr.read()

        assert returncode == 1
        assert len(stderr.strip().splitlines()) == 1
        assert "--yes" in stderr
        assert row_counts(db)["products"] == 1
    finally:
        db.dispose()


# --- an unreachable database -------------------------------------------------------------------
# In-process: what main() does with the one line is tests/cli/test_cli.py's subprocess test.


@pytest.mark.parametrize(
    "args",
    [
        [UNREACHABLE, "serve"],
        [UNREACHABLE, "db", "upgrade"],
        [UNREACHABLE, "db", "reset", "--yes"],
        ["mysql+pymysql://root@127.0.0.1:1/x", "serve", "--demo"],
    ],
    ids=["serve", "db-upgrade", "db-reset", "serve-mariadb"],
)
def test_an_unreachable_database_is_one_line_naming_host_and_cause(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["--database-url", *args])

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "127.0.0.1:1" in lines[0]
    assert "connection refused" in lines[0]


def test_debug_lets_the_driver_error_through_for_its_traceback() -> None:
    result = CliRunner().invoke(cli, ["--debug", "--database-url", UNREACHABLE, "db", "upgrade"])

    assert isinstance(result.exception, sa_exc.OperationalError)

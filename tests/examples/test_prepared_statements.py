"""examples/prepared_statements.py runs as its docstring says, on the backend under test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import make_url

from tests.serving import clean_env

EXAMPLE = Path(__file__).parents[2] / "examples" / "prepared_statements.py"


def test_the_example_reads_its_books_directly_on_psycopg_and_through_sqlalchemy_elsewhere(
    fresh_database_url: str, tmp_path: Path
) -> None:
    env = clean_env() | {"DATABASE_URL": fresh_database_url}
    ran = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    driver = make_url(fresh_database_url).get_driver_name()
    how = "on the driver's cursor" if driver == "psycopg" else "by SQLAlchemy"
    assert ran.stdout.splitlines() == [
        "1 Book 1 1.99",
        "2 Book 2 2.99",
        "3 Book 3 3.99",
        f"3 statements, run {how} ({driver})",
    ]

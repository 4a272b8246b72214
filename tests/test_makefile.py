"""``make run`` takes the address to serve on from ``HOST`` and ``PORT``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_command(*variables: str) -> str:
    """The last command ``make run`` would run (``make -n``: nothing runs)."""
    make = shutil.which("make")
    assert make is not None, "make is needed"
    printed = subprocess.run(
        [make, "-n", "--no-print-directory", "run", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return printed.strip().splitlines()[-1]


def test_make_run_serves_on_the_default_address() -> None:
    assert run_command().endswith("serve --demo --host 127.0.0.1 --port 8000")


def test_make_run_takes_host_and_port() -> None:
    assert run_command("PORT=8080", "HOST=0.0.0.0").endswith(
        "serve --demo --host 0.0.0.0 --port 8080"
    )

"""The data layer is a library of its own: ``pip install alchemy-patterns`` and nothing else.

A fresh virtual environment gets the project with only ``pip install .`` (the
dependencies from the index, as a user gets them; pip's cache may serve
them), and there the data layer imports and runs a unit of work on SQLite,
with no package of the application installed; the API and the command say in
one line which extra they need.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).parents[1]

LIBRARY_USE = """
import importlib.util
from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, mapped_column
from alchemy_patterns.db import Base, Conflict, Database

class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50), unique=True)

db = Database("sqlite:///notes.sqlite3", metadata=Base.metadata)
db.create_all()
with db.session_scope() as session:
    session.add(Note(title="first"))
try:
    db.transaction(lambda session: session.add(Note(title="first")) or session.flush())
except Conflict as error:
    print("conflict on", error.field)
with db.session_scope(read_only=True) as session:
    print("notes:", session.scalar(select(func.count()).select_from(Note)))
print("flask installed:", importlib.util.find_spec("flask") is not None)
try:
    import alchemy_patterns.web
except ImportError as error:
    print(error)
"""


def test_pip_install_of_the_project_alone_gives_a_working_data_layer(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python, command = env_dir / "bin" / "python", env_dir / "bin" / "alchemy-patterns"
    install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", ROOT]
    subprocess.run(install, check=True, timeout=600, cwd=tmp_path)

    used = subprocess.run(
        [python, "-c", LIBRARY_USE], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    ran = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60)

    assert used.returncode == 0, used.stderr
    lines = used.stdout.splitlines()
    assert lines[:3] == ["conflict on title", "notes: 1", "flask installed: False"]
    assert lines[3].startswith("alchemy_patterns.web needs the application's packages")
    assert lines[3].endswith("pip install 'alchemy-patterns[app]'")
    assert ran.returncode == 1
    assert ran.stdout == ""
    assert ran.stderr.count("\n") == 1
    assert "pip install 'alchemy-patterns[app]'" in ran.stderr
    assert sys.prefix != str(env_dir)

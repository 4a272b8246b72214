"""The layers point one way: web, cli -> domains -> db. The data layer imports none of them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import alchemy_patterns.db

DB_PACKAGE = Path(alchemy_patterns.db.__file__).parent
FORBIDDEN = (
    "alchemy_patterns.domains",
    "alchemy_patterns.web",
    "alchemy_patterns.cli",
    "alchemy_patterns.settings",
    "alchemy_patterns.migrations",
    "flask",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_data_layer_source_imports_nothing_above_it() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in DB_PACKAGE.glob("*.py")
        for name in imported_modules(path)
        if name.startswith(FORBIDDEN)
    }

    assert offenders == set()


def test_importing_the_data_layer_loads_nothing_above_it() -> None:
    probe = (
        "import sys, alchemy_patterns.db; "
        f"print('\\n'.join(m for m in sys.modules if m.startswith({FORBIDDEN!r})))"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == ""

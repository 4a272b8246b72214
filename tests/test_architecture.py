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


DOMAINS_PACKAGE = DB_PACKAGE.parent / "domains"
#: Which domains each domain may import: the audit trail serves everyone and
#: needs no one; the shop sells to accounts' users, and the social network
#: connects them; the clinic and the school keep people of their own, whom an
#: account may be linked to (and so read their own record: accounts.access).
ALLOWED_DOMAIN_IMPORTS = {
    "audit": set(),
    "accounts": {"audit"},
    "shop": {"accounts", "audit"},
    "social": {"accounts", "audit"},
    "clinic": {"accounts", "audit"},
    "school": {"accounts", "audit"},
}


def domain_imports(domain: str) -> set[str]:
    return {
        name for path in (DOMAINS_PACKAGE / domain).glob("*.py") for name in imported_modules(path)
    }


def test_the_domains_import_neither_the_web_layer_nor_the_cli() -> None:
    above = ("alchemy_patterns.web", "alchemy_patterns.cli", "flask", "click")
    offenders = {
        f"{path.relative_to(DOMAINS_PACKAGE)}: {name}"
        for path in DOMAINS_PACKAGE.rglob("*.py")
        for name in imported_modules(path)
        if name.startswith(above)
    }

    assert offenders == set()


def test_each_domain_imports_only_the_domains_below_it() -> None:
    shared = {path.stem for path in DOMAINS_PACKAGE.glob("*.py")}  # schemas.py, __init__
    offenders = {}
    for domain, allowed in ALLOWED_DOMAIN_IMPORTS.items():
        used = {
            name.split(".")[2]
            for name in domain_imports(domain)
            if name.startswith("alchemy_patterns.domains.")
        }
        if extra := used - allowed - shared - {domain}:
            offenders[domain] = extra

    assert offenders == {}


def test_every_domain_package_is_listed_in_the_dependency_rules() -> None:
    packages = {path.parent.name for path in DOMAINS_PACKAGE.glob("*/__init__.py")}

    assert packages == set(ALLOWED_DOMAIN_IMPORTS)

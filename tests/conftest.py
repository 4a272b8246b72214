"""Test harness: pick the backends with ``--db``, give every test a clean database.

``--db sqlite|postgresql|mariadb|all`` (or ``ALCHEMY_PATTERNS_TEST_DB``) chooses
the backends; each test that asks for ``database_url`` (directly or through a
fixture) runs once per chosen backend. A test that applies to some backends
only says so with ``@pytest.mark.backends("postgresql")`` and is deselected
elsewhere. A backend that was asked for and cannot be reached is an error, not
a skip: a green run means every chosen backend ran.

Server URLs come from ``ALCHEMY_PATTERNS_TEST_POSTGRESQL_URL`` and
``ALCHEMY_PATTERNS_TEST_MARIADB_URL``; the test database is created if missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url

from alchemy_patterns.domains.accounts import passwords

# tests.db.ways: the async way of the tests run both ways (its hook acts on those alone).
pytest_plugins = ["tests.app_fixtures", "tests.db.ways"]

BACKENDS = ("sqlite", "postgresql", "mariadb")
SERVER_URLS = {
    "postgresql": os.environ.get(
        "ALCHEMY_PATTERNS_TEST_POSTGRESQL_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/alchemy_patterns_test",
    ),
    "mariadb": os.environ.get(
        "ALCHEMY_PATTERNS_TEST_MARIADB_URL",
        "mysql+pymysql://root@127.0.0.1:3306/alchemy_patterns_test",
    ),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("ALCHEMY_PATTERNS_TEST_DB", "sqlite"),
        choices=[*BACKENDS, "all"],
        help="backend(s) to run the tests on (default: sqlite; env ALCHEMY_PATTERNS_TEST_DB)",
    )


def selected_backends(config: pytest.Config) -> list[str]:
    chosen = config.getoption("--db")
    return list(BACKENDS) if chosen == "all" else [chosen]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize(
            "backend", selected_backends(metafunc.config), indirect=True, scope="session"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("backends")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec else None
        if marker and (backend is None or backend not in marker.args):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@contextmanager
def _server(url: URL) -> Iterator[Connection]:
    """An autocommit connection to the server of ``url``, outside the database it names."""
    backend = url.get_backend_name()
    admin_url = url.set(database="postgres" if backend == "postgresql" else "")
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _ensure_server_database(url: str) -> None:
    """Create the test database on its server if it does not exist yet."""
    parsed = make_url(url)
    name = parsed.database
    try:
        with _server(parsed) as connection:
            if parsed.get_backend_name() == "postgresql":
                found = connection.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                )
                if not found:
                    connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                connection.exec_driver_sql(
                    f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4"
                )
    except Exception as error:  # any failure here means "not reachable"
        pytest.fail(
            f"backend {parsed.get_backend_name()} was asked for but "
            f"{parsed.render_as_string()} cannot be used: {error}",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2id at its smallest cost: the tests check what is hashed and verified, not the cost.

    A login then takes a millisecond instead of tens. The parameters still
    differ from the weak ones the rehash tests use.
    """
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", cheap)
        passwords._dummy_hash.cache_clear()  # made again, cheaply, on first use
        yield
        passwords._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an empty-able test database on ``backend``."""
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        return f"sqlite:///{path}"
    url = SERVER_URLS[backend]
    _ensure_server_database(url)
    return url


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own on ``backend``, apart from the one the test models use.

    For tests of the schema as a whole (migrations), where the test models'
    tables would count as drift. On a server the name carries the process id,
    so two test runs at once do not drop each other's database.
    """
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    name = f"alchemy_patterns_migrations_test_{os.getpid()}"
    url = make_url(SERVER_URLS[backend]).set(database=name)
    _drop_server_database(url)
    rendered = url.render_as_string(hide_password=False)
    _ensure_server_database(rendered)
    yield rendered
    _drop_server_database(url)


def _drop_server_database(url: URL) -> None:
    with _server(url) as connection:
        if url.get_backend_name() == "postgresql":
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        else:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{url.database}`")

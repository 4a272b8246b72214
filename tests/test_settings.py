"""Settings come from the environment, with one prefix, and default to a local SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.pool import QueuePool

from alchemy_patterns.settings import Settings, make_database


def test_the_default_database_is_an_sqlite_file_in_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ALCHEMY_PATTERNS_DATABASE_URL", raising=False)
    monkeypatch.setenv("ALCHEMY_PATTERNS_DATA_DIR", str(tmp_path / "data"))

    settings = Settings()

    assert (
        settings.resolved_database_url == f"sqlite:///{tmp_path / 'data'}/alchemy_patterns.sqlite3"
    )


def test_the_environment_configures_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALCHEMY_PATTERNS_DATABASE_URL", "postgresql+psycopg://app@db.example/app")
    monkeypatch.setenv("ALCHEMY_PATTERNS_POOL_SIZE", "7")
    monkeypatch.setenv("ALCHEMY_PATTERNS_POOL_TIMEOUT", "2.5")
    monkeypatch.setenv("ALCHEMY_PATTERNS_SLOW_QUERY_MS", "50")

    database = make_database(Settings())
    try:
        assert database.backend == "postgresql"
        pool = database.engine.pool
        assert isinstance(pool, QueuePool)
        assert (pool.size(), pool.timeout()) == (7, 2.5)
    finally:
        database.dispose()


def test_a_bad_value_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALCHEMY_PATTERNS_POOL_SIZE", "zero")

    with pytest.raises(ValueError, match="pool_size"):
        Settings()

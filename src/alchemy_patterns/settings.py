"""Settings, read once from the environment (prefix ``ALCHEMY_PATTERNS_``) or given by a test."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alchemy_patterns.db import Database, EngineOptions

__all__ = ["Settings", "make_database"]


class Settings(BaseSettings):
    """Everything the application reads from its environment.

    ``ALCHEMY_PATTERNS_DATABASE_URL=postgresql+psycopg://user@host/db`` points the
    app at PostgreSQL; without it the app uses an SQLite file in ``data_dir``.
    """

    model_config = SettingsConfigDict(env_prefix="ALCHEMY_PATTERNS_", extra="ignore")

    data_dir: Path = Field(Path("instance"), description="where the default SQLite file lives")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file")
    echo: bool = Field(False, description="log every SQL statement")
    pool_size: int = Field(5, ge=1)
    max_overflow: int = Field(10, ge=0)
    pool_timeout: float = Field(30.0, gt=0, description="seconds to wait for a free connection")
    pool_recycle: int = Field(1800, gt=0, description="seconds before a connection is replaced")
    connect_timeout: int = Field(10, gt=0, description="seconds to wait for a new connection")
    slow_query_ms: float | None = Field(200.0, ge=0, description="log slower statements")
    n_plus_one: Literal["off", "warn", "raise"] = "warn"
    login_window_s: int = Field(900, gt=0, description="how long a failed login counts")
    login_failures_per_account: int = Field(5, gt=0, description="before 429, per account")
    login_failures_per_address: int = Field(30, gt=0, description="before 429, per address")
    replica_urls: str = Field("", description="PostgreSQL hot standbys for reads, comma-separated")
    max_replica_lag_s: float = Field(2.0, ge=0, description="a replica further behind is skipped")
    consistency_wait_s: float = Field(
        0.2, ge=0, description="how long a read with a token waits for a replica to replay it"
    )
    pgbouncer: bool = Field(False, description="PgBouncer (transaction pooling) in front")

    @property
    def replicas(self) -> list[str]:
        return [url.strip() for url in self.replica_urls.split(",") if url.strip()]

    metrics_allow: str = Field(
        "", description="networks (CIDR, comma-separated) besides loopback that may read /metrics"
    )

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        for network in value.split(","):
            if network.strip():
                ipaddress.ip_network(network.strip(), strict=False)  # ValueError names it
        return value

    @property
    def metrics_networks(self) -> list[str]:
        """The networks of ``metrics_allow``, one CIDR each."""
        return [network.strip() for network in self.metrics_allow.split(",") if network.strip()]

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'alchemy_patterns.sqlite3').resolve()}"

    def engine_options(self) -> EngineOptions:
        return EngineOptions(
            echo=self.echo,
            pool_size=self.pool_size,
            max_overflow=self.max_overflow,
            pool_timeout=self.pool_timeout,
            pool_recycle=self.pool_recycle,
            connect_timeout=self.connect_timeout,
        )


def make_database(settings: Settings | None = None) -> Database:
    """The application's ``Database``, configured from ``settings``."""
    from alchemy_patterns.domains import metadata

    settings = settings or Settings()
    return Database(
        settings.resolved_database_url,
        metadata=metadata,
        slow_query_ms=settings.slow_query_ms,
        n_plus_one=settings.n_plus_one,
        engine_options=settings.engine_options(),
        replicas=settings.replicas,
        max_replica_lag=settings.max_replica_lag_s,
        consistency_wait=settings.consistency_wait_s,
        pgbouncer=settings.pgbouncer,
    )

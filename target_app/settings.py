"""Settings of the app under test, read from the environment with the ``BENCH_`` prefix."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from target_app.secrets import redact_url

__all__ = ["ENV_PREFIX", "Settings", "env_name", "redact_url"]

ENV_PREFIX = "BENCH_"


def env_name(field: str) -> str:
    """The environment variable of a setting: ``db_pool_size`` → ``BENCH_DB_POOL_SIZE``."""
    return f"{ENV_PREFIX}{field.upper()}"


class Settings(BaseSettings):
    """Everything that shapes the app's capacity; all of it is recorded with each run."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    threadpool_tokens: int = Field(
        40, ge=1, le=10_000, description="anyio default thread limiter size (runs `def` endpoints)"
    )
    loop_lag_interval_ms: float = Field(
        10.0, gt=0, le=1000, description="period of the event-loop lag ticker"
    )
    # Upstream ("external API") and database: used by the I/O workload families.
    upstream_url: str = Field(
        "", description="base URL of the upstream service (from settings only)"
    )
    http_max_connections: int = Field(100, ge=1, le=10_000)
    http_timeout_s: float = Field(10.0, gt=0, le=300)
    database_url: str = Field(
        "", description="SQLAlchemy URL of the database, empty = no DB routes"
    )
    db_pool_size: int = Field(10, ge=1, le=1000)
    db_max_overflow: int = Field(0, ge=0, le=1000)
    db_pool_timeout_s: float = Field(30.0, gt=0, le=300)
    process_pool_workers: int = Field(1, ge=1, le=64)

    def public(self) -> dict[str, object]:
        """Settings as recorded in results: database passwords are never written out."""
        data = self.model_dump()
        data["database_url"] = redact_url(self.database_url)
        return data

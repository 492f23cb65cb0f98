"""Settings of the app under test, read from the environment with the ``BENCH_`` prefix."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from target_app.secrets import redact_url

__all__ = ["ENV_PREFIX", "Settings", "env_name", "parse_gc_threshold", "redact_url"]

ENV_PREFIX = "BENCH_"
MAX_GC_THRESHOLD = 10_000_000


def parse_gc_threshold(text: str) -> tuple[int, ...]:
    """``"700,10,10"`` → ``(700, 10, 10)``: 1 to 3 whole numbers 0..10,000,000 (0 disables)."""
    parts = [p.strip() for p in text.split(",")]
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"expected 1 to 3 whole numbers like 700,10,10, got {text!r}")
    numbers = tuple(int(p) for p in parts)
    if max(numbers) > MAX_GC_THRESHOLD:
        raise ValueError(f"each threshold must be at most {MAX_GC_THRESHOLD:,}, got {text!r}")
    return numbers


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
    cpu_calibration_s: float = Field(
        0.0,
        ge=0,
        le=5,
        description="spread the CPU family's start-up calibration over this long, keeping its "
        "fastest try (a VM's host can slow a core for a few hundred ms); the harness asks 0.5",
    )
    # Garbage collector, applied by the lifespan (target_app/main.py), recorded in /_bench/info.
    gc_freeze: bool = Field(
        False, description="gc.freeze() once the lifespan has built everything (clients, pools)"
    )
    gc_threshold: str = Field(
        "",
        description="gc.set_threshold, 1 to 3 whole numbers like 700,10,10 (empty = Python's)",
    )

    @field_validator("gc_threshold", mode="before")
    @classmethod
    def _gc_threshold(cls, value: object) -> str:
        """``"700, 10,10"`` or ``[700, 10, 10]`` → ``"700,10,10"``; anything else is an error."""
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError("expected whole numbers like 700,10,10")
        if not value.strip():
            return ""
        return ",".join(str(n) for n in parse_gc_threshold(value))

    def gc_thresholds(self) -> tuple[int, ...]:
        """The thresholds to set, () to keep the interpreter's."""
        return parse_gc_threshold(self.gc_threshold) if self.gc_threshold else ()

    def public(self) -> dict[str, object]:
        """Settings as recorded in results: database passwords are never written out."""
        data = self.model_dump()
        data["database_url"] = redact_url(self.database_url)
        return data

"""Run metadata, collected (never typed in): versions, CPU, cores, load, pinning."""

from __future__ import annotations

import os
import platform
import socket
import sys
from typing import Any

import psutil

from harness import affinity
from harness.measure.cpu_sampler import PROC_STAT
from target_app import instrumentation

PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "gunicorn",
    "uvicorn-worker",
    "anyio",
    "pydantic",
    "locust",
    "gevent",
    "geventhttpclient",
    "httpx",
    "httpcore",
    "aiohttp",
    "requests",
    "sqlalchemy",
    "psycopg",
    "asyncpg",
    "aiosqlite",
    "pandas",
    "matplotlib",
)


def package_versions() -> dict[str, str]:
    return instrumentation.package_versions(PACKAGES)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_freq() -> Any:
    """psutil's reading, or None where the OS will not say (some macOS machines raise)."""
    try:
        return psutil.cpu_freq()
    except (OSError, NotImplementedError, AttributeError, RuntimeError):
        return None


def collect(pinning: dict[str, Any]) -> dict[str, Any]:
    freq = cpu_freq()
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        # who writes the run: a "running" run whose harness is gone was killed (results.load)
        "harness_pid": os.getpid(),
        "harness_started": psutil.Process().create_time(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": list(affinity.usable_cpus()),  # every CPU where the OS cannot say
        # per-CPU times (/proc/stat): without them the foreign-CPU check cannot run (macOS)
        "per_cpu_times": PROC_STAT.is_file(),
        "cpu_freq_mhz": round(freq.current) if freq else None,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "packages": package_versions(),
        "pinning": pinning,
    }

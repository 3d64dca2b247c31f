"""Shared helpers for the foundation benchmarks: machine facts, fresh databases, percentiles.

Generated databases live in /tmp (SQLite files) or as ``heard_bench_*`` databases on the
local PostgreSQL server; never in the repository.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TMP = Path("/tmp/heard-bench")
PG_ADMIN = os.environ.get("HEARD_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    out: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gb": mem_gb,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_at_start": load_average(),
    }
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            out["postgresql"] = row[0] if row else "?"
    except Exception:
        out["postgresql"] = "unreachable"
    return out


def load_average() -> list[float]:
    """1/5/15-minute load: other work on this shared machine depresses every number."""
    return [round(x, 2) for x in os.getloadavg()]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "runs": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 3),
        "p95_ms": round(percentile(ms, 0.95), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3),
    }


def sqlalchemy_url(kind: str, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{TMP / (name + '.db')}"
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/heard_bench_{name}"


def dbapi_url(url: str) -> str:
    """The psycopg connection string (or SQLite path) for a SQLAlchemy URL."""
    if url.startswith("sqlite"):
        return url.split("///", 1)[1]
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def fresh_database(kind: str, name: str) -> str:
    """An empty database (dropped first if it exists); returns its SQLAlchemy URL."""
    url = sqlalchemy_url(kind, name)
    if kind == "sqlite":
        TMP.mkdir(parents=True, exist_ok=True)
        path = Path(dbapi_url(url))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return url
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS heard_bench_{name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE heard_bench_{name}")
    return url


def database_exists(kind: str, name: str) -> bool:
    if kind == "sqlite":
        return Path(dbapi_url(sqlalchemy_url(kind, name))).exists()
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (f"heard_bench_{name}",)
        ).fetchone()
    return row is not None


def drop_database(kind: str, name: str) -> None:
    if kind == "sqlite":
        path = dbapi_url(sqlalchemy_url(kind, name))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS heard_bench_{name} WITH (FORCE)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Poll ``url`` until it answers 200; returns the moment it did (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.01)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s")


def dump(summary: dict[str, Any]) -> None:
    print(json.dumps(summary, indent=2, default=str))

"""``heard serve`` ready to answer: ``python benchmarks/bench_serve_startup.py [--quick]``.

Time from process start (``Popen``) to the first ``200`` from ``GET /api/v1/health``,
polled every 10 ms; median of 5 starts on an already-migrated database (``heard serve``
still runs the migration check on every start), plus the very first start on an empty
database (creates the schema). Baseline in the same run: the hello-world app
(``benchmarks/hello_app.py``) started the same way (``python -m uvicorn``), median of 5.
Target: <= 2 s. ``--quick``: 2 starts each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

from _common import ROOT, drop_database, dump, free_port, fresh_database, load_average, machine
from _common import wait_http as _wait_http


def start_and_time(cmd: list[str], env: dict[str, str]) -> float:
    port = free_port()
    cmd = [c.replace("{port}", str(port)) for c in cmd]
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = _wait_http(f"http://127.0.0.1:{port}/api/v1/health", 60, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return ready - began


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2 starts each")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    starts = 2 if args.quick else 5
    heard = shutil.which("heard")
    serve = ([heard] if heard else [sys.executable, "-m", "heard.cli"]) + [
        "serve", "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"]
    hello = [sys.executable, "-m", "uvicorn", "benchmarks.hello_app:app", "--host",
             "127.0.0.1", "--port", "{port}", "--log-level", "warning"]
    summary: dict[str, Any] = {
        "benchmark": "serve_startup",
        "command": " ".join(["python", "benchmarks/bench_serve_startup.py", *sys.argv[1:]]),
        "machine": machine(),
        "serve_command": " ".join(serve),
        "target_s": 2.0,
    }
    base = [start_and_time(hello, {}) for _ in range(starts)]
    summary["baseline_hello_uvicorn"] = {"starts_s": [round(t, 3) for t in base],
                                         "median_s": round(statistics.median(base), 3)}
    for kind in args.databases.split(","):
        url = fresh_database(kind, "startup")
        env = {"HEARD_DATABASE_URL": url, "HEARD_SECRET_KEY": "bench-secret",
               "HEARD_DATA_DIR": "/tmp/heard-bench"}
        first = start_and_time(serve, env)
        times = [start_and_time(serve, env) for _ in range(starts)]
        median = statistics.median(times)
        summary[kind] = {
            "first_start_empty_db_s": round(first, 3),
            "starts_s": [round(t, 3) for t in times],
            "median_s": round(median, 3),
            "ratio_to_hello": round(median / summary["baseline_hello_uvicorn"]["median_s"], 2),
            "target_met": median <= 2.0,
        }
        drop_database(kind, "startup")
    summary["loadavg_after"] = load_average()
    dump(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Inbound messages through ``POST /api/v1/messages``: ``python benchmarks/bench_api_inbound.py``.

For SQLite and PostgreSQL (fresh databases, migrated, one admin agent and API token), in one
run and on one machine, from the bottom up:

- **raw DBAPI**: the same rows written with bare sqlite3 / psycopg — the statements
  ``receive_message`` runs (idempotency check, identity lookup, customer, open conversation,
  insert or update conversation, insert message, audit row), one transaction per message;
- **empathy reading**: ``heard.reading.read_inbound`` alone (it runs inside the transaction);
- **action layer**: ``heard.actions.messages.receive_message`` in a loop, no web layer;
- **HTTP**: uvicorn (uvloop, httptools, no access log, 1 and 2 workers) serving
  ``heard.web.asgi:app``, loaded by ``wrk -t1 -c{1,8,32}`` with ``benchmarks/inbound.lua``;
- **baseline**: ``benchmarks/hello_app.py`` (FastAPI, same pydantic-shaped body, constant
  answer) under the same uvicorn settings and the same wrk script.

Correctness: after every wrk run the number of new message rows equals the number of 201s.
Target: >= 2,000 messages/s on each database. ``--quick``: 3 s runs, 2 s loops.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    PG_ADMIN,
    ROOT,
    TMP,
    dbapi_url,
    drop_database,
    dump,
    free_port,
    fresh_database,
    machine,
)
from _common import wait_http as _wait_http

LUA = ROOT / "benchmarks" / "inbound.lua"
TEXTS = [
    "My card was charged twice for the same order, please refund me.",
    "Where is my parcel? It was supposed to arrive on Monday.",
    "Ma commande n'est toujours pas arrivée, pouvez-vous vérifier ?",
    "Me han cobrado dos veces el mismo pedido, necesito un reembolso.",
    "Thanks a lot, the replacement arrived and works perfectly.",
    "I cannot log in to my account since yesterday, the password reset email never comes.",
]
CUSTOMERS = 500


def setup_database(kind: str) -> tuple[str, str, int]:
    from heard.access import SYSTEM
    from heard.actions.agents import create_agent, create_token
    from heard.db import Database
    from heard.migrate import upgrade

    if kind == "postgresql_async":
        # The same server with commits that don't wait for the WAL flush (a crash may lose
        # the last few hundred milliseconds of acknowledged messages): shows what the
        # per-commit fsync costs on this disk. Not a recommended production setting.
        url = fresh_database("postgresql", "inbound_async")
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute("ALTER DATABASE heard_bench_inbound_async SET synchronous_commit = off")
    else:
        url = fresh_database(kind, "inbound")
    upgrade(url)
    db = Database(url)
    agent_id = create_agent(db, actor=SYSTEM, email="bench@example.com", name="Bench",
                            role="admin", password=None)
    token = create_token(db, actor=SYSTEM, agent_id=agent_id, name="bench")
    db.dispose()
    return url, token, agent_id


def message_count(url: str, run: str = "") -> int:
    sql = "SELECT count(*) FROM message"
    if run:
        sql += f" WHERE external_id LIKE '{run}-%'"
    if url.startswith("sqlite"):
        with sqlite3.connect(dbapi_url(url)) as conn:
            return int(conn.execute(sql).fetchone()[0])
    import psycopg

    with psycopg.connect(dbapi_url(url)) as pg:
        row = pg.execute(sql).fetchone()
        return int(row[0]) if row else 0


def settled_count(url: str, run: str) -> int:
    """The run's stored messages once requests still in flight when wrk stopped are done."""
    count = message_count(url, run)
    for _ in range(50):
        time.sleep(0.3)
        again = message_count(url, run)
        if again == count:
            return count
        count = again
    return count


def payload(run: str, n: int) -> tuple[int, str | None, str, str]:
    customer = (n * 7919) % CUSTOMERS
    thread_key = f"{run}-{n}" if n % 4 == 0 else None
    return customer, thread_key, TEXTS[n % len(TEXTS)], f"{run}-{n}"


# --- raw DBAPI ----------------------------------------------------------------------------


def raw_rate(url: str, seconds: float, reading_json: str) -> dict[str, Any]:
    """The same statements as receive_message, on the bare driver, one transaction each."""
    sqlite = url.startswith("sqlite")
    if sqlite:
        conn: Any = sqlite3.connect(dbapi_url(url), isolation_level=None)
        for pragma in ("journal_mode=WAL", "busy_timeout=10000", "foreign_keys=ON",
                       "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")
        p = "?"
    else:
        import psycopg

        conn = psycopg.connect(dbapi_url(url), autocommit=True)
        p = "%s"

    def q(sql: str) -> str:
        return sql.replace("?", p)

    def ts(value: datetime) -> Any:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value

    sql = {
        "existing": q("SELECT id, conversation_id FROM message WHERE channel = ? "
                      "AND external_id = ?"),
        "identity": q("SELECT kind, value, customer_id FROM customer_identity WHERE value IN (?)"),
        "customer": q("SELECT id, name, language, merged_into_id FROM customer WHERE id = ?"),
        "new_customer": q("INSERT INTO customer (name, language, created_at) VALUES (?, ?, ?) "
                          "RETURNING id"),
        "new_identity": q("INSERT INTO customer_identity (customer_id, kind, value) "
                          "VALUES (?, ?, ?)"),
        "open_key": q("SELECT id, language, status, abuse, merged_into_id FROM conversation "
                      "WHERE customer_id = ? AND channel = ? AND thread_key = ? "
                      "AND status != 'closed' AND merged_into_id IS NULL "
                      "ORDER BY last_activity_at DESC LIMIT 1"),
        "open_null": q("SELECT id, language, status, abuse, merged_into_id FROM conversation "
                       "WHERE customer_id = ? AND channel = ? AND thread_key IS NULL "
                       "AND status != 'closed' AND merged_into_id IS NULL "
                       "ORDER BY last_activity_at DESC LIMIT 1"),
        "new_conversation": q(
            "INSERT INTO conversation (customer_id, channel, thread_key, subject, status, "
            "priority, language, created_at, last_customer_message_at, last_activity_at, "
            "transfer_count, emotion, emotion_intensity, anger_type, urgency, abuse) "
            "VALUES (?, ?, ?, ?, 'open', 1, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?) RETURNING id"),
        "update_conversation": q(
            "UPDATE conversation SET last_customer_message_at = ?, last_activity_at = ?, "
            "emotion = ?, emotion_intensity = ?, anger_type = ?, urgency = ?, abuse = ? "
            "WHERE id = ?"),
        "message": q(
            "INSERT INTO message (conversation_id, channel, kind, author_customer_id, text, "
            "attachments, channel_meta, external_id, created_at, reading) "
            "VALUES (?, 'api', 'inbound', ?, ?, '[]', '{}', ?, ?, ?) RETURNING id"),
        "audit": q(
            "INSERT INTO audit_event (actor_agent_id, actor_label, verb, object_type, "
            "object_id, after, created_at) VALUES (NULL, 'bench', ?, 'conversation', ?, ?, ?)"),
    }
    run = f"raw{int(time.time())}"
    n = 0
    began = time.perf_counter()
    deadline = began + seconds
    while time.perf_counter() < deadline:
        n += 1
        customer, thread_key, text, external_id = payload(run, n)
        email = f"c{customer}@example.com"
        now = datetime.now(UTC)
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
        cur.execute(sql["existing"], ("api", external_id))
        assert cur.fetchone() is None
        cur.execute(sql["identity"], (email,))
        found = cur.fetchone()
        if found:
            cur.execute(sql["customer"], (found[2],))
            customer_id = cur.fetchone()[0]
        else:
            cur.execute(sql["new_customer"], (f"Customer {customer}", None, ts(now)))
            customer_id = cur.fetchone()[0]
            cur.execute(sql["new_identity"], (customer_id, "email", email))
        if thread_key is None:
            cur.execute(sql["open_null"], (customer_id, "api"))
        else:
            cur.execute(sql["open_key"], (customer_id, "api", thread_key))
        conversation = cur.fetchone()
        headline = ("neutral", 0.9, "none", 0.3, "none")
        if conversation is None:
            cur.execute(sql["new_conversation"], (customer_id, "api", thread_key, text[:80],
                                                  "en", ts(now), ts(now), ts(now), *headline))
            conversation_id = cur.fetchone()[0]
        else:
            conversation_id = conversation[0]
            cur.execute(sql["update_conversation"], (ts(now), ts(now), *headline,
                                                     conversation_id))
        cur.execute(sql["message"], (conversation_id, customer_id, text, external_id, ts(now),
                                     reading_json))
        message_id = cur.fetchone()[0]
        cur.execute(sql["audit"], ("message.receive", conversation_id,
                                   json.dumps({"message_id": message_id}), ts(now)))
        cur.execute("COMMIT")
        cur.close()
    elapsed = time.perf_counter() - began
    conn.close()
    return {"messages": n, "seconds": round(elapsed, 2), "per_s": round(n / elapsed, 1)}


# --- in-process layers --------------------------------------------------------------------


def reading_rate(seconds: float) -> dict[str, Any]:
    from heard.reading import read_inbound

    read_inbound(TEXTS[0], language=None)  # load the model
    n = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        read_inbound(TEXTS[n % len(TEXTS)], language="en" if n % 3 else None)
        n += 1
    elapsed = time.perf_counter() - began
    return {"readings": n, "per_s": round(n / elapsed, 1), "ms_each": round(elapsed / n * 1e3, 3)}


def action_rate(url: str, agent_id: int, seconds: float) -> dict[str, Any]:
    from heard.access import actor_for_agent
    from heard.actions.customers import CustomerRef
    from heard.actions.messages import Inbound, receive_message
    from heard.db import Agent, Database

    db = Database(url)
    with db.read() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        actor = actor_for_agent(session, agent)
    run = f"act{int(time.time())}"

    def one(n: int) -> None:
        customer, thread_key, text, external_id = payload(run, n)
        receive_message(db, actor=actor, inbound=Inbound(
            channel="api",
            customer=CustomerRef(name=f"Customer {customer}", email=f"c{customer}@example.com"),
            text=text, external_id=external_id, thread_key=thread_key))

    one(0)  # warm: the empathy model, statement caches
    n = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        n += 1
        one(n)
    elapsed = time.perf_counter() - began
    db.dispose()
    return {"messages": n, "seconds": round(elapsed, 2), "per_s": round(n / elapsed, 1)}


# --- HTTP ---------------------------------------------------------------------------------


def start_server(app: str, workers: int, env: dict[str, str],
                 log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    TMP.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--log-level", "warning",
         "--loop", "uvloop", "--http", "httptools"],
        cwd=ROOT, env={**os.environ, **env}, stderr=log.open("wb"),
    )
    _wait_http(f"http://127.0.0.1:{port}/api/v1/health", 60, proc)
    return proc, port


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_wrk(port: int, connections: int, seconds: int, run: str, token: str) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA),
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
        env={**os.environ, "BENCH_RUN": run, "BENCH_TOKEN": token},
    ).stdout
    match = re.search(r"WRKJSON (\{.*\})", out)
    if match is None:
        raise RuntimeError(f"wrk gave no summary:\n{out}")
    data: dict[str, Any] = json.loads(match.group(1))
    seconds_run = data["duration_us"] / 1e6
    created = int(data["status"].get("201", 0))
    return {
        "requests": data["requests"],
        "sent": data["sent"],
        "status": data["status"],
        "errors": data["errors_socket"] + data["timeouts"],
        "per_s": round(created / seconds_run if created else data["requests"] / seconds_run, 1),
        "p50_ms": round(data["lat_p50_us"] / 1000, 2),
        "p99_ms": round(data["lat_p99_us"] / 1000, 2),
    }


def http_series(app: str, workers: int, env: dict[str, str], token: str, seconds: int,
                url: str | None, tag: str) -> dict[str, Any]:
    log = TMP / f"server-{tag}-w{workers}.log"
    proc, port = start_server(app, workers, env, log)
    out: dict[str, Any] = {}
    try:
        run_wrk(port, 8, 2, f"{tag}warm{workers}", token)  # load the model in every worker
        for connections in (1, 8, 32):
            run = f"{tag}w{workers}c{connections}"
            result = run_wrk(port, connections, seconds, run, token)
            if url:
                # wrk stops with up to ``connections`` requests in flight: the server still
                # stores them but nobody counts their 201. Every stored message must be a
                # request sent (no duplicates), and every 201 a stored message.
                stored = settled_count(url, run)
                created = int(result["status"].get("201", 0))
                result["stored"] = stored
                result["unanswered_in_flight"] = stored - created
                result["correct"] = (created <= stored <= result["sent"]
                                     and stored - created <= connections
                                     and sum(result["status"].values()) == created)
            out[f"c{connections}"] = result
    finally:
        stop_server(proc)
    errors = [line for line in log.read_text(errors="replace").splitlines()
              if re.match(r"^\w+(\.\w+)*(Error|Exception|Violation)\b", line)]
    out["server_errors"] = {"count": len(errors), "first": errors[0][:300] if errors else None,
                            "log": str(log)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--databases", default="sqlite,postgresql,postgresql_async")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--keep", action="store_true", help="keep the generated databases")
    args = parser.parse_args()
    seconds = 3 if args.quick else 10
    loop_seconds = 2.0 if args.quick else 10.0
    workers_list = [int(w) for w in args.workers.split(",")]
    summary: dict[str, Any] = {
        "benchmark": "api_inbound",
        "command": " ".join(["python", "benchmarks/bench_api_inbound.py", *sys.argv[1:]]),
        "machine": machine(),
        "wrk": f"wrk -t1 -c{{1,8,32}} -d{seconds}s -s benchmarks/inbound.lua",
        "uvicorn": "--no-access-log --log-level warning --loop uvloop --http httptools",
        "target_per_s": 2000,
    }
    summary["empathy_reading"] = reading_rate(loop_seconds / 2)
    summary["hello_baseline"] = {
        f"workers{w}": http_series("benchmarks.hello_app:app", w, {}, "x", seconds, None,
                                   "hello")
        for w in workers_list
    }
    from heard.reading import read_inbound

    reading_json = json.dumps(read_inbound(TEXTS[0], language=None).stored)
    for kind in args.databases.split(","):
        url, token, agent_id = setup_database(kind)
        result: dict[str, Any] = {"url": url.split("@")[-1]}
        result["raw_dbapi"] = raw_rate(url, loop_seconds, reading_json)
        result["action_layer"] = action_rate(url, agent_id, loop_seconds)
        env = {"HEARD_DATABASE_URL": url, "HEARD_SECRET_KEY": "bench-secret",
               "HEARD_DATA_DIR": "/tmp/heard-bench"}
        for w in workers_list:
            result[f"http_workers{w}"] = http_series("heard.web.asgi:app", w, env, token,
                                                     seconds, url, kind)
        best = max(result[f"http_workers{w}"][c]["per_s"] for w in workers_list
                   for c in ("c1", "c8", "c32"))
        hello_best = max(summary["hello_baseline"][f"workers{w}"][c]["per_s"]
                         for w in workers_list for c in ("c1", "c8", "c32"))
        result["best_http_per_s"] = best
        result["ratio_to_hello"] = round(best / hello_best, 3)
        result["ratio_to_target"] = round(best / 2000, 3)
        result["messages_stored"] = message_count(url)
        result["all_correct"] = all(
            result[f"http_workers{w}"][c]["correct"] for w in workers_list
            for c in ("c1", "c8", "c32"))
        summary[kind] = result
        if not args.keep:
            if kind == "postgresql_async":
                drop_database("postgresql", "inbound_async")
            else:
                drop_database(kind, "inbound")
    dump(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

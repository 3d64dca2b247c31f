"""Inbox page 1 filtered by status and team: ``python benchmarks/bench_inbox.py [--quick]``.

Data (per database, generated fast through the raw driver): 1,000,000 conversations,
200,000 customers, 5 teams, 20 agents (4 per team) and a lead; statuses open 20 % /
pending 10 % / snoozed 5 % / closed 65 %; 10 % of conversations have no team, 30 % no
assignee; last activity spread over two years.

Measured: ``queries.inbox(session, actor, InboxFilter(status="open", team=T, limit=25))``
in a fresh read session per call (like a request), as a lead (no visibility clause) and as
an agent (the clause ORs "no team", "my teams", "assigned to me"), teams varied; p50/p95/p99
over >= 200 runs each. Baseline in the same run: ``SELECT 1`` through the same kind of
session. The query plans are printed. Target: p99 <= 30 ms.
``--quick``: 50,000 conversations, 100 runs.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import (
    database_exists,
    dbapi_url,
    dump,
    fresh_database,
    latency_summary,
    load_average,
    machine,
    sqlalchemy_url,
)

STATUSES = ["open"] * 20 + ["pending"] * 10 + ["snoozed"] * 5 + ["closed"] * 65
CHANNELS = ["email", "chat", "social", "phone", "web_form", "api"]
LANGUAGES = ["en", "en", "en", "fr", "es"]


def setup_people(url: str) -> dict[str, Any]:
    """Teams, agents and a lead through the actions (few rows; the bulk goes raw)."""
    from heard.access import SYSTEM
    from heard.actions.agents import create_agent, create_team
    from heard.db import Database
    from heard.migrate import upgrade

    upgrade(url)
    db = Database(url)
    teams = [create_team(db, actor=SYSTEM, name=f"Team {i}") for i in range(5)]
    agents: list[int] = []
    for i in range(20):
        agents.append(create_agent(db, actor=SYSTEM, email=f"agent{i}@example.com",
                                   name=f"Agent {i}", role="agent", password=None,
                                   team_ids=[teams[i % 5]]))
    lead = create_agent(db, actor=SYSTEM, email="lead@example.com", name="Lead", role="lead",
                        password=None)
    db.dispose()
    return {"teams": teams, "agents": agents, "lead": lead}


def conversation_rows(n: int, customers: int, people: dict[str, Any],
                      seed: int = 1) -> Any:
    rng = random.Random(seed)
    teams, agents = people["teams"], people["agents"]
    start = datetime.now(UTC) - timedelta(days=730)
    span = 730 * 86400
    for _ in range(n):
        team = rng.choice(teams) if rng.random() >= 0.10 else None
        assignee = None
        if rng.random() >= 0.30:
            # usually someone of the conversation's team
            pool = [a for j, a in enumerate(agents) if team is None or teams[j % 5] == team]
            assignee = rng.choice(pool)
        last = start + timedelta(seconds=rng.random() * span)
        created = last - timedelta(seconds=rng.random() * 10 * 86400)
        status = rng.choice(STATUSES)
        yield (rng.randrange(1, customers + 1), rng.choice(CHANNELS), "Order problem",
               status, rng.randrange(4), assignee, team, rng.choice(LANGUAGES), created, last,
               last, last if status == "closed" else None)


CONVERSATION_COLUMNS = (
    "customer_id, channel, subject, status, priority, assignee_id, team_id, language, "
    "created_at, last_customer_message_at, last_activity_at, closed_at, transfer_count, "
    "emotion, emotion_intensity, anger_type, urgency, abuse"
)


def generate_sqlite(url: str, conversations: int, customers: int,
                    people: dict[str, Any]) -> None:
    from heard.search import SQLITE_DDL

    conn = sqlite3.connect(dbapi_url(url), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # bulk load only; the app's settings apply later
    conn.execute("PRAGMA cache_size=-500000")
    conn.execute("BEGIN")
    conn.execute("DROP TRIGGER search_conversation_ai")  # rebuilt in one pass below
    conn.executemany(
        "INSERT INTO customer (id, name, created_at) VALUES (?, ?, '2024-01-01 00:00:00.000000')",
        ((i, f"Customer {i}") for i in range(1, customers + 1)),
    )

    def fmt(v: datetime | None) -> str | None:
        return v.strftime("%Y-%m-%d %H:%M:%S.%f") if v is not None else None

    conn.executemany(
        f"INSERT INTO conversation ({CONVERSATION_COLUMNS}) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'neutral', 0.5, 'none', 0.2, 'none')",
        ((*r[:8], fmt(r[8]), fmt(r[9]), fmt(r[10]), fmt(r[11]))
         for r in conversation_rows(conversations, customers, people)),
    )
    trigger = next(s for s in SQLITE_DDL if "TRIGGER search_conversation_ai" in s)
    conn.execute(trigger)
    conn.execute("INSERT INTO search_conversation_fts(search_conversation_fts) VALUES('rebuild')")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def generate_postgresql(url: str, conversations: int, customers: int,
                        people: dict[str, Any]) -> None:
    import psycopg

    teams, agents = people["teams"], people["agents"]
    with psycopg.connect(dbapi_url(url), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute(
            "INSERT INTO customer (id, name, created_at) SELECT g, 'Customer ' || g, now() "
            "FROM generate_series(1, %s) g", (customers,))
        conn.execute("SELECT setval('customer_id_seq', %s)", (customers,))
        conn.execute("ALTER TABLE conversation DISABLE TRIGGER search_conversation_tsv")
        # Same distribution as the SQLite generator, drawn in SQL.
        conn.execute(
            f"""
            INSERT INTO conversation ({CONVERSATION_COLUMNS})
            SELECT customer_id, channel, 'Order problem', status, priority,
                   CASE WHEN r_assign < 0.30 THEN NULL
                        WHEN team_id IS NULL THEN (%(agents)s::int[])[1 + (g %% 20)]
                        ELSE (%(agents)s::int[])[1 + team_slot + 5 * (g %% 4)] END,
                   team_id, language, last - (random() * interval '10 days'), last, last,
                   CASE WHEN status = 'closed' THEN last END,
                   0, 'neutral', 0.5, 'none', 0.2, 'none'
            FROM (
              SELECT g, 1 + (random() * (%(customers)s - 1))::int AS customer_id,
                     (ARRAY['email','chat','social','phone','web_form','api'])
                       [1 + (random() * 5)::int] AS channel,
                     CASE WHEN r_status < 0.20 THEN 'open' WHEN r_status < 0.30 THEN 'pending'
                          WHEN r_status < 0.35 THEN 'snoozed' ELSE 'closed' END AS status,
                     (random() * 3)::int AS priority, r_assign, team_slot,
                     CASE WHEN r_team < 0.10 THEN NULL
                          ELSE (%(teams)s::int[])[1 + team_slot] END AS team_id,
                     (ARRAY['en','en','en','fr','es'])[1 + (random() * 4)::int] AS language,
                     now() - random() * interval '730 days' AS last
              FROM (SELECT g, random() AS r_status, random() AS r_assign, random() AS r_team,
                           (random() * 4)::int AS team_slot
                    FROM generate_series(1, %(n)s) g) s
            ) t
            """,
            {"agents": agents, "teams": teams, "customers": customers, "n": conversations},
        )
        conn.execute("ALTER TABLE conversation ENABLE TRIGGER search_conversation_tsv")
        conn.execute("VACUUM ANALYZE conversation")
        conn.execute("VACUUM ANALYZE customer")


def conversation_count(url: str) -> int:
    from sqlalchemy import func, select

    from heard.db import Conversation, Database

    db = Database(url)
    with db.read() as session:
        count = session.scalar(select(func.count()).select_from(Conversation)) or 0
    db.dispose()
    return count


def measure(url: str, people: dict[str, Any], runs: int) -> dict[str, Any]:
    from sqlalchemy import event, select

    from heard import queries
    from heard.access import Actor, actor_for_agent
    from heard.db import Agent, Database

    db = Database(url)
    teams = people["teams"]
    lead = Actor(agent_id=people["lead"], role="lead", name="Lead")
    with db.read() as session:
        agents = []
        for agent_id in people["agents"]:
            agent = session.get(Agent, agent_id)
            assert agent is not None
            agents.append(actor_for_agent(session, agent))
    rng = random.Random(7)

    def timed(fn: Any) -> float:
        began = time.perf_counter()
        with db.read() as session:
            fn(session)
        return time.perf_counter() - began

    def select_one(session: Any) -> None:
        session.execute(select(1)).scalar()

    out: dict[str, Any] = {}
    for _ in range(20):  # warm the connection pool, caches and statement cache
        timed(select_one)
        timed(lambda s: queries.inbox(s, lead, queries.InboxFilter(status="open", team=teams[0])))
    out["baseline_select_1"] = latency_summary([timed(select_one) for _ in range(runs)])

    def inbox_as(actor: Actor, team: int) -> Any:
        return lambda s: queries.inbox(
            s, actor, queries.InboxFilter(status="open", team=team, limit=25))

    lead_times = [timed(inbox_as(lead, rng.choice(teams))) for _ in range(runs)]
    out["inbox_lead"] = latency_summary(lead_times)
    agent_times = []
    for _ in range(runs):
        actor = rng.choice(agents)
        agent_times.append(timed(inbox_as(actor, min(actor.team_ids))))
    out["inbox_agent"] = latency_summary(agent_times)
    with db.read() as session:
        out["rows_on_page"] = len(queries.inbox(
            session, agents[0], queries.InboxFilter(status="open", team=teams[0])).rows)

    # The plans of the page query, captured as the app sends it.
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        if "FROM conversation" in statement and "ORDER BY" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    plans: dict[str, list[str]] = {}
    for label, actor in (("lead", lead), ("agent", agents[0])):
        captured.clear()
        with db.read() as session:
            queries.inbox(session, actor, queries.InboxFilter(status="open", team=teams[0]))
        statement, parameters = captured[0]
        prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(prefix + statement, parameters)
            plans[label] = [" ".join(str(c) for c in row) for row in cur.fetchall()]
        finally:
            raw.close()
    event.remove(db.engine, "before_cursor_execute", capture)
    out["plans"] = plans
    out["ratio_p99_lead_to_select_1"] = round(
        out["inbox_lead"]["p99_ms"] / out["baseline_select_1"]["p99_ms"], 1)
    out["ratio_p99_agent_to_select_1"] = round(
        out["inbox_agent"]["p99_ms"] / out["baseline_select_1"]["p99_ms"], 1)
    out["target_met"] = max(out["inbox_lead"]["p99_ms"], out["inbox_agent"]["p99_ms"]) <= 30
    db.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="50k conversations, 100 runs")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse a database generated by an earlier run of the same size")
    args = parser.parse_args()
    conversations = 50_000 if args.quick else 1_000_000
    customers = conversations // 5
    runs = 100 if args.quick else 300
    summary: dict[str, Any] = {
        "benchmark": "inbox",
        "command": " ".join(["python", "benchmarks/bench_inbox.py", *sys.argv[1:]]),
        "machine": machine(),
        "conversations": conversations,
        "customers": customers,
        "target_p99_ms": 30,
    }
    for kind in args.databases.split(","):
        name = f"inbox_{conversations}"
        url = sqlalchemy_url(kind, name)
        result: dict[str, Any] = {}
        people = {"teams": list(range(1, 6)), "agents": list(range(1, 21)), "lead": 21}
        if not (args.reuse and database_exists(kind, name)
                and conversation_count(url) == conversations):
            url = fresh_database(kind, name)
            began = time.perf_counter()
            people = setup_people(url)
            gen = generate_sqlite if kind == "sqlite" else generate_postgresql
            gen(url, conversations, customers, people)
            result["generate_s"] = round(time.perf_counter() - began, 1)
        result.update(measure(url, people, runs))
        result["loadavg_after"] = load_average()
        summary[kind] = result
    dump(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Full-text search over 3,000,000 messages: ``python benchmarks/bench_search.py [--quick]``.

Data: 300,000 conversations (the inbox generator of ``bench_inbox.py``: 5 teams, 20 agents,
spread timestamps) with 10 messages each. Each message is a support sentence in the
conversation's language (EN/FR/ES, ~40 templates per language, so template words are
common: "order" / "commande" / "pedido" are in a large share of messages) plus 2-4 words
drawn from a Zipf-distributed tail of 20,000 product-like words (medium and rare terms).
SQLite: bulk insert through the raw connection with the FTS trigger dropped, then FTS5
``rebuild``. PostgreSQL: COPY into a staging table, then one INSERT ... SELECT computing
``search_tsv`` exactly like the trigger does, then the GIN index.

Measured: ``queries.inbox(session, lead, InboxFilter(q=...))`` (page 1, 25 rows, sorted by
last activity) for queries of 1-3 words of varied frequency in EN/FR/ES, >= 200 runs; the
match count of each query is reported. Baseline in the same run: the same call without
``q``. Target: p99 <= 100 ms. ``--quick``: 30,000 conversations (300,000 messages).
"""

from __future__ import annotations

import argparse
import io
import random
import sqlite3
import sys
import time
from collections import defaultdict
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
from bench_inbox import generate_postgresql, generate_sqlite, setup_people

TEMPLATES = {
    "en": [
        "my order has not arrived yet", "I was charged twice on my card",
        "please refund my order", "the package arrived damaged", "where is my parcel",
        "I cannot log in to my account", "the app crashes when I open it",
        "I want to cancel my subscription", "the delivery is late again",
        "thank you for the quick help", "the invoice shows the wrong amount",
        "how do I change my shipping address", "the product does not work",
        "I need a replacement for the broken item", "my password reset email never came",
        "why was my account suspended", "the tracking number is not valid",
        "can I get a discount on my next order", "the size is wrong please exchange it",
        "I have been waiting for a week",
    ],
    "fr": [
        "ma commande n'est pas encore arrivée", "j'ai été débité deux fois sur ma carte",
        "merci de rembourser ma commande", "le colis est arrivé abîmé", "où est mon colis",
        "je n'arrive pas à me connecter à mon compte", "l'application plante au démarrage",
        "je veux résilier mon abonnement", "la livraison est encore en retard",
        "merci pour votre aide rapide", "la facture indique un mauvais montant",
        "comment changer mon adresse de livraison", "le produit ne fonctionne pas",
        "il me faut un remplacement pour l'article cassé",
        "je n'ai jamais reçu l'email de réinitialisation", "pourquoi mon compte est suspendu",
        "le numéro de suivi n'est pas valide", "puis-je avoir une réduction",
        "la taille ne va pas merci de l'échanger", "j'attends depuis une semaine",
    ],
    "es": [
        "mi pedido todavía no ha llegado", "me han cobrado dos veces en la tarjeta",
        "por favor reembolsen mi pedido", "el paquete llegó dañado", "dónde está mi paquete",
        "no puedo iniciar sesión en mi cuenta", "la aplicación se cierra al abrirla",
        "quiero cancelar mi suscripción", "el envío llega tarde otra vez",
        "gracias por la ayuda rápida", "la factura muestra un importe incorrecto",
        "cómo cambio mi dirección de envío", "el producto no funciona",
        "necesito un reemplazo del artículo roto", "nunca llegó el correo para la contraseña",
        "por qué suspendieron mi cuenta", "el número de seguimiento no es válido",
        "puedo tener un descuento en mi próximo pedido", "la talla está mal quiero cambiarla",
        "llevo una semana esperando",
    ],
}
SYLLABLES = ["ka", "lo", "mi", "ran", "te", "zu", "bel", "dor", "vi", "sa", "nor", "qui", "pel",
             "tra", "gon", "fi", "lux", "mar", "ste", "ob"]
TAIL = 20_000


def tail_words() -> list[str]:
    rng = random.Random(3)
    words: set[str] = set()
    while len(words) < TAIL:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))))
    return sorted(words, key=lambda w: (len(w), w))


def queries_to_run(tail: list[str]) -> list[tuple[str, str, str]]:
    """(query, language, frequency class)."""
    return [
        ("order", "en", "common"), ("commande", "fr", "common"), ("pedido", "es", "common"),
        ("account", "en", "common"), ("compte", "fr", "common"), ("cuenta", "es", "common"),
        ("refund order", "en", "common 2 words"), ("colis abîmé", "fr", "common 2 words"),
        ("cobrado tarjeta", "es", "common 2 words"),
        ("my order has", "en", "common 3 words"),
        ("invoice", "en", "medium"), ("facture", "fr", "medium"), ("factura", "es", "medium"),
        ("suspended account", "en", "medium 2 words"),
        (tail[2], "-", "tail top"), (tail[40], "-", "tail medium"),
        (tail[1500], "-", "tail rare"), (tail[15000], "-", "tail very rare"),
        (f"order {tail[60]}", "en", "common + tail"),
        (f"paquete {tail[700]}", "es", "common + rare tail"),
        (f"remboursement {tail[5]} {tail[300]}", "fr", "3 words mixed"),
        ("xylophonequartz", "-", "no match"),
    ]


def message_texts(conversations: int, per: int, languages: list[str]) -> Any:
    """(conversation_id, created offset index, text) for every message, deterministic."""
    rng = random.Random(11)
    tail = tail_words()
    weights = [1.0 / (r + 1) for r in range(TAIL)]
    cumulative: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    for cid in range(1, conversations + 1):
        templates = TEMPLATES[languages[cid - 1]]
        for i in range(per):
            extra = rng.choices(tail, cum_weights=cumulative, k=rng.randint(2, 4))
            yield cid, i, f"{rng.choice(templates)} {' '.join(extra)}"


def conversation_languages(url: str) -> list[str]:
    from sqlalchemy import select

    from heard.db import Conversation, Database

    db = Database(url)
    with db.read() as session:
        out = [lang for _, lang in session.execute(
            select(Conversation.id, Conversation.language).order_by(Conversation.id))]
    db.dispose()
    return out


def generate_messages_sqlite(url: str, conversations: int, per: int) -> None:
    from heard.search import SQLITE_DDL

    languages = conversation_languages(url)
    conn = sqlite3.connect(dbapi_url(url), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    conn.execute("BEGIN")
    conn.execute("DROP TRIGGER search_message_ai")
    created = {cid: ts for cid, ts in conn.execute("SELECT id, created_at FROM conversation")}
    conn.executemany(
        "INSERT INTO message (conversation_id, channel, kind, author_customer_id, text, "
        "attachments, channel_meta, created_at) VALUES (?, 'email', 'inbound', NULL, ?, "
        "'[]', '{}', ?)",
        ((cid, text, created[cid]) for cid, _, text in
         message_texts(conversations, per, languages)),
    )
    conn.execute(next(s for s in SQLITE_DDL if "TRIGGER search_message_ai" in s))
    conn.execute("INSERT INTO search_message_fts(search_message_fts) VALUES('rebuild')")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def generate_messages_postgresql(url: str, conversations: int, per: int) -> None:
    import psycopg

    languages = conversation_languages(url)
    with psycopg.connect(dbapi_url(url), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '2GB'")
        conn.execute("CREATE UNLOGGED TABLE bench_staging (conversation_id int, text text)")
        with conn.cursor() as cur, cur.copy(
                "COPY bench_staging (conversation_id, text) FROM STDIN") as copy:
            buf = io.StringIO()
            for n, (cid, _, text) in enumerate(message_texts(conversations, per, languages)):
                buf.write(f"{cid}\t{text}\n")
                if n % 50_000 == 49_999:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
        conn.execute("DROP INDEX search_message_tsv_idx")
        conn.execute("ALTER TABLE message DISABLE TRIGGER search_message_tsv")
        # What the trigger computes, in one set-based pass.
        conn.execute(
            "INSERT INTO message (conversation_id, channel, kind, text, attachments, "
            "channel_meta, created_at, search_tsv) "
            "SELECT s.conversation_id, 'email', 'inbound', s.text, '[]', '{}', c.created_at, "
            "to_tsvector(search_config(c.language), unaccent(s.text)) "
            "FROM bench_staging s JOIN conversation c ON c.id = s.conversation_id")
        conn.execute("ALTER TABLE message ENABLE TRIGGER search_message_tsv")
        conn.execute("DROP TABLE bench_staging")
        conn.execute("CREATE INDEX search_message_tsv_idx ON message USING gin (search_tsv)")
        conn.execute("UPDATE conversation SET subject = subject")  # fills conversation tsv
        conn.execute("VACUUM ANALYZE message")
        conn.execute("VACUUM ANALYZE conversation")


def match_count(url: str, query: str) -> int:
    from sqlalchemy import func, select

    from heard.db import Database
    from heard.search import matching_conversations

    db = Database(url)
    with db.read() as session:
        matches = matching_conversations(session, query)
        count = 0 if matches is None else session.scalar(
            select(func.count()).select_from(matches.subquery())) or 0
    db.dispose()
    return count


def measure(url: str, runs: int) -> dict[str, Any]:
    from heard import queries
    from heard.access import Actor
    from heard.db import Database

    db = Database(url)
    lead = Actor(agent_id=21, role="lead", name="Lead")
    qs = queries_to_run(tail_words())

    def timed(f: queries.InboxFilter) -> tuple[float, int]:
        began = time.perf_counter()
        with db.read() as session:
            page = queries.inbox(session, lead, f)
        return time.perf_counter() - began, len(page.rows)

    for q, _, _ in qs:  # warm caches once per query
        timed(queries.InboxFilter(q=q))
    out: dict[str, Any] = {}
    out["baseline_no_q"] = latency_summary([timed(queries.InboxFilter())[0]
                                            for _ in range(runs)])
    by_query: dict[str, list[float]] = defaultdict(list)
    rows: dict[str, int] = {}
    all_times: list[float] = []
    deadline = time.perf_counter() + 240
    for i in range(max(runs, len(qs) * 10)):
        q = qs[i % len(qs)][0]
        elapsed, n = timed(queries.InboxFilter(q=q))
        by_query[q].append(elapsed)
        rows[q] = n
        all_times.append(elapsed)
        if time.perf_counter() > deadline:
            break
    out["search_all"] = latency_summary(all_times)
    out["per_query"] = [
        {"q": q, "lang": lang, "class": cls, "matching_conversations": match_count(url, q),
         "rows_on_page": rows.get(q, 0), **latency_summary(by_query[q])}
        for q, lang, cls in qs
    ]
    out["ratio_p99_to_no_q"] = round(out["search_all"]["p99_ms"]
                                     / out["baseline_no_q"]["p99_ms"], 1)
    out["target_met"] = out["search_all"]["p99_ms"] <= 100
    db.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="300,000 messages")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse a database generated by an earlier run of the same size")
    parser.add_argument("--runs", type=int, default=0)
    args = parser.parse_args()
    conversations = 30_000 if args.quick else 300_000
    per = 10
    runs = args.runs or (100 if args.quick else 440)
    summary: dict[str, Any] = {
        "benchmark": "search",
        "command": " ".join(["python", "benchmarks/bench_search.py", *sys.argv[1:]]),
        "machine": machine(),
        "messages": conversations * per,
        "conversations": conversations,
        "target_p99_ms": 100,
    }
    for kind in args.databases.split(","):
        name = f"search_{conversations * per}"
        url = sqlalchemy_url(kind, name)
        result: dict[str, Any] = {}
        if not (args.reuse and database_exists(kind, name)):
            url = fresh_database(kind, name)
            began = time.perf_counter()
            people = setup_people(url)
            if kind == "sqlite":
                generate_sqlite(url, conversations, conversations // 5, people)
                generate_messages_sqlite(url, conversations, per)
            else:
                generate_postgresql(url, conversations, conversations // 5, people)
                generate_messages_postgresql(url, conversations, per)
            result["generate_s"] = round(time.perf_counter() - began, 1)
        result.update(measure(url, runs))
        result["loadavg_after"] = load_average()
        summary[kind] = result
    dump(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

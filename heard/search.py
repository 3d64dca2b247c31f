"""Full-text search over conversation subjects and message text.

SQLite: two external-content FTS5 tables kept in sync by triggers, with the ``unicode61``
tokenizer folding accents (``remove_diacritics 2``), so "reembolso" finds "reembólso".
PostgreSQL: a ``search_tsv`` column on ``message`` and ``conversation``, filled by a trigger
with the conversation's language configuration (english / french / spanish / simple) over
``unaccent(text)``, and a GIN index. Queries are OR-ed over the language configurations so
that one query finds stemmed matches in every language.

These objects are dialect-specific, so the ORM models don't declare them; the migration
creates them from the DDL here and ``alembic check`` ignores names in ``SEARCH_OBJECTS``.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, literal_column, select, text, union
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from heard.db.conversation import Conversation
from heard.db.message import Message

SEARCH_OBJECTS = ("search_",)

SQLITE_DDL = [
    """CREATE VIRTUAL TABLE search_message_fts USING fts5(
        text, content='message', content_rowid='id',
        tokenize="unicode61 remove_diacritics 2")""",
    """CREATE TRIGGER search_message_ai AFTER INSERT ON message BEGIN
        INSERT INTO search_message_fts(rowid, text) VALUES (new.id, new.text); END""",
    """CREATE TRIGGER search_message_ad AFTER DELETE ON message BEGIN
        INSERT INTO search_message_fts(search_message_fts, rowid, text)
        VALUES ('delete', old.id, old.text); END""",
    """CREATE TRIGGER search_message_au AFTER UPDATE OF text ON message BEGIN
        INSERT INTO search_message_fts(search_message_fts, rowid, text)
        VALUES ('delete', old.id, old.text);
        INSERT INTO search_message_fts(rowid, text) VALUES (new.id, new.text); END""",
    """CREATE VIRTUAL TABLE search_conversation_fts USING fts5(
        subject, content='conversation', content_rowid='id',
        tokenize="unicode61 remove_diacritics 2")""",
    """CREATE TRIGGER search_conversation_ai AFTER INSERT ON conversation BEGIN
        INSERT INTO search_conversation_fts(rowid, subject) VALUES (new.id, new.subject); END""",
    """CREATE TRIGGER search_conversation_ad AFTER DELETE ON conversation BEGIN
        INSERT INTO search_conversation_fts(search_conversation_fts, rowid, subject)
        VALUES ('delete', old.id, old.subject); END""",
    """CREATE TRIGGER search_conversation_au AFTER UPDATE OF subject ON conversation BEGIN
        INSERT INTO search_conversation_fts(search_conversation_fts, rowid, subject)
        VALUES ('delete', old.id, old.subject);
        INSERT INTO search_conversation_fts(rowid, subject) VALUES (new.id, new.subject); END""",
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS search_message_ai",
    "DROP TRIGGER IF EXISTS search_message_ad",
    "DROP TRIGGER IF EXISTS search_message_au",
    "DROP TRIGGER IF EXISTS search_conversation_ai",
    "DROP TRIGGER IF EXISTS search_conversation_ad",
    "DROP TRIGGER IF EXISTS search_conversation_au",
    "DROP TABLE IF EXISTS search_message_fts",
    "DROP TABLE IF EXISTS search_conversation_fts",
]

POSTGRES_DDL = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """CREATE OR REPLACE FUNCTION search_config(lang text) RETURNS regconfig
        LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE lang WHEN 'en' THEN 'english' WHEN 'fr' THEN 'french'
                         WHEN 'es' THEN 'spanish' ELSE 'simple' END::regconfig $$""",
    "ALTER TABLE message ADD COLUMN search_tsv tsvector",
    "ALTER TABLE conversation ADD COLUMN search_tsv tsvector",
    """CREATE OR REPLACE FUNCTION search_message_tsv() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.search_tsv := to_tsvector(
            search_config((SELECT language FROM conversation WHERE id = NEW.conversation_id)),
            unaccent(coalesce(NEW.text, '')));
          RETURN NEW;
        END $$""",
    """CREATE TRIGGER search_message_tsv BEFORE INSERT OR UPDATE OF text ON message
        FOR EACH ROW EXECUTE FUNCTION search_message_tsv()""",
    """CREATE OR REPLACE FUNCTION search_conversation_tsv() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          NEW.search_tsv := to_tsvector(search_config(NEW.language),
                                        unaccent(coalesce(NEW.subject, '')));
          RETURN NEW;
        END $$""",
    """CREATE TRIGGER search_conversation_tsv BEFORE INSERT OR UPDATE OF subject, language
        ON conversation FOR EACH ROW EXECUTE FUNCTION search_conversation_tsv()""",
    "CREATE INDEX search_message_tsv_idx ON message USING gin (search_tsv)",
    "CREATE INDEX search_conversation_tsv_idx ON conversation USING gin (search_tsv)",
]

POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS search_message_tsv ON message",
    "DROP TRIGGER IF EXISTS search_conversation_tsv ON conversation",
    "DROP FUNCTION IF EXISTS search_message_tsv()",
    "DROP FUNCTION IF EXISTS search_conversation_tsv()",
    "ALTER TABLE message DROP COLUMN IF EXISTS search_tsv",
    "ALTER TABLE conversation DROP COLUMN IF EXISTS search_tsv",
    "DROP FUNCTION IF EXISTS search_config(text)",
]


def create_search_objects(conn: Connection) -> None:
    for stmt in SQLITE_DDL if conn.dialect.name == "sqlite" else POSTGRES_DDL:
        conn.exec_driver_sql(stmt)


def drop_search_objects(conn: Connection) -> None:
    for stmt in SQLITE_DROP if conn.dialect.name == "sqlite" else POSTGRES_DROP:
        conn.exec_driver_sql(stmt)


_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 8
# A search looks at the newest MAX_CANDIDATES matching messages (and subjects). A rare word
# finds everything; a very common word ("order") only reaches back through its newest
# matches, which keeps p99 bounded on millions of messages (docs/benchmarks.md, search).
MAX_CANDIDATES = 5000


def query_terms(q: str) -> list[str]:
    """The words of a search box, at most ``MAX_TERMS`` (a query is a few words, not a page)."""
    return _WORD.findall(q)[:MAX_TERMS]


_CONTENT_TERMS = """
    SELECT term FROM unnest(CAST(:terms AS text[])) WITH ORDINALITY AS t(term, n)
    WHERE numnode(plainto_tsquery('english', unaccent(term))) > 0
      AND numnode(plainto_tsquery('french', unaccent(term))) > 0
      AND numnode(plainto_tsquery('spanish', unaccent(term))) > 0
    ORDER BY n
"""


def _either(by_message: Select[Any], by_subject: Select[Any]) -> Select[tuple[int]]:
    """Ids from either limited SELECT (each wrapped: SQLite refuses LIMIT inside a UNION)."""
    a, b = by_message.subquery(), by_subject.subquery()
    both = union(select(a.c[0]), select(b.c[0])).subquery()
    return select(both.c[0])


def matching_conversations(session: Session, q: str) -> Select[tuple[int]] | None:
    """A SELECT of conversation ids whose subject or any message matches every word of ``q``.

    Returns None when ``q`` has no words (the caller then applies no text filter).
    """
    terms = query_terms(q)
    if not terms:
        return None
    if session.get_bind().dialect.name == "sqlite":
        match = " ".join('"' + t.replace('"', "") + '"' for t in terms)
        by_message = select(Message.conversation_id).where(
            Message.id.in_(
                select(literal_column("rowid"))
                .select_from(text("search_message_fts"))
                .where(text("search_message_fts MATCH :fts_q"))
                .order_by(literal_column("rowid").desc())
                .limit(MAX_CANDIDATES)
            )
        )
        by_subject: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(text("search_conversation_fts"))
            .where(text("search_conversation_fts MATCH :fts_q"))
            .order_by(literal_column("rowid").desc())
            .limit(MAX_CANDIDATES)
        )
        return _either(by_message, by_subject).params(fts_q=match)
    # Stop words ("my", "has", "les", "para") are not in the stemmed documents, so requiring
    # them would find nothing: keep the words that carry meaning in all three languages.
    content = list(session.scalars(text(_CONTENT_TERMS), {"terms": terms}))
    terms = content or terms
    plain = " ".join(terms)
    tsq = "(" + " || ".join(
        f"plainto_tsquery('{cfg}', unaccent(:ts_q))"
        for cfg in ("english", "french", "spanish", "simple")
    ) + ")"
    # OR across languages is per word: every word must match in at least one configuration.
    if len(terms) > 1:
        parts = []
        params: dict[str, str] = {}
        for i, term in enumerate(terms):
            parts.append(tsq.replace(":ts_q", f":ts_q{i}"))
            params[f"ts_q{i}"] = term
        tsq_all = "(" + " && ".join(parts) + ")"
    else:
        tsq_all = tsq
        params = {"ts_q": plain}
    by_message = (
        select(Message.conversation_id)
        .where(text(f"message.search_tsv @@ {tsq_all}"))
        .order_by(Message.id.desc())
        .limit(MAX_CANDIDATES)
    )
    by_subject = (
        select(Conversation.id)
        .where(text(f"conversation.search_tsv @@ {tsq_all}"))
        .order_by(Conversation.id.desc())
        .limit(MAX_CANDIDATES)
    )
    return _either(by_message, by_subject).params(**params)

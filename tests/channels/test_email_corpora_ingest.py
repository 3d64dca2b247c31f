"""Every message of the shared email corpora through store_raw + ingest: no exception,
nothing lost (each one is a customer message, a note or a quarantined raw row).

Measured (SQLite and PostgreSQL alike), files / stored / ingested / quarantined:
cpython-test_email 48 / 48 / 39 / 9 (no sender address, or not an email);
mailgun-flanker 162 (4 empty, 17 byte-identical copies) / 141 / 109 / 32;
koodaamo-tnefparse 20 / 20 / 20 / 0.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from heard.channels.email.ingest import ingest_raw, store_raw
from heard.db import Database, Message, RawEmail
from heard.evaluation.email import robustness_messages
from heard.settings import Settings

# Files per corpus (as heard.evaluation.email counts them).
EXPECTED = {"cpython-test_email": 48, "mailgun-flanker": 162, "koodaamo-tnefparse": 20}


@pytest.mark.parametrize("corpus", sorted(EXPECTED))
def test_every_corpus_message_is_stored_and_ingested_or_quarantined(
    db: Database, settings: Settings, mailbox_id: int, corpus: str
) -> None:
    messages = list(robustness_messages(corpus))
    assert len(messages) == EXPECTED[corpus]
    outcomes: dict[str, int] = {}
    raw_ids = set()
    empty = 0
    for _name, raw in messages:
        if not raw.strip():
            empty += 1  # nothing to keep: store_raw refuses it (the listener answers 554)
            with pytest.raises(ValueError, match="empty"):
                store_raw(db, mailbox_id, raw)
            continue
        raw_id = store_raw(db, mailbox_id, raw)
        raw_ids.add(raw_id)
        result = ingest_raw(db, settings, raw_id)
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    with db.read() as session:
        stored = {status: n for status, n in session.execute(
            select(RawEmail.status, func.count()).group_by(RawEmail.status))}
        unreachable = session.scalar(
            select(func.count()).select_from(RawEmail)
            .outerjoin(Message, Message.id == RawEmail.message_row_id)
            .where(RawEmail.status == "ingested", Message.id.is_(None)))
        inbound = session.scalar(select(func.count()).select_from(Message)
                                 .where(Message.kind == "inbound")) or 0
    # Nothing lost: every stored row reached a final state, each ingested row points at the
    # message (or note) it became, and each quarantined row says why.
    assert set(stored) <= {"ingested", "quarantined"}
    assert sum(stored.values()) == len(raw_ids)
    # Only byte-identical files (flanker's DKIM "expected" outputs) share a raw row.
    distinct = {hashlib.sha256(raw).digest() for _, raw in messages if raw.strip()}
    assert len(raw_ids) == len(distinct)
    assert unreachable == 0
    assert stored.get("quarantined", 0) == outcomes.get("quarantined", 0)
    print(f"\n{corpus}: {len(messages)} files, {empty} empty, {len(raw_ids)} stored, "
          f"{stored.get('ingested', 0)} ingested ({inbound} customer messages), "
          f"{stored.get('quarantined', 0)} quarantined")

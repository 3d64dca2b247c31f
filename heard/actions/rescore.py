"""Re-read every stored customer message after the empathy engine changed (``heard rescore``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update

from heard.access import Actor
from heard.actions._audit import record
from heard.db import Conversation, Database, Message
from heard.db.base import table_of
from heard.reading import ABUSE_RANK, read_inbound

Progress = Callable[[int, int], None]

_m = table_of(Message).c
_SET_READING = (
    update(table_of(Message))
    .where(_m.id == bindparam("b_id"))
    .values(reading=bindparam("b_reading"))
)


@dataclass(frozen=True)
class RescoreResult:
    conversations: int
    messages: int
    changed: int


def rescore(
    db: Database, *, actor: Actor, batch: int = 200, progress: Progress | None = None
) -> RescoreResult:
    """Recompute the Reading of every inbound message and each conversation's headline.

    Works in batches of conversations, one write transaction each, so a big database is
    never locked for long and an interrupted run can simply be started again.
    """
    with db.read() as session:
        total = session.scalar(select(func.count()).select_from(Conversation)) or 0
    done = messages = changed = 0
    last_id = 0
    while True:
        with db.write() as session:
            ids = list(
                session.scalars(
                    select(Conversation.id)
                    .where(Conversation.id > last_id)
                    .order_by(Conversation.id)
                    .limit(batch)
                )
            )
            if not ids:
                break
            last_id = ids[-1]
            languages = {
                cid: language
                for cid, language in session.execute(
                    select(Conversation.id, Conversation.language).where(Conversation.id.in_(ids))
                )
            }
            rows = session.execute(
                select(Message.id, Message.conversation_id, Message.text, Message.reading)
                .where(Message.conversation_id.in_(ids), Message.kind == "inbound")
                .order_by(Message.conversation_id, Message.created_at, Message.id)
            ).all()
            updates = []
            latest = {}
            worst: dict[int, str] = {}
            for row in rows:
                reading = read_inbound(row.text, language=languages[row.conversation_id])
                stored = reading.stored
                if stored != row.reading:
                    changed += 1
                    updates.append({"b_id": row.id, "b_reading": stored})
                latest[row.conversation_id] = reading
                abuse = reading.reading.abuse
                if ABUSE_RANK.get(abuse, 0) > ABUSE_RANK.get(worst.get(row.conversation_id, ""), 0):
                    worst[row.conversation_id] = abuse
            if updates:
                session.connection().execute(_SET_READING, updates)
            for conversation_id, reading in latest.items():
                values = reading.headline(None)
                values["abuse"] = worst.get(conversation_id, "none")
                session.execute(
                    update(Conversation).where(Conversation.id == conversation_id).values(**values)
                )
            messages += len(rows)
            done += len(ids)
        if progress is not None:
            progress(done, total)
    with db.write() as session:
        record(session, actor, "readings.rescore", "conversation", None,
               after={"conversations": done, "messages": messages, "changed": changed})
    return RescoreResult(conversations=done, messages=messages, changed=changed)

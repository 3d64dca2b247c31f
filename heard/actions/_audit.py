from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from heard.access import Actor
from heard.db import AuditEvent, after_commit, utcnow
from heard.db.base import table_of
from heard.events import Event, publish

# Built once: constructing a statement costs more than running it on SQLite (see
# docs/benchmarks.md, "inbound messages"), and every action writes an audit row.
_INSERT_AUDIT = insert(table_of(AuditEvent))


def record(
    session: Session,
    actor: Actor,
    verb: str,
    object_type: str,
    object_id: int | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.connection().execute(
        _INSERT_AUDIT,
        {
            "actor_agent_id": actor.agent_id,
            "actor_label": actor.label[:120],
            "verb": verb,
            "object_type": object_type,
            "object_id": object_id,
            "before": before,
            "after": after,
            "created_at": utcnow(),
        },
    )


def announce(session: Session, event: str, conversation_id: int | None, **data: Any) -> None:
    """Publish an event once the transaction has committed (never for a rollback)."""
    message = Event(kind=event, conversation_id=conversation_id, data=data)
    after_commit(session, lambda: publish(message))

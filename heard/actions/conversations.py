"""Conversations: assign, change status, prioritise, tag, merge."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from heard.access import SYSTEM, Actor, Forbidden, NotFound, access_conversation, is_id
from heard.actions._audit import announce, record
from heard.actions.sla import clear_wait, reopen_wait, start_wait
from heard.actions.tags import ensure_tags
from heard.db import Agent, Conversation, ConversationTag, Database, Message, Tag, Team, TeamMember
from heard.db import utcnow as _now
from heard.domain.priority import priority_name, priority_value
from heard.domain.status import check_transition

# Pass for ``agent_id`` or ``team_id`` to leave that side of an assignment as it is.
UNCHANGED = object()


def assign(
    db: Database,
    *,
    actor: Actor,
    conversation_id: int,
    agent_id: int | object | None = UNCHANGED,
    team_id: int | object | None = UNCHANGED,
) -> None:
    """Give the conversation to an agent and/or a team (``None`` clears it).

    Agents may take a conversation themselves or give it to a teammate; leads and admins may
    assign anyone. Moving a conversation from one agent to another counts as a transfer (a
    handoff makes customers repeat themselves, so it is measured).
    """
    with db.write() as session:
        conversation = access_conversation(session, actor, conversation_id, for_update=True)
        before = {"assignee_id": conversation.assignee_id, "team_id": conversation.team_id}
        if team_id is not UNCHANGED:
            if team_id is not None:
                known = isinstance(team_id, int) and is_id(team_id)
                if not known or session.get(Team, team_id) is None:
                    raise NotFound("team")
                if not actor.at_least("lead") and team_id not in actor.team_ids:
                    raise Forbidden("agents can only move conversations to their own teams")
            conversation.team_id = team_id  # type: ignore[assignment]
        if agent_id is not UNCHANGED:
            if agent_id is not None:
                agent = (
                    session.get(Agent, agent_id)
                    if isinstance(agent_id, int) and is_id(agent_id)
                    else None
                )
                if agent is None or not agent.is_active:
                    raise NotFound("agent")
                if not actor.at_least("lead") and agent_id != actor.agent_id:
                    shared = session.scalars(
                        select(TeamMember.team_id).where(
                            TeamMember.agent_id == agent_id,
                            TeamMember.team_id.in_(sorted(actor.team_ids)),
                        )
                    ).first()
                    if shared is None:
                        raise Forbidden("agents can only assign themselves or a teammate")
            if (
                conversation.assignee_id is not None
                and agent_id is not None
                and agent_id != conversation.assignee_id
            ):
                conversation.transfer_count += 1
            conversation.assignee_id = agent_id  # type: ignore[assignment]
        after = {"assignee_id": conversation.assignee_id, "team_id": conversation.team_id}
        if after == before:
            return
        record(session, actor, "conversation.assign", "conversation", conversation.id,
               before=before, after=after)
        announce(session, "conversation.assign", conversation.id, **after)


def apply_status(
    session: Session,
    actor: Actor,
    conversation: Conversation,
    status: str,
    snoozed_until: datetime | None,
) -> None:
    """Change status inside an open transaction (used by :func:`change_status` and replies)."""
    check_transition(conversation.status, status, has_snooze_until=snoozed_until is not None)
    before = {"status": conversation.status}
    conversation.status = status
    conversation.snoozed_until = snoozed_until if status == "snoozed" else None
    conversation.closed_at = _now() if status == "closed" else None
    # Open waits on us (from the customer's unanswered latest message, or from now);
    # pending, snoozed and closed stop the SLA clock.
    if status == "open":
        reopen_wait(session, conversation, _now())
    else:
        clear_wait(conversation)
    record(session, actor, "conversation.status", "conversation", conversation.id,
           before=before, after={"status": status})
    announce(session, "conversation.status", conversation.id, status=status)


def wake_snoozed(db: Database, *, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Reopen snoozed conversations whose time has come (the worker calls this each pass).

    Each goes through :func:`apply_status` as the system: an audit row, a
    ``conversation.status`` event, and the SLA clock restarted from the customer's
    unanswered message (or from now). At most ``limit`` per call, oldest snooze first.
    """
    now = now or _now()
    with db.write() as session:
        due = list(session.scalars(
            select(Conversation)
            .where(Conversation.status == "snoozed", Conversation.snoozed_until <= now)
            .order_by(Conversation.snoozed_until, Conversation.id)
            .limit(limit)
            .with_for_update()
        ))
        for conversation in due:
            apply_status(session, SYSTEM, conversation, "open", None)
        return [c.id for c in due]


def change_status(
    db: Database,
    *,
    actor: Actor,
    conversation_id: int,
    status: str,
    snoozed_until: datetime | None = None,
) -> None:
    if snoozed_until is not None and snoozed_until <= _now():
        raise ValueError("snoozed_until must be in the future")
    with db.write() as session:
        conversation = access_conversation(session, actor, conversation_id, for_update=True)
        apply_status(session, actor, conversation, status, snoozed_until)


def set_priority(db: Database, *, actor: Actor, conversation_id: int, priority: str) -> None:
    value = priority_value(priority)
    with db.write() as session:
        conversation = access_conversation(session, actor, conversation_id, for_update=True)
        if conversation.priority == value:
            return
        before = {"priority": priority_name(conversation.priority)}
        conversation.priority = value
        record(session, actor, "conversation.priority", "conversation", conversation.id,
               before=before, after={"priority": priority})


def add_tags(db: Database, *, actor: Actor, conversation_id: int, names: list[str]) -> list[str]:
    """Tag a conversation; unknown tag names are created (tags say *why* people write)."""
    with db.write() as session:
        conversation = access_conversation(session, actor, conversation_id)
        tags = ensure_tags(session, names)
        present = set(
            session.scalars(
                select(ConversationTag.tag_id).where(
                    ConversationTag.conversation_id == conversation.id
                )
            )
        )
        added = [t for t in tags if t.id not in present]
        for tag in added:
            session.add(ConversationTag(conversation_id=conversation.id, tag_id=tag.id))
        if added:
            record(session, actor, "conversation.tag", "conversation", conversation.id,
                   after={"added": [t.name for t in added]})
            announce(session, "conversation.tags", conversation.id)
        return [t.name for t in added]


def remove_tags(db: Database, *, actor: Actor, conversation_id: int, names: list[str]) -> None:
    with db.write() as session:
        conversation = access_conversation(session, actor, conversation_id)
        tag_ids = list(session.scalars(select(Tag.id).where(Tag.name.in_(names))))
        if not tag_ids:
            return
        session.execute(
            delete(ConversationTag).where(
                ConversationTag.conversation_id == conversation.id,
                ConversationTag.tag_id.in_(tag_ids),
            )
        )
        record(session, actor, "conversation.untag", "conversation", conversation.id,
               before={"removed": names})
        announce(session, "conversation.tags", conversation.id)


def merge_conversations(db: Database, *, actor: Actor, source_id: int, target_id: int) -> None:
    """Fold ``source`` into ``target``: its messages and tags move, and it is closed.

    The source row stays (``merged_into_id``) so links to it still lead somewhere.
    """
    if source_id == target_id:
        raise ValueError("cannot merge a conversation into itself")
    with db.write() as session:
        source = access_conversation(session, actor, source_id, for_update=True)
        target = access_conversation(session, actor, target_id, for_update=True)
        if source.merged_into_id is not None or target.merged_into_id is not None:
            raise ValueError("one of these conversations was already merged")
        moved = cast(CursorResult[Any], session.execute(
            update(Message)
            .where(Message.conversation_id == source.id)
            .values(conversation_id=target.id)
        )).rowcount
        target_tags = select(ConversationTag.tag_id).where(
            ConversationTag.conversation_id == target.id
        )
        source_tags = list(
            session.scalars(
                select(ConversationTag.tag_id).where(
                    ConversationTag.conversation_id == source.id,
                    ConversationTag.tag_id.not_in(target_tags),
                )
            )
        )
        for tag_id in source_tags:
            session.add(ConversationTag(conversation_id=target.id, tag_id=tag_id))
        session.execute(delete(ConversationTag).where(ConversationTag.conversation_id == source.id))
        for field in ("first_response_at", "last_customer_message_at"):
            a, b = getattr(source, field), getattr(target, field)
            if a is not None and (b is None or a < b):
                setattr(target, field, a)
        target.created_at = min(source.created_at, target.created_at)
        target.last_activity_at = max(source.last_activity_at, target.last_activity_at)
        source.merged_into_id = target.id
        source.status = "closed"
        source.closed_at = _now()
        # The merged conversation waits since the earlier of the two waits, if either waited.
        waits = [c.waiting_since for c in (source, target) if c.waiting_since is not None]
        clear_wait(source)
        reopened = target.status == "closed"
        if reopened:
            target.status = "open"
            target.closed_at = None
        if target.status == "open" and waits:
            start_wait(session, target, min(waits))
        elif reopened:
            reopen_wait(session, target, _now())
        record(session, actor, "conversation.merge", "conversation", target.id,
               before={"source_id": source.id}, after={"messages_moved": moved})
        announce(session, "conversation.merge", target.id, source_id=source.id)


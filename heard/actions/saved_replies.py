"""Saved replies: create, change, delete — each with an audit row.

Who may manage which (the composer offers shared replies to everyone and a team's replies
to its members):

- **shared** replies (no team): leads and admins;
- a **team's** replies: leads and admins, and the agents of that team.

A body may use ``{customer_name}``, ``{first_name}`` and ``{agent_name}``, filled when the
composer offers the reply; anything else in braces is refused when the reply is saved (a
typo such as ``{frist_name}`` would otherwise reach a customer). ``{{`` and ``}}`` write a
brace.
"""

from __future__ import annotations

import string
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from heard.access import Actor, Forbidden, NotFound, is_id
from heard.actions._audit import record
from heard.db import Database, SavedReply, Team, utcnow

__all__ = [
    "LANGUAGES", "VARIABLES", "check_body", "create_saved_reply", "delete_saved_reply",
    "may_manage", "update_saved_reply",
]

VARIABLES = ("customer_name", "first_name", "agent_name")
LANGUAGES = ("en", "fr", "es")
MAX_TITLE = 200
MAX_BODY = 20_000


def check_body(body: str) -> None:
    """Raise ValueError unless every ``{...}`` in ``body`` is one of :data:`VARIABLES`."""
    try:
        fields = list(string.Formatter().parse(body))
    except ValueError:
        raise ValueError("a { or } without its pair; write {{ or }} for a brace") from None
    for _literal, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in VARIABLES or spec or conversion:
            raw = "{" + name + (f"!{conversion}" if conversion else "") + (
                f":{spec}" if spec else "") + "}"
            raise ValueError(f"unknown variable {raw}: use customer_name, first_name or "
                             "agent_name in braces")


def may_manage(actor: Actor, team_id: int | None) -> bool:
    """Shared replies: leads and admins. A team's replies: also the team's agents."""
    return actor.at_least("lead") or (team_id is not None and team_id in actor.team_ids)


def _require_manage(actor: Actor, team_id: int | None) -> None:
    if not may_manage(actor, team_id):
        raise Forbidden("shared saved replies need the lead role; agents manage the replies "
                        "of their own teams")


def _validated(session: Session, *, title: str, body: str, language: str,
               team_id: int | None, reply_id: int | None) -> dict[str, Any]:
    title = " ".join(title.split())
    body = body.replace("\r\n", "\n").strip()
    if not title:
        raise ValueError("a saved reply needs a title")
    if len(title) > MAX_TITLE:
        raise ValueError("a saved reply's title is at most 200 characters")
    if not body:
        raise ValueError("a saved reply needs some text")
    if len(body) > MAX_BODY:
        raise ValueError("a saved reply is at most 20000 characters")
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language}; expected en, fr or es")
    check_body(body)
    if team_id is not None and (not is_id(team_id) or session.get(Team, team_id) is None):
        raise NotFound("team")
    # One title per language and team: two "Refund" replies in one picker confuse.
    same = select(SavedReply.id).where(
        SavedReply.language == language, SavedReply.title == title,
        SavedReply.team_id.is_(None) if team_id is None else SavedReply.team_id == team_id)
    if reply_id is not None:
        same = same.where(SavedReply.id != reply_id)
    if session.scalars(same).first() is not None:
        raise ValueError(f"a saved reply titled {title} already exists in this language")
    return {"title": title, "body": body, "language": language, "team_id": team_id}


def create_saved_reply(db: Database, *, actor: Actor, title: str, body: str, language: str,
                       team_id: int | None = None) -> int:
    _require_manage(actor, team_id)
    with db.write() as session:
        values = _validated(session, title=title, body=body, language=language,
                            team_id=team_id, reply_id=None)
        reply = SavedReply(**values, created_by=actor.agent_id)
        session.add(reply)
        session.flush()
        record(session, actor, "saved_reply.create", "saved_reply", reply.id, after=values)
        return reply.id


def update_saved_reply(db: Database, *, actor: Actor, reply_id: int, title: str, body: str,
                       language: str, team_id: int | None) -> None:
    """Change a reply; moving it to another team (or to shared) needs the right to manage
    both the old and the new place."""
    with db.write() as session:
        reply = _load(session, actor, reply_id)
        _require_manage(actor, reply.team_id)
        _require_manage(actor, team_id)
        values = _validated(session, title=title, body=body, language=language,
                            team_id=team_id, reply_id=reply.id)
        before = _values(reply)
        for key, value in values.items():
            setattr(reply, key, value)
        reply.updated_at = utcnow()
        changed = sorted(k for k in values if values[k] != before[k])
        record(session, actor, "saved_reply.update", "saved_reply", reply.id,
               before={k: before[k] for k in changed}, after={k: values[k] for k in changed})


def delete_saved_reply(db: Database, *, actor: Actor, reply_id: int) -> None:
    with db.write() as session:
        reply = _load(session, actor, reply_id)
        _require_manage(actor, reply.team_id)
        record(session, actor, "saved_reply.delete", "saved_reply", reply.id,
               before=_values(reply))
        session.delete(reply)


def _load(session: Session, actor: Actor, reply_id: int) -> SavedReply:
    """A reply the actor may see: shared ones, their teams' ones (leads: every one).
    Another team's reply is 'not found', like one that doesn't exist."""
    reply = session.get(SavedReply, reply_id) if is_id(reply_id) else None
    if reply is None or not (reply.team_id is None or actor.at_least("lead")
                             or reply.team_id in actor.team_ids):
        raise NotFound("saved reply")
    return reply


def _values(reply: SavedReply) -> dict[str, Any]:
    return {"title": reply.title, "body": reply.body, "language": reply.language,
            "team_id": reply.team_id}

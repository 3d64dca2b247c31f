"""Saved replies for the composer: one query, variables filled for one conversation.

The replies live in the ``saved_reply`` table (managed at ``/admin/saved-replies``,
written by :mod:`heard.actions.saved_replies`); ``saved_replies/<lang>.json`` are the
starter replies that migration 0007 inserts. Variables: ``{customer_name}``,
``{first_name}``, ``{agent_name}``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from heard.access import Actor
from heard.db import SavedReply

FALLBACK = "en"


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # an unknown variable stays visible for the agent to fill


def for_composer(session: Session, actor: Actor, language: str) -> list[tuple[int, str, str]]:
    """(id, title, body) of the replies in ``language`` that are shared or belong to one
    of the actor's teams, by title; English ones when that language has none. One query."""
    rows = session.execute(
        select(SavedReply.id, SavedReply.title, SavedReply.body, SavedReply.language)
        .where(SavedReply.language.in_(list(dict.fromkeys((language, FALLBACK)))),
               or_(SavedReply.team_id.is_(None), SavedReply.team_id.in_(actor.team_ids)))
        .order_by(SavedReply.title, SavedReply.id)
    ).all()
    wanted = language if any(r.language == language for r in rows) else FALLBACK
    return [(r.id, r.title, r.body) for r in rows if r.language == wanted]


def usable(session: Session, actor: Actor, language: str | None = None) -> list[SavedReply]:
    """Every reply the actor may use (shared ones and their teams'; leads and admins: every
    team's), by language then title: ``GET /api/v1/saved-replies``."""
    stmt = select(SavedReply).order_by(SavedReply.language, SavedReply.title, SavedReply.id)
    if not actor.at_least("lead"):
        stmt = stmt.where(or_(SavedReply.team_id.is_(None),
                              SavedReply.team_id.in_(actor.team_ids)))
    if language is not None:
        stmt = stmt.where(SavedReply.language == language)
    return list(session.scalars(stmt))


def fill(body: str, *, customer_name: str, agent_name: str) -> str:
    first = (customer_name or "").split(" ")[0]
    values = _Blank(customer_name=customer_name, first_name=first, agent_name=agent_name)
    try:
        return body.format_map(values)
    except (ValueError, AttributeError, IndexError, KeyError):
        return body  # saved before the check existed: offer it as written


def filled(replies: list[tuple[int, str, str]], *, customer_name: str,
           agent_name: str) -> list[dict[str, Any]]:
    """The picker's data: ``[{"key", "title", "text"}]`` (what workspace.js reads)."""
    return [{"key": str(reply_id), "title": title,
             "text": fill(body, customer_name=customer_name, agent_name=agent_name)}
            for reply_id, title, body in replies]

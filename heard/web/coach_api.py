"""The reply coach behind the composer: ``POST /ui/coach`` reviews a draft as it is typed.

The page sends the draft and the conversation id (debounced); the review uses the last
customer message's text and its stored Reading, so nothing is analysed twice. Each finding
may carry ``apply``: a concrete edit (replace ``draft[start:end]`` with ``text``) taken from
the coach's suggested wording, for the one-click rewrite. Placeholders ("…", "<time>") stay in
the applied text on purpose: the agent fills them, the page selects the first one.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from heard.access import Actor, access_conversation
from heard.db import Database, Message
from heard.empathy import Reading, review
from heard.empathy.coach import Finding
from heard.web.deps import api_actor, get_db

router = APIRouter(include_in_schema=False)
ActorDep = Annotated[Actor, Depends(api_actor)]
DbDep = Annotated[Database, Depends(get_db)]
_QUOTED = re.compile(r'"([^"]+)"|«\s*([^»]+?)\s*»|“([^”]+)”')
MAX_DRAFT = 20_000  # characters reviewed live; a longer draft is reviewed on its first part


class CoachIn(BaseModel):
    conversation_id: int
    text: str = Field(max_length=200_000)


def rewrite_of(finding: Finding, draft: str) -> dict[str, Any] | None:
    """The edit behind "Apply": the suggestion's quoted wording in place of the span."""
    if finding.code == "over_apology" and finding.span:
        start, end = finding.span
        while end < len(draft) and draft[end] in " ,.!":  # the extra apology and its comma
            end += 1
        return {"start": start, "end": end, "text": ""}
    if not finding.suggestion:
        return None
    m = _QUOTED.search(finding.suggestion)
    if m is None:
        return None
    text = next(g for g in m.groups() if g)
    if finding.span:
        start, end = finding.span
        return {"start": start, "end": end, "text": text}
    if finding.code in ("boundary_next_step", "missing_acknowledgement"):
        return {"start": 0, "end": 0, "text": text + "\n\n"}
    sep = "" if not draft.strip() else ("\n\n" if not draft.endswith("\n") else "\n")
    return {"start": len(draft), "end": len(draft), "text": sep + text}


def coach(draft: str, customer_text: str, reading: dict[str, Any] | None,
          language: str) -> dict[str, Any]:
    draft = draft[:MAX_DRAFT]
    result = review(draft, customer_text=customer_text,
                    reading=Reading.from_dict(reading) if reading else None, language=language)
    return {
        "language": result.language,
        "latte": result.latte,
        "findings": [
            {**f.to_dict(), "apply": rewrite_of(f, draft)} for f in result.findings
        ] if draft.strip() else [],
    }


@router.post("/ui/coach")
def ui_coach(body: CoachIn, actor: ActorDep, db: DbDep) -> dict[str, Any]:
    with db.read() as session:
        conversation = access_conversation(session, actor, body.conversation_id)
        last = session.execute(
            select(Message.text, Message.reading)
            .where(Message.conversation_id == conversation.id, Message.kind == "inbound")
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
        ).first()
        language = conversation.language
    customer_text, reading = (last[0], last[1]) if last else ("", None)
    return coach(body.text, customer_text, reading, language)

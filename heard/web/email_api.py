"""Email administration API: the quarantine (messages that could not be read as email).

Nothing accepted is dropped: bytes that are not an email are kept with the reason, and an
admin can list them, download the original, or ask for another ingest after a fix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import select, update

from heard.access import Actor, NotFound, require_role
from heard.db import Database, Mailbox, RawEmail
from heard.web.deps import api_actor, get_db, get_settings

router = APIRouter(prefix="/api/v1/admin", tags=["email"])
ActorDep = Annotated[Actor, Depends(api_actor)]
DbDep = Annotated[Database, Depends(get_db)]


class QuarantinedOut(BaseModel):
    id: int
    mailbox: str
    message_id: str | None
    size: int
    source: str
    envelope_from: str | None
    received_at: datetime
    reason: str | None


class RetryOut(BaseModel):
    id: int
    status: str
    outcome: str
    conversation_id: int | None
    reason: str | None


@router.get("/quarantine", response_model=list[QuarantinedOut])
def list_quarantine(
    actor: ActorDep, db: DbDep,
    before_id: Annotated[int | None, Query(ge=1, description="page: ids below this")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[QuarantinedOut]:
    """Quarantined inbound emails, newest first (admins only)."""
    require_role(actor, "admin")
    stmt = (
        select(RawEmail.id, Mailbox.address, RawEmail.message_id, RawEmail.size,
               RawEmail.source, RawEmail.envelope_from, RawEmail.received_at, RawEmail.reason)
        .join(Mailbox, Mailbox.id == RawEmail.mailbox_id)
        .where(RawEmail.status == "quarantined")
        .order_by(RawEmail.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(RawEmail.id < before_id)
    with db.read() as session:
        return [QuarantinedOut(id=r.id, mailbox=r.address, message_id=r.message_id, size=r.size,
                               source=r.source, envelope_from=r.envelope_from,
                               received_at=r.received_at, reason=r.reason)
                for r in session.execute(stmt)]


@router.get("/quarantine/{raw_id}/raw", response_class=Response)
def download_quarantined(raw_id: int, actor: ActorDep, db: DbDep) -> Response:
    """The original bytes, as received (``message/rfc822``)."""
    require_role(actor, "admin")
    with db.read() as session:
        raw = session.scalars(select(RawEmail.raw).where(
            RawEmail.id == raw_id, RawEmail.status == "quarantined")).first()
    if raw is None:
        raise NotFound("quarantined email")
    return Response(raw, media_type="message/rfc822",
                    headers={"Content-Disposition": f'attachment; filename="raw-{raw_id}.eml"'})


@router.post("/quarantine/{raw_id}/retry", response_model=RetryOut)
def retry_quarantined(raw_id: int, actor: ActorDep, db: DbDep, request: Request) -> RetryOut:
    """Ingest a quarantined email again (after a parser fix); it may be quarantined again."""
    require_role(actor, "admin")
    with db.write() as session:
        changed = session.execute(
            update(RawEmail).where(RawEmail.id == raw_id, RawEmail.status == "quarantined")
            .values(status="stored", reason=None).returning(RawEmail.id)
        ).first()
    if changed is None:
        raise NotFound("quarantined email")
    # Imported here: the parser and its patterns are only needed when an admin retries, and
    # loading them at import time costs about 0.1 s of every `heard serve` start.
    from heard.channels.email.ingest import ingest_raw

    result = ingest_raw(db, get_settings(request), raw_id)
    return RetryOut(id=raw_id, status=result.status, outcome=result.outcome,
                    conversation_id=result.conversation_id, reason=result.reason)

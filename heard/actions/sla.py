"""SLA targets: change one, and keep each conversation's stored response due time.

A conversation **waits on us** from the customer message that started the wait (the first
one we haven't answered) until an agent replies, or until it leaves ``open``. While it
waits it carries ``waiting_since``, ``response_due_at`` (the channel's target counted in
the target's business hours) and ``response_risk_at`` (when ``AT_RISK_SHARE`` of those
staffed minutes are spent); otherwise all three are NULL. The inbox sorts and filters on
the stored columns (indexed), never on a computation per row. docs/workspace.md, "Response
targets", has the rules.

The targets are read on every customer message that starts a wait, so they are cached per
database engine: the process that changes a target drops its cache at commit; other
processes (uvicorn workers, the SMTP listener) reload theirs within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, func, select, update
from sqlalchemy.orm import Session

from heard.access import Actor, require_role
from heard.actions._audit import record
from heard.db import Conversation, Database, Message, SlaTarget, after_commit, utcnow
from heard.db.base import table_of
from heard.domain.business_hours import BusinessHours, BusinessHoursError
from heard.domain.identity import CHANNELS
from heard.domain.sla import AT_RISK_SHARE, Target, check_minutes

__all__ = ["CACHE_SECONDS", "RECOMPUTE_BATCH", "clear_wait", "invalidate", "load_targets",
           "reopen_wait", "set_sla_target", "start_wait", "target_for", "targets", "wait_values"]

CACHE_SECONDS = 10.0
# Conversations recomputed per transaction when a target with business hours changes (each
# due time is computed in Python; the SQLite write lock is held for one batch at a time).
RECOMPUTE_BATCH = 500

_cache: weakref.WeakKeyDictionary[Engine, tuple[float, dict[str, Target]]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()
_s = table_of(SlaTarget).c
_SELECT_TARGETS = select(_s.channel, _s.first_response_minutes, _s.business_hours)


def load_targets(session: Session) -> dict[str, Target]:
    """Every channel's target, read now (the admin page; :func:`targets` caches this)."""
    out = {ch: Target.default(ch) for ch in CHANNELS}
    for channel, minutes, hours in session.connection().execute(_SELECT_TARGETS):
        try:
            parsed = BusinessHours.from_json(hours)
        except BusinessHoursError:  # pragma: no cover - set_sla_target validates
            parsed = BusinessHours(always_open=True)
        out[channel] = Target(channel, minutes, parsed)
    return out


def targets(session: Session) -> dict[str, Target]:
    """Every channel's target (the default where no row exists), cached per engine."""
    engine = session.get_bind().engine
    now = time.monotonic()
    with _lock:
        cached = _cache.get(engine)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    loaded = load_targets(session)
    with _lock:
        _cache[engine] = (now, loaded)
    return loaded


def target_for(session: Session, channel: str) -> Target:
    return targets(session).get(channel) or Target.default(channel)


def invalidate(engine: Engine | None = None) -> None:
    with _lock:
        if engine is None:
            _cache.clear()
        else:
            _cache.pop(engine, None)


def wait_values(session: Session, channel: str, since: datetime) -> dict[str, datetime]:
    """Column values for a wait starting at ``since`` (for Core statements)."""
    due, risk = target_for(session, channel).due(since)
    return {"waiting_since": since, "response_due_at": due, "response_risk_at": risk}


def start_wait(session: Session, conversation: Conversation, since: datetime) -> None:
    for name, value in wait_values(session, conversation.channel, since).items():
        setattr(conversation, name, value)


def clear_wait(conversation: Conversation) -> None:
    conversation.waiting_since = None
    conversation.response_due_at = None
    conversation.response_risk_at = None


_m = table_of(Message).c
_LAST_EXCHANGE = (
    select(_m.kind, _m.created_at)
    .where(_m.conversation_id == bindparam("conversation_id"), _m.kind != "note")
    .order_by(_m.created_at.desc(), _m.id.desc())
    .limit(1)
)


def reopen_wait(session: Session, conversation: Conversation, now: datetime) -> None:
    """A conversation (re)entering ``open``: it waits from the customer's latest message if
    we haven't answered it, otherwise from now."""
    if conversation.waiting_since is not None:
        return
    last = session.connection().execute(
        _LAST_EXCHANGE, {"conversation_id": conversation.id}
    ).first()
    since = last.created_at if last is not None and last.kind == "inbound" else now
    start_wait(session, conversation, min(since, now))


def set_sla_target(
    db: Database,
    *,
    actor: Actor,
    channel: str,
    first_response_minutes: int,
    business_hours: dict[str, Any] | None,
) -> int:
    """Set a channel's target and recompute the due times of its waiting conversations.

    Admins only. ``business_hours`` is the mailbox JSON form (``{}``/None: always staffed);
    a malformed one raises :class:`BusinessHoursError` (a ``ValueError``) saying where.
    Returns how many waiting conversations got a new due time.
    """
    require_role(actor, "admin")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")
    minutes = check_minutes(first_response_minutes)
    hours = BusinessHours.from_json(business_hours or {})
    try:
        hours.add_staffed_minutes(utcnow(), minutes)
    except BusinessHoursError:
        raise BusinessHoursError(
            f"these hours don't reach {minutes} staffed minutes within a year") from None
    stored = hours.to_json()
    with db.write() as session:
        row = session.scalars(
            select(SlaTarget).where(SlaTarget.channel == channel).with_for_update()
        ).first()
        before = (None if row is None else
                  {"first_response_minutes": row.first_response_minutes,
                   "business_hours": row.business_hours})
        after = {"first_response_minutes": minutes, "business_hours": stored}
        if before == after:
            return 0
        if row is None:
            session.add(SlaTarget(channel=channel, first_response_minutes=minutes,
                                  business_hours=stored, updated_at=utcnow()))
        else:
            row.first_response_minutes = minutes
            row.business_hours = stored
            row.updated_at = utcnow()
        record(session, actor, "sla.set", "sla_target", None,
               before={"channel": channel, **(before or {})}, after={"channel": channel, **after})
        engine = session.get_bind().engine
        after_commit(session, lambda: invalidate(engine))
        target = Target(channel, minutes, hours)
        if hours.always_open:
            # Set-based: one UPDATE, in the same transaction as the new target.
            return _recompute_always_open(session, target)
    return _recompute_in_batches(db, target)


def _plus(session: Session, column: Any, minutes: float) -> Any:
    seconds = round(minutes * 60, 6)
    if session.get_bind().dialect.name == "sqlite":
        # The format SQLAlchemy stores SQLite datetimes in (%f is seconds with milliseconds).
        return func.strftime("%Y-%m-%d %H:%M:%f000", column, f"{seconds:+.3f} seconds")
    return column + func.make_interval(0, 0, 0, 0, 0, 0, seconds)


def _recompute_always_open(session: Session, target: Target) -> int:
    c = Conversation.__table__.c
    result = session.execute(
        update(Conversation)
        .where(c.channel == target.channel, c.waiting_since.is_not(None))
        .values(response_due_at=_plus(session, c.waiting_since, target.minutes),
                response_risk_at=_plus(session, c.waiting_since, target.minutes * AT_RISK_SHARE))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


_c = table_of(Conversation).c
_NEXT_WAITING = (
    select(_c.id, _c.waiting_since)
    .where(_c.channel == bindparam("channel"), _c.waiting_since.is_not(None),
           _c.id > bindparam("after"))
    .order_by(_c.id)
    .limit(bindparam("batch"))
)
# Guarded by waiting_since: a conversation answered (or re-started) meanwhile is left alone.
_SET_DUE = (
    update(table_of(Conversation))
    .where(_c.id == bindparam("b_id"), _c.waiting_since == bindparam("b_since"))
    .values(response_due_at=bindparam("b_due"), response_risk_at=bindparam("b_risk"))
)


def _recompute_in_batches(db: Database, target: Target) -> int:
    """Business hours can't be counted in SQL: compute in Python, ``RECOMPUTE_BATCH``
    conversations per transaction, in id order."""
    done, after = 0, 0
    while True:
        with db.write() as session:
            conn = session.connection()
            rows = conn.execute(_NEXT_WAITING, {"channel": target.channel, "after": after,
                                                "batch": RECOMPUTE_BATCH}).all()
            if not rows:
                return done
            conn.execute(_SET_DUE, list(_due_params(target, rows)))
        done += len(rows)
        after = rows[-1].id


def _due_params(target: Target, rows: Iterable[Any]) -> Iterable[dict[str, Any]]:
    for row in rows:
        due, risk = target.due(row.waiting_since)
        yield {"b_id": row.id, "b_since": row.waiting_since, "b_due": due, "b_risk": risk}

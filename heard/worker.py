"""The worker: claims outbox rows and runs their handler; sweeps inbound mail left behind;
reopens snoozed conversations whose time has come.

The database is the queue. A row is claimed with a conditional
``UPDATE outbox_item SET claimed_at = now WHERE id = :id AND claimed_at IS NULL`` and the
worker moves on when no row changed, so several workers (on SQLite or PostgreSQL) never run
the same item at once. A failing item is retried with exponential backoff (``run_after``)
and given up after ``max_attempts``: it is then marked done with ``last_error`` starting
with ``"gave up:"`` and the handler's ``give_up`` tells the agent. A worker that dies while
holding a claim leaves it for ``claim_timeout``; the claim is then released and the
handler sees, from its own state, that an attempt was interrupted (email: "uncertain",
never sent twice — see :mod:`heard.channels.email.send`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from heard.db import Database, OutboxItem, utcnow
from heard.settings import Settings

__all__ = ["Handler", "Job", "PermanentError", "Worker", "default_handlers"]

log = logging.getLogger("heard.worker")


class PermanentError(Exception):
    """The work can never succeed (a refused address, no mailbox configured): no retry."""


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this one
    db: Database
    settings: Settings


@dataclass(frozen=True)
class Handler:
    run: Callable[[Job], None]
    # Called once when the worker stops retrying, with the last error's text.
    give_up: Callable[[Job, str], None] | None = None


def default_handlers() -> dict[str, Handler]:
    from heard.channels.email import send

    return {"deliver.email": Handler(send.deliver, send.give_up)}


@dataclass
class Worker:
    db: Database
    settings: Settings
    handlers: dict[str, Handler] = field(default_factory=default_handlers)
    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=2)
    claim_timeout: timedelta = timedelta(minutes=15)
    batch: int = 50
    sweep_inbound: bool = True

    def backoff(self, attempts: int) -> timedelta:
        """30 s, 1 min, 2 min, 4 min ... capped at ``max_delay``."""
        delay: timedelta = self.base_delay * (2 ** max(0, attempts - 1))
        return min(delay, self.max_delay)

    def run_once(self, now: datetime | None = None) -> int:
        """Run every item due now; return how many were run (claimed by us)."""
        now = now or utcnow()
        self._release_stale(now)
        with self.db.read() as session:
            ids = list(session.scalars(
                select(OutboxItem.id)
                .where(
                    OutboxItem.done_at.is_(None),
                    OutboxItem.claimed_at.is_(None),
                    OutboxItem.run_after <= now,
                    OutboxItem.kind.in_(sorted(self.handlers)),
                )
                .order_by(OutboxItem.run_after, OutboxItem.id)
                .limit(self.batch)
            ))
        ran = 0
        for item_id in ids:
            job = self._claim(item_id, now)
            if job is not None:
                self._run(job)
                ran += 1
        from heard.actions.conversations import wake_snoozed

        for conversation_id in wake_snoozed(self.db, now=now):
            log.info("conversation %s: snooze ended, open again", conversation_id)
        if self.sweep_inbound:
            from heard.channels.email.ingest import ingest_pending

            ingest_pending(self.db, self.settings)
        return ran

    def run_forever(self, stop: threading.Event, *, poll_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                log.exception("worker pass failed; retrying")
                ran = 0
            if not ran:
                stop.wait(poll_seconds)

    def _release_stale(self, now: datetime) -> None:
        with self.db.write() as session:
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.done_at.is_(None),
                       OutboxItem.claimed_at < now - self.claim_timeout)
                .values(claimed_at=None)
            )

    def _claim(self, item_id: int, now: datetime) -> Job | None:
        with self.db.write() as session:
            claimed = session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item_id, OutboxItem.claimed_at.is_(None),
                       OutboxItem.done_at.is_(None))
                .values(claimed_at=now, attempts=OutboxItem.attempts + 1)
                .returning(OutboxItem.kind, OutboxItem.payload, OutboxItem.attempts)
            ).first()
        if claimed is None:
            return None  # another worker got it first
        return Job(item_id, claimed.kind, dict(claimed.payload), claimed.attempts, self.db,
                   self.settings)

    def _run(self, job: Job) -> None:
        handler = self.handlers[job.kind]
        try:
            handler.run(job)
        except PermanentError as exc:
            self._give_up(job, handler, f"{exc}")
            return
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if job.attempts >= self.max_attempts:
                self._give_up(job, handler, f"{job.attempts} attempts; last: {error}")
                return
            log.warning("outbox item %s (%s) failed, attempt %s: %s", job.id, job.kind,
                        job.attempts, error)
            with self.db.write() as session:
                session.execute(
                    update(OutboxItem).where(OutboxItem.id == job.id).values(
                        claimed_at=None, last_error=error[:2000],
                        run_after=utcnow() + self.backoff(job.attempts),
                    )
                )
            return
        with self.db.write() as session:
            session.execute(update(OutboxItem).where(OutboxItem.id == job.id)
                            .values(done_at=utcnow(), last_error=None))

    def _give_up(self, job: Job, handler: Handler, error: str) -> None:
        log.error("outbox item %s (%s): giving up: %s", job.id, job.kind, error)
        with self.db.write() as session:
            session.execute(update(OutboxItem).where(OutboxItem.id == job.id)
                            .values(done_at=utcnow(), last_error=f"gave up: {error}"[:2000]))
        if handler.give_up is not None:
            try:
                handler.give_up(job, error)
            except Exception:
                log.exception("give_up hook of outbox item %s failed", job.id)


def run(settings: Settings, *, once: bool = False, poll_seconds: float = 1.0) -> int:
    """``heard worker``: run until SIGINT/SIGTERM (or one pass with ``once``)."""
    import signal

    db = Database(settings.database_url)
    worker = Worker(db, settings)
    if once:
        print(f"ran {worker.run_once()} outbox items", flush=True)
        return 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("Heard worker running", flush=True)
    worker.run_forever(stop, poll_seconds=poll_seconds)
    return 0

"""Heard's own SMTP listener (aiosmtpd): mail for our mailboxes, stored before we say yes.

The promise to a sending server: **250 means the bytes are committed**. Since the bytes and
what they become are committed together, the 250 comes after one write transaction that
holds, per message, the raw row *and* the ingested customer message (threaded, read by the
empathy engine, the raw row marked ``ingested``):

1. ``handle_DATA`` checks the recipients, then hands the bytes to a pool of processes
   (``settings.email_ingest_processes``; 0 = this process) that parse and read them — the
   CPU-heavy part, on the other core, with no database access.
2. One writer thread takes every delivery waiting (group commit: several SMTP sessions'
   messages in one transaction) and runs :func:`heard.channels.email.ingest.deliver_many`.
3. After the commit, the SMTP sessions get their 250. If the transaction fails, nothing was
   committed: each message is tried again alone, its ingest in a savepoint — a message
   whose ingest fails there still gets its raw row committed ``stored`` (and a 250); the
   sweep (:func:`ingest_pending`, here and in ``heard worker``) retries it, then
   quarantines it with the error. A message that cannot even be stored gets 451 (the
   sender retries later), never 250.

A crash before the commit leaves the sender without a 250, so it retries, and the retry
stores nothing new (same Message-ID and body). Unknown recipients get 550 at RCPT time, so
we never accept mail we cannot file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from heard.channels.email.ingest import (
    Delivery,
    IngestResult,
    Prepared,
    deliver_many,
    ingest_raw,
    prepare,
)
from heard.channels.email.mailboxes import mailbox_for_address
from heard.db import Database
from heard.empathy import warm_up
from heard.settings import Settings

__all__ = ["HeardSMTPHandler", "SMTPListener"]

log = logging.getLogger("heard.smtp")
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
_CACHE_SECONDS = 5.0  # a mailbox added or disabled is seen within this delay
MAX_BATCH = 64  # deliveries per group commit


@dataclass
class _Pending:
    """One DATA waiting for the writer; ``future`` gets the raw ids (or the exception)."""

    mailbox_ids: list[int]
    raw: bytes
    envelope_from: str | None
    prepared: Prepared | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[int]]
    results: list[IngestResult] = field(default_factory=list)


def _pool_initializer(parent: int) -> None:
    """Warm the worker (imports, every empathy model and the sentence encoder: about 1.5 s
    and 240 MB per process) and exit if the listener dies (SIGKILL):
    a pool worker otherwise waits on its queue forever."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="heard-parent-watch").start()
    prepare(b"From: warm@example.net\r\nSubject: warm up\r\n\r\nHello, just warming up.\r\n")
    warm_up()  # every model and the sentence encoder, before the first mail that needs them


def _noop() -> None:
    return None


class HeardSMTPHandler:
    """aiosmtpd handler: RCPT checks the address, DATA stores (and ingests) then answers."""

    def __init__(
        self, db: Database, settings: Settings, *, ingest: bool = True,
        processes: int | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.ingest = ingest
        self._cache: dict[str, tuple[int | None, float]] = {}
        count = settings.email_ingest_processes if processes is None else processes
        self._pool: ProcessPoolExecutor | None = None
        self._warming: list[Future[None]] = []
        if count > 0:
            self._pool = ProcessPoolExecutor(
                count, mp_context=multiprocessing.get_context("spawn"),
                initializer=_pool_initializer, initargs=(os.getpid(),),
            )
            # Start (and warm) every worker now, not on the first mail.
            self._warming = [self._pool.submit(_noop) for _ in range(count)]
        elif ingest:
            # Mail is read in this process: load the models off the event loop now.
            threading.Thread(target=warm_up, daemon=True, name="heard-smtp-warm-up").start()
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, daemon=True,
                                         name="heard-smtp-writer")
        self._writer.start()
        self._pending = 0
        self._lock = threading.Lock()

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until the ingest processes are up (until then the listener prepares mail
        in its own process)."""
        for future in self._warming:
            try:
                future.result(timeout=timeout)
            except Exception:
                log.exception("an ingest process failed to start; the listener prepares mail")

    def _lookup(self, address: str) -> int | None:
        now = time.monotonic()
        cached = self._cache.get(address)
        if cached is not None and cached[1] > now:
            return cached[0]
        with self.db.read() as session:
            mailbox = mailbox_for_address(session, address)
            mailbox_id = mailbox.id if mailbox is not None else None
        self._cache[address] = (mailbox_id, now + _CACHE_SECONDS)
        return mailbox_id

    async def _mailbox_id(self, address: str) -> int | None:
        cached = self._cache.get(address)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]  # no thread hop for the common case
        return await asyncio.to_thread(self._lookup, address)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            mailbox_id = await self._mailbox_id(address.lower())
        except Exception:
            log.exception("mailbox lookup failed for %s", address)
            return "451 4.3.0 Temporary failure looking up the mailbox; try again later"
        if mailbox_id is None:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if not raw or not bytes(raw).strip():
            return "554 5.6.0 Empty message"
        data = bytes(raw)
        mailbox_ids: list[int] = []
        for address in envelope.rcpt_tos:
            try:
                mailbox_id = await self._mailbox_id(address.lower())
            except Exception:
                log.exception("mailbox lookup failed for %s", address)
                return "451 4.3.0 Temporary failure looking up the mailbox; try again later"
            if mailbox_id is not None and mailbox_id not in mailbox_ids:
                mailbox_ids.append(mailbox_id)
        if not mailbox_ids:
            return "554 5.1.1 No valid recipients"
        loop = asyncio.get_running_loop()
        prepared: Prepared | None = None
        if self._pool is not None and all(f.done() for f in self._warming):
            # (While the processes start, the writer prepares mail here: no waiting.)
            try:
                prepared = await loop.run_in_executor(self._pool, prepare, data)
            except ValueError as exc:
                return f"554 5.6.0 {exc}"
            except Exception:
                # A broken pool (a worker killed): the writer prepares it here instead.
                log.exception("the ingest pool failed; preparing in the listener")
        future: asyncio.Future[list[int]] = loop.create_future()
        with self._lock:
            self._pending += 1
        self._queue.put(_Pending(mailbox_ids, data, envelope.mail_from, prepared, loop, future))
        try:
            raw_ids = await future
        except ValueError as exc:
            return f"554 5.6.0 {exc}"
        except Exception:
            return "451 4.3.0 Temporary failure storing the message; try again later"
        # Committed: from here on the message cannot be lost, whatever happens to us.
        return f"250 2.0.0 OK stored as {','.join(map(str, raw_ids))}"

    # --- the writer thread: group commit ---------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(more)
            try:
                self._write(batch)
            except Exception as exc:  # never leave an SMTP session waiting
                log.exception("writing a batch of inbound mail failed")
                for pending in batch:
                    self._answer(pending, exc)

    def _write(self, batch: list[_Pending]) -> None:
        ready: list[_Pending] = []
        for pending in batch:
            if pending.prepared is None:
                try:
                    pending.prepared = prepare(pending.raw)
                except Exception as exc:  # ValueError: empty; anything else: 451
                    self._answer(pending, exc)
                    continue
            ready.append(pending)
        if not ready:
            return
        try:
            results = deliver_many(self.db, self.settings, _deliveries(ready),
                                   ingest=self.ingest)
        except Exception:
            log.warning("group commit of %s messages failed; storing them one by one",
                        len(ready), exc_info=True)
            for pending in ready:
                try:
                    results = deliver_many(self.db, self.settings, _deliveries([pending]),
                                           ingest=self.ingest, isolate=True)
                except Exception as exc:
                    if not self._retry_alone(pending):
                        log.exception("storing a message failed; answering 451")
                        self._answer(pending, exc)
                    continue
                self._answer(pending, [r.raw_id for r in results])
            return
        answers: list[tuple[_Pending, list[int] | BaseException]] = []
        index = 0
        for pending in ready:
            mine = results[index:index + len(pending.mailbox_ids)]
            index += len(pending.mailbox_ids)
            answers.append((pending, [r.raw_id for r in mine]))
        self._answer_all(answers)  # every session of the batch, after its one commit

    def _retry_alone(self, pending: _Pending) -> bool:
        """After a failed commit (e.g. the same message raced in from another listener):
        store, then ingest, the old two-step way. True when the bytes are committed."""
        from heard.channels.email.ingest import store_raw

        try:
            ids = [store_raw(self.db, mailbox_id, pending.raw, envelope_from=pending.envelope_from)
                   for mailbox_id in pending.mailbox_ids]
        except Exception:
            return False
        self._answer(pending, ids)
        if self.ingest:
            for raw_id in ids:
                try:
                    ingest_raw(self.db, self.settings, raw_id)
                except Exception:
                    log.exception("ingest of raw email %s failed; the sweep will retry", raw_id)
        return True

    def _answer(self, pending: _Pending, outcome: list[int] | BaseException) -> None:
        self._answer_all([(pending, outcome)])

    def _answer_all(
        self, answers: list[tuple[_Pending, list[int] | BaseException]]
    ) -> None:
        """Settle the sessions' futures with one wake-up per event loop, not one per
        message: each wake-up is a write to the loop's self-pipe and a hand-over of the
        GIL between this thread and the loop's."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Pending, Any]]] = {}
        for pending, outcome in answers:
            by_loop.setdefault(pending.loop, []).append((pending, outcome))
        with self._lock:
            self._pending -= len(answers)
        for loop, group in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: the session is gone
                loop.call_soon_threadsafe(_settle, group)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every message handed to the writer has been committed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.005)
        return False

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join(timeout=60)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _settle(group: list[tuple[_Pending, list[int] | BaseException]]) -> None:
    for pending, outcome in group:
        if pending.future.done():
            continue
        if isinstance(outcome, BaseException):
            pending.future.set_exception(outcome)
        else:
            pending.future.set_result(outcome)


def _deliveries(batch: list[_Pending]) -> list[Delivery]:
    out: list[Delivery] = []
    for pending in batch:
        assert pending.prepared is not None
        for mailbox_id in pending.mailbox_ids:
            out.append(Delivery(mailbox_id, pending.raw, pending.prepared, "smtp",
                                pending.envelope_from))
    return out


class SMTPListener:
    """The listener on a host and port, on its own thread (``heard smtp``, ``heard serve``)."""

    def __init__(
        self, db: Database, settings: Settings, *, host: str = "127.0.0.1", port: int = 2525,
        ingest: bool = True, processes: int | None = None, tls_context: Any = None,
        require_starttls: bool = False,
    ) -> None:
        self.handler = HeardSMTPHandler(db, settings, ingest=ingest, processes=processes)
        self.controller = Controller(
            self.handler,
            hostname=host,
            port=port,
            ident="Heard",
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            tls_context=tls_context,  # offer STARTTLS with this server context
            require_starttls=require_starttls,
        )

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> None:
        self.controller.start()
        log.info("SMTP listener on %s:%s", self.controller.hostname, self.controller.port)

    def stop(self) -> None:
        self.controller.stop()
        self.handler.close()

    def __enter__(self) -> SMTPListener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(db: Database, settings: Settings, *, host: str, port: int) -> None:
    """Run the listener until SIGINT/SIGTERM (``heard smtp``)."""
    import signal
    from datetime import timedelta

    from heard.channels.email.ingest import ingest_pending

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with SMTPListener(db, settings, host=host, port=port):
        print(f"Heard SMTP listener on {host}:{port}", flush=True)
        # Rows a previous run stored but did not ingest (it was killed) are finished now,
        # then swept every half minute (``heard worker`` does the same).
        older_than = timedelta(0)
        while True:
            try:
                ingest_pending(db, settings, older_than=older_than)
            except Exception:
                log.exception("sweep of stored raw emails failed")
            older_than = timedelta(seconds=30)
            if stop.wait(30):
                break

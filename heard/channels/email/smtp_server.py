"""Heard's own SMTP listener (aiosmtpd): mail for our mailboxes, stored before we say yes.

The promise to a sending server: **250 means the bytes are committed**. ``handle_DATA``
awaits :func:`heard.channels.email.ingest.store_raw` (a committed ``RawEmail`` row) for
each of our recipients before answering; a crash before that leaves the sender without a
250, so it retries, and the retry stores nothing new (same Message-ID). Ingest (parsing,
threading, the customer message) runs right after the answer on a single background
thread; if the process dies first, the worker's sweep (:func:`ingest_pending`) finds the
``stored`` row and finishes the job.

Unknown recipients get 550 at RCPT time, so we never accept mail we cannot file. A storage
failure answers 451 (try again later), never 250.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from heard.channels.email.ingest import ingest_raw, store_raw
from heard.channels.email.mailboxes import mailbox_for_address
from heard.db import Database
from heard.settings import Settings

__all__ = ["HeardSMTPHandler", "SMTPListener"]

log = logging.getLogger("heard.smtp")
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
_CACHE_SECONDS = 5.0  # a mailbox added or disabled is seen within this delay


class HeardSMTPHandler:
    """aiosmtpd handler: RCPT checks the address, DATA stores then answers."""

    def __init__(self, db: Database, settings: Settings, *, ingest: bool = True) -> None:
        self.db = db
        self.settings = settings
        self.ingest = ingest
        self._cache: dict[str, tuple[int | None, float]] = {}
        self._ingester = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heard-ingest")
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()

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

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            mailbox_id = await asyncio.to_thread(self._lookup, address.lower())
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
        if not raw:
            return "554 5.6.0 Empty message"
        mailbox_ids: list[int] = []
        for address in envelope.rcpt_tos:
            mailbox_id = await asyncio.to_thread(self._lookup, address.lower())
            if mailbox_id is not None and mailbox_id not in mailbox_ids:
                mailbox_ids.append(mailbox_id)
        if not mailbox_ids:
            return "554 5.1.1 No valid recipients"
        raw_ids = []
        for mailbox_id in mailbox_ids:
            try:
                raw_ids.append(await asyncio.to_thread(
                    store_raw, self.db, mailbox_id, bytes(raw), source="smtp",
                    envelope_from=envelope.mail_from,
                ))
            except ValueError as exc:
                return f"554 5.6.0 {exc}"
            except Exception:
                log.exception("storing a message failed; answering 451 so the sender retries")
                return "451 4.3.0 Temporary failure storing the message; try again later"
        # Committed: from here on the message cannot be lost, whatever happens to us.
        if self.ingest:
            for raw_id in raw_ids:
                self._submit(raw_id)
        return f"250 2.0.0 OK stored as {','.join(map(str, raw_ids))}"

    def _submit(self, raw_id: int) -> None:
        future = self._ingester.submit(self._ingest, raw_id)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _ingest(self, raw_id: int) -> None:
        try:
            ingest_raw(self.db, self.settings, raw_id)
        except Exception:
            # The row stays "stored"; the worker's sweep retries it.
            log.exception("ingest of raw email %s failed; the worker will retry", raw_id)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every stored message handed to the ingester has been ingested."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.005)
        return False

    def close(self) -> None:
        self._ingester.shutdown(wait=True)


class SMTPListener:
    """The listener on a host and port, on its own thread (``heard smtp``, ``heard serve``)."""

    def __init__(
        self, db: Database, settings: Settings, *, host: str = "127.0.0.1", port: int = 2525,
        ingest: bool = True,
    ) -> None:
        self.handler = HeardSMTPHandler(db, settings, ingest=ingest)
        self.controller = Controller(
            self.handler,
            hostname=host,
            port=port,
            ident="Heard",
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
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

"""Fetching mail from a provider: IMAP (IDLE when the server has it, polling otherwise) and POP3.

The rule that keeps mail from being lost: a message is marked ``\\Seen`` (IMAP) or deleted
(POP3) only **after** :func:`store_raw` committed its bytes. A crash in between means it is
fetched again next time, and storing it again is a no-op (same Message-ID), so the worst
case is one extra download, never a lost or doubled message.

IMAP reads ``UNSEEN`` messages with ``BODY.PEEK[]`` (peeking does not set ``\\Seen``), so
a message a person already read in the provider's webmail is not fetched; a team using
fetch should leave that inbox to Heard. POP3 has no flags: messages are deleted from the
server once stored (``DELE`` is committed by the server at ``QUIT``).
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import poplib
import select
import ssl
import threading
import time
from collections.abc import Callable

from sqlalchemy import select as sql_select

from heard.channels.email.ingest import IngestResult, ingest_raw, store_raw
from heard.channels.email.mailboxes import in_password
from heard.db import Database, Mailbox
from heard.settings import Settings

__all__ = ["FetchError", "fetch_imap", "fetch_once", "fetch_pop3", "run_fetchers", "watch_imap"]

log = logging.getLogger("heard.fetch")
TIMEOUT = 60.0
_IDLE_TAG = b"HEARDIDLE"


class FetchError(RuntimeError):
    """The server refused us (login, folder); the message says what to fix."""


def _load(db: Database, mailbox_id: int) -> Mailbox:
    with db.read() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        if mailbox is None:
            raise LookupError(f"mailbox {mailbox_id} not found")
        session.expunge(mailbox)
        return mailbox


def fetch_once(db: Database, settings: Settings, mailbox_id: int) -> list[IngestResult]:
    """One pass over a mailbox's provider inbox: store everything new, then ingest it."""
    mailbox = _load(db, mailbox_id)
    if not mailbox.enabled:
        return []  # an admin turned it off: the provider keeps the mail
    if mailbox.inbound == "imap":
        raw_ids = fetch_imap(db, settings, mailbox)
    elif mailbox.inbound == "pop3":
        raw_ids = fetch_pop3(db, settings, mailbox)
    else:
        raise ValueError(f"mailbox {mailbox.address} receives over SMTP; nothing to fetch")
    return [ingest_raw(db, settings, raw_id) for raw_id in raw_ids]


# --- IMAP ---------------------------------------------------------------------------------


def imap_connect(mailbox: Mailbox, password: str | None) -> imaplib.IMAP4:
    host, port = mailbox.in_host or "", mailbox.in_port or 993
    if mailbox.in_security == "ssl":
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            host, port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT
        )
    else:
        conn = imaplib.IMAP4(host, port, timeout=TIMEOUT)
    try:
        if mailbox.in_security == "starttls":
            conn.starttls(ssl.create_default_context())
        conn.login(mailbox.in_username or "", password or "")
    except imaplib.IMAP4.error as exc:
        conn.shutdown()
        raise FetchError(f"IMAP {host}:{port} refused us: {exc}") from exc
    except BaseException:
        conn.shutdown()
        raise
    return conn


def fetch_imap(
    db: Database, settings: Settings, mailbox: Mailbox, conn: imaplib.IMAP4 | None = None
) -> list[int]:
    """Store every unseen message of the mailbox's folder; return the ``RawEmail`` ids."""
    own = conn is None
    if conn is None:
        conn = imap_connect(mailbox, in_password(mailbox, settings.secret_key))
    try:
        typ, data = conn.select(_quote(mailbox.in_folder))
        if typ != "OK":
            raise FetchError(f"IMAP folder {mailbox.in_folder!r}: {data!r}")
        typ, data = conn.uid("SEARCH", "UNSEEN")
        if typ != "OK":
            raise FetchError(f"IMAP SEARCH failed: {data!r}")
        uids = data[0].split() if data and data[0] else []
        raw_ids = []
        for uid in uids:
            typ, parts = conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple) and len(p) > 1), None)
            if typ != "OK" or not isinstance(raw, bytes):
                log.warning("IMAP %s: could not fetch uid %s: %r", mailbox.address, uid, parts)
                continue
            if raw.strip():
                raw_ids.append(store_raw(db, mailbox.id, raw, source="imap"))
            # Committed (or empty): only now may the server forget it is new.
            conn.uid("STORE", uid.decode(), "+FLAGS.SILENT", "(\\Seen)")
        return raw_ids
    finally:
        if own:
            _logout(conn)


def imap_idle(conn: imaplib.IMAP4, seconds: float, stop: threading.Event | None = None) -> bool:
    """Wait in IDLE (RFC 2177) until the server announces mail or ``seconds`` pass.

    Returns True when the server said something (new mail, expunge). Lines the server sent
    together with the continuation may sit in imaplib's buffer where ``select`` cannot see
    them; the cost is waiting for the timeout, and the next pass fetches them anyway.
    """
    conn.send(_IDLE_TAG + b" IDLE\r\n")
    first = conn.readline()
    if not first.startswith(b"+"):
        raise FetchError(f"IMAP IDLE refused: {first!r}")
    sock = conn.socket()
    deadline = time.monotonic() + seconds
    woke = False
    while not woke and time.monotonic() < deadline and not (stop and stop.is_set()):
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        ready = pending or select.select([sock], [], [], min(1.0, deadline - time.monotonic()))[0]
        if ready:
            line = conn.readline()
            if not line:
                raise FetchError("IMAP server closed the connection during IDLE")
            woke = line.startswith(b"*")
    conn.send(b"DONE\r\n")
    while True:
        line = conn.readline()
        if not line:
            raise FetchError("IMAP server closed the connection ending IDLE")
        if line.startswith(_IDLE_TAG):
            return woke


def watch_imap(
    db: Database, settings: Settings, mailbox_id: int, stop: threading.Event, *,
    poll_seconds: float = 60.0, idle_seconds: float = 300.0,
    on_batch: Callable[[list[IngestResult]], None] | None = None,
) -> None:
    """Fetch, then IDLE (or sleep) and fetch again, until ``stop``; reconnects on errors."""
    failures = 0
    while not stop.is_set():
        conn = None
        try:
            mailbox = _load(db, mailbox_id)
            if not mailbox.enabled:  # disabled in the admin pages: look again later
                stop.wait(poll_seconds)
                continue
            conn = imap_connect(mailbox, in_password(mailbox, settings.secret_key))
            can_idle = "IDLE" in conn.capabilities
            while not stop.is_set():
                raw_ids = fetch_imap(db, settings, mailbox, conn)
                results = [ingest_raw(db, settings, r) for r in raw_ids]
                if on_batch is not None and results:
                    on_batch(results)
                failures = 0
                if can_idle:
                    imap_idle(conn, idle_seconds, stop)
                else:
                    conn.noop()
                    stop.wait(poll_seconds)
                if not _load(db, mailbox_id).enabled:
                    break  # disabled meanwhile: log out; the outer loop waits
        except Exception:
            failures += 1
            log.exception("IMAP fetch for mailbox %s failed (%s in a row)", mailbox_id, failures)
            stop.wait(min(300.0, 2.0 ** min(failures, 8)))
        finally:
            if conn is not None:
                _logout(conn)


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _logout(conn: imaplib.IMAP4) -> None:
    with contextlib.suppress(imaplib.IMAP4.error, OSError):
        conn.logout()


# --- POP3 ---------------------------------------------------------------------------------


def fetch_pop3(db: Database, settings: Settings, mailbox: Mailbox) -> list[int]:
    """Store every message in the POP3 drop, deleting each only after its commit."""
    host, port = mailbox.in_host or "", mailbox.in_port or 995
    password = in_password(mailbox, settings.secret_key)
    if mailbox.in_security == "ssl":
        conn: poplib.POP3 = poplib.POP3_SSL(host, port, timeout=TIMEOUT,
                                            context=ssl.create_default_context())
    else:
        conn = poplib.POP3(host, port, timeout=TIMEOUT)
    try:
        if mailbox.in_security == "starttls":
            conn.stls(ssl.create_default_context())
        conn.user(mailbox.in_username or "")
        conn.pass_(password or "")
    except poplib.error_proto as exc:
        conn.close()
        raise FetchError(f"POP3 {host}:{port} refused us: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    raw_ids = []
    try:
        count, _size = conn.stat()
        for number in range(1, count + 1):
            _resp, lines, _octets = conn.retr(number)
            raw = b"\r\n".join(lines) + b"\r\n"
            if raw.strip():
                raw_ids.append(store_raw(db, mailbox.id, raw, source="pop3"))
            conn.dele(number)  # committed above; the server deletes at QUIT
        conn.quit()
    except BaseException:
        # No QUIT: the server keeps every message (RFC 1939 UPDATE state is never entered).
        conn.close()
        raise
    return raw_ids


# --- every mailbox ------------------------------------------------------------------------


def run_fetchers(
    settings: Settings, *, once: bool = False, poll_seconds: float = 60.0
) -> int:
    """``heard fetch``: one thread per IMAP/POP3 mailbox until SIGINT/SIGTERM."""
    import signal

    db = Database(settings.database_url)
    with db.read() as session:
        mailboxes = [(m.id, m.inbound, m.address) for m in session.scalars(
            # Disabled ones too: each fetcher skips its mailbox while it is disabled, so
            # turning one back on in the admin pages needs no restart.
            sql_select(Mailbox).where(Mailbox.inbound.in_(("imap", "pop3"))))]
    if once:
        for mailbox_id, _kind, address in mailboxes:
            results = fetch_once(db, settings, mailbox_id)
            print(f"{address}: {len(results)} messages", flush=True)
        return 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threads = []
    for mailbox_id, kind, address in mailboxes:
        if kind == "imap":
            thread = threading.Thread(
                target=watch_imap, args=(db, settings, mailbox_id, stop),
                kwargs={"poll_seconds": poll_seconds}, name=f"fetch-{address}", daemon=True)
        else:
            thread = threading.Thread(
                target=_poll_pop3, args=(db, settings, mailbox_id, stop, poll_seconds),
                name=f"fetch-{address}", daemon=True)
        thread.start()
        threads.append(thread)
    print(f"fetching {len(threads)} mailboxes", flush=True)
    stop.wait()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    return 0


def _poll_pop3(
    db: Database, settings: Settings, mailbox_id: int, stop: threading.Event, poll: float
) -> None:
    while not stop.is_set():
        try:
            fetch_once(db, settings, mailbox_id)
        except Exception:
            log.exception("POP3 fetch for mailbox %s failed", mailbox_id)
        stop.wait(poll)



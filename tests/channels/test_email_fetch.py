"""A real IMAP/POP3 server (dovecot, unprivileged, high port) → the fetcher."""

from __future__ import annotations

import imaplib
import poplib
import threading
import time
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from heard.access import SYSTEM
from heard.channels.email.fetch import (
    FetchError,
    fetch_once,
    imap_connect,
    imap_idle,
    watch_imap,
)
from heard.channels.email.ingest import IngestResult
from heard.channels.email.mailboxes import create_mailbox
from heard.db import Database, Mailbox, Message, RawEmail
from heard.settings import Settings

USER, PASSWORD = "agent", "s3cret-pass"  # tests/channels/conftest.py's dovecot user


def mail(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"customer{n}@customer.example"
    msg["To"] = "support@shop.example"
    msg["Subject"] = f"Fetched {n}"
    msg["Message-ID"] = f"<fetch{n}@customer.example>"
    msg.set_content(f"Message {n} fetched from the provider.")
    return msg.as_bytes()


def make_mailbox(db: Database, settings: Settings, kind: str, port: int,
                 password: str = PASSWORD) -> int:
    return create_mailbox(db, actor=SYSTEM, secret_key=settings.secret_key,
                          address="support@shop.example",
                          inbound={"kind": kind, "host": "127.0.0.1", "port": port,
                                   "security": "none", "username": USER, "password": password})


def count(db: Database, model: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_password_is_encrypted_at_rest(db: Database, settings: Settings, dovecot: Any) -> None:
    mailbox_id = make_mailbox(db, settings, "imap", dovecot.imap_port)
    with db.read() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        assert mailbox is not None and mailbox.in_password_encrypted
        assert PASSWORD not in mailbox.in_password_encrypted


def test_imap_fetch_stores_ingests_and_marks_seen(
    db: Database, settings: Settings, dovecot: Any
) -> None:
    mailbox_id = make_mailbox(db, settings, "imap", dovecot.imap_port)
    for n in range(3):
        dovecot.deliver(mail(n), f"m{n}")
    results = fetch_once(db, settings, mailbox_id)
    assert [r.outcome for r in results] == ["message"] * 3
    assert count(db, Message) == 3
    assert fetch_once(db, settings, mailbox_id) == []  # seen now: nothing new
    conn = imaplib.IMAP4("127.0.0.1", dovecot.imap_port)
    conn.login(USER, PASSWORD)
    conn.select("INBOX")
    assert conn.uid("SEARCH", "UNSEEN")[1] == [b""]
    assert len(conn.uid("SEARCH", "SEEN")[1][0].split()) == 3
    conn.logout()


def test_imap_crash_before_marking_seen_refetches_without_duplicates(
    db: Database, settings: Settings, dovecot: Any
) -> None:
    mailbox_id = make_mailbox(db, settings, "imap", dovecot.imap_port)
    dovecot.deliver(mail(1), "m1")
    fetch_once(db, settings, mailbox_id)
    conn = imaplib.IMAP4("127.0.0.1", dovecot.imap_port)
    conn.login(USER, PASSWORD)
    conn.select("INBOX")
    conn.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")  # as if we died before the STORE
    conn.logout()
    fetch_once(db, settings, mailbox_id)
    assert (count(db, RawEmail), count(db, Message)) == (1, 1)


def test_imap_idle_wakes_on_new_mail(db: Database, settings: Settings, dovecot: Any) -> None:
    mailbox_id = make_mailbox(db, settings, "imap", dovecot.imap_port)
    stop = threading.Event()
    batches: list[list[IngestResult]] = []
    thread = threading.Thread(target=watch_imap, args=(db, settings, mailbox_id, stop),
                              kwargs={"idle_seconds": 30, "on_batch": batches.append})
    thread.start()
    try:
        time.sleep(0.5)  # the watcher is idling on an empty inbox
        started = time.monotonic()
        dovecot.deliver(mail(7), "m7")
        while not batches and time.monotonic() - started < 10:
            time.sleep(0.05)
        assert batches and batches[0][0].outcome == "message"
        assert time.monotonic() - started < 5  # woken by IDLE, not the 30 s timeout
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_imap_idle_returns_after_its_timeout(settings: Settings, dovecot: Any,
                                             db: Database) -> None:
    mailbox_id = make_mailbox(db, settings, "imap", dovecot.imap_port)
    with db.read() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        assert mailbox is not None
        session.expunge(mailbox)
    conn = imap_connect(mailbox, PASSWORD)
    conn.select("INBOX")
    assert imap_idle(conn, 0.3) is False
    assert conn.noop()[0] == "OK"  # the connection is usable after IDLE
    conn.logout()


def test_pop3_fetch_stores_then_deletes(db: Database, settings: Settings, dovecot: Any) -> None:
    mailbox_id = make_mailbox(db, settings, "pop3", dovecot.pop3_port)
    for n in range(2):
        dovecot.deliver(mail(n), f"p{n}")
    results = fetch_once(db, settings, mailbox_id)
    assert [r.outcome for r in results] == ["message", "message"]
    assert count(db, Message) == 2
    pop = poplib.POP3("127.0.0.1", dovecot.pop3_port)
    pop.user(USER)
    pop.pass_(PASSWORD)
    assert pop.stat()[0] == 0
    pop.quit()


# Last in the module: dovecot slows down every login from an address after a failed one.
def test_wrong_imap_password_is_a_clear_error(
    db: Database, settings: Settings, dovecot: Any
) -> None:
    mailbox_id = make_mailbox(db, settings, "imap", dovecot.imap_port, password="wrong")
    with pytest.raises(FetchError, match="refused"):
        fetch_once(db, settings, mailbox_id)

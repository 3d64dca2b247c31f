"""smtplib → Heard's SMTP listener on loopback: 250 only after commit, 550 for strangers,
and a SIGKILL in the middle of a stream loses and doubles nothing."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from heard.channels.email import smtp_server
from heard.channels.email.ingest import IngestResult, deliver_many
from heard.channels.email.smtp_server import SMTPListener
from heard.db import Database, Message, RawEmail

SUPPORT = "support@shop.example"  # the mailbox fixture's address


def mail(n: int, *, sender: str = "ana@customer.example") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = SUPPORT
    msg["Subject"] = f"Question {n}"
    msg["Message-ID"] = f"<q{n}@customer.example>"
    msg.set_content(f"Hello, this is question number {n}. Where is my order?")
    return msg


def rows(db: Database, model: type, *where: object) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_accepted_mail_is_stored_then_becomes_a_conversation(
    db: Database, listener: SMTPListener
) -> None:
    with smtplib.SMTP("127.0.0.1", listener.port) as client:
        refused = client.send_message(mail(1), to_addrs=[SUPPORT])
    assert refused == {}
    assert rows(db, RawEmail) == 1  # committed before the 250
    assert listener.handler.drain()
    with db.read() as session:
        message = session.scalars(select(Message).where(Message.channel == "email")).one()
    assert message.external_id == "q1@customer.example"
    assert "question number 1" in message.text


def test_unknown_recipient_is_refused_with_550(db: Database, listener: SMTPListener) -> None:
    with smtplib.SMTP("127.0.0.1", listener.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.send_message(mail(1), to_addrs=["nobody@shop.example"])
        code = refused.value.recipients["nobody@shop.example"][0]
        assert code == 550
        # plus-addressing reaches the mailbox
        assert client.send_message(mail(2), to_addrs=["support+orders@shop.example"]) == {}
    assert rows(db, RawEmail) == 1


def test_the_same_message_delivered_twice_is_stored_once(
    db: Database, listener: SMTPListener
) -> None:
    with smtplib.SMTP("127.0.0.1", listener.port) as client:
        client.send_message(mail(1), to_addrs=[SUPPORT])
        client.send_message(mail(1), to_addrs=[SUPPORT])
    assert listener.handler.drain()
    assert rows(db, RawEmail) == 1
    assert rows(db, Message, Message.channel == "email") == 1


def test_group_commit_answers_every_waiting_session_after_its_commit(
    db: Database, listener: SMTPListener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sessions that arrive while the writer is busy share the next transaction, and each
    gets its 250 only once that transaction has committed."""
    batches: list[list[str]] = []
    committed_at: dict[str, float] = {}
    gate = threading.Event()
    real = deliver_many

    def held_deliver_many(*args: Any, **kwargs: Any) -> list[IngestResult]:
        deliveries = args[2]
        if not batches:
            assert gate.wait(30)  # hold the first commit until four more sessions wait
        results = real(*args, **kwargs)  # returns after the commit
        done = time.monotonic()
        ids = [str(d.prepared.message_id) for d in deliveries]
        batches.append(ids)
        for message_id in ids:
            committed_at[message_id] = done
        return results

    monkeypatch.setattr(smtp_server, "deliver_many", held_deliver_many)
    answered: dict[str, float] = {}

    def send(n: int) -> None:
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as client:
            assert client.send_message(mail(n), to_addrs=[SUPPORT]) == {}
        answered[f"q{n}@customer.example"] = time.monotonic()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while listener.handler._pending < 5:  # one held in the writer, four queued behind it
        assert time.monotonic() < deadline, "the sessions never reached the writer"
        time.sleep(0.01)
    assert answered == {}  # nobody is answered before a commit
    gate.set()
    for thread in threads:
        thread.join()
    # The first commit took whoever was queued when the writer woke (one, or all five when
    # they connected faster than the writer woke); the rest queued behind the held commit
    # went into the next one together: five sessions, at most two transactions.
    assert sum(len(batch) for batch in batches) == 5
    assert len(batches) <= 2
    assert set(answered) == set(committed_at)
    for message_id, at in answered.items():
        assert at >= committed_at[message_id]
    assert rows(db, RawEmail, RawEmail.status == "ingested") == 5
    assert rows(db, Message, Message.channel == "email") == 5


def _start_server(db: Database, port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HEARD_DATABASE_URL": db.url, "HEARD_DATA_DIR": str(tmp_path),
           "HEARD_SECRET_KEY": "test-secret-key-not-for-production"}
    process = subprocess.Popen(
        [sys.executable, "-m", "heard.cli", "smtp", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as probe:
                probe.noop()
            return process
        except OSError:
            if process.poll() is not None:
                out = process.stdout.read() if process.stdout else b""
                raise RuntimeError(f"heard smtp exited: {out.decode()}") from None
            time.sleep(0.05)
    raise RuntimeError("heard smtp did not start")


@pytest.mark.slow
def test_sigkill_mid_stream_loses_and_doubles_nothing_answered_250(
    db: Database, mailbox_id: int, tmp_path: Path, unused_port: Callable[[], int]
) -> None:
    total = 120
    port = unused_port()
    server = _start_server(db, port, tmp_path)
    confirmed: set[int] = set()
    lock = threading.Lock()
    killed = threading.Event()

    def sender(numbers: list[int]) -> None:
        for n in numbers:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                    if client.send_message(mail(n), to_addrs=[SUPPORT]) == {}:
                        with lock:
                            confirmed.add(n)
            except (OSError, smtplib.SMTPException):
                pass  # the server died under us: a real MTA would retry later

    threads = [threading.Thread(target=sender, args=(list(range(i, total, 3)),))
               for i in range(3)]
    for thread in threads:
        thread.start()
    while len(confirmed) < total // 3 and server.poll() is None:
        time.sleep(0.002)
    server.send_signal(signal.SIGKILL)
    killed.set()
    server.wait()
    for thread in threads:
        thread.join()
    if server.stdout is not None:
        server.stdout.close()
    assert total // 3 <= len(confirmed) < total, "the kill should land mid-stream"

    # Every message that got a 250 is stored, exactly once.
    with db.read() as session:
        stored = list(session.scalars(select(RawEmail.message_id)))
    assert len(stored) == len(set(stored))
    assert {f"q{n}@customer.example" for n in confirmed} <= set(stored)
    stored_before_restart = len(stored)

    # The senders retry everything they are unsure about (and some they are sure about).
    server = _start_server(db, port, tmp_path)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            for n in range(total):
                if n not in confirmed or n % 10 == 0:
                    assert client.send_message(mail(n), to_addrs=[SUPPORT]) == {}
        deadline = time.monotonic() + 30
        while rows(db, Message, Message.channel == "email") < total:
            assert time.monotonic() < deadline, "ingest did not catch up"
            time.sleep(0.05)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()
    assert rows(db, RawEmail) == total
    assert rows(db, RawEmail, RawEmail.status == "ingested") == total
    assert rows(db, Message, Message.channel == "email") == total
    print(f"SIGKILL test: {len(confirmed)} answered 250 before the kill, "
          f"{stored_before_restart} stored, {total} after retries, none doubled")

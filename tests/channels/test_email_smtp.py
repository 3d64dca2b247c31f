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

import pytest
from sqlalchemy import func, select

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

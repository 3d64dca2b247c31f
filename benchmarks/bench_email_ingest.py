"""End-to-end email benchmark: SMTP in → stored → conversation committed and read by the
empathy engine, on SQLite, against a baseline SMTP sink that does nothing.

Both runs use the same messages (EN/FR/ES customer emails, a quarter of them replies that
thread into an existing conversation) and the same client: smtplib, ``--connections``
parallel senders, each delivering its share over one SMTP session the way a relay does
(``--per-message`` opens a session per message instead). The clock stops when the last
message is a committed customer message with its reading.

Since the 250 now comes after the one transaction that stores the bytes *and* the ingested
message, "250 answered" and "end to end" are nearly the same clock.

Run: ``python benchmarks/bench_email_ingest.py [--messages N] [--connections C]
[--processes P]`` (P ingest processes parse and read; 0 = all in the listener's process).
"""

from __future__ import annotations

import os
import platform
import smtplib
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, select

from heard.access import SYSTEM
from heard.channels.email.mailboxes import create_mailbox
from heard.channels.email.smtp_server import SMTPListener
from heard.db import Database, Message
from heard.migrate import upgrade
from heard.settings import Settings

SUPPORT = "support@shop.example"
TEXTS = [
    "Hello, my order #{n} still hasn't arrived and it was due last week. Can you check?",
    "I was charged twice for order {n}. This is really frustrating, please refund one.",
    "Bonjour, ma commande {n} est arrivée cassée. Pouvez-vous m'en envoyer une autre ?",
    "Hola, no puedo acceder a mi cuenta desde ayer. Mi pedido es el {n}. ¡Gracias!",
    "Thanks a lot for the quick help with order {n}, everything works perfectly now!",
]


def messages(count: int) -> list[bytes]:
    out = []
    for n in range(count):
        msg = EmailMessage()
        customer = n % max(1, count * 3 // 4)
        msg["From"] = f"Customer {customer} <customer{customer}@example.net>"
        msg["To"] = SUPPORT
        msg["Subject"] = f"Order {customer}"
        msg["Message-ID"] = f"<bench{n}@example.net>"
        if customer != n:
            msg["In-Reply-To"] = f"<bench{customer}@example.net>"
        msg.set_content(TEXTS[n % len(TEXTS)].format(n=customer) +
                        "\n\nOn Mon, 23 Nov 2026, Shop wrote:\n> We are looking into it.\n")
        out.append(msg.as_bytes())
    return out


def send_all(port: int, raws: list[bytes], connections: int, per_message: bool) -> None:
    def sender(chunk: list[bytes]) -> None:
        if per_message:
            for raw in chunk:
                with smtplib.SMTP("127.0.0.1", port) as client:
                    client.sendmail("relay@example.net", [SUPPORT], raw)
            return
        with smtplib.SMTP("127.0.0.1", port) as client:
            for raw in chunk:
                client.sendmail("relay@example.net", [SUPPORT], raw)

    threads = [threading.Thread(target=sender, args=(raws[i::connections],))
               for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class _Nothing:
    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        return "250 OK"


def baseline(raws: list[bytes], connections: int, per_message: bool, port: int) -> float:
    controller = Controller(_Nothing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        start = time.perf_counter()
        send_all(port, raws, connections, per_message)
        return len(raws) / (time.perf_counter() - start)
    finally:
        controller.stop()


def heard(raws: list[bytes], connections: int, per_message: bool, port: int,
          folder: Path, processes: int) -> tuple[float, float]:
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    settings = Settings(database_url=url, secret_key="bench-secret",
                        email_ingest_processes=processes)
    create_mailbox(db, actor=SYSTEM, secret_key=settings.secret_key, address=SUPPORT)
    with SMTPListener(db, settings, port=port) as listener:
        listener.handler.wait_ready()
        start = time.perf_counter()
        send_all(port, raws, connections, per_message)
        accepted = time.perf_counter() - start
        listener.handler.drain(timeout=600)
        done = _wait(db, lambda n: n >= len(raws))
    with db.read() as session:
        unread = session.scalar(select(func.count()).select_from(Message)
                                .where(Message.reading.is_(None)))
    assert not unread, "every message must carry the empathy engine's reading"
    db.dispose()
    return len(raws) / accepted, len(raws) / (done - start)


def _wait(db: Database, ok: Callable[[int], bool]) -> float:
    while True:
        with db.read() as session:
            n = session.scalar(select(func.count()).select_from(Message)) or 0
        if ok(n):
            return time.perf_counter()
        time.sleep(0.01)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str]) -> int:
    count = int(argv[argv.index("--messages") + 1]) if "--messages" in argv else 2000
    connections = int(argv[argv.index("--connections") + 1]) if "--connections" in argv else 4
    per_message = "--per-message" in argv
    processes = (int(argv[argv.index("--processes") + 1]) if "--processes" in argv
                 else min(2, os.cpu_count() or 1))
    raws = messages(count)
    print(f"Python {platform.python_version()} on {platform.machine()}, {count} messages, "
          f"{connections} SMTP connections{' (one session per message)' if per_message else ''}, "
          f"{processes} ingest processes, {os.cpu_count()} cores, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    base = baseline(raws, connections, per_message, free_port())
    with tempfile.TemporaryDirectory() as tmp:
        accepted, end_to_end = heard(raws, connections, per_message, free_port(), Path(tmp),
                                     processes)
    print(f"baseline (aiosmtpd sink doing nothing): {base:8.0f} messages/s")
    print(f"Heard: 250 answered (raw committed):     {accepted:8.0f} messages/s")
    print(f"Heard: end to end (conversation+reading): {end_to_end:7.0f} messages/s "
          f"(target >= 200)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if end_to_end >= 200 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Fixtures for the email channel's transport tests: settings, mailboxes, real peers.

Real peers on loopback, no mocks: Heard's SMTP listener, an aiosmtpd sink that records what
the outbox sends, and dovecot (IMAP/POP3) started unprivileged on a free high port.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from heard.access import SYSTEM
from heard.channels.email.mailboxes import create_mailbox
from heard.channels.email.smtp_server import SMTPListener
from heard.db import Database
from heard.settings import Settings

SECRET = "test-secret-key-not-for-production"
SUPPORT = "support@shop.example"


def make_settings(db: Database) -> Settings:
    return Settings(database_url=db.url, secret_key=SECRET, message_id_domain="mail.heard.test")


@pytest.fixture
def settings(db: Database) -> Settings:
    return make_settings(db)


@pytest.fixture
def mailbox_id(db: Database, settings: Settings) -> int:
    return create_mailbox(db, actor=SYSTEM, secret_key=settings.secret_key, address=SUPPORT,
                          name="Shop Support", signature="Shop Support team")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def unused_port() -> Callable[[], int]:
    return free_port


@pytest.fixture
def listener(db: Database, settings: Settings, mailbox_id: int) -> Iterator[SMTPListener]:
    """Heard's SMTP listener on a free loopback port, for the ``mailbox_id`` mailbox."""
    with SMTPListener(db, settings, port=free_port()) as running:
        yield running


@dataclass
class Sink:
    """What a real SMTP server received from us."""

    port: int
    received: list[Envelope] = field(default_factory=list)
    # Answers to give instead of 250, consumed one per DATA (e.g. "451 4.3.0 busy").
    refuse: list[str] = field(default_factory=list)


class _SinkHandler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.sink.refuse:
            return self.sink.refuse.pop(0)
        self.sink.received.append(envelope)
        return "250 2.0.0 OK"


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    sink = Sink(port=free_port())
    controller = Controller(_SinkHandler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


# --- dovecot ------------------------------------------------------------------------------

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_USER = "agent"
MAIL_PASSWORD = "s3cret-pass"


@dataclass
class Dovecot:
    imap_port: int
    pop3_port: int
    maildir: Path

    def deliver(self, raw: bytes, name: str) -> None:
        """Drop a message into the INBOX the way an MDA does (maildir new/)."""
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw)
        tmp.rename(self.maildir / "new" / name)


def _ensure_dovecot() -> None:
    if Path(DOVECOT).exists():
        return
    script = Path(__file__).resolve().parents[2] / "scripts" / "ensure-test-services.sh"
    subprocess.run(["bash", str(script)], check=True, timeout=600)


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    """The module's dovecot with an empty INBOX (and no leftover indexes) for each test."""
    maildir = dovecot_server.maildir
    for sub in ("cur", "new", "tmp"):
        for path in (maildir / sub).iterdir():
            path.unlink()
    for path in maildir.glob("dovecot*"):
        if path.is_file():
            path.unlink()
    return dovecot_server


@pytest.fixture(scope="module")
def dovecot_server() -> Iterator[Dovecot]:
    """dovecot on two free high ports with a temporary config, users file and maildir.

    Runs as an unprivileged user: our own when we are not root, else ``nobody`` (dovecot
    then needs no privileged port, no system config and no system user of its own).
    """
    _ensure_dovecot()
    # Not pytest's tmp_path: its parents are private to root, and dovecot runs as nobody.
    base = Path(tempfile.mkdtemp(prefix="heard-dovecot-"))
    home = base / "home"
    maildir = home / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    run = base / "run"
    run.mkdir()
    user = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.getuid())
    imap_port, pop3_port = free_port(), free_port()
    (base / "users").write_text(
        f"{MAIL_USER}:{{PLAIN}}{MAIL_PASSWORD}:{user.pw_uid}:{user.pw_gid}::{home}::\n"
    )
    (base / "dovecot.conf").write_text(f"""
protocols = imap pop3
listen = 127.0.0.1
base_dir = {run}
state_dir = {base}/state
log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login
default_internal_user = {user.pw_name}
default_internal_group = {_group(user.pw_gid)}
default_login_user = {user.pw_name}
first_valid_uid = {user.pw_uid}
last_valid_uid = {user.pw_uid}
first_valid_gid = 0
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {base}/users
}}
userdb {{
  driver = passwd-file
  args = {base}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
""")
    (base / "state").mkdir()
    for path in [base, *base.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(base / "dovecot.conf")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        user=user.pw_uid if os.geteuid() == 0 else None,
        group=user.pw_gid if os.geteuid() == 0 else None,
    )
    try:
        _wait_port(imap_port, process, base)
        _wait_port(pop3_port, process, base)
        yield Dovecot(imap_port=imap_port, pop3_port=pop3_port, maildir=maildir)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(base, ignore_errors=True)


def _group(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


def _wait_port(port: int, process: subprocess.Popen[Any], base: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = process.stdout.read().decode() if process.stdout else ""
            log = (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot exited ({process.returncode}): {out}\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on {port}")

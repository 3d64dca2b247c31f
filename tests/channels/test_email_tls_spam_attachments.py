"""STARTTLS and implicit TLS against a real TLS SMTP peer on loopback (a self-signed CA
made at test time), AUTH over TLS, reply attachments sent as MIME parts, the spam hook,
and the listener's group commit with its ingest processes."""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from heard.access import SYSTEM
from heard.actions.messages import OutgoingAttachment, reply
from heard.channels.email.ingest import receive_raw
from heard.channels.email.mailboxes import create_mailbox
from heard.channels.email.smtp_server import SMTPListener
from heard.db import Attachment, Database, EmailDelivery, Message, RawEmail
from heard.settings import Settings
from heard.worker import Worker

HELP = "help@shop.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- a CA and a server certificate for 127.0.0.1, made now ---------------------------------


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Heard test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())

    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return ca_path, cert_path, key_path


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return _certificates(tmp_path_factory.mktemp("tls"))


def _server_context(certs: tuple[Path, Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certs[1]), str(certs[2]))
    return context


class _Recorder:
    def __init__(self) -> None:
        self.received: list[tuple[Envelope, bool, Any]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append((envelope, session.ssl is not None, session.authenticated))
        return "250 2.0.0 OK"


def _authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                   auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"help"
          and auth_data.password == b"pa55word")
    return AuthResult(success=ok, handled=False)


@pytest.fixture(params=["starttls", "ssl"])
def tls_peer(request: pytest.FixtureRequest,
             certs: tuple[Path, Path, Path]) -> Iterator[tuple[str, int, _Recorder]]:
    """An SMTP server on loopback that speaks STARTTLS (refusing mail before it) or
    implicit TLS, and requires AUTH over TLS."""
    recorder = _Recorder()
    port = free_port()
    context = _server_context(certs)
    # (aiosmtpd does not count implicit TLS as TLS for auth_require_tls: the whole session
    # is encrypted there anyway.)
    kwargs: dict[str, Any] = {"authenticator": _authenticator,
                              "auth_required": request.param == "starttls",
                              "auth_require_tls": request.param == "starttls"}
    if request.param == "starttls":
        controller = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=context,
                                require_starttls=True, **kwargs)
    else:
        controller = Controller(recorder, hostname="127.0.0.1", port=port, ssl_context=context,
                                **kwargs)
    controller.start()
    try:
        yield request.param, port, recorder
    finally:
        controller.stop()


def _customer_mail(n: int = 1, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ana <ana@customer.example>"
    msg["To"] = HELP
    msg["Subject"] = "Broken lamp"
    msg["Message-ID"] = f"<lamp{n}@customer.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("The lamp arrived broken. Can I get a new one?")
    return msg.as_bytes()


def test_reply_with_attachments_goes_out_over_tls_with_auth(
    db: Database, settings: Settings, certs: tuple[Path, Path, Path],
    tls_peer: tuple[str, int, _Recorder],
) -> None:
    security, port, recorder = tls_peer
    settings = replace(settings, email_smtp_ca_file=str(certs[0]))
    mailbox_id = create_mailbox(
        db, actor=SYSTEM, secret_key=settings.secret_key, address=HELP, name="Shop Help",
        smtp={"host": "127.0.0.1", "port": port, "security": security,
              "username": "help", "password": "pa55word"})
    received = receive_raw(db, settings, mailbox_id, _customer_mail())
    assert received.conversation_id is not None
    pdf = b"%PDF-1.4 refund form " + bytes(range(256))
    message_id = reply(
        db, actor=SYSTEM, conversation_id=received.conversation_id,
        text="Sorry! The refund form is attached.",
        attachments=[OutgoingAttachment("refund form é.pdf", "application/pdf", pdf),
                     OutgoingAttachment("../../etc/notes.txt", "text/plain", b"step 1\n")])
    with db.read() as session:
        stored = session.scalars(select(Attachment).where(Attachment.message_id == message_id)
                                 .order_by(Attachment.id)).all()
        meta = session.get(Message, message_id).attachments  # type: ignore[union-attr]
    assert [a.filename for a in stored] == ["refund form é.pdf", "notes.txt"]
    assert stored[0].content == pdf and meta[0]["attachment_id"] == stored[0].id
    assert meta[0]["size"] == len(pdf) and "content" not in meta[0]

    assert Worker(db, settings, sweep_inbound=False).run_once() == 1
    assert len(recorder.received) == 1
    envelope, over_tls, login = recorder.received[0]
    assert over_tls or security == "ssl"  # implicit TLS: the whole session is encrypted
    assert login is True  # AUTH happened (the peer refuses it without TLS)
    sent = email.message_from_bytes(envelope.original_content)
    assert sent.get_content_type() == "multipart/mixed"
    files = {p.get_filename(): p.get_payload(decode=True) for p in sent.walk()
             if p.get_content_disposition() == "attachment"}
    assert files == {"refund form é.pdf": pdf, "notes.txt": b"step 1\n"}
    texts = [p.get_content_type() for p in sent.walk() if not p.is_multipart()]
    assert "text/plain" in texts and "text/html" in texts
    with db.read() as session:
        status = session.scalars(select(EmailDelivery.status)).one()
    assert status == "sent"


def test_an_untrusted_certificate_is_refused_not_sent(
    db: Database, settings: Settings, tls_peer: tuple[str, int, _Recorder],
) -> None:
    security, port, recorder = tls_peer  # the CA is not trusted: no HEARD_SMTP_CA_FILE
    mailbox_id = create_mailbox(
        db, actor=SYSTEM, secret_key=settings.secret_key, address=HELP,
        smtp={"host": "127.0.0.1", "port": port, "security": security,
              "username": "help", "password": "pa55word"})
    received = receive_raw(db, settings, mailbox_id, _customer_mail())
    assert received.conversation_id is not None
    reply(db, actor=SYSTEM, conversation_id=received.conversation_id, text="Hello")
    Worker(db, settings, sweep_inbound=False).run_once()
    assert recorder.received == []
    with db.read() as session:
        delivery = session.scalars(select(EmailDelivery)).one()
    assert delivery.status == "queued"  # a failure before the server took it: retried later
    assert "CERTIFICATE_VERIFY_FAILED" in (delivery.last_error or "")


def test_reply_attachments_are_validated(db: Database, settings: Settings) -> None:
    mailbox_id = create_mailbox(db, actor=SYSTEM, secret_key=settings.secret_key, address=HELP)
    received = receive_raw(db, settings, mailbox_id, _customer_mail())
    assert received.conversation_id is not None
    with pytest.raises(ValueError, match="file name"):
        reply(db, actor=SYSTEM, conversation_id=received.conversation_id, text="x",
              attachments=[OutgoingAttachment("", "application/pdf", b"x")])
    with pytest.raises(ValueError, match="limited"):
        reply(db, actor=SYSTEM, conversation_id=received.conversation_id, text="x",
              attachments=[OutgoingAttachment("big.bin", "application/octet-stream",
                                              b"\0" * (18 * 1024 * 1024 + 1))])
    with db.read() as session:  # nothing half-stored
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0


# --- spam --------------------------------------------------------------------------------


def test_spam_headers_above_the_threshold_quarantine_with_the_reason(
    db: Database, settings: Settings
) -> None:
    mailbox_id = create_mailbox(db, actor=SYSTEM, secret_key=settings.secret_key, address=HELP)
    spam = receive_raw(db, settings, mailbox_id, _customer_mail(
        1, X_Spam_Status="Yes, score=12.3 required=5.0 tests=BAYES_99"))
    assert spam.status == "quarantined" and spam.reason is not None
    assert spam.reason.startswith("spam: score 12.3 above the threshold 5")
    ham = receive_raw(db, settings, mailbox_id, _customer_mail(2, X_Spam_Score="1.5"))
    assert ham.status == "ingested" and ham.message_id is not None
    with db.read() as session:
        row = session.get(RawEmail, spam.raw_id)
        assert row is not None and row.spam_score == 12.3 and row.raw  # kept, not dropped
        assert session.get(RawEmail, ham.raw_id).spam_score == 1.5  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(Message)) == 1


def scores_everything_nine(email: object) -> float:
    return 9.0


def test_a_custom_hook_and_a_per_mailbox_threshold(db: Database, settings: Settings) -> None:
    settings = replace(settings, email_spam_hook=f"{__name__}:scores_everything_nine")
    lenient = create_mailbox(db, actor=SYSTEM, secret_key=settings.secret_key, address=HELP)
    strict = create_mailbox(db, actor=SYSTEM, secret_key=settings.secret_key,
                            address="strict@shop.example")
    from heard.db import Mailbox

    with db.write() as session:
        session.get(Mailbox, lenient).spam_threshold = 10.0  # type: ignore[union-attr]
    assert receive_raw(db, settings, lenient, _customer_mail(1)).status == "ingested"
    quarantined = receive_raw(db, settings, strict, _customer_mail(2))
    assert quarantined.status == "quarantined" and "score 9" in (quarantined.reason or "")


def test_a_broken_hook_never_stops_mail(db: Database, settings: Settings) -> None:
    settings = replace(settings, email_spam_hook="heard.nothing_here:nope")
    mailbox_id = create_mailbox(db, actor=SYSTEM, secret_key=settings.secret_key, address=HELP)
    assert receive_raw(db, settings, mailbox_id, _customer_mail()).status == "ingested"


# --- the listener: one transaction per batch, ingest processes -----------------------------


@pytest.mark.slow
def test_listener_with_ingest_processes_commits_message_before_250(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    settings = replace(settings, email_ingest_processes=1)
    total = 24
    errors: list[BaseException] = []
    with SMTPListener(db, settings, port=free_port()) as listener:
        def send(numbers: range) -> None:
            try:
                _send(numbers)
            except BaseException as exc:
                errors.append(exc)

        def _send(numbers: range) -> None:
            with smtplib.SMTP("127.0.0.1", listener.port, timeout=60) as client:
                for n in numbers:
                    msg = _customer_mail(100 + n)
                    assert client.sendmail("relay@example.net", ["support@shop.example"],
                                           msg) == {}
                    # 250 means committed: the customer message is there, with its reading
                    with db.read() as session:
                        row = session.scalars(select(Message.reading).where(
                            Message.external_id == f"lamp{100 + n}@customer.example")).one()
                    assert row is not None and row["language"] == "en"

        threads = [threading.Thread(target=send, args=(range(i, total, 3),)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == total
        statuses = set(session.scalars(select(RawEmail.status)))
    assert statuses == {"ingested"}

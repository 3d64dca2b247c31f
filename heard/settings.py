"""All configuration in one typed object, read from ``HEARD_*`` environment variables.

Defaults make ``heard serve`` work on a laptop (SQLite in a data directory). In production
(``HEARD_ENV=production``) a default secret key is refused: a guessable key would let anyone
forge a session cookie.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEV_SECRET = "heard-dev-secret-change-me"


class SettingsError(RuntimeError):
    """A setting is missing or unsafe; the message says which and how to fix it."""


def _default_data_dir() -> Path:
    return Path(os.environ.get("HEARD_DATA_DIR") or Path.cwd() / "heard-data")


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    data_dir: Path = field(default_factory=_default_data_dir)
    database_url: str = ""
    secret_key: str = DEV_SECRET
    redis_url: str | None = None
    # Domain used in Message-IDs we generate; replies that reference it are ours.
    message_id_domain: str = "heard.localhost"
    # A reply to a closed email conversation reopens it within this many days; later, it
    # opens a new conversation linked to the old one.
    email_reopen_days: int = 14
    # Spam-score hook: "module:function" taking the parsed InboundEmail and returning a
    # score (float) or None. The default reads X-Spam-Score / X-Spam-Status (SpamAssassin,
    # rspamd) written by the MTA in front of us; "" turns spam scoring off.
    email_spam_hook: str = "heard.channels.email.spam:header_score"
    # Above this score a message is quarantined as spam (a mailbox may override it).
    email_spam_threshold: float = 5.0
    # Processes that parse and read inbound mail for the SMTP listener (0: in the listener's
    # own process). Parsing and the empathy reading are CPU-bound: another process uses
    # another core.
    email_ingest_processes: int = 0
    # Extra CA certificates (PEM) trusted for outgoing SMTP over TLS (a private relay).
    email_smtp_ca_file: str = ""
    # Where customers reach this installation ("https://help.shop.example"): used for links
    # in emails, such as the satisfaction rating link sent with a closing reply. "" = none.
    public_url: str = ""
    # Argon2 cost; tests lower it (hashing cost is not what they test).
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("HEARD_DATA_DIR") or Path.cwd() / "heard-data")
        url = env.get("HEARD_DATABASE_URL") or f"sqlite:///{data_dir / 'heard.db'}"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            # psycopg 3 is the driver we ship; accept the common short form.
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        mode = env.get("HEARD_ENV", "development")
        secret = env.get("HEARD_SECRET_KEY", "")
        if not secret:
            if mode == "production":
                raise SettingsError(
                    "HEARD_SECRET_KEY must be set in production "
                    "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
                )
            secret = _dev_secret(data_dir) if url.startswith("sqlite") else DEV_SECRET
        elif mode == "production" and secret == DEV_SECRET:
            raise SettingsError("HEARD_SECRET_KEY is the development default; set a real one.")
        public_url = env.get("HEARD_PUBLIC_URL", "").strip().rstrip("/")
        if public_url and not public_url.startswith(("https://", "http://")):
            raise SettingsError(
                f"HEARD_PUBLIC_URL must start with https:// (or http://), not {public_url!r}."
            )
        return cls(
            env=mode,
            data_dir=data_dir,
            database_url=url,
            secret_key=secret,
            redis_url=env.get("HEARD_REDIS_URL") or None,
            message_id_domain=env.get("HEARD_MESSAGE_ID_DOMAIN", "heard.localhost"),
            email_reopen_days=int(env.get("HEARD_EMAIL_REOPEN_DAYS", "14")),
            email_spam_hook=env.get("HEARD_EMAIL_SPAM_HOOK",
                                    "heard.channels.email.spam:header_score"),
            email_spam_threshold=float(env.get("HEARD_EMAIL_SPAM_THRESHOLD", "5.0")),
            email_smtp_ca_file=env.get("HEARD_SMTP_CA_FILE", ""),
            email_ingest_processes=int(env.get("HEARD_EMAIL_INGEST_PROCESSES",
                                               str(min(2, os.cpu_count() or 1)))),
            public_url=public_url,
            argon2_time_cost=int(env.get("HEARD_ARGON2_TIME_COST", "3")),
            argon2_memory_cost=int(env.get("HEARD_ARGON2_MEMORY_COST", "65536")),
        )


def _dev_secret(data_dir: Path) -> str:
    """A per-installation random secret kept in the data directory (development only)."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip() or DEV_SECRET
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        path.write_text(value)
        path.chmod(0o600)
        return value

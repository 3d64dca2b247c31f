"""The customer's rating link: a signed token naming one conversation. No I/O.

``<conversation id>.<issued day>.<signature>``, where the signature is HMAC-SHA256 over
the first two parts with a key derived from the installation's secret key (HKDF with its
own purpose label, as ``heard.channels.email.credentials`` does: the session-cookie key and
this key are never the same bytes), truncated to 128 bits. Whoever holds the link may rate
that conversation, and nothing else: the token is the credential, so the rating page needs
no login, no cookie and no CSRF token (a forged cross-site form would need the token too).

Costs of this choice: a forwarded link lets its reader rate; rotating ``HEARD_SECRET_KEY``
invalidates every link sent; a link is refused after :data:`VALID_DAYS`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["VALID_DAYS", "BadRatingLink", "RatingLink", "may_ask_for_rating", "read_token",
           "sign_token"]

VALID_DAYS = 60
_INFO = b"heard satisfaction rating link v1"
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
# The abuse levels (heard.reading.ABUSE_RANK) aimed at the agent: no survey after those.
ABUSIVE = frozenset({"insult", "harassment", "threat"})


class BadRatingLink(ValueError):
    """The token was not made by this installation, was altered, or has expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "invalid" or "expired"


@dataclass(frozen=True)
class RatingLink:
    conversation_id: int
    issued: datetime


def _key(secret_key: str) -> bytes:
    if not secret_key:
        raise RuntimeError("no secret key configured (HEARD_SECRET_KEY)")  # a setup error
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )


def _signature(secret_key: str, payload: str) -> str:
    digest = hmac.new(_key(secret_key), payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")


def _day(when: datetime) -> int:
    return max(0, (when - _EPOCH).days)


def sign_token(secret_key: str, conversation_id: int, *, now: datetime | None = None) -> str:
    payload = f"{conversation_id}.{_day(now or datetime.now(UTC))}"
    return f"{payload}.{_signature(secret_key, payload)}"


def read_token(secret_key: str, token: str, *, now: datetime | None = None) -> RatingLink:
    """The conversation a token names; :class:`BadRatingLink` when it is not ours or too old."""
    parts = token.split(".") if len(token) <= 80 else []
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts[:2]):
        raise BadRatingLink("invalid")
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(parts[2].encode("ascii", "replace"),
                               _signature(secret_key, payload).encode("ascii")):
        raise BadRatingLink("invalid")
    conversation_id, day = int(parts[0]), int(parts[1])
    if _day(now or datetime.now(UTC)) - day > VALID_DAYS:
        raise BadRatingLink("expired")
    return RatingLink(conversation_id, datetime.fromordinal(_EPOCH.toordinal() + day)
                      .replace(tzinfo=UTC))


def may_ask_for_rating(channel: str, abuse: str, merged: bool) -> bool:
    """Whether closing a conversation may send the customer a rating link: email only (the
    other channels have no message to carry it yet), never after abuse aimed at the agent
    (the agent should not be asked to collect that customer's verdict), never for a
    conversation merged into another (that one is rated)."""
    return channel == "email" and abuse not in ABUSIVE and not merged

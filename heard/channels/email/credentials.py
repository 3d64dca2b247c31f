"""Mailbox passwords encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key is derived from the installation's secret key with HKDF-SHA256 and a purpose
label, so the session-cookie key and this key are never the same bytes. Cost of that
choice: rotating ``HEARD_SECRET_KEY`` makes stored mailbox passwords unreadable — they must
be entered again (decrypting then raises :class:`CredentialError` saying so).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["CredentialError", "decrypt", "encrypt"]

_INFO = b"heard mailbox credentials v1"


class CredentialError(ValueError):
    """A stored password cannot be decrypted (wrong or rotated secret key)."""


def _fernet(secret_key: str) -> Fernet:
    if not secret_key:
        raise CredentialError("no secret key configured (HEARD_SECRET_KEY)")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret_key: str, password: str) -> str:
    return _fernet(secret_key).encrypt(password.encode()).decode("ascii")


def decrypt(secret_key: str, token: str | None) -> str | None:
    if token is None:
        return None
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise CredentialError(
            "cannot decrypt a stored mailbox password: HEARD_SECRET_KEY changed since it was "
            "saved; enter the password again"
        ) from exc

"""Threading keys, pure: subject tokens, subject normalisation and our own Message-IDs.

The order a caller applies them in (issue 5): In-Reply-To/References against Message-IDs
we have seen or sent, then the ``[#1234]`` subject token, then the sender. These helpers
hold no state; the lookups belong to the ingest code.
"""

from __future__ import annotations

import re
import secrets
import time

__all__ = [
    "add_subject_token",
    "format_message_id",
    "is_our_message_id",
    "make_message_id",
    "normalize_subject",
    "subject_token",
    "thread_keys",
]

# "[#1234]" anywhere in the subject; a prefix such as "[Acme #1234]" is accepted too.
_TOKEN_RE = re.compile(r"\[(?:[^\[\]#]{0,40}\s)?#(\d{1,12})\]")
# Reply/forward prefixes in the languages our customers write (EN, FR, ES, DE, NL, IT …):
# Re, RE, Fw, Fwd, TR (French "transféré"), AW/WG (German), RV/RE (Spanish), SV (Nordic),
# VS, Antw, Doorst, R, I (Italian), Réf. Repeated and "Re[2]:" forms are removed as well.
_PREFIX_RE = re.compile(
    r"^\s*(?:(?:re|fw|fwd|tr|aw|wg|rv|sv|vs|antw|antwort|doorst|réf|ref|r|i|enc|res)"
    r"(?:\s*\[\d+\]|\s*\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_SPACES_RE = re.compile(r"\s+")


def subject_token(subject: str) -> int | None:
    """The conversation number in a ``[#1234]`` token, or None."""
    found = _TOKEN_RE.search(subject or "")
    return int(found.group(1)) if found else None


def add_subject_token(subject: str, number: int) -> str:
    """``subject`` with ``[#number]`` appended once (an existing token is replaced)."""
    base = _TOKEN_RE.sub("", subject or "").strip()
    base = _SPACES_RE.sub(" ", base)
    return f"{base} [#{number}]" if base else f"[#{number}]"


def normalize_subject(subject: str) -> str:
    """Subject without Re:/Fwd:/AW:/TR: prefixes, tokens or extra spaces, case-folded."""
    text = _TOKEN_RE.sub(" ", subject or "")
    previous = None
    while previous != text:  # "Re: [#12] Fwd: x" loses both prefixes
        previous = text
        text = _PREFIX_RE.sub("", text).strip()
    return _SPACES_RE.sub(" ", text).strip().casefold()


def make_message_id(domain: str, *, now: float | None = None) -> str:
    """A new Message-ID for ``domain`` (without angle brackets).

    Time plus 80 random bits: unique without coordination between workers, and sortable
    when reading logs.
    """
    stamp = int((time.time() if now is None else now) * 1000)
    return f"{stamp:x}.{secrets.token_hex(10)}@{domain.strip().lower()}"


def format_message_id(message_id: str) -> str:
    """``<id>`` for a header."""
    return f"<{message_id.strip().strip('<>')}>"


def is_our_message_id(message_id: str | None, domain: str) -> bool:
    """Did we write this Message-ID (its right-hand side is our Message-ID domain)?"""
    if not message_id:
        return False
    right = message_id.strip().strip("<>").rpartition("@")[2].lower()
    return right == domain.strip().lower()


def thread_keys(in_reply_to: str | None, references: list[str]) -> list[str]:
    """Message-IDs to look up, most specific first: In-Reply-To, then References newest first."""
    keys: list[str] = []
    for key in [in_reply_to, *reversed(references)]:
        if key and key not in keys:
            keys.append(key)
    return keys

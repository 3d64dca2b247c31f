"""The spam-score hook: a score per inbound message; above the mailbox's threshold the
message is quarantined as spam (with the score and why), never dropped.

``settings.email_spam_hook`` names a callable ``"module:function"`` that takes the parsed
:class:`~heard.channels.email.parse.InboundEmail` and returns a score (higher = spammier)
or ``None`` (no opinion). The default, :func:`header_score`, trusts the filter in front of
us: it reads ``X-Spam-Score`` or the ``score=`` of ``X-Spam-Status`` (SpamAssassin, rspamd,
most hosted MTAs). A hook that raises is logged and ignored: a broken filter must not stop
customer mail.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable
from functools import cache

from heard.channels.email.parse import InboundEmail

__all__ = ["SpamHook", "header_score", "load_hook", "score"]

log = logging.getLogger("heard.email.spam")
SpamHook = Callable[[InboundEmail], float | None]
_SCORE = re.compile(r"(?i)\bscore\s*=\s*(-?\d+(?:\.\d+)?)")
_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")


def header_score(email: InboundEmail) -> float | None:
    """The score an upstream filter wrote into the headers, if any."""
    value = email.spam_headers.get("x-spam-score")
    if value:
        found = _NUMBER.match(value)
        if found:
            return float(found.group(1))
    status = email.spam_headers.get("x-spam-status")
    if status:
        found = _SCORE.search(status)
        if found:
            return float(found.group(1))
        if status.strip().lower().startswith("yes"):
            return float("inf")  # "Yes" with no score: the filter said spam
    return None


@cache
def load_hook(spec: str) -> SpamHook | None:
    """``"package.module:function"`` → the callable (None for ``""``)."""
    if not spec.strip():
        return None
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"spam hook {spec!r} must look like 'package.module:function'")
    target: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"spam hook {spec!r} is not callable")
    return target


def score(spec: str, email: InboundEmail) -> float | None:
    """Run the hook; a failing hook gives no score (logged), never an exception."""
    try:
        hook = load_hook(spec)
        if hook is None:
            return None
        value = hook(email)
        return None if value is None else float(value)
    except Exception:
        log.exception("spam hook %s failed; message scored as not spam", spec)
        return None

"""Error messages in the agent's language.

Actions and domain rules raise their errors in English, and the API returns them as they
are (integrations match on them). The agent UI shows the same errors on its error page in
the agent's language: :func:`translate` looks the English text up in the catalog, first as
a whole, then against the message templates below, whose ``{placeholders}`` are read back
out of the English text and put into the translated sentence (a placeholder's value is
translated too when the catalog knows it: statuses, roles, channels).

A new error raised by an action belongs in ``MESSAGES`` or ``TEMPLATES``, with its French
and Spanish translations; ``tests/web/test_i18n.py`` and ``tests/web/test_errors.py``
check both.
"""

from __future__ import annotations

import re
from functools import cache

from heard.web.i18n import catalog, gettext

__all__ = ["MESSAGES", "TEMPLATES", "translate"]

# Raised word for word.
MESSAGES = (
    "conversation not found",
    "customer not found",
    "agent not found",
    "team not found",
    "tag not found",
    "a reply needs some text",
    "a note needs some text",
    "an attachment needs a file name and a type/subtype content type",
    "a password needs at least 8 characters",
    "a team needs a name",
    "agents can only move conversations to their own teams",
    "agents can only assign themselves or a teammate",
    "snoozed_until must be in the future",
    "snoozing needs a snoozed_until time",
    "cannot merge a conversation into itself",
    "one of these conversations was already merged",
    "a customer needs an email, a phone, a handle or a chat id",
    "cannot merge a customer into itself",
    "a handle must be 1 to 320 characters",
    "assignee must be an agent id, 'me' or 'none'",
    "cursor is not one this server gave out",
    "the form expired; reload the page and try again",
    "op must be assign, tag or close",
    "agent must be 'me', empty or an agent id",
    "only agents have a UI language",
    "a rating is 1 (bad), 2 (okay) or 3 (good)",
    "saved reply not found",
    "a saved reply needs a title",
    "a saved reply's title is at most 200 characters",
    "a saved reply needs some text",
    "a saved reply is at most 20000 characters",
    "a { or } without its pair; write {{ or }} for a brace",
    "shared saved replies need the lead role; agents manage the replies of their own teams",
)

# Raised with values in them (the values are matched back out of the English text).
TEMPLATES = (
    "{what} not found",
    "this needs the {role} role",
    "conversation is already {status}",
    "cannot go from {current} to {new}; from {current}: {allowed}",
    "unknown status {status}; expected one of {expected}",
    "unknown priority {name}; expected one of {expected}",
    "unknown sort {sort}; expected one of {expected}",
    "unknown view {view}",
    "unknown channel {channel}",
    "unknown role {role}; expected one of {expected}",
    "unknown role {role}",
    "unknown availability {availability}; expected {expected}",
    "unknown UI language {language}; expected en, fr or es",
    "an agent with email {email} already exists",
    "a team named {name} already exists",
    "invalid tag {name}: 1-80 letters, digits, spaces or - _ . & / +",
    "{identity} already belongs to a customer",
    "not an email address: {value}",
    "not a phone number: {value}",
    "unknown identity kind {kind}",
    "attachments are limited to {size} MB per reply",
    "unknown variable {variable}: use customer_name, first_name or agent_name in braces",
    "unknown language {language}; expected en, fr or es",
    "a saved reply titled {title} already exists in this language",
    "first_response_minutes must be a whole number from 1 to {max}",
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    compiled = []
    for template in TEMPLATES:
        seen: set[str] = set()
        parts: list[str] = []
        last = 0
        for match in _PLACEHOLDER.finditer(template):
            parts.append(re.escape(template[last:match.start()]))
            name = match.group(1)
            parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
            last = match.end()
        parts.append(re.escape(template[last:]))
        compiled.append((re.compile("".join(parts) + r"\Z", re.DOTALL), template))
    return tuple(compiled)


def _value(language: str, value: str) -> str:
    """A placeholder's value, translated item by item when the catalog knows it."""
    return ", ".join(gettext(language, item) for item in value.split(", "))


def translate(language: str, message: str) -> str:
    """``message`` (English, as raised) in ``language``; unknown messages stay English."""
    if language == "en":
        return message
    known = catalog(language)
    if message in known:
        return known[message]
    for pattern, template in _patterns():
        match = pattern.match(message)
        if match is not None and template in known:
            values = {k: _value(language, v) for k, v in match.groupdict().items()}
            return known[template].format(**values)
    return message

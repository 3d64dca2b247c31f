"""Presentation helpers for the agent UI: evidence highlighting, the emotion trajectory,
localised dates and waiting time against the response target. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

from heard.reading import stored_thanks_only
from heard.web.i18n import gettext

ABUSIVE = frozenset({"insult", "threat", "harassment"})
# Urgency reasons from heard.empathy.urgency, as English msgids for the UI catalogs.
REASONS = {"money": "money at stake", "business_loss": "losing business",
           "deadline": "a deadline", "outage": "something is down",
           "repeated_contact": "wrote several times", "still_not_fixed": "still not fixed"}
NEGATIVE = ("anger", "frustration", "anxiety", "sadness", "confusion")
MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
           "nov.", "déc."],
    "es": ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"],
}


def local_date(when: datetime | None, lang: str) -> str:
    """'23 Nov 2026, 18:41' / '23 nov. 2026, 18:41' / '23 nov 2026, 18:41' (UTC for now:
    agents' time zones are not stored yet)."""
    if when is None:
        return ""
    months = MONTHS.get(lang, MONTHS["en"])
    return f"{when.day} {months[when.month - 1]} {when.year}, {when:%H:%M}"


def highlight(text: str, reading: dict[str, Any] | None, *, conceal_abuse: bool = True) -> Markup:
    """The message text with the Reading's evidence spans marked, abusive spans blurred.

    Spans index the text as read; the reading covers only the first ``MAX_CHARS``
    characters, so spans beyond the text are ignored rather than trusted.
    """
    if not reading:
        return Markup(escape(text))
    marks: list[tuple[int, int, str, str]] = []
    for start, end, label in reading.get("evidence") or []:
        marks.append((int(start), int(end), "ev e-" + str(label), str(label)))
    if conceal_abuse:
        for start, end, label in reading.get("abuse_spans") or []:
            if str(label) in ABUSIVE:
                marks.append((int(start), int(end), "blur", str(label)))
    marks.sort()
    out: list[str] = []
    pos = 0
    for start, end, css, label in marks:
        if start < pos or end > len(text) or start >= end:
            continue  # overlapping or stale span: keep the text readable
        out.append(str(escape(text[pos:start])))
        piece = escape(text[start:end])
        if css == "blur":
            out.append(f'<button type="button" class="blur" data-label="{escape(label)}" '
                       f'aria-label="reveal">{piece}</button>')
        else:
            out.append(f'<mark class="{css}" title="{escape(label)}">{piece}</mark>')
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def thanks_only(message: Any) -> bool:
    """An inbound message that only thanks us (it reopened nothing: heard.empathy.thanks)."""
    return message.kind == "inbound" and stored_thanks_only(message.reading, message.text)


def heat(reading: dict[str, Any] | None) -> float:
    """One number per message for the trajectory: distress minus gratitude, in [-1, 1]."""
    if not reading:
        return 0.0
    emotions = reading.get("emotions") or {}
    distress = max((float(emotions.get(e, 0.0)) for e in NEGATIVE), default=0.0)
    return max(-1.0, min(1.0, distress - float(emotions.get("gratitude", 0.0))))


def dominant(reading: dict[str, Any] | None) -> str:
    emotions: dict[str, float] = (reading or {}).get("emotions") or {}
    if not emotions:
        return "neutral"
    return max(emotions, key=lambda e: float(emotions[e]))


def trajectory_svg(readings: Sequence[dict[str, Any] | None], label: str) -> Markup:
    """A tiny inline SVG: one dot per customer message, higher = more distressed."""
    if not readings:
        return Markup("")
    width, height, pad = 240, 56, 6
    n = len(readings)
    step = (width - 2 * pad) / max(n - 1, 1)
    points = []
    for i, r in enumerate(readings):
        x = pad + i * step if n > 1 else width / 2
        y = height / 2 - heat(r) * (height / 2 - pad)
        points.append((round(x, 1), round(y, 1), dominant(r)))
    line = " ".join(f"{x},{y}" for x, y, _ in points)
    dots = "".join(
        f'<circle cx="{x}" cy="{y}" r="4" class="dot e-{escape(e)}"><title>{escape(e)}</title>'
        f"</circle>" for x, y, e in points
    )
    mid = height / 2
    return Markup(
        f'<svg class="trajectory" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(label)}">'
        f'<line x1="0" y1="{mid}" x2="{width}" y2="{mid}" class="axis"/>'
        f'<polyline points="{line}" class="path"/>{dots}</svg>'
    )


def minutes_label(minutes: float, lang: str) -> str:
    m = int(minutes)
    if m < 60:
        return gettext(lang, "{n} min").format(n=m)
    if m < 48 * 60:
        return gettext(lang, "{n} h").format(n=m // 60)
    return gettext(lang, "{n} d").format(n=m // (24 * 60))


def waiting(c: Any, lang: str, now: datetime | None = None) -> dict[str, str] | None:
    """For a conversation (or inbox row) waiting on us: how long the customer has waited,
    the time left to the stored SLA due time (or how late it is), and a state: ok, risk
    (past ``response_risk_at``: 75 % of the target's staffed minutes spent) or late.
    None when it doesn't wait. Due times come from heard.actions.sla, in business hours."""
    since, due, risk = c.waiting_since, c.response_due_at, c.response_risk_at
    if since is None or due is None:
        return None
    now = now or datetime.now(UTC)
    state = "late" if now >= due else "risk" if risk is not None and now >= risk else "ok"
    left = (due - now).total_seconds() / 60
    label = gettext(lang, "{t} late") if left <= 0 else gettext(lang, "{t} left")
    return {"waited": minutes_label(max((now - since).total_seconds() / 60, 0), lang),
            "due": label.format(t=minutes_label(abs(left), lang)),
            "state": state}


def customer_messages(messages: Iterable[Any]) -> list[Any]:
    return [m for m in messages if m.kind == "inbound"]

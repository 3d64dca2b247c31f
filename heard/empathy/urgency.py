"""Urgency (0..1) and its reasons, from cues in all three languages (``lexicons/*.tsv``).

Each reason adds its weight once (combined as independent evidence, so the score stays
below 1): money at stake, business loss, a deadline, an outage, repeated contact (said in
the text, or two earlier customer messages in ``history``), "still not fixed". Shouting
(ALL CAPS) and repeated exclamation marks raise it a little. An "again" inside a
``no_repeat`` phrase ("works again", "thanks again") is not a repeated contact, and money
just thanked for ("thanks for the refund", "merci pour le remboursement", "gracias por el
reembolso": gratitude at most three words before) is not money at stake.
"""

from __future__ import annotations

from heard.empathy.context import Context

REASONS = {
    "money": 0.3,
    "business_loss": 0.45,
    "deadline": 0.35,
    "outage": 0.3,
    "repeated_contact": 0.3,
    "still_not_fixed": 0.35,
}


def _thanked_for(ctx: Context, i: int) -> bool:
    """ "Thanks for the refund": the money came, it is not at stake."""
    return ctx.near("gratitude", i, 3) and not ctx.negated(i)


def _cues(ctx: Context, name: str) -> bool:
    hits = ctx.labelled(name)
    if name == "repeated_contact":
        # "works again", "thanks again", "funciona de nuevo" say nothing about contacting us.
        hits = [h for h in hits if "no_repeat" not in ctx.covering[h.first]]
    elif name == "money":
        hits = [h for h in hits if not _thanked_for(ctx, h.first)]
    return bool(hits)


def assess(ctx: Context, history_count: int) -> tuple[float, list[str]]:
    reasons = [name for name in REASONS if _cues(ctx, name)]
    if history_count >= 2 and "repeated_contact" not in reasons:
        reasons.append("repeated_contact")
        reasons.sort(key=list(REASONS).index)
    calm = 1.0
    for name in reasons:
        calm *= 1.0 - REASONS[name]
    if sum(1 for t in ctx.tokens if t.caps) >= 2:
        calm *= 0.9
    if ctx.text.count("!") >= 2:
        calm *= 0.9
    return round(1.0 - calm, 3), reasons

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
from heard.empathy.lexicon import Hit

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


# English past tense: irregular forms, plus "-ed" (not "-eed": "need", "speed").
_PAST = frozenset({
    "was", "were", "did", "had", "got", "came", "went", "saw", "lost", "made", "paid", "sent",
    "bought", "told", "said", "found", "took", "gave", "broke", "left", "won", "spent",
    "began", "ran", "felt", "heard", "forgot", "ate", "wrote", "rang", "fell", "happened",
})
# A clause that asks for something keeps its deadline: "I need this fixed today".
_ASKS = frozenset({
    "need", "needs", "want", "must", "please", "asap", "until", "require", "required",
    "expect", "expecting", "will", "going", "gonna", "should", "urgent", "urgently",
})
_SAME_DAY = frozenset({"today", "this morning", "this afternoon", "this evening"})
_PAST_WINDOW = 4
# What follows "before" when it sets a deadline: a day or time, or "the/my/our" and an event.
_BEFORE_WHEN = frozenset({
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "tomorrow",
    "tonight", "noon", "midnight", "christmas", "lunch", "eod", "cob", "then",
})
_BEFORE_EVENT = frozenset({
    "weekend", "end", "meeting", "deadline", "demo", "launch", "flight", "wedding", "trip",
    "holiday", "holidays", "event", "interview", "exam", "presentation", "appointment",
    "funeral", "party", "move", "closing", "release", "audit", "payroll", "week", "month",
})


def _phrase(ctx: Context, hit: Hit) -> str:
    return " ".join(ctx.tokens[k].norm for k in range(hit.first, hit.last + 1))


def _past_mention(ctx: Context, hit: Hit) -> bool:
    """English "today" / "this morning" beside a past-tense verb, in a clause asking nothing."""
    if ctx.language != "en" or _phrase(ctx, hit) not in _SAME_DAY:
        return False
    tokens = ctx.tokens
    lo, hi = max(0, hit.first - _PAST_WINDOW), min(len(tokens), hit.last + _PAST_WINDOW + 1)
    clause = [j for j in range(lo, hi) if ctx.same_clause(min(j, hit.first), max(j, hit.first))]
    words = [tokens[j].norm for j in clause]
    if any(w in _ASKS for w in words):
        return False
    return any(
        w in _PAST or (len(w) > 4 and w.endswith("ed") and not w.endswith("eed")) for w in words
    )


def _before_nothing(ctx: Context, hit: Hit) -> bool:
    """English "before" not followed by a time: "before that", "it worked before"."""
    if ctx.language != "en" or _phrase(ctx, hit) != "before":
        return False
    nxt = hit.last + 1
    if nxt >= len(ctx.tokens) or not ctx.same_clause(hit.last, nxt):
        return True
    word = ctx.tokens[nxt].norm
    if word in _BEFORE_WHEN or ctx.text[ctx.tokens[nxt].start].isdigit():
        return False
    after = nxt + 1
    return not (
        word in ("the", "my", "our", "next", "this")
        and after < len(ctx.tokens)
        and ctx.tokens[after].norm in _BEFORE_EVENT
    )


def _cues(ctx: Context, name: str) -> bool:
    hits = ctx.labelled(name)
    if name == "repeated_contact":
        # "works again", "thanks again", "funciona de nuevo" say nothing about contacting us.
        hits = [h for h in hits if "no_repeat" not in ctx.covering[h.first]]
    elif name == "money":
        hits = [h for h in hits if not _thanked_for(ctx, h.first)]
    elif name == "deadline":
        hits = [h for h in hits if not (_past_mention(ctx, h) or _before_nothing(ctx, h))]
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

"""Emotion scores: the packaged linear model blended with lexicon evidence.

The model (``model.py``) gives probabilities for anger, fear, joy, sadness and neutral;
lexicon hits give explainable evidence for all seven Reading emotions, including
frustration and confusion, which no training corpus labels. A hit counts more after an
intensifier ("really", "vraiment", "muy") or in ALL CAPS, and not at all when negated
("not happy" counts as frustration instead of gratitude). Manners are not feelings: thanks
given in advance (the lexicons' ``courtesy`` phrases) and a closing "Thanks," line count as
no gratitude, and the model does not read them.
"""

from __future__ import annotations

import math

from heard.empathy.context import Context
from heard.empathy.model import emotion_model
from heard.empathy.text import Token

LEXICAL = ("anger", "frustration", "anxiety", "sadness", "confusion", "gratitude")
# How much of each model probability carries into each Reading emotion.
_FROM_MODEL = {
    "anger": ("anger", 0.8),
    "frustration": ("anger", 0.4),
    "anxiety": ("fear", 0.8),
    "sadness": ("sadness", 0.8),
    "gratitude": ("joy", 0.8),
}
_LEXICAL_RATE = 0.8
# The model learnt from film subtitles and Reddit: on support messages it is over-confident,
# so its logits are softened, and it counts for less once the lexicon has found evidence.
TEMPERATURE = 2.0
_MODEL_WEIGHT = 0.8
_MODEL_WEIGHT_WITH_EVIDENCE = 0.5
# Contact repeated or a problem still unsolved is frustrating even when said calmly.
_FRUSTRATING = frozenset({"repeated_contact", "still_not_fixed"})
_NEGATION_WINDOW = 3
# A closing courtesy ("Merci,\nJuliette") is manners, not gratitude: the thanks must come
# after a body of at least this many words, on lines of at most this many.
_BODY_WORDS = 6
_CLOSING_WORDS = 5


def salutation(ctx: Context) -> int:
    """Index of the first token after an opening line such as "Bonjour," or "Hi Tom,".

    The model learnt from subtitles and Reddit, where a greeting is cheerful; at the top of
    a support email it is manners, so the model does not read it. 0 if there is none.
    """
    newline = ctx.text.find("\n")
    if newline < 0 or not ctx.text[:newline].rstrip().endswith(","):
        return 0
    after = next((i for i, t in enumerate(ctx.tokens) if t.start > newline), None)
    if after is None or after > 4:
        return 0
    return after


def sign_off(ctx: Context) -> int:
    """Index of the first token of a closing courtesy, or ``len(ctx.tokens)`` if none.

    The closing is the line holding the last gratitude hit, when it is short, comes after a
    body of its own lines, carries no intensifier ("thanks so much" is gratitude), and only
    short lines (a name, "Sent from my phone") follow it.
    """
    tokens = ctx.tokens
    thanks = ctx.labelled("gratitude")
    if not thanks:
        return len(tokens)
    last = thanks[-1]
    if ctx.near("intensifier", last.first, 2, 2) or tokens[last.first].caps:
        return len(tokens)
    # The closing is a line of its own: "... arrived. Thanks" on one line is left to the
    # model (in Reddit comments, the evaluation data, such a thanks is real gratitude).
    line_start = ctx.text.rfind("\n", 0, tokens[last.first].start) + 1
    first = last.first
    while first > 0 and tokens[first - 1].start >= line_start:
        first -= 1
    if first < _BODY_WORDS or line_start == 0:
        return len(tokens)
    # The closing line itself, then every line after it, must be short.
    line_of = [ctx.text.count("\n", 0, t.start) for t in tokens[first:]]
    words_per_line: dict[int, int] = {}
    for line in line_of:
        words_per_line[line] = words_per_line.get(line, 0) + 1
    if max(words_per_line.values()) > _CLOSING_WORDS:
        return len(tokens)
    return first


def _strengths(
    ctx: Context, closing: int
) -> tuple[dict[str, float], list[tuple[int, int, str]]]:
    """Lexicon strength per emotion, and its evidence; ``closing`` is :func:`sign_off`."""
    strength = dict.fromkeys(LEXICAL, 0.0)
    evidence: list[tuple[int, int, str]] = []
    for hit in ctx.hits:
        if hit.label == "gratitude" and (
                hit.first >= closing or "courtesy" in ctx.covering[hit.first]):
            continue  # a sign-off or "thanks in advance": manners, not gratitude
        if hit.label in ("repeated_contact", "frustration") and (
                "no_repeat" in ctx.covering[hit.first]):
            continue  # "works again", "thanks again": nothing repeated, nothing frustrating
        label = (
            "frustration" if hit.label in _FRUSTRATING or hit.label == "self_blame" else hit.label
        )
        if label not in strength:
            continue
        weight = 0.8 if hit.label in _FRUSTRATING else 1.0
        if ctx.near("intensifier", hit.first, 2) or ctx.tokens[hit.first].caps:
            weight = 1.5
        if label != "confusion" and ctx.near("negation", hit.first, _NEGATION_WINDOW):
            if label == "gratitude":
                label, weight = "frustration", 0.6
            else:
                continue
        strength[label] += weight
        start, end = ctx.span(hit)
        evidence.append((start, end, label))
    shouted = sum(1 for t in ctx.tokens if t.caps)
    if shouted >= 2:
        strength["anger"] += 0.5
    if ctx.text.count("?") >= 1:
        strength["confusion"] += 0.3
    return strength, evidence


def _model_input(ctx: Context, closing: int) -> tuple[list[Token], str]:
    """What the model reads: the message without its greeting line, its closing courtesy
    (``closing``, from :func:`sign_off`) and thanks given in advance."""
    opening = salutation(ctx)
    body, text, offset = ctx.tokens, ctx.text, 0
    if (opening or closing < len(body)) and opening < closing:
        end = len(text) if closing == len(body) else body[closing].start
        body, text, offset = body[opening:closing], text[body[opening].start:end], opening
    if ctx.by_label.get("courtesy"):
        body = [t for i, t in enumerate(body, offset) if "courtesy" not in ctx.covering[i]]
    return body, text


def score(ctx: Context, abuse: str) -> tuple[dict[str, float], list[tuple[int, int, str]]]:
    closing = sign_off(ctx)
    strength, evidence = _strengths(ctx, closing)
    if abuse == "swearing":
        strength["frustration"] += 0.6
    elif abuse != "none":
        strength["anger"] += 1.5
    if ctx.text.count("!") >= 2 and (strength["anger"] or strength["frustration"]):
        strength["frustration"] += 0.3
    lexical = {name: 1.0 - math.exp(-_LEXICAL_RATE * s) for name, s in strength.items()}
    model = emotion_model(ctx.language)
    body, text = _model_input(ctx, closing)
    probs = (
        model.predict(body, text, TEMPERATURE)
        if model and body
        else {"neutral": 1.0}
    )
    evidence_found = any(strength[name] >= 1.0 for name in LEXICAL)
    weight = _MODEL_WEIGHT_WITH_EVIDENCE if evidence_found else _MODEL_WEIGHT
    emotions: dict[str, float] = {}
    for name in LEXICAL:
        source = _FROM_MODEL.get(name)
        from_model = probs.get(source[0], 0.0) * source[1] * weight / 0.8 if source else 0.0
        emotions[name] = 1.0 - (1.0 - from_model) * (1.0 - lexical[name])
    emotions["neutral"] = probs.get("neutral", 0.0) * (1.0 - max(lexical.values()))
    return {k: round(v, 3) for k, v in emotions.items()}, evidence

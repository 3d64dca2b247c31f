"""Emotion scores: the packaged linear model blended with lexicon evidence.

The model (``model.py``) gives probabilities for anger, fear, joy, sadness and neutral;
lexicon hits give explainable evidence for all seven Reading emotions, including
frustration and confusion, which no training corpus labels. A hit counts more after an
intensifier ("really", "vraiment", "muy") or in ALL CAPS, and not at all when negated
("not happy" counts as frustration instead of gratitude). Manners are not feelings: thanks
given in advance (the lexicons' ``courtesy`` phrases) and a closing "Thanks," line count as
no gratitude, and the model does not read them.

Mixed messages (:func:`mixed`): when a message carries a problem, a bare or formulaic thanks
("... after 3 weeks. Thanks.", "Merci, mais ...") is manners too, and praise said in irony
("Great, just great. The update deleted my notes", "Génial, encore en panne", "gracias por
nada") is frustration or anger evidence instead of gratitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from heard.empathy.context import Context
from heard.empathy.lexicon import Hit
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
_FRUSTRATING = frozenset({"repeated_contact", "still_not_fixed"})  # each counts one full cue
_NEGATION_WINDOW = 3
# A closing courtesy ("Merci,\nJuliette") is manners, not gratitude: the thanks must come
# after a body of at least this many words, on lines of at most this many.
_BODY_WORDS = 6
_CLOSING_WORDS = 5
# Mixed messages. Lexicon labels: ``thanks`` (a bare or formulaic thanks), ``contrast``
# ("but", "mais", "pero"), ``sarcasm`` (ironic on its own: "thanks for nothing"), ``ironic``
# (ironic beside a problem: "just great", "bravo", "chapeau"), ``exclaim`` (a short positive
# exclamation: "great", "génial", "perfecto"), ``setback`` (negative events the urgency cues
# lack: "deleted", "for a week") and ``resolved`` ("fixed", "came through", "ya funciona").
_MIXED_LABELS = ("thanks", "sarcasm", "ironic", "exclaim")
# Evidence of a complaint: these lexicon emotions, and the urgency cues that are problems.
# Not anxiety or sadness ("Thank you. I miss him a lot" is gratitude), nor abuse (Reddit's
# "Thanks, babe!") or a deadline ("... today").
_NEGATIVE = frozenset({"anger", "frustration", "setback"})
_PROBLEM_CUES = frozenset({"outage", "still_not_fixed", "repeated_contact", "business_loss"})
# A negative event that turns an exclamation just before it ("Great, it crashed again").
_EVENTS = _NEGATIVE | {"outage", "still_not_fixed", "repeated_contact"}
# A ``resolved`` word inside one of these says nothing is ("nothing works", "not working").
_UNRESOLVED = _EVENTS
_SETBACK_WEIGHT = 0.6
_EXCLAIM_REACH = 6  # words from the end of the exclamation to the start of the event
_CLAUSE_END = frozenset(",;:.!?()\n\u2013\u2014\u2026")
# A smile, a heart or "!!" just after a thanks means it ("Thanks :) I will still ...").
_MEANT = ("!!", ":)", ":-)", ":D", ";)", "<3", "\u263a", "\u2665", "\u2764", "\U0001f642",
          "\U0001f60a", "\U0001f600", "\U0001f601", "\U0001f603", "\U0001f604",
          "\U0001f64f", "\U0001f44d", "\U0001f970", "\U0001f60d")


@dataclass(slots=True)
class Mixed:
    """What :func:`mixed` found: tokens of thanks that are manners, and ironic spans."""

    manners: set[int] = field(default_factory=set)
    # (first token, last token, "anger" or "frustration")
    irony: list[tuple[int, int, str]] = field(default_factory=list)
    ironic_tokens: set[int] = field(default_factory=set)

    def unread(self) -> set[int]:
        """Tokens the model must not read: manners and irony."""
        return self.manners | self.ironic_tokens


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


_VALEDICTION_WORDS = 4  # "Saludos cordiales,", "Bien à vous,", "With kind regards,"
_SIGNATURE_LINES = 2  # a name, then perhaps a role or "Sent from my phone"


def valediction(ctx: Context) -> int:
    """Index of the first token of a closing formula, or ``len(ctx.tokens)`` if none.

    An email ends "Saludos cordiales,\nTomás Rojas", "Cordialement,\nJ. Dupont" or "Best
    regards,\nMaya": a short line ending in a comma, after a body of its own lines,
    followed only by one or two short signature lines. The model learnt from subtitles and
    Reddit, where "cordial" and "regards" are warm; here they are manners. Found from the
    layout, not from a word list, so every language's formula is covered.
    """
    tokens = ctx.tokens
    text = ctx.text
    # Lines of the message's end, last first: (first token, last token).
    lines: list[tuple[int, int]] = []
    last = len(tokens) - 1
    for i in range(len(tokens) - 1, 0, -1):
        if "\n" in text[tokens[i - 1].end : tokens[i].start]:
            lines.append((i, last))
            last = i - 1
            if len(lines) > _SIGNATURE_LINES:
                break
    for n_signature in range(1, min(_SIGNATURE_LINES, len(lines) - 1) + 1):
        signature = lines[:n_signature]
        first, end = lines[n_signature]
        if any(b - a + 1 > _CLOSING_WORDS for a, b in signature):
            return len(tokens)
        line_end = text.find("\n", tokens[end].end)
        closes = text[tokens[end].end : line_end].strip() == ","
        if closes and end - first + 1 <= _VALEDICTION_WORDS and first >= _BODY_WORDS:
            return first
    return len(tokens)


def _break_between(ctx: Context, a: int, b: int) -> bool:
    """A clause ends between neighbouring tokens ``a`` and ``b``."""
    if ctx.tokens[a].sentence != ctx.tokens[b].sentence:
        return True
    return any(ch in _CLAUSE_END for ch in ctx.text[ctx.tokens[a].end : ctx.tokens[b].start])


def _fills_clause(ctx: Context, hit: Hit, contrast: bool = False) -> bool:
    """``hit`` is a clause of its own ("Thanks." "Génial," "Merci mais"), the contrast word
    counting as a clause break when ``contrast`` is set."""
    first, last = hit.first, hit.last
    before = first == 0 or _break_between(ctx, first - 1, first) or (
        contrast and "contrast" in ctx.covering[first - 1])
    if not before:
        return False
    return last == len(ctx.tokens) - 1 or _break_between(ctx, last, last + 1) or (
        contrast and "contrast" in ctx.covering[last + 1])


def _negative(ctx: Context, hit: Hit) -> bool:
    """A negative emotion, setback or unsolved problem that counts (not negated, not a
    "works again")."""
    if "no_repeat" in ctx.covering[hit.first]:
        return False
    if hit.label in _NEGATIVE:
        return not ctx.near("negation", hit.first, _NEGATION_WINDOW)
    return True


def _problems(ctx: Context) -> list[Hit]:
    """The message's problem evidence: anger, frustration or ``setback`` hits not negated,
    and the cues of the urgency reasons that are problems, read as ``urgency.py`` reads
    them (no "works again"; no money just thanked for: "thanks for the refund")."""
    found = []
    for hit in ctx.hits:
        if hit.label in _NEGATIVE or hit.label in _PROBLEM_CUES:
            if _negative(ctx, hit):
                found.append(hit)
        elif hit.label == "money" and not (
                ctx.near("gratitude", hit.first, 3) and not ctx.negated(hit.first)):
            found.append(hit)
    return found


def _resolved(ctx: Context) -> bool:
    """Something the customer says is resolved: a ``resolved`` word that no problem cue
    covers ("not working", "nothing works", "pas reçu") and that is not negated."""
    for hit in ctx.labelled("resolved"):
        if _UNRESOLVED.isdisjoint(ctx.covering[hit.first]) and not ctx.negated(hit.first):
            return True
    return False


def _meant(ctx: Context, hit: Hit) -> bool:
    """A smiley, a heart or "!!" follows ``hit`` before the next word."""
    end = ctx.tokens[hit.last].end
    after = ctx.tokens[hit.last + 1].start if hit.last + 1 < len(ctx.tokens) else end + 12
    gap = ctx.text[end : min(after, end + 12)]
    return any(mark in gap for mark in _MEANT)


def _manners(ctx: Context, hit: Hit, problems: list[Hit]) -> bool:
    """A ``thanks`` hit that is manners: it fills its clause, and it closes a complaint
    (problem evidence before it: "... for a week now. Thanks") or opens a contrast
    ("Thanks, but", "Merci, mais"). A thanks that opens a message and goes on with no
    contrast thanks for what came before it ("Thank you, I'll try that")."""
    if not _fills_clause(ctx, hit, contrast=True) or _meant(ctx, hit):
        return False
    if problems[0].first < hit.first:
        return True
    after = hit.last + 1
    return after < len(ctx.tokens) and "contrast" in ctx.covering[after]


def _event_follows(ctx: Context, hit: Hit) -> bool:
    """A negative event starts within ``_EXCLAIM_REACH`` words after ``hit``, in its
    sentence or the next, with no thanks between ("Great, thanks. Now ..." is not irony)."""
    limit = min(hit.last + _EXCLAIM_REACH, len(ctx.tokens) - 1)
    sentence = ctx.tokens[hit.last].sentence + 1
    for other in ctx.hits:
        if other.first <= hit.last:
            continue
        if other.first > limit or ctx.tokens[other.first].sentence > sentence:
            return False
        if other.label == "thanks":
            return False
        if other.label in _EVENTS and _negative(ctx, other):
            return True
    return False


def mixed(ctx: Context) -> Mixed:
    """Thanks and praise that a problem in the same message turns into manners or irony.

    With problem evidence (:func:`_problems`) and nothing ``resolved``: a bare or formulaic
    thanks closing a complaint or opening a contrast is manners (:func:`_manners`: "My
    refund still hasn't arrived. Thanks.", "Merci, mais le problème revient"); an
    ``ironic`` phrase with a problem in its sentence or the next or previous one is
    frustration ("Super, encore un bug. Bravo."); an ``exclaim`` word filling its clause,
    followed within ``_EXCLAIM_REACH`` words (same or next sentence, no thanks between) by
    a negative event, is frustration ("Great, just great. The update deleted my notes",
    "Genial, otra vez sin servicio"). A ``sarcasm`` phrase is anger wherever it stands
    ("thanks for nothing", "merci pour rien"). An intensified thanks ("thank you so much",
    "merci beaucoup") fills no clause by itself and is never touched.
    """
    found = Mixed()
    by_label = ctx.by_label
    if not any(label in by_label for label in _MIXED_LABELS):
        return found
    spans: list[tuple[int, int, str]] = [
        (hit.first, hit.last, "anger") for hit in by_label.get("sarcasm", ())
    ]
    conditional = any(label in by_label for label in ("thanks", "ironic", "exclaim"))
    problems = _problems(ctx) if conditional else []
    if problems and not _resolved(ctx):
        for hit in by_label.get("thanks", ()):
            if _manners(ctx, hit, problems):
                found.manners.update(range(hit.first, hit.last + 1))
        troubled = {ctx.tokens[p.first].sentence for p in problems}
        for hit in by_label.get("ironic", ()):
            sentence = ctx.tokens[hit.first].sentence
            if troubled.intersection((sentence - 1, sentence, sentence + 1)):
                spans.append((hit.first, hit.last, "frustration"))
        for hit in by_label.get("exclaim", ()):
            if _fills_clause(ctx, hit) and _event_follows(ctx, hit):
                spans.append((hit.first, hit.last, "frustration"))
    # Longest span first where spans overlap ("thanks a lot for nothing" over "thanks").
    for first, last, label in sorted(spans, key=lambda s: (s[0], -s[1])):
        if any(first <= f_last and f_first <= last for f_first, f_last, _ in found.irony):
            continue
        found.irony.append((first, last, label))
        found.ironic_tokens.update(range(first, last + 1))
    found.manners -= found.ironic_tokens
    return found


def _strengths(
    ctx: Context, closing: int, mix: Mixed
) -> tuple[dict[str, float], list[tuple[int, int, str]]]:
    """Lexicon strength per emotion, and its evidence; ``closing`` is :func:`sign_off`,
    ``mix`` is :func:`mixed`."""
    strength = dict.fromkeys(LEXICAL, 0.0)
    evidence: list[tuple[int, int, str]] = []
    for first, last, label in mix.irony:
        strength[label] += 1.0  # praise said in irony
        evidence.append((ctx.tokens[first].start, ctx.tokens[last].end, label))
    if mix.manners or mix.irony:
        # A complaint thanked for only in manners or irony: its setbacks ("the problem comes
        # back") are frustrating.
        counted = -1  # last token of the last setback counted: "arrived damaged" once
        for hit in ctx.labelled("setback"):
            if hit.first > counted and hit.first not in mix.ironic_tokens and _negative(ctx, hit):
                counted = hit.last
                strength["frustration"] += _SETBACK_WEIGHT
                start, end = ctx.span(hit)
                evidence.append((start, end, "frustration"))
    for hit in ctx.hits:
        if hit.label == "gratitude" and (
                hit.first >= closing or "courtesy" in ctx.covering[hit.first]
                or hit.first in mix.manners or hit.first in mix.ironic_tokens):
            continue  # a sign-off, "thanks in advance", manners or irony: not gratitude
        if hit.label in ("repeated_contact", "frustration") and (
                "no_repeat" in ctx.covering[hit.first]):
            continue  # "works again", "thanks again": nothing repeated, nothing frustrating
        label = (
            "frustration" if hit.label in _FRUSTRATING or hit.label == "self_blame" else hit.label
        )
        if label not in strength:
            continue
        weight = 1.0
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


def _model_input(ctx: Context, closing: int, unread: set[int]) -> tuple[list[Token], str]:
    """What the model reads: the message without its greeting line, its closing courtesy
    (``closing``, from :func:`sign_off`), thanks given in advance, and the ``unread``
    tokens (manners and irony, from :func:`mixed`)."""
    opening = salutation(ctx)
    body, text, offset = ctx.tokens, ctx.text, 0
    if (opening or closing < len(body)) and opening < closing:
        end = len(text) if closing == len(body) else body[closing].start
        body, text, offset = body[opening:closing], text[body[opening].start:end], opening
    if ctx.by_label.get("courtesy") or unread:
        body = [
            t for i, t in enumerate(body, offset)
            if i not in unread and "courtesy" not in ctx.covering[i]
        ]
    return body, text


def score(ctx: Context, abuse: str) -> tuple[dict[str, float], list[tuple[int, int, str]]]:
    closing = min(sign_off(ctx), valediction(ctx))
    mix = mixed(ctx)
    strength, evidence = _strengths(ctx, closing, mix)
    if abuse == "swearing":
        strength["frustration"] += 0.6
    elif abuse != "none":
        strength["anger"] += 1.5
    if ctx.text.count("!") >= 2 and (strength["anger"] or strength["frustration"]):
        strength["frustration"] += 0.3
    lexical = {name: 1.0 - math.exp(-_LEXICAL_RATE * s) for name, s in strength.items()}
    model = emotion_model(ctx.language)
    body, text = _model_input(ctx, closing, mix.unread())
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

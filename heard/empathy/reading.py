"""The Reading of one customer message: language, emotions, anger type, urgency, abuse, detail.

``analyze(text, *, language=None, history=())`` is the public entry point. It is
deterministic (same text, same Reading), offline, and explains itself: every emotion and
abuse label comes with the character spans of ``text`` that produced it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from heard.empathy import abuse, detail, emotion, urgency
from heard.empathy.context import Context
from heard.empathy.language import detect_language
from heard.empathy.lexicon import LANGUAGES, load
from heard.empathy.text import MAX_CHARS

EMOTIONS = ("anger", "frustration", "anxiety", "sadness", "confusion", "gratitude", "neutral")
ANGER_TYPES = ("none", "passive", "escalated")
ABUSE_KINDS = ("none", "swearing", "insult", "threat", "harassment")
DETAILS = ("vague", "detailed")


@dataclass(frozen=True, slots=True)
class Span:
    """A character range ``text[start:end]`` that drove ``label``."""

    start: int
    end: int
    label: str

    def to_list(self) -> list[Any]:
        return [self.start, self.end, self.label]

    @classmethod
    def from_list(cls, raw: Any) -> Span:
        start, end, label = raw
        return cls(int(start), int(end), str(label))


def _neutral_emotions() -> dict[str, float]:
    return {name: (1.0 if name == "neutral" else 0.0) for name in EMOTIONS}


@dataclass(frozen=True, slots=True)
class Reading:
    """What the empathy engine understood of one customer message."""

    language: str
    language_confidence: float
    emotions: dict[str, float] = field(default_factory=_neutral_emotions)
    evidence: list[Span] = field(default_factory=list)
    anger_type: str = "none"
    urgency: float = 0.0
    urgency_reasons: list[str] = field(default_factory=list)
    abuse: str = "none"
    abuse_spans: list[Span] = field(default_factory=list)
    detail: str = "vague"

    @property
    def dominant_emotion(self) -> str:
        """The highest-scoring emotion; ties resolve in ``EMOTIONS`` order."""
        return max(EMOTIONS, key=lambda name: (self.emotions.get(name, 0.0), -EMOTIONS.index(name)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict, for storing in a database column."""
        return {
            "language": self.language,
            "language_confidence": self.language_confidence,
            "emotions": {name: self.emotions.get(name, 0.0) for name in EMOTIONS},
            "evidence": [span.to_list() for span in self.evidence],
            "anger_type": self.anger_type,
            "urgency": self.urgency,
            "urgency_reasons": list(self.urgency_reasons),
            "abuse": self.abuse,
            "abuse_spans": [span.to_list() for span in self.abuse_spans],
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Reading:
        """Inverse of ``to_dict``; unknown keys are ignored, missing ones take defaults."""
        emotions = _neutral_emotions()
        emotions.update({k: float(v) for k, v in dict(raw.get("emotions", {})).items()})
        return cls(
            language=str(raw.get("language", "en")),
            language_confidence=float(raw.get("language_confidence", 0.0)),
            emotions=emotions,
            evidence=[Span.from_list(s) for s in raw.get("evidence", [])],
            anger_type=str(raw.get("anger_type", "none")),
            urgency=float(raw.get("urgency", 0.0)),
            urgency_reasons=[str(r) for r in raw.get("urgency_reasons", [])],
            abuse=str(raw.get("abuse", "none")),
            abuse_spans=[Span.from_list(s) for s in raw.get("abuse_spans", [])],
            detail=str(raw.get("detail", "vague")),
        )


ANGER_THRESHOLD = 0.5
_ESCALATING = frozenset({"money", "business_loss", "deadline", "outage"})


def analyze(text: str, *, language: str | None = None, history: Iterable[str] = ()) -> Reading:
    """Read one customer message.

    ``language`` is the conversation's language, used when the text is too short or too
    ambiguous to identify. ``history`` holds the customer's earlier messages in the same
    conversation (two or more count as repeated contact). Only the first
    ``text.MAX_CHARS`` characters are read.
    """
    text = text[:MAX_CHARS]
    history_count = sum(1 for message in history if message.strip())
    if not any(ch.isalpha() for ch in text):
        lang = language if language in LANGUAGES else "en"
        return Reading(language=lang, language_confidence=0.0)
    lang, confidence = detect_language(text, fallback=language)
    ctx = Context.build(text, load(lang))
    abuse_kind, abuse_found = abuse.classify(ctx)
    emotions, found = emotion.score(ctx, abuse_kind)
    urgency_score, reasons = urgency.assess(ctx, history_count)
    return Reading(
        language=lang,
        language_confidence=round(confidence, 3),
        emotions=emotions,
        evidence=[Span(*item) for item in sorted(set(found))],
        anger_type=_anger_type(ctx, emotions, reasons, urgency_score, abuse_kind),
        urgency=urgency_score,
        urgency_reasons=reasons,
        abuse=abuse_kind,
        abuse_spans=[Span(*item) for item in abuse_found],
        detail=detail.assess(ctx),
    )


def _anger_type(
    ctx: Context, emotions: dict[str, float], reasons: list[str], urgency: float, abuse: str
) -> str:
    """Passive: venting, feeling stupid. Escalated: broken, costing money or time, urgent."""
    level = max(emotions["anger"], emotions["frustration"])
    # Calmly worded but urgent (two pressing reasons, e.g. an outage before a deadline) still
    # needs the agent to share the urgency: that is escalated too.
    pressing = len(_ESCALATING.intersection(reasons)) >= 2 and urgency >= 0.5
    calm = level < ANGER_THRESHOLD and abuse in ("none", "swearing") and not pressing
    # Feeling stupid is passive anger however mildly it is worded: the customer needs to
    # hear it is not their fault ("I feel so stupid, I can't find the settings").
    blames_self = bool(ctx.labelled("self_blame"))
    if (calm and not blames_self) or emotions["gratitude"] > level:
        return "none"
    if abuse == "threat" or urgency >= 0.6 or pressing:
        return "escalated"
    if blames_self:
        return "passive"
    if _ESCALATING.intersection(reasons) and level >= ANGER_THRESHOLD:
        return "escalated"
    return "passive"


def warm_up() -> None:
    """Load everything ``analyze`` may need now, not on the first message that needs it:
    the language identifier, the lexicons, the emotion and abuse models of every language
    with their encoder heads, and the sentence encoder itself (about 1.5 s in all; a
    long-running process calls this at start, off the request path)."""
    from heard.empathy.abuse_model import abuse_model

    for language in LANGUAGES:
        analyze("Warming up the engine for the first customer message.", language=language)
        model = abuse_model(language)
        if model is not None and model.head is not None:
            model.head.probs("Warming up the sentence encoder.")

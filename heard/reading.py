"""Where the app meets the empathy engine: read an inbound message once, on receipt.

The reading runs inside the receiving transaction (it takes about a millisecond), so a
stored message always has its reading and a retried delivery never reads twice. The
conversation carries the latest reading's headline (emotion, anger type, urgency, abuse) so
the inbox can sort and filter on it with an index, without opening messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from heard.empathy import Reading, analyze, review
from heard.empathy.thanks import is_thanks_only

# A customer's abuse flag stays raised on the conversation until an agent clears it; one
# calmer message later doesn't make the earlier insult disappear.
ABUSE_RANK = {"none": 0, "swearing": 1, "insult": 2, "harassment": 3, "threat": 4}


@dataclass(frozen=True)
class InboundReading:
    reading: Reading

    @property
    def language(self) -> str:
        return self.reading.language

    @property
    def stored(self) -> dict[str, Any]:
        return self.reading.to_dict()

    def thanks_only(self, text: str) -> bool:
        """The message only thanks us: it reopens nothing and starts no response clock."""
        return is_thanks_only(self.reading, text)

    def headline(self, current_abuse: str | None) -> dict[str, Any]:
        """The conversation columns this reading sets (abuse only ever goes up)."""
        r = self.reading
        emotion = r.dominant_emotion
        values: dict[str, Any] = {
            "emotion": emotion,
            "emotion_intensity": round(float(r.emotions.get(emotion, 0.0)), 3),
            "anger_type": r.anger_type,
            "urgency": round(float(r.urgency), 3),
            "abuse": current_abuse or "none",
        }
        if ABUSE_RANK.get(r.abuse, 0) > ABUSE_RANK.get(current_abuse or "none", 0):
            values["abuse"] = r.abuse
        return values


def stored_thanks_only(stored: dict[str, Any] | None, text: str) -> bool:
    """:meth:`InboundReading.thanks_only` for a reading stored on a message."""
    return stored is not None and is_thanks_only(Reading.from_dict(stored), text)


def read_inbound(text: str, *, language: str | None) -> InboundReading:
    return InboundReading(analyze(text, language=language))


def review_reply(
    text: str, *, customer_text: str, customer_reading: dict[str, Any] | None, language: str
) -> dict[str, Any]:
    """The reply coach's review of a reply as it was sent (stored for QA and coach adoption).

    The coach only advises: this never blocks a reply, it records what the advice was.
    """
    reading = Reading.from_dict(customer_reading) if customer_reading else None
    result = review(text, customer_text=customer_text, reading=reading, language=language)
    return result.to_dict()

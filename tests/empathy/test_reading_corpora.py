"""Quick checks against the shared corpora (../shared/corpora): fail, never skip, if absent.

The full numbers come from ``heard eval empathy``; these guard the most costly errors on a
fixed slice: calling ordinary support messages abusive, and missing Spanish threats.
"""

from __future__ import annotations

from heard.empathy.reading import analyze
from heard.evaluation.empathy import TARGETED, hatecheck_cases, ordinary_messages


def test_ordinary_support_messages_are_not_called_abusive() -> None:
    messages = ordinary_messages("test")[::3]
    assert len(messages) > 1200
    flagged = [text for text, _ in messages if analyze(text, language="en").abuse in TARGETED]
    assert len(flagged) / len(messages) <= 0.01, flagged[:5]


def test_spanish_threat_cases_are_mostly_caught() -> None:
    threats = [text for text, func, _ in hatecheck_cases("test") if func == "threat_dir_h"]
    assert len(threats) > 50
    caught = sum(1 for text in threats if analyze(text, language="es").abuse == "threat")
    # A regression guard, below the measured recall (docs/empathy.md); the target is 0.90.
    assert caught / len(threats) >= 0.5

"""Language identification for English, French and Spanish, offline.

Uses the model that ships inside the ``py3langid`` wheel, restricted to the languages Heard
serves. Loading it costs about 0.9 s, so it is loaded once, on first use, and shared.
Very short texts ("ok", "merci") carry too little signal: below ``MIN_CHARS`` letters, or
when the model is unsure, the caller's fallback (the conversation's language) wins.
"""

from __future__ import annotations

from typing import Any

from heard.empathy.loading import once

SUPPORTED = ("en", "fr", "es")
MIN_CHARS = 12
MIN_CONFIDENCE = 0.80



def _build() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(SUPPORTED))
    return ident


def _model() -> Any:
    return once("py3langid", _build)


def detect_language(text: str, fallback: str | None = None) -> tuple[str, float]:
    """Return ``(iso_code, confidence)``; falls back to ``fallback`` on short or unsure text.

    With no fallback, the model's best guess is returned whatever its confidence.
    """
    letters = sum(1 for ch in text if ch.isalpha())
    if fallback in SUPPORTED and letters < MIN_CHARS:
        return fallback, 0.0
    lang, conf = _model().classify(text[:2000])
    conf = float(conf)
    if fallback in SUPPORTED and conf < MIN_CONFIDENCE and lang != fallback:
        return fallback, conf
    return str(lang), conf

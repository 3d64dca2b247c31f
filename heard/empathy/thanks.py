"""Is this message only a thank-you? ("Thanks, that fixed it!", "C'est bon, merci !")

A customer who writes back only to say thanks asks for nothing: the helpdesk should not
reopen a closed conversation for it, nor start the response clock. Getting this wrong in
the other direction (a real request read as a mere thank-you) would hide a customer, so the
test is deliberately narrow; anything doubtful is *not* a thank-you:

- the Reading's dominant emotion is gratitude, with no urgency reason, no abuse, and no
  negative emotion at 0.3 or more;
- no question mark, and at most ``MAX_WORDS`` words;
- none of the words below: a contrast ("but", "mais", "pero"), a request ("please",
  "pouvez", "podría", "also"), a problem or a negation ("problem", "pas", "todavía"),
  or thanks that mean the opposite ("thanks for nothing", "merci pour rien").

Words are compared after ``text.tokenize`` (lower case, accents stripped).
"""

from __future__ import annotations

from heard.empathy.reading import Reading
from heard.empathy.text import tokenize

MAX_WORDS = 30
_NEGATIVE = ("anger", "frustration", "anxiety", "sadness", "confusion")
_NEGATIVE_LIMIT = 0.3

# One set for all three languages: a word that blocks in one language is harmless to block
# in the others (false "not a thank-you" only keeps today's behaviour).
_BLOCKING_WORDS = frozenset(
    {
        # contrast
        "but", "however", "though", "although", "except", "unfortunately",
        "mais", "cependant", "pourtant", "toutefois", "malheureusement", "sauf",
        "pero", "aunque", "embargo", "sino", "desafortunadamente", "lamentablemente",
        # requests and follow-ups
        "please", "pls", "plz", "can", "could", "would", "need", "want", "also", "another",
        "else", "still", "when", "how", "why", "what", "where",
        "svp", "stp", "plait", "pouvez", "pourriez", "pourrais", "peux", "voudrais",
        "besoin", "aussi", "autre", "encore", "toujours", "quand", "comment", "pourquoi",
        "favor", "puede", "pueden", "podria", "podrian", "puedes", "necesito", "quiero",
        "quisiera", "tambien", "otra", "otro", "todavia", "aun", "sigue", "sigo", "cuando",
        "como", "porque",
        # problems and negations
        "problem", "issue", "error", "bug", "broken", "not", "no", "never", "nothing",
        # "don't" is tokenised as "don" + "t"
        "don", "doesn", "didn", "isn", "wasn", "won", "aren", "haven", "hasn", "couldn",
        "probleme", "souci", "erreur", "panne", "pas", "jamais", "rien", "plus",
        "problema", "fallo", "nunca", "nada", "ni",
    }
)


def is_thanks_only(reading: Reading, text: str) -> bool:
    """True when ``text`` (with its ``reading``) only thanks us and asks for nothing."""
    if reading.dominant_emotion != "gratitude" or reading.urgency_reasons:
        return False
    if reading.abuse != "none" or "?" in text:
        return False
    if any(reading.emotions.get(name, 0.0) >= _NEGATIVE_LIMIT for name in _NEGATIVE):
        return False
    words = [token.norm for token in tokenize(text)]
    if not words or len(words) > MAX_WORDS:
        return False
    return _BLOCKING_WORDS.isdisjoint(words)

"""The packaged abuse model: a linear softmax classifier over hashed features.

One model per language that ships one: Spanish today (``model/abuse-es.bin``). A French
model trained on MLMA lowered precision and is not shipped; a language without a model
is read by the rules alone.

The rules in ``abuse.py`` know the words and turns of phrase in the lexicons; these models
learn the *shape* of abuse at a person from labelled examples, so they also catch
templates the rules were never written for ("deberían encerrarlos a todos").
``abuse.py`` combines the two (see its docstring); the models never decide
alone against the rules' negation, quotation and counter-speech checks.

Classes: ``none``, ``swearing``, ``targeted`` (insult or harassment at a person or group)
and ``threat``. Features: each normalised word (identity-group words of the lexicon are
replaced by one token, ``<g>``, so the model learns the structure of hate, not the names of
groups) with its character 3/4-grams, word pairs, and the closed-class lexicon labels that
mark who is spoken to or about (second person, group, intent, negation, report ...), the
feeling words and the lexicon's abuse lists, and the order in which those labels occur.

Weights live in ``model/abuse-<lang>.bin`` (zlib-compressed; made by
``scripts/train_abuse.py`` from the *dev* halves of the abuse corpora and ordinary support
messages). Layout after decompression: ``b"HAB1"``, then ``K`` and ``B`` as little-endian
uint32, ``K`` float32 scales, then ``B*K`` int16 weights, bucket-major. Inference is pure
Python with a per-word cache, like the emotion model.

**A second opinion from a sentence encoder** (Spanish, since session 4). Hashed words
generalise poorly to phrasings of abuse never seen in training: cross-validated on unseen
HateCheck template families, the hashed model alone found 0.62 of the abuse at a person.
A softmax head over the multilingual sentence encoder's 512 numbers (``encoder.py``;
weights in ``model/abuse-<lang>-encoder.bin``, format in ``encoder.Head``) found 0.92.
The two are fused as ``(1 - ENCODER_WEIGHT) * log p_hashed + ENCODER_WEIGHT * log p_encoder``,
renormalised. The encoder is consulted only when the hashed model gives abuse a chance of at
least ``ENCODER_GATE``: out of fold, 0.2% of the ordinary support messages the model trains
on and 14% of Spanish film lines, so it costs the engine little. The spans still come from
the hashed model's words, so a raise always points at the words that carried it.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from itertools import pairwise

from heard.empathy import encoder
from heard.empathy.context import Context
from heard.empathy.features import BUCKETS, word_features
from heard.empathy.loading import packaged
from heard.empathy.model import int16_weights

CLASSES = ("none", "swearing", "targeted", "threat")
MAGIC = b"HAB1"
# Both chosen by cross-validation on unseen template families (scripts/train_abuse.py --cv).
ENCODER_WEIGHT = 0.7
ENCODER_GATE = 0.02
GROUP_TOKEN = "<g>"
_MASK = BUCKETS - 1
_WORD_CACHE_LIMIT = 50_000
# Closed-class lexicon labels: who is spoken to or about, and how (not abuse words).
STRUCTURE = ("second", "second_poss", "person", "group", "intent", "negation", "report", "self")
# Abuse word lists: a lexicon word is a strong hint the model may use.
LEXICAL = (
    *("swear", "insult_noun", "insult_adj", "insult_phrase", "derog", "harass"),
    *("threat_verb", "threat_phrase"),
)
# Emotion and intensity words: hate is said with feeling, praise with warmth.
FEELING = ("anger", "frustration", "sadness", "anxiety", "gratitude", "intensifier", "confusion")
USE_LEXICAL = True  # chosen by cross-validation in scripts/train_abuse.py
NEGATION_SCOPE = 4  # words after a negation that also get a negated feature (0: none)
# A slur listed as a group word is still a slur: it is masked only when no abuse list has it.
_NOT_MASKED = frozenset({"insult_noun", "insult_adj", "derog", "swear", "harass"})


def _h(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & _MASK


# One's own ("mi mujer", "my wife"): a relative, not an identity group.
POSSESSIVE = frozenset(
    {
        *("mi", "mis", "tu", "su", "sus", "nuestra", "nuestro", "vuestra", "vuestro"),
        *("my", "your", "our", "his", "mon", "ma", "mes", "ton", "ta", "sa", "notre", "votre"),
    }
)


def model_words(ctx: Context) -> list[str]:
    """The message's normalised words, identity-group words replaced by ``GROUP_TOKEN``
    (not after a possessive: "mi mujer" stays as it is)."""
    words = [t.norm for t in ctx.tokens]
    for i, labels in enumerate(ctx.covering):
        own = i > 0 and words[i - 1] in POSSESSIVE
        if "group" in labels and not labels & _NOT_MASKED and not own:
            words[i] = GROUP_TOKEN
    return words


def other_features(ctx: Context, words: list[str], lexical: bool = USE_LEXICAL) -> list[int]:
    """Buckets that are not one word's: word pairs, lexicon labels, a few flags."""
    other = [_h("ab " + a + " " + b) for a, b in pairwise(words)]
    other.append(_h("abias"))
    labels = STRUCTURE + FEELING + LEXICAL if lexical else STRUCTURE + FEELING
    for label in labels:
        if ctx.by_label.get(label):
            other.append(_h("alab " + label))
    # The order of those labels: "group ... derog", "negation ... threat_verb".
    seq = [h.label for h in ctx.hits if h.label in labels]
    other.extend(_h("aseq " + a + " " + b) for a, b in pairwise(seq))
    if NEGATION_SCOPE:
        # Words in the scope of a negation read differently: "no <g> odio" is not "odio".
        for hit in ctx.labelled("negation"):
            last = min(hit.last + NEGATION_SCOPE, len(words) - 1)
            for k in range(hit.last + 1, last + 1):
                if ctx.same_clause(hit.last, k):
                    other.append(_h("aneg " + words[k]))
    if "?" in ctx.text:
        other.append(_h("aflag question"))
    if any(t.quoted for t in ctx.tokens):
        other.append(_h("aflag quoted"))
    other.append(_h("alen " + str(min(len(words) // 4, 8))))
    return other


@dataclass(frozen=True, slots=True)
class Verdict:
    """The model's probabilities and, per class, the words that pushed most towards it."""

    probs: dict[str, float]
    # per token: its weight towards each class minus its weight towards "none"
    margins: list[tuple[float, ...]]

    def evidence(self, label: str, top: int = 2, skip: frozenset[int] = frozenset()) -> list[int]:
        """Indices of the (at most ``top``) tokens, not in ``skip``, that pushed hardest
        towards ``label``."""
        c = CLASSES.index(label)
        ranked = sorted(
            (i for i, m in enumerate(self.margins) if m[c] > 0 and i not in skip),
            key=lambda i: (-self.margins[i][c], i),
        )
        return sorted(ranked[:top])


class AbuseModel:
    """One language's weights; ``predict`` returns a ``Verdict``."""

    def __init__(self, blob: bytes, head: encoder.Head | None = None) -> None:
        self.head = head
        raw = zlib.decompress(blob)
        if raw[:4] != MAGIC:
            raise ValueError("not a heard abuse model")
        k, buckets = struct.unpack_from("<II", raw, 4)
        if k != len(CLASSES) or buckets != BUCKETS:
            raise ValueError(f"model has {k} classes and {buckets} buckets")
        self.scales = struct.unpack_from(f"<{k}f", raw, 12)
        self.weights = int16_weights(raw[12 + 4 * k :], k * buckets, "abuse")
        self._words: dict[str, tuple[int, int, int, int]] = {}

    def _sum(self, buckets: tuple[int, ...] | list[int]) -> tuple[int, int, int, int]:
        w = self.weights
        a = b = c = d = 0
        for bucket in buckets:
            base = bucket * 4
            a += w[base]
            b += w[base + 1]
            c += w[base + 2]
            d += w[base + 3]
        return a, b, c, d

    def _word(self, word: str) -> tuple[int, int, int, int]:
        cached = self._words.get(word)
        if cached is None:
            cached = self._sum(word_features(word))
            if len(self._words) < _WORD_CACHE_LIMIT:
                self._words[word] = cached
        return cached

    def predict(self, ctx: Context) -> Verdict:
        words = model_words(ctx)
        sums = list(self._sum(other_features(ctx, words)))
        scales = self.scales
        margins = []
        for word in words:
            vec = self._word(word)
            for i in range(4):
                sums[i] += vec[i]
            none = vec[0] * scales[0]
            margins.append(tuple(vec[i] * scales[i] - none for i in range(4)))
        logits = [s * scale for s, scale in zip(sums, scales, strict=True)]
        top = max(logits)
        exps = [math.exp(x - top) for x in logits]
        total = sum(exps)
        probs = [e / total for e in exps]
        if self.head is not None and probs[2] + probs[3] >= ENCODER_GATE:
            probs = encoder.fuse(probs, self.head.probs(ctx.text), ENCODER_WEIGHT)
        return Verdict(dict(zip(CLASSES, probs, strict=True)), margins)


def abuse_model(language: str) -> AbuseModel | None:
    """The shipped abuse model for ``language`` (loaded once, with its encoder head when
    one ships), or None if none ships."""
    name = f"abuse-{language}"
    return packaged(
        f"{name}.bin", lambda blob: AbuseModel(blob, encoder.shipped_head(name, len(CLASSES)))
    )

"""``heard eval empathy``: the empathy engine measured on held-out data, next to a baseline.

Data come from ``heard.corpora.corpora_dir()`` (never copied into the repository). Every
corpus is split deterministically, by a hash of the text (or of the template, for
HateCheck), so ``scripts/train_empathy.py`` and this evaluation agree on what is held out:

- emotions: XED (EN annotated, FR/ES projections, neutral lines and their FR/ES
  translations) hashed 70% train / 10% dev / 20% test; GoEmotions (EN, Ekman labels) by its
  own train/dev/test files. Only ``test`` is reported.
- abuse: Multilingual HateCheck ES and MLMA FR/EN are split in half (by template family /
  tweet hash). The "dev" half was used while writing the rules and is now also the training
  data of the abuse models (``scripts/train_abuse.py``, ``abuse_training_examples``); the
  "test" half is never trained on or looked at, and is the one reported.
- false positives: banking77 ``test.csv`` and the customer turns of ibm-twitter-customer-care
  ``test.json`` (banking77 train and IBM dev were the dev side, and are negatives in the
  abuse models' training data).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

GROUPS = ("anger", "fear", "joy", "sadness", "neutral")
# XED numeric labels: 1 anger, 2 anticipation, 3 disgust, 4 fear, 5 joy, 6 sadness,
# 7 surprise, 8 trust. Anticipation, surprise and trust have no counterpart in the Reading.
_XED = {"1": "anger", "3": "anger", "4": "fear", "5": "joy", "6": "sadness"}
_EKMAN = {"0": "anger", "1": "anger", "2": "fear", "3": "joy", "4": "neutral", "5": "sadness"}


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    source: str


def split_of(key: str) -> str:
    """Deterministic 70/10/20 train/dev/test split by SHA-1 of the normalised key."""
    digest = hashlib.sha1(key.strip().lower().encode("utf-8")).digest()
    bucket = digest[0] % 10
    return "test" if bucket < 2 else "dev" if bucket == 2 else "train"


def _corpora() -> Path:
    from heard.corpora import corpora_dir

    root = corpora_dir()
    if not (root / "xed").is_dir():
        raise FileNotFoundError(
            f"corpora not found at {root}: set HEARD_CORPORA or check out ../shared/corpora"
        )
    return root


def _single(labels: str, mapping: dict[str, str]) -> str | None:
    mapped = {mapping[x.strip()] for x in labels.split(",") if x.strip() in mapping}
    return mapped.pop() if len(mapped) == 1 else None


def _xed_neutral(root: Path, language: str) -> Iterator[str]:
    neutral = [
        line.split("\t", 1)[1].strip()
        for line in (root / "xed/neu_en.txt").read_text("utf-8").splitlines()
        if "\t" in line
    ]
    if language == "en":
        yield from neutral
        return
    wanted = set(neutral)
    seen: set[str] = set()
    for line in (root / f"xed/pairs-{language}.txt").read_text("utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 6 and parts[4].strip() in wanted and parts[5] not in seen:
            seen.add(parts[5])
            yield parts[5].strip()


def emotion_examples(language: str, split: str) -> list[Example]:
    """Single-label emotion examples (labels in ``GROUPS``) of one language and split."""
    root = _corpora()
    out: list[Example] = []
    name = "en-annotated.tsv" if language == "en" else f"{language}-projections.tsv"
    for line in (root / "xed" / name).read_text("utf-8").splitlines():
        text, _, labels = line.rpartition("\t")
        label = _single(labels, _XED)
        if text.strip() and label and split_of(text) == split:
            out.append(Example(text, label, "xed"))
    for text in _xed_neutral(root, language):
        if text and split_of(text) == split:
            out.append(Example(text, "neutral", "xed"))
    if language == "en":
        for line in (root / f"goemotions/ekman/{split}.tsv").read_text("utf-8").splitlines():
            parts = line.split("\t")
            label = _single(parts[1], _EKMAN) if len(parts) >= 2 else None
            if label:
                out.append(Example(parts[0], label, "goemotions"))
    return out


def support_neutral_examples(limit: int = 3000) -> list[Example]:
    """Ordinary support questions (banking77 *train*), as neutral training examples (EN).

    Subtitles and Reddit comments have little of the calm, factual register of support
    messages; without these the model reads "Can you tell me your opening hours?" as angry.
    """
    path = _corpora() / "banking77/Dataset/BANKING77/data/train.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        texts = sorted(
            {row["text"] for row in csv.DictReader(handle)},
            key=lambda t: hashlib.sha1(t.encode("utf-8")).digest(),
        )
    return [Example(text, "neutral", "banking77") for text in texts[:limit]]


# --- abuse and false-positive data ------------------------------------------------------

THREAT = "threat"
TARGETED = frozenset({"insult", "harassment", "threat"})


def _half(key: str) -> str:
    """Abuse corpora are never trained on: one half guided the rules, the other is reported."""
    digest = hashlib.sha1(key.encode("utf-8")).digest()
    return "dev" if digest[0] % 2 == 0 else "test"


def hatecheck_cases(split: str) -> list[tuple[str, str, str]]:
    """``(text, functionality, gold)`` with gold ``threat``, ``targeted``, ``swearing`` or ``none``.

    HateCheck marks hate speech; Heard wants abuse at a person. So ``target_indiv_nh``
    ("you are scum", not hateful for lack of a protected group) counts as an insult here, and
    ``target_group_nh`` (insults at non-protected groups) is left out.
    """
    return [(text, func, gold) for text, func, gold, _ in _hatecheck(split)]


def _hatecheck(split: str) -> list[tuple[str, str, str, str]]:
    """``(text, functionality, gold, template family)`` of one half (see ``hatecheck_cases``)."""
    path = _corpora() / "multilingual-hatecheck-es/hatecheck_cases_final_spanish.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    def family(row: dict[str, str]) -> str:
        # Variants (spelling, negation, quotes ...) point at the template they derive from:
        # keep them in the same half as that template, and inherit its threat-ness.
        ref = row["ref_templ_id"]
        return str(int(float(ref))) if ref else row["templ_id"]

    original = {row["templ_id"]: row["functionality"] for row in rows if not row["ref_templ_id"]}
    out = []
    for row in rows:
        if _half("templ" + family(row)) != split:
            continue
        func = row["functionality"]
        hateful = row["label_gold"] == "hateful"
        if func.startswith("threat_") or (
            hateful and original.get(family(row), "").startswith("threat_")
        ):
            gold = "threat"
        elif hateful:
            gold = "targeted"
        elif func == "profanity_nh":
            gold = "swearing"
        elif func == "target_indiv_nh":
            # Not hate speech (no protected group), but abuse at a person: an insult.
            gold = "targeted"
        elif func == "target_group_nh":
            continue  # insults at non-protected groups ("firefighters"): no clear gold
        else:
            gold = "none"
        out.append((row["test_case"], func, gold, "templ" + family(row)))
    return out


def mlma_tweets(language: str, split: str) -> list[tuple[str, bool, bool]]:
    """``(tweet, hostile, aimed_at_individual)`` from MLMA (``fr`` or ``en``)."""
    path = _corpora() / f"mlma/{language}_dataset.csv"
    out = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if _half(row["tweet"]) != split:
                continue
            labels = set(row["sentiment"].split("_"))
            hostile = bool(labels - {"normal"})
            out.append((row["tweet"], hostile, row["group"] == "individual"))
    return out


def ordinary_messages(split: str = "test") -> list[tuple[str, str]]:
    """``(text, source)``: banking77 and the customer turns of ibm-twitter-customer-care."""
    root = _corpora()
    out: list[tuple[str, str]] = []
    name = "test" if split == "test" else "train"
    with (root / f"banking77/Dataset/BANKING77/data/{name}.csv").open(encoding="utf-8") as f:
        out.extend((row["text"], "banking77") for row in csv.DictReader(f))
    name = "test" if split == "test" else "dev"
    for dialog in json.loads((root / f"ibm-twitter-customer-care/{name}.json").read_text("utf-8")):
        for turn in dialog["dialogContent"]:
            if "agent" not in turn and turn.get("message"):
                out.append((turn["message"], "ibm-twitter-customer-care"))
    return out


def abuse_training_examples(language: str) -> list[tuple[str, str, str, str]]:
    """``(text, label, group, source)``: training data of the abuse model of ``language``.

    Only the *dev* halves of the abuse corpora (never ``test``): Spanish HateCheck dev
    families (``es``; gold as in ``hatecheck_cases``, label ``none``, ``swearing``,
    ``targeted`` or ``threat``) or MLMA dev tweets (``fr``/``en``: ``targeted`` when hostile
    and aimed at an individual, ``hostile_group`` when hostile otherwise, ``none`` when
    normal). ``group`` keeps a HateCheck template family, or one tweet, together in
    cross-validation. Ordinary negatives (``none``, group = text) are added by the training
    script: banking77 train, IBM dev customer turns and XED train lines.
    """
    out: list[tuple[str, str, str, str]] = []
    if language == "es":
        for text, _, gold, family in _hatecheck("dev"):
            out.append((text, gold, family, "hatecheck"))
    else:
        for text, hostile, indiv in mlma_tweets(language, "dev"):
            label = ("targeted" if indiv else "hostile_group") if hostile else "none"
            out.append((text, label, "tweet " + text, "mlma"))
    return out


# --- metrics ----------------------------------------------------------------------------


def f1_per_class(gold: list[str], pred: list[str], classes: tuple[str, ...]) -> dict[str, float]:
    scores = {}
    for c in classes:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p != c)
        scores[c] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return scores


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def _pr(pairs: list[tuple[bool, bool]]) -> dict[str, float | int | None]:
    """Precision/recall from ``(gold, predicted)`` booleans."""
    tp = sum(1 for g, p in pairs if g and p)
    return {
        "precision": _ratio(tp, sum(1 for _, p in pairs if p)),
        "recall": _ratio(tp, sum(1 for g, _ in pairs if g)),
        "support": sum(1 for g, _ in pairs if g),
    }


# --- systems ----------------------------------------------------------------------------


def group_of(emotions: dict[str, float]) -> str:
    """Map the Reading's seven emotions onto the five evaluated groups."""
    scores = {
        "anger": max(emotions["anger"], emotions["frustration"]),
        "fear": emotions["anxiety"],
        "joy": emotions["gratitude"],
        "sadness": emotions["sadness"],
        "neutral": max(emotions["neutral"], emotions["confusion"]),
    }
    return max(GROUPS, key=lambda g: (scores[g], -GROUPS.index(g)))


Analyzer = Callable[[str, str], tuple[str, str]]  # (text, language) -> (group, abuse kind)


def engine(text: str, language: str) -> tuple[str, str]:
    from heard.empathy.reading import analyze

    reading = analyze(text, language=language)
    return group_of(reading.emotions), reading.abuse


def lexicon_baseline(text: str, language: str) -> tuple[str, str]:
    """Word lists only: the most frequent emotion word wins; any swear or insult word is abuse.

    No model, no negation, no target detection: what a packaged word list would give.
    """
    from heard.empathy.context import Context
    from heard.empathy.lexicon import load

    ctx = Context.build(text, load(language))
    counts = Counter(h.label for h in ctx.hits)
    groups = {
        "anger": counts["anger"] + counts["frustration"],
        "fear": counts["anxiety"],
        "joy": counts["gratitude"],
        "sadness": counts["sadness"],
    }
    best = max(groups, key=lambda g: groups[g])
    group = best if groups[best] else "neutral"
    if counts["threat_verb"] or counts["threat_phrase"]:
        kind = "threat"
    elif counts["insult_noun"] or counts["insult_adj"] or counts["insult_phrase"]:
        kind = "insult"
    elif counts["swear"]:
        kind = "swearing"
    else:
        kind = "none"
    return group, kind


# --- the evaluation ---------------------------------------------------------------------


def evaluate_emotions(system: Analyzer, split: str = "test") -> dict[str, object]:
    results: dict[str, object] = {}
    for language in ("en", "fr", "es"):
        examples = emotion_examples(language, split)
        pred = [system(e.text, language)[0] for e in examples]
        gold = [e.label for e in examples]
        per = f1_per_class(gold, pred, GROUPS)
        entry: dict[str, object] = {
            "examples": len(examples),
            "macro_f1": round(sum(per.values()) / len(GROUPS), 3),
            "anger_f1": round(per["anger"], 3),
            "f1": {k: round(v, 3) for k, v in per.items()},
        }
        sources = sorted({e.source for e in examples})
        if len(sources) > 1:
            for source in sources:
                idx = [i for i, e in enumerate(examples) if e.source == source]
                sub = f1_per_class([gold[i] for i in idx], [pred[i] for i in idx], GROUPS)
                entry[f"macro_f1_{source}"] = round(sum(sub.values()) / len(GROUPS), 3)
        results[language] = entry
    return results


def evaluate_abuse(system: Analyzer, split: str = "test") -> dict[str, object]:
    cases = hatecheck_cases(split)
    preds = [system(text, "es")[1] for text, _, _ in cases]
    by_func: dict[str, Counter[str]] = {}
    for (_, func, _), pred in zip(cases, preds, strict=True):
        by_func.setdefault(func, Counter())[pred] += 1
    golds = [gold for _, _, gold in cases]
    profanity_nh = [p for (_, f, _), p in zip(cases, preds, strict=True) if f == "profanity_nh"]
    non_hateful = [p for g, p in zip(golds, preds, strict=True) if g in ("none", "swearing")]
    hatecheck = {
        "cases": len(cases),
        "threat": _pr([(g == THREAT, p == THREAT) for g, p in zip(golds, preds, strict=True)]),
        "insult_at_person": _pr(
            [(g in ("targeted", THREAT), p in TARGETED) for g, p in zip(golds, preds, strict=True)]
        ),
        "profanity_h_recall": _ratio(
            by_func.get("profanity_h", Counter())["insult"]
            + by_func.get("profanity_h", Counter())["harassment"],
            sum(by_func.get("profanity_h", Counter()).values()),
        ),
        "profanity_nh_as_swearing": _ratio(
            sum(1 for p in profanity_nh if p == "swearing"), len(profanity_nh)
        ),
        "non_hateful_flagged": _ratio(
            sum(1 for p in non_hateful if p in TARGETED), len(non_hateful)
        ),
        "by_functionality": {f: dict(sorted(c.items())) for f, c in sorted(by_func.items())},
    }
    mlma: dict[str, object] = {}
    for language in ("fr", "en"):
        tweets = mlma_tweets(language, split)
        flagged = [system(text, language)[1] in TARGETED for text, _, _ in tweets]
        mlma[language] = {
            "tweets": len(tweets),
            "insult_at_individual": _pr(
                [
                    (hostile and indiv, f)
                    for (_, hostile, indiv), f in zip(tweets, flagged, strict=True)
                    if indiv or not hostile
                ]
            ),
            "any_hostile": _pr(
                [(hostile, f) for (_, hostile, _), f in zip(tweets, flagged, strict=True)]
            ),
        }
    ordinary = ordinary_messages(split)
    kinds = [system(text, "en")[1] for text, _ in ordinary]
    false_positives: dict[str, object] = {}
    for source in sorted({s for _, s in ordinary}):
        sub = [k for (_, s), k in zip(ordinary, kinds, strict=True) if s == source]
        false_positives[source] = {
            "messages": len(sub),
            "abuse_rate": _ratio(sum(1 for k in sub if k in TARGETED), len(sub)),
            "swearing_rate": _ratio(sum(1 for k in sub if k == "swearing"), len(sub)),
        }
    false_positives["all"] = {
        "messages": len(kinds),
        "abuse_rate": _ratio(sum(1 for k in kinds if k in TARGETED), len(kinds)),
    }
    return {"hatecheck_es": hatecheck, "mlma": mlma, "ordinary_support": false_positives}


TARGETS = {
    "emotion_macro_f1": {"en": 0.65, "fr": 0.60, "es": 0.60},
    "anger_f1": 0.65,
    "threat_recall": 0.90,
    "insult_recall": 0.80,
    "abuse_precision": 0.90,
    "false_positive_rate": 0.01,
    "profanity_nh_as_swearing": 0.80,
}


def run(split: str = "test") -> dict[str, object]:
    report: dict[str, object] = {"split": split, "targets": TARGETS}
    for name, system in (("engine", engine), ("lexicon_baseline", lexicon_baseline)):
        began = time.perf_counter()
        report[name] = {
            "emotions": evaluate_emotions(system, split),
            "abuse": evaluate_abuse(system, split),
            "seconds": 0.0,
        }
        report[name]["seconds"] = round(time.perf_counter() - began, 1)  # type: ignore[index]
    return report


def _print(report: dict[str, object]) -> None:
    print(f"heard eval empathy (split: {report['split']}; targets in docs/empathy.md)")
    for name in ("engine", "lexicon_baseline"):
        system = report[name]
        assert isinstance(system, dict)
        print(f"\n== {name} ({system['seconds']} s)")
        print("emotions (macro-F1 over anger/fear/joy/sadness/neutral):")
        for language, entry in system["emotions"].items():
            extra = "".join(f"  {k[9:]}={v}" for k, v in entry.items() if k.startswith("macro_f1_"))
            print(
                f"  {language}: macro-F1 {entry['macro_f1']}  anger-F1 {entry['anger_f1']}"
                f"  n={entry['examples']}{extra}  per-class {entry['f1']}"
            )
        abuse = system["abuse"]
        hc = abuse["hatecheck_es"]
        print(f"abuse, Spanish HateCheck ({hc['cases']} cases):")
        print(f"  threat {hc['threat']}")
        print(f"  insult/abuse at a person {hc['insult_at_person']}")
        print(
            f"  profanity_h recall {hc['profanity_h_recall']}  profanity_nh as swearing "
            f"{hc['profanity_nh_as_swearing']}  non-hateful flagged {hc['non_hateful_flagged']}"
        )
        for language, entry in abuse["mlma"].items():
            print(
                f"abuse, MLMA {language} ({entry['tweets']} tweets): insult at individual "
                f"{entry['insult_at_individual']}  any hostile {entry['any_hostile']}"
            )
        for source, entry in abuse["ordinary_support"].items():
            print(f"false positives, {source}: {entry}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="heard eval empathy", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--split",
        choices=("test", "dev"),
        default="test",
        help="held-out split to report (dev tuned the rules and trains the abuse model: "
        "its HateCheck numbers are in-sample)",
    )
    args = parser.parse_args(argv)
    report = run(args.split)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        _print(report)
    return 0

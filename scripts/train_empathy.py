"""Train the empathy engine's emotion models: ``python scripts/train_empathy.py``.

Rebuilds ``heard/empathy/model/emotion-{en,fr,es}.bin`` bit for bit from the shared corpora
(train splits only, see ``heard.evaluation.empathy.split_of``). Needs numpy (training only;
inference is pure Python). Deterministic: fixed shuffling seed, no BLAS, single thread.

Model: multinomial logistic regression over hashed word, word-pair and character 3/4-gram
features, class-balanced, trained with mini-batch Adam and L2, then quantised to int16 per
class.
"""

from __future__ import annotations

import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from heard.empathy.features import BUCKETS, message_features  # noqa: E402
from heard.empathy.model import CLASSES, MAGIC  # noqa: E402
from heard.empathy.text import tokenize  # noqa: E402
from heard.evaluation.empathy import emotion_examples, support_neutral_examples  # noqa: E402

EPOCHS = {"en": 4, "fr": 5, "es": 5}
BATCH = 256
LEARNING_RATE = 0.02
L2 = 1e-6
SEED = 20261123


def featurize(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    indptr = [0]
    indices: list[int] = []
    for text in texts:
        tokens = tokenize(text)
        per_word, other = message_features(tokens, text)
        for feats in per_word:
            indices.extend(feats)
        indices.extend(other)
        indptr.append(len(indices))
    return np.asarray(indptr, dtype=np.int64), np.asarray(indices, dtype=np.int64)


def train(language: str) -> bytes:
    examples = emotion_examples(language, "train")
    if language == "en":
        examples += support_neutral_examples()
    labels = np.asarray([CLASSES.index(e.label) for e in examples], dtype=np.int64)
    indptr, indices = featurize([e.text for e in examples])
    n, k = len(examples), len(CLASSES)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    class_weight = (n / (k * np.maximum(counts, 1.0))).astype(np.float32)
    w = np.zeros((BUCKETS, k), dtype=np.float32)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    rng = np.random.RandomState(SEED)
    step = 0
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for _ in range(EPOCHS[language]):
        order = rng.permutation(n)
        for start in range(0, n, BATCH):
            rows = order[start : start + BATCH]
            lens = indptr[rows + 1] - indptr[rows]
            idx = np.concatenate([indices[indptr[r] : indptr[r + 1]] for r in rows])
            row_of = np.repeat(np.arange(len(rows)), lens)
            logits = np.zeros((len(rows), k), dtype=np.float32)
            np.add.at(logits, row_of, w[idx])
            logits -= logits.max(axis=1, keepdims=True)
            probs = np.exp(logits)
            probs /= probs.sum(axis=1, keepdims=True)
            err = probs
            err[np.arange(len(rows)), labels[rows]] -= 1.0
            err *= class_weight[labels[rows]][:, None] / len(rows)
            grad = np.zeros_like(w)
            for c in range(k):
                grad[:, c] = np.bincount(idx, weights=err[row_of, c], minlength=BUCKETS)
            grad += L2 * w
            step += 1
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            w -= LEARNING_RATE * m_hat / (np.sqrt(v_hat) + eps)
    scales = np.maximum(np.abs(w).max(axis=0), 1e-9) / 32767.0
    quantised = np.round(w / scales).astype("<i2")
    header = MAGIC + struct.pack("<II", k, BUCKETS) + struct.pack(f"<{k}f", *scales.tolist())
    return zlib.compress(header + quantised.tobytes(), 9)


def main() -> int:
    out_dir = ROOT / "heard/empathy/model"
    out_dir.mkdir(parents=True, exist_ok=True)
    languages = sys.argv[1:] or ["en", "fr", "es"]
    for language in languages:
        began = time.perf_counter()
        blob = train(language)
        path = out_dir / f"emotion-{language}.bin"
        path.write_bytes(blob)
        print(f"{language}: {len(blob):,} bytes in {time.perf_counter() - began:.0f} s -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The training loops both empathy models share (training only).

Multinomial logistic regression over hashed sparse features (CSR ``indptr``/``indices``),
mini-batch Adam with L2, per-example weights, a fixed shuffling seed: the same inputs give
the same float32 weights bit for bit. Used by ``train_empathy.py`` (emotions) and
``train_abuse.py`` (Spanish abuse).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from heard.empathy.encoder import HEAD_MAGIC


def adam_softmax(
    indptr: np.ndarray,
    indices: np.ndarray,
    labels: np.ndarray,
    rows: np.ndarray,
    sample_weight: np.ndarray,
    *,
    classes: int,
    buckets: int,
    epochs: int,
    batch: int,
    learning_rate: float,
    l2: float,
    seed: int,
) -> np.ndarray:
    """Weights ``(buckets, classes)`` float32, trained on the examples ``rows``."""
    k = classes
    w = np.zeros((buckets, k), dtype=np.float32)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    rng = np.random.RandomState(seed)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step = 0
    for _ in range(epochs):
        order = rows[rng.permutation(len(rows))]
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            lens = indptr[chunk + 1] - indptr[chunk]
            idx = np.concatenate([indices[indptr[r] : indptr[r + 1]] for r in chunk])
            row_of = np.repeat(np.arange(len(chunk)), lens)
            logits = np.zeros((len(chunk), k), dtype=np.float32)
            np.add.at(logits, row_of, w[idx])
            logits -= logits.max(axis=1, keepdims=True)
            probs = np.exp(logits)
            probs /= probs.sum(axis=1, keepdims=True)
            err = probs
            err[np.arange(len(chunk)), labels[chunk]] -= 1.0
            err *= sample_weight[chunk][:, None] / len(chunk)
            grad = np.zeros_like(w)
            for c in range(k):
                grad[:, c] = np.bincount(idx, weights=err[row_of, c], minlength=buckets)
            grad += l2 * w
            step += 1
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            w -= learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    return w


def dense_softmax(
    features: np.ndarray,
    labels: np.ndarray,
    rows: np.ndarray,
    sample_weight: np.ndarray,
    *,
    classes: int,
    iterations: int,
    learning_rate: float,
    l2: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression over dense ``features`` (one row per example),
    full-batch Adam with L2 on the weights (not the biases), on the examples ``rows``.
    Full batch, no shuffling: the same inputs give the same float32 weights bit for bit
    (with one BLAS thread). Returns ``(weights (dims, classes), biases (classes,))``."""
    x = features[rows].astype(np.float32)
    y = labels[rows]
    sw = sample_weight[rows].astype(np.float32)[:, None] / np.float32(len(rows))
    w = np.zeros((x.shape[1], classes), dtype=np.float32)
    b = np.zeros(classes, dtype=np.float32)
    state = [(np.zeros_like(w), np.zeros_like(w)), (np.zeros_like(b), np.zeros_like(b))]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    onehot = np.eye(classes, dtype=np.float32)[y]
    for step in range(1, iterations + 1):
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        err = (probs - onehot) * sw
        grads = (x.T @ err + l2 * w, err.sum(axis=0))
        for param, grad, (m, v) in zip((w, b), grads, state, strict=True):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
            param -= learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    return w, b


def head_blob(w: np.ndarray, b: np.ndarray) -> bytes:
    """An encoder head's file (``heard.empathy.encoder.Head``)."""
    header = HEAD_MAGIC + struct.pack("<II", w.shape[1], w.shape[0])
    return zlib.compress(header + w.astype("<f4").tobytes() + b.astype("<f4").tobytes(), 9)


def head_probs(head: tuple[np.ndarray, np.ndarray], vectors: np.ndarray) -> np.ndarray:
    """An encoder head's probabilities for many vectors (one row each)."""
    logits = vectors @ head[0] + head[1]
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)

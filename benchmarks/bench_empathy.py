"""Speed of ``heard.empathy.analyze``: ``python benchmarks/bench_empathy.py``.

Measures, on one core: cold load (a fresh interpreter importing the package and reading one
message per language: language model + emotion weights + lexicons, and the abuse model with
its sentence encoder, which a hostile Spanish message wakes), throughput and latency percentiles
on ordinary support messages (banking77 test + ibm-twitter-customer-care customer turns,
plus the FR/ES golden sentences), peak resident memory, and cost against message length
(messages are read up to ``text.MAX_CHARS`` characters). The lexicon-only baseline is timed
in the same run for comparison. Targets: >= 500 messages/s, p99 <= 10 ms, load <= 2 s,
RSS <= 300 MB.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLD = """
import time
began = time.perf_counter()
from heard.empathy.reading import analyze
analyze("My card was charged twice, please refund me.", language="en")
analyze("Ma carte a été débitée deux fois.", language="fr")
analyze("Hola, ¿a qué hora abren el sábado?", language="es")  # below the encoder gate
if WITH_ENCODER:
    analyze("Deberían encerrar a los de tu calaña en una jaula.", language="es")
print(time.perf_counter() - began)
"""


def messages() -> list[tuple[str, str]]:
    from heard.evaluation.empathy import ordinary_messages

    out = [(text, "en") for text, _ in ordinary_messages("test")]
    for language in ("fr", "es"):
        table = ROOT / f"tests/empathy/golden/reading_{language}.tsv"
        for line in table.read_text("utf-8").splitlines()[3:]:
            out.append((line.split("\t")[0], language))
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    cold, cold_without = (
        [
            float(
                subprocess.run(
                    [sys.executable, "-c", f"WITH_ENCODER = {flag}\n{COLD}"],
                    cwd=ROOT, capture_output=True, text=True, check=True,
                ).stdout
            )
            for _ in range(3)
        ]
        for flag in (True, False)
    )
    from heard.empathy.reading import analyze
    from heard.evaluation.empathy import lexicon_baseline

    sample = messages()
    for text, language in sample[:200]:  # warm caches as a long-running server would be
        analyze(text, language=language)
    analyze("Deberían encerrar a los de tu calaña en una jaula.", language="es")  # the encoder
    report: dict[str, object] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "messages": len(sample),
        "cold_load_s": round(min(cold), 3),
        "cold_load_without_encoder_s": round(min(cold_without), 3),
    }
    for name, run in (
        ("engine", lambda t, lang: analyze(t, language=lang)),
        ("lexicon_baseline", lexicon_baseline),
    ):
        latencies = []
        began = time.perf_counter()
        for text, language in sample:
            start = time.perf_counter()
            run(text, language)
            latencies.append(time.perf_counter() - start)
        total = time.perf_counter() - began
        report[name] = {
            "messages_per_s": round(len(sample) / total),
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 3),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
            "max_ms": round(max(latencies) * 1000, 3),
        }
    # A Spanish inbox is the encoder's worst case: every hostile-looking message reaches it.
    from heard.empathy import encoder
    from heard.evaluation.empathy import emotion_examples

    spanish = [t for t, lang in sample if lang == "es"]
    spanish += [ex.text for ex in emotion_examples("es", "dev")]
    embed, encoded = encoder.embed, []
    encoder.embed = lambda text: encoded.append(text) or embed(text)  # type: ignore[assignment, func-returns-value]
    latencies = []
    began = time.perf_counter()
    for text in spanish:
        start = time.perf_counter()
        analyze(text, language="es")
        latencies.append(time.perf_counter() - start)
    total = time.perf_counter() - began
    encoder.embed = embed  # type: ignore[assignment]
    report["engine_spanish_lines"] = {
        "messages": len(spanish),
        "reached_encoder": len(encoded),
        "messages_per_s": round(len(spanish) / total),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
        "max_ms": round(max(latencies) * 1000, 3),
    }
    lengths = {}
    unit = "The export page fails with error 500 again, this is so annoying. "
    for size in (100, 1_000, 4_000, 40_000, 400_000):
        text = (unit * (size // len(unit) + 1))[:size]
        start = time.perf_counter()
        for _ in range(5):
            analyze(text, language="en")
        lengths[str(size)] = round((time.perf_counter() - start) / 5 * 1000, 2)
    report["ms_by_length_chars"] = lengths
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

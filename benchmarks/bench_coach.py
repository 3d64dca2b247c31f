"""Benchmark the reply coach on a 200-word draft: p99 must stay under 20 ms.

Run: ``python benchmarks/bench_coach.py [--runs 2000] [--json]``

The composer calls the coach while the agent types (debounced), so the budget is per
call. Three measures, in the same process and on the same texts:

- ``baseline``: one precompiled regex scanning the draft for a handful of phrases, the
  floor any pattern-based coach pays;
- ``review(draft, reading=...)``: the coach with the customer's Reading already known
  (what the app does: the Reading is stored with the inbound message);
- ``review(draft, customer_text=...)``: the coach also reading the customer's message.

The first call of a process loads the language model and compiles the phrasebooks
(``warm_up()``); that one-off cost is reported separately and excluded from percentiles.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from heard.empathy import analyze, review
from heard.empathy.coach import warm_up

CUSTOMER = {
    "en": "I've been waiting three weeks for my order 88412 and nobody answers. This is "
    "ridiculous, I need the camera for a wedding on Saturday!!",
    "fr": "J'attends ma commande 88412 depuis trois semaines et personne ne répond. C'est "
    "inadmissible, j'ai besoin de l'appareil pour un mariage samedi !!",
    "es": "Llevo tres semanas esperando mi pedido 88412 y nadie responde. Es ridículo, "
    "¡necesito la cámara para una boda el sábado!",
}
DRAFT = {
    "en": (
        "Hi Maria, thank you for your patience, and I'm sorry the camera for order 88412 "
        "hasn't reached you yet. I understand how stressful this is with the wedding on "
        "Saturday. I checked the tracking this morning: the parcel has been held at the "
        "regional depot since Monday because the label was damaged, which is why nobody "
        "could give you an update. Unfortunately the depot can't relabel it before next week, "
        "so I've already sent a new camera by express from our warehouse today, at no cost "
        "to you. The carrier estimates Friday; I'll watch the tracking and write to you "
        "tomorrow at noon with an update. When the first parcel arrives, you can refuse it "
        "at the door or keep it closed and send it back with the prepaid label I've attached "
        "to this email. If the express parcel isn't moving by Thursday evening, reply here "
        "and I'll arrange a pickup at our Lyon store instead, so you have the camera in "
        "time. You should have received the prepaid label already. I've also added a "
        "note to your account so that anyone on the team can see the whole story and "
        "help you straight away if you call us. Thanks again for "
        "bearing with us, and enjoy the wedding."
    ),
    "fr": (
        "Bonjour Maria, merci pour votre patience, et je suis désolée que l'appareil de la "
        "commande 88412 ne vous soit pas encore parvenu. Je comprends à quel point c'est "
        "stressant avec le mariage samedi. J'ai vérifié le suivi ce matin : le colis est "
        "bloqué au dépôt régional depuis lundi parce que l'étiquette a été abîmée, ce qui "
        "explique que personne n'ait pu vous répondre. Malheureusement, le dépôt ne peut pas "
        "le réétiqueter avant la semaine prochaine, alors je vous ai déjà envoyé un nouvel "
        "appareil en express depuis notre entrepôt aujourd'hui, sans frais. Le transporteur "
        "annonce vendredi ; je surveille le suivi et je vous écris demain à midi. Quand le "
        "premier colis arrivera, vous pourrez le refuser à la porte ou le renvoyer fermé avec "
        "l'étiquette prépayée jointe à ce message. Si le colis express ne bouge pas jeudi "
        "soir, répondez à ce message et j'organiserai un retrait dans notre magasin de Lyon, "
        "pour que vous ayez l'appareil à temps. J'ai aussi ajouté une note à votre compte, "
        "pour que toute l'équipe connaisse l'historique et puisse vous aider tout de suite "
        "si vous nous appelez, sans que vous ayez à tout réexpliquer. Si vous préférez un "
        "remboursement complet plutôt qu'un nouvel envoi, dites-le-moi et je m'en occupe. "
        "Merci encore, et très beau mariage."
    ),
    "es": (
        "Hola Maria, gracias por su paciencia, y siento que la cámara del pedido 88412 "
        "todavía no le haya llegado. Entiendo lo estresante que es con la boda el sábado. "
        "He revisado el seguimiento esta mañana: el paquete está retenido en el almacén "
        "regional desde el lunes porque la etiqueta se dañó, y por eso nadie pudo darle "
        "noticias. Lamentablemente, el almacén no puede volver a etiquetarlo antes de la "
        "semana que viene, así que ya le he enviado hoy una cámara nueva por urgente desde "
        "nuestro almacén, sin coste. El transportista estima el viernes; vigilaré el "
        "seguimiento y le escribiré mañana a mediodía. Cuando llegue el primer paquete, "
        "puede rechazarlo en la puerta o devolverlo cerrado con la etiqueta prepagada que "
        "adjunto a este correo. Si el paquete urgente no se mueve el jueves por la tarde, "
        "responda a este mensaje y organizaré la recogida en nuestra tienda de Lyon, para "
        "que tenga la cámara a tiempo. También he añadido una nota a su cuenta para que "
        "todo el equipo conozca el historial y pueda ayudarle enseguida si nos llama, sin "
        "que tenga que explicarlo todo otra vez. Si prefiere un reembolso completo en lugar "
        "de un nuevo envío, dígamelo y me encargo. Gracias de nuevo y que disfrute de la boda."
    ),
}
BASELINE = re.compile(
    r"(?<!\w)(?:sorry|unfortunately|you should have|thank(?:s| you)|let me know|désolée?"
    r"|malheureusement|merci|siento|lamentablemente|gracias)(?!\w)",
    re.IGNORECASE,
)


def _time(fn: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this thread) milliseconds per call.

    On a shared machine the wall clock also counts time spent waiting for a core; the CPU
    time is what the coach itself costs. The budget applies to the wall clock.
    """
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        start_cpu = time.thread_time_ns()
        start = time.perf_counter_ns()
        fn()
        wall.append((time.perf_counter_ns() - start) / 1e6)
        cpu.append((time.thread_time_ns() - start_cpu) / 1e6)
    return wall, cpu


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(pct(0.95), 3),
        "p99_ms": round(pct(0.99), 3),
        "max_ms": round(ordered[-1], 3),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    warm_up()
    warm_ms = (time.perf_counter() - start) * 1000

    per_language: dict[str, dict[str, Any]] = {}
    results: dict[str, Any] = {
        "machine": f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores, {platform.machine()}",
        "warm_up_ms": round(warm_ms, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "runs": args.runs,
        "languages": per_language,
    }
    worst = 0.0
    for lang, draft in DRAFT.items():
        words = len(draft.split())
        customer = CUSTOMER[lang]
        reading = analyze(customer)
        for _ in range(50):  # settle caches before measuring
            review(draft, reading=reading)
        base_wall, _ = _time(partial(BASELINE.findall, draft), args.runs)
        reading_wall, reading_cpu = _time(partial(review, draft, reading=reading), args.runs)
        text_wall, text_cpu = _time(partial(review, draft, customer_text=customer), args.runs)
        base = _summary(base_wall)
        with_reading = _summary(reading_wall)
        with_text = _summary(text_wall)
        worst = max(worst, with_reading["p99_ms"], with_text["p99_ms"])
        codes = review(draft, reading=reading).codes
        per_language[lang] = {
            "words": words,
            "codes": codes,
            "baseline_regex": base,
            "review_with_reading": with_reading,
            "review_with_customer_text": with_text,
            "cpu_review_with_reading": _summary(reading_cpu),
            "cpu_review_with_customer_text": _summary(text_cpu),
        }
    results["worst_p99_ms"] = worst
    results["budget_ms"] = 20.0
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print(
            f"{results['machine']}; load average {results['load_average_1m']}; "
            f"warm-up {results['warm_up_ms']} ms; {args.runs} runs each"
        )
        for lang, res in per_language.items():
            print(f"{lang}: {res['words']} words, codes {res['codes']}")
            for key in (
                "baseline_regex",
                "review_with_reading",
                "review_with_customer_text",
                "cpu_review_with_reading",
                "cpu_review_with_customer_text",
            ):
                s = res[key]
                print(
                    f"  {key:27} p50 {s['p50_ms']:7.3f}  p95 {s['p95_ms']:7.3f}  "
                    f"p99 {s['p99_ms']:7.3f}  max {s['max_ms']:7.3f} ms"
                )
        print(f"worst p99 {worst:.3f} ms (budget 20 ms)")
    return 0 if worst <= 20.0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Urgency (0..1) and its reasons, from cues in all three languages (``lexicons/*.tsv``).

Each reason adds its weight once (combined as independent evidence, so the score stays
below 1): money at stake, business loss, a deadline, an outage, repeated contact (said in
the text, or two earlier customer messages in ``history``), "still not fixed". Shouting
(ALL CAPS) and repeated exclamation marks raise it a little. An "again" inside a
``no_repeat`` phrase ("works again", "thanks again") is not a repeated contact, and money
just thanked for ("thanks for the refund", "merci pour le remboursement", "gracias por el
reembolso": gratitude at most three words before) is not money at stake.

A same-day phrase ("today", "ce matin", "esta mañana") beside a past-tense verb in its
clause only dates what happened ("it arrived this morning", "je l'ai reçu ce matin", "llegó
esta mañana"): it is no deadline, unless the clause asks for something or looks ahead ("I
need it today", "il me le faut ce soir", "voy a pagar esta tarde"). A phrase that opens
its sentence before a comma ("This morning, I tried ...", "Ce matin, j'ai essayé ...",
"Hoy, intenté ...") takes the clause after the comma as its own. Each language has its
table of same-day phrases, asking words and past forms (``_TENSES``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from heard.empathy.context import Context
from heard.empathy.lexicon import Hit

REASONS = {
    "money": 0.3,
    "business_loss": 0.45,
    "deadline": 0.35,
    "outage": 0.3,
    "repeated_contact": 0.3,
    "still_not_fixed": 0.35,
}


def _thanked_for(ctx: Context, i: int) -> bool:
    """ "Thanks for the refund": the money came, it is not at stake."""
    return ctx.near("gratitude", i, 3) and not ctx.negated(i)


_PAST_WINDOW = 4  # words either side of the same-day phrase, in its clause


@dataclass(frozen=True, slots=True)
class _Tenses:
    """How one language says "today" in passing ("it arrived this morning") or as a deadline.

    ``same_day`` lists the deadline phrases (joined norms) that may only date a past event;
    a clause with an ``asks`` word or phrase (a request, a need, the future) keeps them;
    ``past`` tells whether the clause's words (token indices) hold a past-tense verb.
    """

    same_day: frozenset[str]
    asks: frozenset[str]
    asks_phrases: tuple[tuple[str, ...], ...]
    past: Callable[[Context, list[int]], bool]


# English past tense: irregular forms, plus "-ed" (not "-eed": "need", "speed").
_EN_PAST = frozenset({
    "was", "were", "did", "had", "got", "came", "went", "saw", "lost", "made", "paid", "sent",
    "bought", "told", "said", "found", "took", "gave", "broke", "left", "won", "spent",
    "began", "ran", "felt", "heard", "forgot", "ate", "wrote", "rang", "fell", "happened",
})


def _en_past(ctx: Context, clause: list[int]) -> bool:
    words = [ctx.tokens[j].norm for j in clause]
    return any(
        w in _EN_PAST or (len(w) > 4 and w.endswith("ed") and not w.endswith("eed"))
        for w in words
    )


def _after(ctx: Context, i: int, count: int) -> list[int]:
    """Up to ``count`` tokens after ``i`` in its clause (past the window: an auxiliary near
    the same-day phrase may have its participle further on)."""
    return [j for j in range(i + 1, min(len(ctx.tokens), i + count + 1)) if ctx.same_clause(i, j)]


def _compound(
    ctx: Context, clause: list[int], participle: Callable[[Context, int], int | None]
) -> bool:
    """An auxiliary and its participle (``participle`` finds it), either of them in the
    window ("avez-vous reçu mon paiement ce matin": the auxiliary is five words before)."""
    first = clause[0]
    before = [j for j in range(max(0, first - 4), first) if ctx.same_clause(j, first)]
    for j in before + clause:
        found = participle(ctx, j)
        if found is not None and found >= first:
            return True
    return False


def _raw(ctx: Context, j: int) -> str:
    token = ctx.tokens[j]
    return ctx.text[token.start : token.end].lower()


# French passé composé: an avoir auxiliary ("à" is no auxiliary) then, past a few adverbs or
# an inverted pronoun ("n'ai toujours pas reçu", "avez-vous reçu"), a past participle.
_FR_AVOIR = frozenset({"ai", "as", "a", "avons", "avez", "ont"})
# Être is an auxiliary for motion and change ("il est arrivé"), or after a reflexive pronoun
# ("ça s'est bloqué"); otherwise "est" + participle is a present state ("l'écran est fissuré").
_FR_ETRE = frozenset({"suis", "es", "est", "sommes", "etes", "sont"})
_FR_REFLEXIVE = frozenset({"me", "m", "te", "se", "s"})
# What comes before an "a" that is surely "avoir" ("il a", "on m'a", "ça a").
_FR_A_SUBJECT = frozenset({"il", "elle", "on", "ca", "qui", "y", "m", "t", "l", "n", "vous"})
_FR_MOTION = frozenset({
    "arrive", "arrivee", "arrives", "arrivees", "tombe", "tombee", "tombes", "tombees",
    "parti", "partie", "partis", "parties", "venu", "venue", "venus", "venues", "devenu",
    "devenue", "revenu", "revenue", "passe", "passee", "passes", "passees", "reste", "restee",
    "entre", "entree", "rentre", "rentree", "sorti", "sortie", "sortis", "monte", "montee",
    "descendu", "descendue", "retourne", "retournee", "parvenu", "parvenue", "mort", "morte",
})
_FR_BETWEEN = frozenset({
    "pas", "jamais", "deja", "toujours", "bien", "encore", "rien", "meme", "enfin", "plus",
    "tout", "vraiment", "aussi", "juste", "seulement", "mal", "trop", "beaucoup", "souvent",
    "presque", "t", "je", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles",
})
_FR_IRREGULAR = frozenset({
    "recu", "recue", "recus", "recues", "eu", "eue", "fait", "faite", "faits", "pris", "prise",
    "mis", "mise", "dit", "dite", "vu", "vue", "vus", "ete", "venu", "pu", "su", "lu", "bu",
    "voulu", "fini", "finie", "finis", "cru", "ecrit", "ecrite", "ouvert", "ouverte", "offert",
    "souffert", "couvert", "mort",
    "eteint", "peint", "craint", "joint", "rejoint", "compris", "appris", "surpris", "promis",
    "permis", "remis", "transmis", "soumis", "inscrit", "decrit", "conduit", "produit",
    "detruit", "construit", "traduit", "reduit",
})
# Words after an auxiliary that end like a participle but are not one ("à côté", "à cause").
_FR_NOT_PARTICIPLE = frozenset({
    "plus", "tous", "nous", "vous", "lui", "qui", "aussi", "ici", "parmi", "sous", "si", "ni",
    "tu", "du", "cote", "cause", "chaque", "cette", "votre", "notre", "autre", "comme", "encore",
    "quelque", "toute", "toutes", "meme", "elle", "elles", "celle", "celles", "presque", "juste",
    "personne", "rendez", "acces", "apres", "tres", "envie", "honte", "confiance", "peine",
    "quelques", "quelle", "quelles", "moitie", "proximite", "volonte", "tendance", "petit",
    "credit", "minuit", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dessus",
})
# Imparfait ("-ais", "-ait", "-aient"). "-rais"/"-rait" is mostly the conditional ("je
# voudrais", "il faudrait", "il aimerait"), which asks rather than tells; "-érait",
# "-urait" (not "aurait"), "-orait", "-arait" (not "paraît") and these are imparfaits.
_FR_IMPARFAIT_R = frozenset({
    "demarrait", "demarraient", "entrait", "rentrait", "montrait", "rencontrait", "ouvrait",
    "livrait", "couvrait", "souffrait", "tirait", "attirait",
})
_FR_NOT_IMPARFAIT = frozenset({
    "jamais", "desormais", "mauvais", "francais", "anglais", "japonais", "portugais",
    "irlandais", "ecossais", "hollandais", "polonais", "libanais", "senegalais", "congolais",
    "marseillais", "lyonnais", "frais", "delais", "relais", "palais", "marais", "rabais",
    "essais", "balais", "biais", "niais", "epais", "parfait", "imparfait", "satisfait",
    "insatisfait", "souhait", "forfait", "bienfait", "extrait", "portrait", "retrait",
    "attrait", "abstrait", "distrait", "contrefait", "surfait", "vrais", "engrais",
    # present tense of "connaître", "plaire", "taire", "faire" written without "î"
    "connais", "connait", "reconnais", "reconnait", "plais", "plait", "deplait", "tais",
    "tait", "refais", "refait", "defait",
})
_FR_PAST_WORDS = frozenset({"etions", "etiez"})


def _fr_participle(ctx: Context, j: int, unaccented: bool) -> bool:
    token = ctx.tokens[j]
    word = token.norm
    if word in _FR_NOT_PARTICIPLE or (word == "du" and _raw(ctx, j) != "dû"):
        return False
    if ctx.text[token.start].isupper() and not token.caps:  # a name: "à Paris"
        return False
    if word in _FR_IRREGULAR or word == "du":
        return True
    raw = _raw(ctx, j)
    if raw.endswith(("é", "ée", "és", "ées")):
        return True
    if len(word) < 5:
        return False
    # A participle in -i/-u/-it; or typed without accents ("j'ai essaye"), but not after an
    # "a" that may be an unaccented "à" ("a peine", "a gauche") nor an infinitive ("prendre").
    if word.endswith(("i", "is", "u", "us", "ue", "ues", "it")):
        return True
    return (
        unaccented
        and word.endswith(("e", "ee", "es", "ees"))
        and not word.endswith(("dre", "tre", "ire", "vre"))
    )


def _fr_compound(ctx: Context, i: int) -> int | None:
    """The past participle after token ``i``, if ``i`` is an auxiliary."""
    word = ctx.tokens[i].norm
    avoir = word in _FR_AVOIR and _raw(ctx, i) != "à"
    if not avoir and word not in _FR_ETRE:
        return None
    before = ctx.tokens[i - 1].norm if i > 0 and ctx.same_clause(i - 1, i) else ""
    reflexive = word in _FR_ETRE and before in _FR_REFLEXIVE
    unaccented = word != "a" or before in _FR_A_SUBJECT
    for j in _after(ctx, i, 4):
        if ctx.tokens[j].norm in _FR_BETWEEN:
            continue
        if avoir or reflexive:
            return j if _fr_participle(ctx, j, unaccented) else None
        # "entre" without its accent is the preposition: "est entre 14h et 16h".
        motion = ctx.tokens[j].norm in _FR_MOTION and _raw(ctx, j) not in ("entre", "entres")
        return j if motion else None
    return None


def _fr_past(ctx: Context, clause: list[int]) -> bool:
    if _compound(ctx, clause, _fr_compound):
        return True
    for j in clause:
        word = ctx.tokens[j].norm
        if word in _FR_PAST_WORDS:
            return True
        if _fr_imparfait(word, _raw(ctx, j)):
            return True
    return False


def _fr_imparfait(word: str, raw: str) -> bool:
    if len(word) <= 4 or not word.endswith(("ais", "ait", "aient")):
        return False
    if word in _FR_NOT_IMPARFAIT or "î" in raw:  # "il connaît", "ça me plaît": the present
        return False
    if not word.endswith(("rais", "rait", "raient")) or word in _FR_IMPARFAIT_R:
        return True
    stem = word[: -len("aient")] if word.endswith("aient") else word[:-3]  # ends in "r"
    if raw.endswith(("érais", "érait", "éraient")):
        return True
    return (
        stem.endswith(("ur", "or", "ar"))
        and not stem.endswith("aur")
        and word not in ("parait", "parais", "apparait", "apparais", "disparait", "disparais")
    )


# Spanish pretérito perfecto: a form of "haber" then a participle ("he intentado").
_ES_HABER = frozenset({"he", "has", "ha", "hemos", "habeis", "han"})
_ES_BETWEEN = frozenset({"ya", "siempre", "nunca", "todavia", "tambien", "jamas"})
_ES_PARTICIPLE_IRREGULAR = frozenset({
    "hecho", "dicho", "visto", "puesto", "roto", "vuelto", "escrito", "abierto", "muerto",
    "cubierto", "resuelto", "devuelto", "frito", "impreso", "satisfecho", "descubierto",
    "deshecho", "revuelto", "repuesto", "propuesto", "compuesto", "envuelto",
})
# Pretérito indefinido and imperfecto without an accent to tell them ("fue", "hizo",
# "tenia"), and common "-ió" forms typed without their accent ("rompio", "recibio").
_ES_PAST_WORDS = frozenset({
    "fue", "fui", "fuimos", "fueron", "fuiste", "hizo", "hice", "hicieron", "hicimos",
    "tuve", "tuvo", "tuvimos", "tuvieron", "dijo", "dije", "dijeron", "pude", "pudo",
    "pudieron", "vino", "vine", "vinieron", "puse", "puso", "pusieron", "quise", "quiso",
    "supe", "supo", "dio", "dieron", "vio", "vieron", "trajo", "trajeron", "estuve", "estuvo",
    "estuvieron", "hubo", "era", "eran", "eramos", "iba", "iban", "ibamos", "habia", "habian",
    "tenia", "tenian", "podia", "podian", "decia", "salia", "parecia", "aparecia",
    "rompio", "recibio", "salio", "pidio", "sucedio", "ocurrio", "aparecio", "desaparecio",
    "volvio", "perdio", "devolvio", "respondio", "funciono", "llego", "pago", "cobro",
})
# "llego", "pago", "cobro" without accent are also the present ("I arrive") or nouns ("el
# pago", "el cobro"): only their accented forms are past.
_ES_ACCENT_NEEDED = frozenset({"llego", "pago", "cobro", "funciono"})
# Nouns and adverbs ending in "-ía" like the imperfect ("la batería", "todavía").
_ES_NOT_IMPERFECT = frozenset({
    "dia", "dias", "tia", "tias", "via", "vias", "guia", "guias", "garantia", "garantias",
    "compania", "companias", "policia", "todavia", "tecnologia", "tecnologias", "energia",
    "economia", "cortesia", "alegria", "geografia", "fotografia", "biologia", "filosofia",
    "ortografia", "sandia", "mercancia", "mercancias", "travesia", "cuantia", "lejania",
    "cercania", "melodia", "hacia", "cafeteria", "mensajeria", "averia", "averias",
})
# Present tense of "acabar", "grabar" (not the imperfect): "la oferta se acaba hoy".
_ES_NOT_ABA = frozenset({"acaba", "acabas", "acaban", "graba", "grabas", "graban", "haba"})
_ES_IMPERFECT_R = frozenset({"queria", "ocurria", "abria", "corria", "sufria"})
_ES_NOT_PRETERITE = frozenset({
    "que", "se", "te", "fe", "cafe", "bebe", "pure", "comite", "carne", "chale", "porque",
    "triste", "chiste", "existe", "insiste", "consiste", "resiste", "asiste", "persiste",
    "contraste", "desgaste",
})


def _es_participle(word: str) -> bool:
    return word in _ES_PARTICIPLE_IRREGULAR or (
        len(word) > 4 and word.endswith(("ado", "ido"))
    )


def _es_perfect(ctx: Context, i: int) -> int | None:
    """The participle after token ``i``, if ``i`` is a form of "haber"."""
    if ctx.tokens[i].norm not in _ES_HABER:
        return None
    for j in _after(ctx, i, 2):
        if ctx.tokens[j].norm not in _ES_BETWEEN:
            return j if _es_participle(ctx.tokens[j].norm) else None
    return None


def _es_past(ctx: Context, clause: list[int]) -> bool:
    if _compound(ctx, clause, _es_perfect):
        return True
    for j in clause:
        word, raw = ctx.tokens[j].norm, _raw(ctx, j)
        if word in _ES_NOT_PRETERITE:
            continue
        if word in _ES_PAST_WORDS and (word not in _ES_ACCENT_NEEDED or raw.endswith("ó")):
            return True
        if len(word) < 4:
            continue
        # Indefinido: "-é" (not the future "-aré", "-eré", "-iré", "-dré"), "-ó", "-í",
        # "-aste", "-iste", "-aron", "-ieron"; imperfecto: "-aba", "-ía" (not the conditional
        # "-ría").
        if raw.endswith("é") and not raw.endswith(("aré", "eré", "iré", "dré", "bré")):
            return True
        if raw.endswith("ó") or word.endswith(("aste", "iste", "aron", "ieron", "jeron")):
            return True
        if raw.endswith("í") and word not in ("aqui", "alli", "asi"):  # "recibí", "perdí"
            return True
        if word.endswith(("aba", "abas", "aban", "abamos")) and word not in _ES_NOT_ABA:
            return True
        if (
            raw.endswith(("ía", "ías", "ían", "íamos"))
            and len(word) > 4
            and word not in _ES_NOT_IMPERFECT
            and (not word.endswith(("ria", "rias", "rian", "riamos")) or word in _ES_IMPERFECT_R)
        ):
            return True
    return False


_TENSES = {
    "en": _Tenses(
        same_day=frozenset({"today", "this morning", "this afternoon", "this evening"}),
        # A clause that asks for something keeps its deadline: "I need this fixed today".
        asks=frozenset({
            "need", "needs", "want", "must", "please", "asap", "until", "require", "required",
            "expect", "expecting", "will", "going", "gonna", "should", "urgent", "urgently",
        }),
        asks_phrases=(),
        past=_en_past,
    ),
    "fr": _Tenses(
        same_day=frozenset({"aujourd hui", "ce matin", "cet apres midi", "ce soir"}),
        asks=frozenset({
            "besoin", "faut", "faudrait", "faudra", "dois", "doit", "doivent", "devez", "devons",
            "devrait", "devriez", "svp", "stp", "urgent", "urgente", "urgence", "avant",
            "attends", "attend", "attendons", "veux", "voudrais", "voudrions", "voulons",
            "souhaite", "souhaiterais", "souhaitons", "exige", "pouvez", "pourriez",
            # the future: "aller" + infinitive, "sera", "aura"
            "vais", "vas", "va", "allons", "allez", "vont", "sera", "aura", "seront", "auront",
        }),
        asks_phrases=(
            ("merci", "de"), ("merci", "d"), ("s", "il", "vous", "plait"),
            ("s", "il", "te", "plait"), ("voulais", "savoir"), ("voulais", "vous"),
        ),
        past=_fr_past,
    ),
    "es": _Tenses(
        same_day=frozenset({"hoy", "esta manana", "esta tarde", "esta noche"}),
        asks=frozenset({
            "necesito", "necesita", "necesitamos", "necesitan", "porfa", "porfavor",
            "urgente", "urgentemente", "urgencia", "espero", "esperamos", "quiero", "queremos",
            "queria", "quisiera", "gustaria", "debe", "deben", "debo", "deberia", "pueden",
            "podria", "podrian", "podeis",
            # the future without its accent ("sera", "llegara")
            "ira", "iran", "sera", "seran", "estara", "estaran", "llegara", "llegaran", "habra",
            "tendra", "podra", "hara",
        }),
        asks_phrases=(
            ("tiene", "que"), ("tienen", "que"), ("tengo", "que"), ("tenemos", "que"),
            ("hay", "que"), ("hace", "falta"), ("por", "favor"), ("antes", "de"),
            ("va", "a"), ("vas", "a"), ("voy", "a"), ("vamos", "a"), ("van", "a"),
        ),
        past=_es_past,
    ),
}
# What follows "before" when it sets a deadline: a day or time, or "the/my/our" and an event.
_BEFORE_WHEN = frozenset({
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "tomorrow",
    "tonight", "noon", "midnight", "christmas", "lunch", "eod", "cob", "then",
})
_BEFORE_EVENT = frozenset({
    "weekend", "end", "meeting", "deadline", "demo", "launch", "flight", "wedding", "trip",
    "holiday", "holidays", "event", "interview", "exam", "presentation", "appointment",
    "funeral", "party", "move", "closing", "release", "audit", "payroll", "week", "month",
})


def _phrase(ctx: Context, hit: Hit) -> str:
    return " ".join(ctx.tokens[k].norm for k in range(hit.first, hit.last + 1))


def _future(language: str, raw: str) -> bool:
    """A Spanish or French future with its accent or ending: "llegará", "arrivera"."""
    if language == "es":
        return raw.endswith(("rá", "rán", "rás", "aré", "eré", "iré", "remos"))
    if language == "fr":
        return len(raw) > 4 and raw.endswith(("rai", "ras", "ra", "rons", "rez", "ront"))
    return False


def _asks(ctx: Context, tenses: _Tenses, clause: list[int]) -> bool:
    words = [ctx.tokens[j].norm for j in clause]
    if any(w in tenses.asks for w in words):
        return True
    if any(_future(ctx.language, _raw(ctx, j)) for j in clause):
        return True
    return any(
        tuple(words[k : k + len(phrase)]) == phrase
        for phrase in tenses.asks_phrases
        for k in range(len(words))
    )


def _fronted(ctx: Context, hit: Hit) -> int | None:
    """The first word after the comma when ``hit`` opens its sentence and a comma follows
    it ("This morning, I tried ...", "Ce matin, j'ai ...", "Hoy, intenté ..."), else None."""
    tokens = ctx.tokens
    first, nxt = hit.first, hit.last + 1
    sentence = tokens[first].sentence
    if first > 0 and tokens[first - 1].sentence == sentence:
        return None
    if nxt >= len(tokens) or tokens[nxt].sentence != sentence:
        return None
    if ctx.text[tokens[hit.last].end : tokens[nxt].start].strip() != ",":
        return None
    return nxt


def _past_mention(ctx: Context, hit: Hit) -> bool:
    """A same-day phrase ("today", "ce matin", "esta mañana") beside a past-tense verb, in
    a clause asking nothing (no need, request or future)."""
    tenses = _TENSES.get(ctx.language)
    if tenses is None or _phrase(ctx, hit) not in tenses.same_day:
        return False
    tokens = ctx.tokens
    lo, hi = max(0, hit.first - _PAST_WINDOW), min(len(tokens), hit.last + _PAST_WINDOW + 1)
    clause = [j for j in range(lo, hi) if ctx.same_clause(min(j, hit.first), max(j, hit.first))]
    fronted = _fronted(ctx, hit)
    if fronted is not None:
        # "This morning, I tried ...": the clause after the comma is the phrase's own.
        clause += [j for j in range(fronted, hi) if ctx.same_clause(fronted, j)]
    if _asks(ctx, tenses, clause):
        return False
    return tenses.past(ctx, clause)


def _before_nothing(ctx: Context, hit: Hit) -> bool:
    """English "before" not followed by a time: "before that", "it worked before"."""
    if ctx.language != "en" or _phrase(ctx, hit) != "before":
        return False
    nxt = hit.last + 1
    if nxt >= len(ctx.tokens) or not ctx.same_clause(hit.last, nxt):
        return True
    word = ctx.tokens[nxt].norm
    if word in _BEFORE_WHEN or ctx.text[ctx.tokens[nxt].start].isdigit():
        return False
    after = nxt + 1
    return not (
        word in ("the", "my", "our", "next", "this")
        and after < len(ctx.tokens)
        and ctx.tokens[after].norm in _BEFORE_EVENT
    )


def _cues(ctx: Context, name: str) -> bool:
    hits = ctx.labelled(name)
    if name == "repeated_contact":
        # "works again", "thanks again", "funciona de nuevo" say nothing about contacting us.
        hits = [h for h in hits if "no_repeat" not in ctx.covering[h.first]]
    elif name == "money":
        hits = [h for h in hits if not _thanked_for(ctx, h.first)]
    elif name == "deadline":
        # A past "esta mañana" also drops the "mañana" (tomorrow) inside it.
        past = [h for h in hits if _past_mention(ctx, h)]
        hits = [
            h
            for h in hits
            if not any(p.first <= h.first and h.last <= p.last for p in past)
            and not _before_nothing(ctx, h)
        ]
    return bool(hits)


def assess(ctx: Context, history_count: int) -> tuple[float, list[str]]:
    reasons = [name for name in REASONS if _cues(ctx, name)]
    if history_count >= 2 and "repeated_contact" not in reasons:
        reasons.append("repeated_contact")
        reasons.sort(key=list(REASONS).index)
    calm = 1.0
    for name in reasons:
        calm *= 1.0 - REASONS[name]
    if sum(1 for t in ctx.tokens if t.caps) >= 2:
        calm *= 0.9
    if ctx.text.count("!") >= 2:
        calm *= 0.9
    return round(1.0 - calm, 3), reasons

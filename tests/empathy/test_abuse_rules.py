"""Rules of ``heard/empathy/abuse.py`` checked one at a time, on the rules alone (no model)."""

from __future__ import annotations

import pytest

from heard.empathy import abuse
from heard.empathy.context import Context
from heard.empathy.lexicon import _conjugated, load


def _rules(text: str, language: str) -> str:
    return abuse.rules(Context.build(text, load(language)))[0]


@pytest.mark.parametrize(
    ("text", "language", "kind"),
    [
        # an intensifier before a thing is swearing; before a person, or said to one, it insults
        ("Este puto programa no abre.", "es", "swearing"),
        ("La puta impresora se ha vuelto a atascar.", "es", "swearing"),
        ("El concierto fue de puta madre.", "es", "swearing"),
        ("Eres un puto inútil.", "es", "insult"),
        # insults at oneself, the copula after, and an insult shouted at a situation
        ("Qué pendejo soy, dejé las llaves dentro.", "es", "swearing"),
        ("Pendejo de mí, borré el correo.", "es", "swearing"),
        ("¡Hijo de puta, qué golpe me he dado!", "es", "swearing"),
        ("Hijo de puta, me habéis cobrado dos veces.", "es", "insult"),
        ("Quel con je suis.", "fr", "swearing"),
        ("What an idiot I am.", "en", "swearing"),
        ("What an idiot he was to the driver.", "en", "insult"),
        # "leche" alone is milk
        ("La leche llegó caducada.", "es", "none"),
        # threats: one's own death, described violence, reported calls for it
        ("Prefiero morir antes que volver a llamar.", "es", "none"),
        ("Prefiero matarte antes que pagar.", "es", "threat"),
        ("Decir que matarías a un cliente tiene que tener consecuencias.", "es", "none"),
        # a violent verb glued to the word before it; an exhortation with its object glued on
        ("Alguien debería simplementeapuñalar a esos clientes.", "es", "threat"),
        ("Hay que rematar el pedido hoy.", "es", "none"),
        ("Esos gitanos no van a cambiar. Ahorquémoslos.", "es", "threat"),
        ("Cortémoslo aquí y seguimos mañana.", "es", "none"),
        # French: nationality, verb, vocative, impersonal, a negation of another clause
        ("Un proverbe mongol dit que le vent porte les nouvelles.", "fr", "none"),
        ("Tu t'es attardé sur les détails.", "fr", "none"),
        ("J'ai pas dit ça, espèce de gros mongol.", "fr", "insult"),
        ("Faut être attardé pour faire un formulaire pareil.", "fr", "insult"),
        ("Je sais pas, vous êtes des incapables ?", "fr", "insult"),
        ("Je ne dis pas que vous êtes nuls.", "fr", "none"),
        ("Merci gros, ça marche.", "fr", "none"),
        # being taken for a fool is a complaint
        ("Vous me prenez pour un con ?", "fr", "none"),
        ("¿Me tomáis por idiota?", "es", "none"),
        ("Do you take me for an idiot?", "en", "none"),
    ],
)
def test_rule(text: str, language: str, kind: str) -> None:
    assert _rules(text, language) == kind


def test_spanish_subjunctive_spelling_and_glued_objects() -> None:
    forms = {p[0] for p in _conjugated("es", "threat_verb", ("atacar*",))}
    assert {"ataquemos*", "ataquen", "atacamos*"} <= forms
    assert {p[0] for p in _conjugated("es", "threat_verb", ("cazar*",))} >= {"cacemos*", "cacen"}
    assert _conjugated("es", "swear", ("joder*",)) == []

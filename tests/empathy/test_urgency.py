"""``heard.empathy.urgency``: a same-day phrase beside a past verb is no deadline.

"It arrived this morning" says when something happened; "I need it this morning" sets a
deadline. The golden tables hold whole sentences; these cases pin the verb forms of each
language (French passé composé and imparfait, Spanish indefinido, perfecto and imperfecto)
and the look-alikes that must not count as past (a present state, the conditional, nouns).
"""

from __future__ import annotations

import pytest

from heard.empathy import analyze

PAST = [
    # English (unchanged)
    ("It arrived this morning and the screen is cracked.", "en"),
    ("So I was playing today and the game froze.", "en"),
    # French: avoir + participle, with or without accents, adverbs or an inverted pronoun
    ("Je l'ai reçu ce matin et l'écran est fissuré.", "fr"),
    ("Ce matin j'ai essayé de me connecter.", "fr"),
    ("ce matin j'ai essaye de me connecter", "fr"),
    ("On m'a facturé deux fois aujourd'hui.", "fr"),
    ("on m'a facture deux fois aujourd'hui", "fr"),
    ("Ce matin je n'ai toujours pas reçu le code.", "fr"),
    ("Avez-vous reçu mon paiement ce matin ?", "fr"),
    ("Il y a eu une coupure cet après-midi.", "fr"),
    ("Le livreur a disparu ce soir avec mon colis.", "fr"),
    # French: être + a motion verb, a reflexive verb, the imparfait
    ("Le colis est arrivé ce matin.", "fr"),
    ("Je me suis connecté ce matin.", "fr"),
    ("Cet après-midi le site était en panne.", "fr"),
    ("Ce matin l'écran ne démarrait pas.", "fr"),
    ("Ça figurait au rapport ce matin.", "fr"),
    # Spanish: indefinido (accented or irregular), perfecto, imperfecto
    ("Llegó esta mañana y la pantalla está rota.", "es"),
    ("Hoy pagué la factura pero no aparece.", "es"),
    ("Esta mañana me cobraron dos veces.", "es"),
    ("Esta mañana recibí el pedido.", "es"),
    ("Se hizo dos veces hoy.", "es"),
    ("Hoy he intentado pagar y no funciona.", "es"),
    ("Lo he leído esta mañana en el informe.", "es"),
    ("Hoy ya han roto la caja otra vez.", "es"),
    ("Esta mañana no funcionaba la aplicación.", "es"),
    ("Hoy no podia entrar en la cuenta.", "es"),
    # A fronted phrase before a comma: the clause after the comma is its own
    ("This morning, my card was declined at the checkout.", "en"),
    ("Today, I received the wrong size.", "en"),
    ("this afternoon, the courier left my parcel outside", "en"),
    ("Aujourd'hui, j'ai reçu un colis abîmé.", "fr"),
    ("Ce soir, la connexion coupait sans arrêt.", "fr"),
    ("Cet après-midi, le technicien est passé sans prévenir.", "fr"),
    ("Esta mañana, el repartidor dejó el paquete en la calle.", "es"),
    ("Hoy, he recibido una factura duplicada.", "es"),
    ("Esta tarde, la aplicación no cargaba.", "es"),
]

DEADLINE = [
    # English (unchanged)
    ("I need this replaced today, the screen arrived cracked.", "en"),
    # French: need, request, the future, the conditional; a present state
    ("Il me le faut ce soir.", "fr"),
    ("J'ai besoin de ce colis aujourd'hui.", "fr"),
    ("Merci de me rappeler cet après-midi.", "fr"),
    ("Vous pouvez le livrer ce soir s'il vous plaît ?", "fr"),
    ("Je voudrais être livré aujourd'hui.", "fr"),
    ("Je vais passer le chercher ce soir.", "fr"),
    ("Le colis sera livré aujourd'hui ?", "fr"),
    ("Le technicien arrivera ce soir ?", "fr"),
    ("L'écran est fissuré aujourd'hui.", "fr"),
    ("La livraison est entre 14h et 16h ce soir.", "fr"),
    ("Je rentre a Paris ce soir.", "fr"),
    ("J'ai une réunion ce soir à ne pas rater.", "fr"),
    ("J'ai envie de régler ça ce soir.", "fr"),
    # Spanish: need, request, the future, the conditional; present forms and nouns
    ("Necesito que llegue esta noche.", "es"),
    ("¿Pueden enviarlo hoy?", "es"),
    ("Por favor, hoy mismo.", "es"),
    ("Voy a pagar esta tarde.", "es"),
    ("Lo pagaré hoy.", "es"),
    ("Me gustaría recibirlo hoy.", "es"),
    ("Hoy tienen que cambiarme el router.", "es"),
    ("La oferta se acaba hoy.", "es"),
    ("Hoy la batería no carga.", "es"),
    ("El pago vence hoy.", "es"),
    ("Mañana llega el técnico.", "es"),
    # A fronted phrase before a comma whose clause asks (beside a past verb), or tells the
    # present or the future
    ("Today, I need the parcel I ordered last week.", "en"),
    ("Today, please send me the replacement.", "en"),
    ("Today, my flight leaves at six.", "en"),
    ("This evening, we will launch the new shop.", "en"),
    ("Aujourd'hui, je voudrais le colis que j'ai commandé.", "fr"),
    ("Ce soir, il me faut le câble que j'ai payé.", "fr"),
    ("Ce soir, je pars en vacances.", "fr"),
    ("Ce matin, le livreur passera ?", "fr"),
    ("Hoy, necesito el paquete que pedí el lunes.", "es"),
    ("Esta tarde, por favor, llámenme.", "es"),
    ("Esta noche, viajo a Madrid.", "es"),
    ("Hoy, cierra la oferta.", "es"),
]


@pytest.mark.parametrize(("text", "language"), PAST)
def test_past_same_day_is_no_deadline(text: str, language: str) -> None:
    assert "deadline" not in analyze(text, language=language).urgency_reasons


@pytest.mark.parametrize(("text", "language"), DEADLINE)
def test_asked_or_present_same_day_keeps_its_deadline(text: str, language: str) -> None:
    assert "deadline" in analyze(text, language=language).urgency_reasons


def test_other_reasons_stay() -> None:
    reading = analyze("Llegó esta mañana y la pantalla está rota.", language="es")
    assert reading.urgency_reasons == ["outage"]
    reading = analyze("Ça s'est bloqué ce matin en pleine réunion.", language="fr")
    assert reading.urgency_reasons == ["outage"]


def test_a_past_in_another_clause_does_not_count() -> None:
    # The comma ends the clause that asks; the past verb after it dates something else.
    text = "Il me le faut ce soir, j'ai déjà payé la livraison express."
    assert "deadline" in analyze(text, language="fr").urgency_reasons
    text = "¿Me lo pueden enviar esta tarde? Ya lo he pagado."
    assert "deadline" in analyze(text, language="es").urgency_reasons


def test_only_a_phrase_opening_its_sentence_borrows_the_next_clause() -> None:
    # "Hoy," opens the second sentence: the clause after its comma is its own.
    text = "Buenos días. Hoy, intenté pagar con la tarjeta."
    assert "deadline" not in analyze(text, language="es").urgency_reasons
    # "ce matin" is not first in its sentence: its clause still ends at the comma.
    text = "Il me le faut ce matin, j'ai déjà payé la livraison express."
    assert "deadline" in analyze(text, language="fr").urgency_reasons
    # The comma must follow the phrase directly.
    text = "This morning at the latest, I paid for express delivery."
    assert "deadline" in analyze(text, language="en").urgency_reasons

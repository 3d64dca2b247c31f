"""Vague or detailed: did the customer say precisely what went wrong?

A message is *detailed* with two or more specifics, or one specific in a long message.
Specifics: a number (order, amount, date, version), a quoted error message, a sequence of
steps ("when I …, then …"), a named device or platform, a time reference. Vague messages
("it doesn't work") need step-by-step questions in the reply.
"""

from __future__ import annotations

import re

from heard.empathy.context import Context

_STEPS = frozenset(
    [
        "when",
        "after",
        "then",
        "first",
        "next",
        "once",
        "clicked",
        "tapped",
        "quand",
        "apres",
        "puis",
        "ensuite",
        "lorsque",
        "cuando",
        "despues",
        "luego",
        "primero",
    ]
)
_THINGS = frozenset(
    [
        "iphone",
        "ipad",
        "android",
        "windows",
        "mac",
        "macos",
        "ios",
        "chrome",
        "firefox",
        "safari",
        "app",
        "version",
        "browser",
        "email",
        "invoice",
        "order",
        "commande",
        "pedido",
        "facture",
        "factura",
        "card",
        "carte",
        "tarjeta",
        "account",
        "compte",
        "cuenta",
        "screen",
        "ecran",
        "pantalla",
        "page",
        "pagina",
        "password",
        "login",
        "code",
    ]
)
_TIMES = frozenset(
    [
        "since",
        "yesterday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "week",
        "morning",
        "depuis",
        "hier",
        "lundi",
        "mardi",
        "mercredi",
        "jeudi",
        "vendredi",
        "samedi",
        "dimanche",
        "semaine",
        "desde",
        "ayer",
        "lunes",
        "martes",
        "miercoles",
        "jueves",
        "viernes",
        "sabado",
        "domingo",
        "semana",
    ]
)
_NUMBER = re.compile(r"\d")


def assess(ctx: Context) -> str:
    words = [t.norm for t in ctx.tokens]
    specifics = 0
    if any(_NUMBER.search(w) for w in words):
        specifics += 1
    if any(t.quoted for t in ctx.tokens):
        specifics += 1
    if any(w in _STEPS for w in words):
        specifics += 1
    if any(w in _THINGS for w in words):
        specifics += 1
    if any(w in _TIMES for w in words):
        specifics += 1
    if len(words) >= 40:
        specifics += 1
    return "detailed" if specifics >= 2 or (specifics == 1 and len(words) >= 25) else "vague"

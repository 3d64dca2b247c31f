"""Normalising the ways to reach a customer, so that one person maps to one customer."""

from __future__ import annotations

import re

CHANNELS = ("email", "chat", "social", "phone", "web_form", "api")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class IdentityError(ValueError):
    pass


def normalize_email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value) or len(value) > 320:
        raise IdentityError(f"not an email address: {value!r}")
    return value


def normalize_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if not 6 <= len(digits) <= 16:
        raise IdentityError(f"not a phone number: {value!r}")
    return "+" + digits


def normalize_handle(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 320:
        raise IdentityError("a handle must be 1 to 320 characters")
    return value.lower()


def normalize(kind: str, value: str) -> str:
    if kind == "email":
        return normalize_email(value)
    if kind == "phone":
        return normalize_phone(value)
    if kind in ("handle", "chat"):
        return normalize_handle(value)
    raise IdentityError(f"unknown identity kind {kind!r}")

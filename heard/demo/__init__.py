"""Deterministic demo data set for `heard serve --demo`, the tests and screenshots."""

from heard.demo.content import (
    DemoAgent,
    DemoConversation,
    DemoCustomer,
    DemoData,
    DemoMessage,
    DemoTeam,
    build_demo,
)

__all__ = [
    "DemoAgent",
    "DemoConversation",
    "DemoCustomer",
    "DemoData",
    "DemoMessage",
    "DemoTeam",
    "build_demo",
]

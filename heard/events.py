"""In-process publish/subscribe for things that happened (after commit).

Actions publish here only from after-commit callbacks, so nobody ever hears about a write
that rolled back. The real-time UI subscribes; a Redis fan-out for several processes plugs in
at :func:`publish` when ``HEARD_REDIS_URL`` is set (agent workspace issue).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    kind: str
    conversation_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]
_subscribers: list[Subscriber] = []
_lock = threading.Lock()


def subscribe(fn: Subscriber) -> Callable[[], None]:
    with _lock:
        _subscribers.append(fn)

    def unsubscribe() -> None:
        with _lock:
            if fn in _subscribers:
                _subscribers.remove(fn)

    return unsubscribe


def publish(event: Event) -> None:
    with _lock:
        targets = list(_subscribers)
    for fn in targets:
        fn(event)

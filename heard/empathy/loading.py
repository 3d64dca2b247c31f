"""Load-once helpers shared by the empathy engine's models (language identifier, emotion
and abuse models, sentence encoder): each is built the first time it is needed in a process
and shared by every thread after."""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import resources
from typing import Any, TypeVar, cast

_T = TypeVar("_T")
_lock = threading.RLock()  # re-entrant: a model's build loads its encoder head
_loaded: dict[str, Any] = {}


def once(key: str, build: Callable[[], _T]) -> _T:
    """``build()`` the first time ``key`` is asked for in this process, its result after
    (threads asking at the same time wait for the one build)."""
    if key not in _loaded:
        with _lock:
            if key not in _loaded:
                _loaded[key] = build()
    return cast("_T", _loaded[key])


def packaged(filename: str, build: Callable[[bytes], _T]) -> _T | None:
    """``build`` applied to the shipped ``model/<filename>`` once per process; None when
    no such file ships (a language without that model)."""
    if filename in _loaded:  # the hot path: one look-up per message
        return cast("_T | None", _loaded[filename])

    def load() -> _T | None:
        path = resources.files("heard.empathy").joinpath(f"model/{filename}")
        return build(path.read_bytes()) if path.is_file() else None

    return once(filename, load)

"""Where the shared test corpora live (``../shared/corpora`` beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path


def corpora_dir() -> Path:
    """The corpora folder: ``HEARD_CORPORA`` if set, else ``<checkout>/../shared/corpora``."""
    env = os.environ.get("HEARD_CORPORA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"

"""Offline, explainable reading of customer messages and review of agent drafts.

This package imports nothing else from ``heard`` (``tests/empathy/test_independence.py``
proves it), so it can be used, tested and benchmarked without a database or a web app.

Public contract:

- ``analyze(text, *, language=None, history=()) -> Reading`` (``reading.py``)
- ``review(draft, *, customer_text="", reading=None, language=None) -> Review`` (``coach.py``)
- ``warm_up()``: load every model now rather than on the first message that needs it
"""

from heard.empathy.coach import Finding, Review, review
from heard.empathy.reading import Reading, analyze, warm_up

__all__ = ["Finding", "Reading", "Review", "analyze", "review", "warm_up"]

"""``heard.empathy`` must not depend on the rest of Heard (no database, no web app)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import heard.empathy
reading = heard.empathy.analyze("This damn app crashed again, you idiots", language="en")
print(json.dumps({
    "modules": sorted(m for m in sys.modules if m == "heard" or m.startswith("heard.")),
    "abuse": reading.abuse,
}))
"""


def test_empathy_imports_nothing_else_from_heard() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    outside = [m for m in report["modules"] if m != "heard" and not m.startswith("heard.empathy")]
    assert outside == []
    assert "heard.empathy.reading" in report["modules"]
    assert report["abuse"] == "insult"  # the engine really ran in the subprocess

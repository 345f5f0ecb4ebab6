"""Where the conformance corpora live, and how a case reads (shared by the
test modules; kept out of conftest.py so no other conftest can shadow it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
AWS_CASES = SHARED / "conformance" / "aws-recorded.json"
OWN_CASES = ROOT / "tests" / "cases"


def load_own_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for path in sorted(OWN_CASES.glob("*.json")):
        for case in json.loads(path.read_text()):
            case["file"] = path.name
            cases.append(case)
    return cases


def case_text(case: dict[str, Any], key: str) -> str:
    """The pattern or event of a case as JSON text (``<key>_text`` wins)."""
    if f"{key}_text" in case:
        return str(case[f"{key}_text"])
    return json.dumps(case[key])

"""Shared test fixtures: where the conformance corpora live."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import settings

# CI runs the property tests with a fixed seed, so a red CI is reproducible
# (`CI=true make check`); local runs explore new examples every time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

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

"""The engine, through the Python API, against both conformance corpora."""

from __future__ import annotations

import json
from typing import Any

import pytest
from corpus import AWS_CASES, case_text, load_own_cases

import fastbridge


def check(case: dict[str, Any]) -> None:
    pattern = case_text(case, "pattern")
    event = case_text(case, "event")
    if case["expected"] == "error":
        with pytest.raises(fastbridge.InvalidPatternError) as info:
            fastbridge.matches(pattern, event)
        if "error_message" in case:
            assert str(info.value) == case["error_message"]
        else:
            assert info.value.reason == case["reason"]
            assert str(info.value) == "Event pattern is not valid. Reason: " + case["reason"]
    else:
        assert fastbridge.matches(pattern, event) is case["expected"]
        # The same answer through a machine, with the event as bytes and as a dict.
        m = fastbridge.Machine()
        m.add_rule("r", pattern)
        want = ["r"] if case["expected"] else []
        assert m.rules_for_event(event.encode()) == want
        if "event" in case:
            assert m.rules_for_event(case["event"]) == want


aws_cases = json.loads(AWS_CASES.read_text()) if AWS_CASES.exists() else []


@pytest.mark.skipif(
    not AWS_CASES.exists(), reason=f"{AWS_CASES} is absent (shared/ sits beside the project)"
)
@pytest.mark.parametrize("case", aws_cases, ids=[c["name"] for c in aws_cases])
def test_aws_recorded(case: dict[str, Any]) -> None:
    check(case)


@pytest.mark.skipif(not AWS_CASES.exists(), reason=f"{AWS_CASES} is absent")
def test_aws_corpus_is_complete() -> None:
    assert len(aws_cases) == 155
    assert sum(c["expected"] == "error" for c in aws_cases) == 38


own_cases = load_own_cases()


@pytest.mark.parametrize("case", own_cases, ids=[c["name"] for c in own_cases])
def test_own_cases(case: dict[str, Any]) -> None:
    check(case)


def test_own_cases_exist() -> None:
    assert len(own_cases) >= 250

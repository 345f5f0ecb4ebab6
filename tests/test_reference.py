"""The reference matcher against the AWS-recorded cases and our own cases.

`aws-recorded.json` lives in `../shared/conformance/` beside the project
root; `tests/cases/*.json` are ours (format: see `tests/cases/README.md`).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference  # noqa: E402
from reference import EventError, Number, PatternError  # noqa: E402

TESTS = Path(__file__).resolve().parent
AWS_RECORDED = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "aws-recorded.json"
CASE_FILES = sorted((TESTS / "cases").glob("*.json"))


def load_json_keeping_numbers(text: str) -> object:
    """JSON with every number kept as its text (a `reference.Number`)."""
    return json.loads(text, parse_float=Number, parse_int=Number)


def load_cases() -> list[tuple[str, dict]]:
    cases = []
    for path in CASE_FILES:
        for case in load_json_keeping_numbers(path.read_text(encoding="utf-8")):
            cases.append((path.stem, case))
    return cases


CASES = load_cases()


def outcome(pattern: object, event: object) -> tuple[object, str | None]:
    try:
        return reference.matches(pattern, event), None
    except PatternError as exc:
        return "error", str(exc)


def case_pattern(case: dict) -> object:
    return case["pattern_text"] if "pattern_text" in case else case["pattern"]


def case_event(case: dict) -> object:
    return case["event_text"] if "event_text" in case else case["event"]


# --------------------------------------------------------------------------
# AWS-recorded cases


def aws_cases() -> list[dict]:
    if not AWS_RECORDED.exists():
        return []
    return load_json_keeping_numbers(AWS_RECORDED.read_text(encoding="utf-8"))


needs_aws = pytest.mark.skipif(
    not AWS_RECORDED.exists(), reason=f"AWS-recorded cases not found at {AWS_RECORDED}"
)


@needs_aws
def test_aws_recorded_file_has_all_cases() -> None:
    assert len(aws_cases()) == 155


@needs_aws
@pytest.mark.parametrize("case", aws_cases(), ids=lambda c: c["name"])
def test_aws_recorded(case: dict) -> None:
    result, message = outcome(case["pattern"], case["event"])
    assert result == case["expected"]
    if case["expected"] == "error":
        assert message == case["error_message"]


@needs_aws
@pytest.mark.parametrize("case", aws_cases(), ids=lambda c: c["name"])
def test_aws_recorded_as_text(case: dict) -> None:
    """The same outcome when pattern and event are given as JSON text."""
    pattern = json.dumps(_plain(case["pattern"]))
    event = json.dumps(_plain(case["event"]))
    result, message = outcome(pattern, event)
    assert result == case["expected"]
    if case["expected"] == "error":
        assert message == case["error_message"]


def _plain(value: object) -> object:
    """Numbers back to Python int/float (for json.dumps)."""
    if isinstance(value, Number):
        return json.loads(value.text)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------
# Our cases


@pytest.mark.parametrize("section,case", CASES, ids=[f"{s}:{c['name']}" for s, c in CASES])
def test_case(section: str, case: dict) -> None:
    result, message = outcome(case_pattern(case), case_event(case))
    assert result == case["expected"], message
    if case["expected"] == "error":
        assert message == reference.REASON_PREFIX + case["reason"]


def test_case_files_are_well_formed() -> None:
    assert len(CASE_FILES) >= 12
    names = [case["name"] for _, case in CASES]
    assert len(names) == len(set(names)), "case names must be unique across files"
    assert len(names) >= 250
    allowed = {"name", "pattern", "pattern_text", "event", "event_text", "expected", "reason"}
    for _, case in CASES:
        assert set(case) <= allowed, case["name"]
        assert ("pattern" in case) != ("pattern_text" in case), case["name"]
        assert ("event" in case) != ("event_text" in case), case["name"]
        assert case["expected"] in (True, False, "error"), case["name"]
        assert ("reason" in case) == (case["expected"] == "error"), case["name"]


def _numbers(value: object):
    if isinstance(value, Number):
        yield value.text
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)


def test_case_numbers_survive_plain_json_round_trip() -> None:
    """A number written in a `pattern`/`event` value must mean the same after
    a plain `json.loads`/`json.dumps` round trip (Python floats); any other
    number belongs in `pattern_text`/`event_text`."""
    for _, case in CASES:
        for key in ("pattern", "event"):
            for text in _numbers(case.get(key)):
                if re.fullmatch(r"-?[0-9]+", text):
                    continue
                value = float(text)
                assert reference.float_value(text) == value, (case["name"], text)
                assert reference.significant_digits(text) <= 17, (case["name"], text)


REASON_TEMPLATES = [
    "Filter is not an object",
    '"<X>" must be an object or an array',
    "Empty objects are not allowed",
    "Empty arrays are not allowed",
    "Match value must be String, number, true, false, or null",
    "Unrecognized match type <X>",
    "Only one key allowed in match expression",
    "prefix match pattern must be a string",
    "suffix match pattern must be a string",
    "equals-ignore-case match pattern must be a string",
    "wildcard match pattern must be a string",
    "exactly match pattern must be a string",
    "Consecutive wildcard characters at pos <N>",
    "Invalid escape character at pos <N>",
    "Value of numeric must be an array.",
    "Value of <X> must be numeric",
    "Unrecognized numeric range operator: <X>",
    "Bad numeric range operator: <X>",
    "Too many terms in numeric range expression",
    "Too many elements in numeric expression",
    "Bottom must be less than top",
    "Cannot compare number : <X>",
    "Value of anything-but must be an array or single string/number value.",
    "Inside anything but list, either all values are number or string, mixed type is not supported",
    "Inside anything but list, start|null|boolean is not supported.",
    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
    "Null prefix/suffix not allowed",
    "prefix/suffix match pattern must be a string",
    "Unsupported anything-but pattern: <X>",
    "exists match pattern must be either true or false.",
    "It must be an Array followed with $or.",
    "Only JSON object is allowed in array of $or relationship.",
    "There must have at least 2 Objects in $or relationship.",
    "<X> is Ruler reserved fieldName which cannot be used inside $or.",
    "Nonstandard IP address: <X>",
    "Malformed CIDR, one '/' required",
    "Malformed CIDR, mask bits must be an integer",
    "IPv4 mask bits must be < 32",
    "IPv6 mask bits must be < 128",
    reference.TOO_COMPLEX,
    "Too many fields in pattern: <N> (limit 256)",
]


@pytest.mark.parametrize("template", REASON_TEMPLATES)
def test_every_reason_text_has_a_case(template: str) -> None:
    regex = re.escape(template).replace("<X>", ".*").replace("<N>", "[0-9]+")
    reasons = [case["reason"] for _, case in CASES if "reason" in case]
    assert any(re.fullmatch(regex, r) for r in reasons), template


# --------------------------------------------------------------------------
# API details the case files cannot express


def test_pattern_error_text_and_reason() -> None:
    with pytest.raises(PatternError) as info:
        reference.compile_pattern({"a": []})
    assert info.value.reason == "Empty arrays are not allowed"
    assert str(info.value) == "Event pattern is not valid. Reason: Empty arrays are not allowed"


def test_malformed_pattern_json_is_a_pattern_error() -> None:
    with pytest.raises(PatternError):
        reference.compile_pattern('{"a": [1]')
    with pytest.raises(PatternError):
        reference.compile_pattern('{"a": [NaN]}')


def test_python_numbers_in_parsed_patterns() -> None:
    assert reference.matches({"n": [5.0]}, {"n": 5})
    assert reference.matches({"n": [123456789012345678]}, '{"n": 123456789012345678}')
    assert not reference.matches({"n": [123456789012345678]}, '{"n": 1.23456789012345678e17}')
    with pytest.raises(PatternError, match="Cannot compare number : inf"):
        reference.compile_pattern({"n": [float("inf")]})


def test_bools_are_not_numbers() -> None:
    assert not reference.matches({"n": [1]}, {"n": True})
    assert not reference.matches({"n": [True]}, {"n": 1})
    with pytest.raises(PatternError, match="Value of > must be numeric"):
        reference.compile_pattern({"n": [{"numeric": [">", True]}]})


@pytest.mark.parametrize(
    "event",
    [
        "[1]", "5", '"x"', "null", b"[]", [], "", "{", '{"a": NaN}', '{"a": 1} x',
        b'{"a": "\xff"}', '{"a": "\\ud800"}', '{"\\udc00": 1}', {"a": "\ud800"},
        b"{}" + b" " * (1 << 20),
    ],
)
def test_invalid_events(event: object) -> None:
    with pytest.raises(EventError):
        reference.matches({"a": [1]}, event)


def test_event_nesting_limit() -> None:
    deepest_ok = '{"a":' * 1000 + "1" + "}" * 1000  # 1,000 levels, top level included
    assert reference.matches({"b": [{"exists": False}]}, deepest_ok) is True
    too_deep = '{"a":' * 1001 + "1" + "}" * 1001
    with pytest.raises(EventError):
        reference.matches({"b": [{"exists": False}]}, too_deep)


def test_event_forms_agree() -> None:
    event = {"a": [{"b": 1, "c": "x"}], "d": None}
    for form in (event, json.dumps(event), json.dumps(event).encode()):
        assert reference.matches({"a": {"b": [1], "c": ["x"]}, "d": [None]}, form)


def test_event_duplicate_keys_all_seen() -> None:
    # semantics-decisions.md is silent; the reference sees every duplicate.
    assert reference.matches({"a": ["x"]}, '{"a": "x", "a": "y"}')
    assert reference.matches({"a": ["y"]}, '{"a": "x", "a": "y"}')


def test_rules_for_event() -> None:
    rules = {
        "b-rule": {"a": [1]},
        "a-rule": {"a": [{"numeric": [">", 0]}]},
        "miss": {"a": [2]},
        "absent": {"z": [{"exists": False}]},
    }
    assert reference.rules_for_event(rules, {"a": 1}) == ["a-rule", "absent", "b-rule"]
    assert reference.rules_for_event({}, {"a": 1}) == []


def test_wildcard_scores_from_the_decisions() -> None:
    def score(text: str) -> int:
        return reference.wildcard_score(tuple(reference.STAR if c == "*" else c for c in text))

    assert score("*:*:*:*:*:event-bus/*") == 11
    assert score("/Users/*/dir/dir/dir/dir/dir/doc.txt") == 8
    assert score("") == 0
    assert score("*") == 0

"""Differential tests: the fastbridge engine against the pure-Python reference.

Skipped until the compiled engine (`fastbridge._core`) can be imported.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastbridge._core")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fastbridge  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference  # noqa: E402
from strategies import events_for, invalid_patterns, pattern_and_event, patterns  # noqa: E402

COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
# About 2,400 examples in ~30 s by default; FASTBRIDGE_DIFF_SCALE=10 for a long run.
SCALE = float(os.environ.get("FASTBRIDGE_DIFF_SCALE", "1"))


def examples(n: int) -> int:
    return max(1, int(n * SCALE))

rule_names = st.text(alphabet="abcdefgh-_0", min_size=1, max_size=6)
rule_sets = st.dictionaries(rule_names, patterns(), min_size=1, max_size=20)


def reference_outcome(pattern: object) -> str | None:
    """The reference's reason for rejecting `pattern`, or None."""
    try:
        reference.compile_pattern(pattern)
    except reference.PatternError as exc:
        return exc.reason
    return None


@settings(max_examples=examples(1000), **COMMON)
@given(case=pattern_and_event())
def test_matches_agrees_with_reference(case: tuple[dict, dict]) -> None:
    pattern, event = case
    expected = reference.matches(pattern, event)
    event_text = json.dumps(event)
    assert fastbridge.matches(pattern, event) is expected
    assert fastbridge.matches(pattern, event_text) is expected
    assert fastbridge.matches(json.dumps(pattern), event_text.encode()) is expected


@settings(max_examples=examples(100), **COMMON)
@given(rules=rule_sets, data=st.data())
def test_machine_agrees_with_reference(rules: dict, data: st.DataObject) -> None:
    batch = data.draw(st.lists(events_for(list(rules.values())), min_size=1, max_size=5))
    machine = fastbridge.Machine()
    for name, pattern in rules.items():
        machine.add_rule(name, pattern)
    expected = [reference.rules_for_event(rules, event) for event in batch]
    assert [machine.rules_for_event(event) for event in batch] == expected
    assert [machine.rules_for_event(json.dumps(event)) for event in batch] == expected
    assert machine.rules_for_events(batch) == expected


@settings(max_examples=examples(100), **COMMON)
@given(rules=rule_sets, data=st.data())
def test_machine_delete_agrees_with_reference(rules: dict, data: st.DataObject) -> None:
    batch = data.draw(st.lists(events_for(list(rules.values())), min_size=1, max_size=4))
    machine = fastbridge.Machine()
    for name, pattern in rules.items():
        machine.add_rule(name, pattern)
    doomed = data.draw(st.lists(st.sampled_from(sorted(rules)), unique=True))
    live = dict(rules)
    for name in doomed:
        if data.draw(st.booleans()):
            machine.delete_rule(name)
        else:
            machine.delete_rule(name, rules[name])
        del live[name]
    for event in batch:
        assert machine.rules_for_event(event) == reference.rules_for_event(live, event)
    # Adding the deleted rules back restores the original answers.
    for name in doomed:
        machine.add_rule(name, rules[name])
    for event in batch:
        assert machine.rules_for_event(event) == reference.rules_for_event(rules, event)


@settings(max_examples=examples(1000), **COMMON)
@given(pattern=invalid_patterns())
def test_invalid_patterns_agree_with_reference(pattern: object) -> None:
    expected = reference_outcome(pattern)
    try:
        fastbridge.validate_pattern(pattern)
    except fastbridge.InvalidPatternError as exc:
        assert isinstance(exc, ValueError)
        assert exc.reason == expected, f"engine rejected, reference says {expected!r}"
        assert str(exc) == "Event pattern is not valid. Reason: " + exc.reason
    else:
        assert expected is None, f"engine accepted, reference rejects: {expected!r}"
    if expected is not None and isinstance(pattern, dict):
        with pytest.raises(fastbridge.InvalidPatternError) as info:
            fastbridge.Machine().add_rule("r", pattern)
        assert info.value.reason == expected


@settings(max_examples=examples(200), **COMMON)
@given(pattern=patterns())
def test_valid_patterns_are_accepted(pattern: dict) -> None:
    assert reference_outcome(pattern) is None
    fastbridge.validate_pattern(pattern)
    fastbridge.validate_pattern(json.dumps(pattern))


# Number texts for arrays of coordinates: the same values spelled apart, near
# misses, exponents, zeros of both signs.
NUMBER_TEXTS = ["37.5", "3.75e1", "-122.25", "0.0", "-0", "37", "12", "1e3",
                "37.807807921694092", "37.8078079216940920", "0.37807807921694092E2",
                "37.80780792", "-37.807807921694092", "122.25", "-122.250000000000001"]
nested_numbers = st.recursive(st.sampled_from(NUMBER_TEXTS),
                              lambda inner: st.lists(inner, max_size=4), max_leaves=24)


def _json_text(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    return str(value)


@settings(max_examples=examples(400), **COMMON)
@given(tree=nested_numbers, data=st.data())
def test_nested_number_arrays_agree_with_reference(tree: object, data: st.DataObject) -> None:
    # Arrays of numbers at a field that only exact numbers use are mostly
    # passed over by their first digits; what may match is read in full.
    values = data.draw(st.lists(st.sampled_from(
        [37.5, 37.807807921694092, -122.25, 0, 37, 1000, 0.5]), min_size=1, max_size=3))
    rules = {
        "one": {"g": {"c": values}},
        "with-p": {"p": ["x"], "g": {"c": values[:1]}},
        "absent": {"g": {"d": [{"exists": False}]}, "p": ["x"]},
    }
    event = f'{{"p": "x", "g": {{"c": {_json_text(tree)}, "t": "y"}}}}'
    machine = fastbridge.Machine()
    machine.add_rules(rules)
    assert machine.rules_for_event(event.encode()) == reference.rules_for_event(rules, event)

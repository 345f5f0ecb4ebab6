"""Bad input gets a typed, readable error, in bounded time and memory, and
never a panic or a crash of the process.

The hostile cases run in a child process with an address-space limit and a
timeout: a crash, a panic reaching Python, runaway memory or an endless loop
all fail the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import fastbridge
from fastbridge import InvalidEventError, InvalidPatternError, Machine

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    import fastbridge
    m = fastbridge.Machine()
    m.add_rule("r", {"a": [{"prefix": "x"}], "b": {"c": [1]}})
    out = []
    def event(name, data):
        try:
            out.append([name, "ok", m.rules_for_event(data)])
        except fastbridge.InvalidEventError as e:
            out.append([name, "InvalidEventError", e.kind, e.offset, str(e)])
    def pattern(name, p):
        try:
            fastbridge.validate_pattern(p)
            out.append([name, "ok"])
        except fastbridge.InvalidPatternError as e:
            out.append([name, "InvalidPatternError", e.reason])
    deep = b'{"a":' + b'[' * 100_000 + b']' * 100_000 + b'}'
    event("deep-array", deep)
    event("deep-object", b'{"z":' + b'{"y":' * 100_000 + b'1' + b'}' * 100_001)
    event("deep-unclosed", b'{"a":' + b'[' * 100_000)
    event("huge-string", b'{"a": "x' + b'y' * (10 << 20) + b'"}')
    event("huge-number", b'{"b": {"c": 1e400}, "a": "xy"}')
    event("invalid-utf8", b'{"a": "x\\xff\\xfe"}')
    event("truncated", b'{"a": "x')
    event("garbage", b'{"a" "x"}')
    event("not-object", b'[1, 2, 3]')
    event("empty", b'')
    event("lone-surrogate", b'{"a": "x\\\\ud800"}')
    event("bad-escape", b'{"a": "x\\\\q"}')
    pattern("explode-wildcard", {"a": [{"wildcard": "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*"}]})
    outer = [{"a%d" % i: ["x"]} for i in range(40)]
    inner = [{"c%d" % i: ["y"]} for i in range(40)]
    pattern("explode-or", {"$or": outer, "b": {"$or": inner}})
    pattern("explode-exists", {"f%d" % i: ["x", {"exists": False}] for i in range(40)})
    pattern("deep-pattern", "{\\"a\\":" * 200_000 + "[1]" + "}" * 200_000)
    pattern("huge-number-pattern", '{"a": [1e400]}')
    pattern("long-wildcard", {"a": [{"wildcard": "*a" + "b" * 100_000 + "c*"}]})
    pattern("long-overlapping-wildcard", {"a": [{"wildcard": "*" + "ab" * 50_000 + "*"}]})
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def hostile() -> dict[str, list[object]]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {row[0]: row[1:] for row in json.loads(proc.stdout)}


def test_deep_nesting_is_too_deep(hostile: dict[str, list[object]]) -> None:
    for name in ("deep-array", "deep-object", "deep-unclosed"):
        assert hostile[name][:2] == ["InvalidEventError", "too_deep"], name
        assert "deeper than 1000 levels" in str(hostile[name][3])


def test_huge_event_is_too_large(hostile: dict[str, list[object]]) -> None:
    assert hostile["huge-string"][:2] == ["InvalidEventError", "too_large"]


def test_huge_number_in_event_is_text(hostile: dict[str, list[object]]) -> None:
    # Not representable: compared as text, so it fails numeric [1] but is no error.
    assert hostile["huge-number"] == ["ok", []]


def test_malformed_events(hostile: dict[str, list[object]]) -> None:
    assert hostile["invalid-utf8"][:3] == ["InvalidEventError", "invalid_utf8", 8]
    assert hostile["truncated"][:2] == ["InvalidEventError", "syntax"]
    assert hostile["garbage"][:3] == ["InvalidEventError", "syntax", 5]
    assert hostile["not-object"][:2] == ["InvalidEventError", "not_an_object"]
    assert hostile["empty"][:2] == ["InvalidEventError", "syntax"]
    assert hostile["lone-surrogate"][:2] == ["InvalidEventError", "lone_surrogate"]
    assert hostile["bad-escape"][:2] == ["InvalidEventError", "syntax"]


def test_explosive_patterns_are_rejected(hostile: dict[str, list[object]]) -> None:
    assert hostile["explode-wildcard"] == [
        "InvalidPatternError",
        "Rule is too complex - try using fewer wildcard characters or fewer repeating "
        "character sequences after a wildcard character",
    ]
    assert hostile["explode-or"] == [
        "InvalidPatternError",
        "Pattern expands into more than 1024 sub-patterns",
    ]
    assert hostile["explode-exists"] == [
        "InvalidPatternError",
        "Pattern expands into more than 1024 sub-patterns",
    ]
    assert hostile["deep-pattern"][0] == "InvalidPatternError"
    assert str(hostile["deep-pattern"][1]).startswith("nesting deeper than 512 levels")
    assert hostile["huge-number-pattern"] == [
        "InvalidPatternError",
        "Cannot compare number : 1e400",
    ]
    # A long literal after a star is not complex: accepted; one that overlaps
    # itself at every second character is.
    assert hostile["long-wildcard"] == ["ok"]
    assert hostile["long-overlapping-wildcard"][0] == "InvalidPatternError"
    assert "too complex" in str(hostile["long-overlapping-wildcard"][1])


def test_large_events_work_when_allowed() -> None:
    m = Machine(max_event_bytes=16 << 20)
    m.add_rule("r", {"b": [1]})
    big = b'{"a": "' + b"x" * (10 << 20) + b'", "b": 1}'
    assert m.rules_for_event(big) == ["r"]


def test_non_object_inputs() -> None:
    with pytest.raises(InvalidPatternError, match="Filter is not an object"):
        fastbridge.validate_pattern("5")
    with pytest.raises(InvalidEventError, match="not a JSON object"):
        fastbridge.matches({"a": [1]}, "5")
    with pytest.raises(InvalidEventError, match="not a JSON object"):
        fastbridge.matches({"a": [1]}, '"a"')


def test_errors_in_skipped_parts_are_found() -> None:
    m = Machine()
    m.add_rule("r", {"a": ["x"]})
    # Malformed JSON inside a member no rule uses is still reported.
    with pytest.raises(InvalidEventError) as info:
        m.rules_for_event(b'{"skip": {"q": [1, 2,, 3]}, "a": "x"}')
    assert info.value.kind == "syntax"
    assert info.value.offset == 21


@pytest.mark.parametrize(("data", "offset"), [
    (b'{"skip": "ab\xffc", "a": "x"}', 12),            # a string no rule reads
    (b'{"skip": "abcdefghijklmnopqrstu\xc3", "a": "x"}', 31),  # past the short path
    (b'{"sk\xe9": 1, "a": "x"}', 4),                   # a member name
    (b'{"a": "x\\n\xed\xa0\x80"}', 10),               # after an escape (a surrogate)
    (b'{"a": \xff}', 6),                                # outside any string
    (b'{"a": nope, "b": "\xff"}', 18),                 # bad syntax first, bad UTF-8 later
])
def test_invalid_utf8_is_reported_where_it_starts(data: bytes, offset: int) -> None:
    m = Machine()
    m.add_rule("r", {"a": ["x"]})
    with pytest.raises(InvalidEventError) as info:
        m.rules_for_event(data)
    assert (info.value.kind, info.value.offset) == ("invalid_utf8", offset)


def test_multibyte_text_is_read_across_word_boundaries() -> None:
    m = Machine()
    m.add_rule("r", {"k\u00e9y": [{"prefix": "\U0001f600"}]})
    for pad in range(12):
        text = "x" * pad
        event = f'{{"k\u00e9y": "\U0001f600{text}\u00e9", "{text}\u00fc": "\u00e9"}}'
        assert m.rules_for_event(event.encode()) == ["r"], pad


def test_scanning_stops_early_once_all_used_fields_are_seen() -> None:
    m = Machine()
    m.add_rule("r", {"a": ["x"]})
    # Everything after "a" is never read, so trailing garbage goes unnoticed:
    # the documented price of stopping early.
    assert m.rules_for_event(b'{"a": "x", "b": nonsense') == ["r"]
    with pytest.raises(InvalidEventError):
        m.rules_for_event(b'{"b": nonsense, "a": "x"}')
    # The same inside a nested object that holds the event's last used member.
    m = Machine()
    m.add_rule("r", {"a": ["x"], "g": {"t": ["y"]}})
    assert m.rules_for_event(b'{"a": "x", "g": {"t": "y", "c": [1,, 2]}}') == ["r"]
    with pytest.raises(InvalidEventError):
        m.rules_for_event(b'{"a": "x", "g": {"c": [1,, 2], "t": "y"}}')


@pytest.mark.parametrize("data", [
    b'{"c": [1.0, 2.0 3.0]}',
    b'{"c": [1.0, -01, 3.0]}',
    b'{"c": [[1.0, 2.], 3]}',
    b'{"c": [[1.0, 2.0],, 3]}',
    b'{"c": [1.0, [2.0, [3.0 }]]}',
    b'{"c": [1.0, 2.0',
    b'{"c": [-122.511395199639069, 37.807490953464555 ,0.0 x]}',
])
def test_gated_number_arrays_report_errors_as_the_full_scan(data: bytes) -> None:
    # Numbers only an exact value can match are passed over by their first
    # digits; a field whose absence is tracked is read in full. Both report
    # a malformed array the same way.
    gated = Machine()
    gated.add_rule("r", {"c": [37.5]})
    full = Machine()
    full.add_rules({"r": {"c": [37.5]}, "t": {"c": [{"exists": False}]}})
    outcomes = []
    for m in (gated, full):
        with pytest.raises(InvalidEventError) as info:
            m.rules_for_event(data)
        outcomes.append((info.value.kind, info.value.offset, str(info.value)))
    assert outcomes[0] == outcomes[1]

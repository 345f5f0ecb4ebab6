"""The Python API: rule management, input kinds, errors, pickling."""

from __future__ import annotations

import json
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

import fastbridge
from fastbridge import InvalidEventError, InvalidPatternError, LimitError, Machine

EC2 = {"source": ["aws.ec2"], "detail": {"state": ["running"]}}
BIG = {"detail": {"total": [{"numeric": [">", 100]}]}}


def event(source: str = "aws.ec2", state: str = "running", total: float = 5) -> bytes:
    return json.dumps({"source": source, "detail": {"state": state, "total": total}}).encode()


def test_add_match_delete() -> None:
    m = Machine()
    m.add_rule("ec2", EC2)
    m.add_rule("big", json.dumps(BIG))
    assert len(m) == 2
    assert "ec2" in m and "nope" not in m
    assert m.rule_names() == ["big", "ec2"]
    assert m.rules_for_event(event(total=500)) == ["big", "ec2"]
    assert m.rules_for_event(event(state="stopped")) == []
    assert m.delete_rule("ec2") == 1
    assert m.rules_for_event(event(total=500)) == ["big"]
    assert m.delete_rule("ec2") == 0
    assert len(m) == 1


def test_a_name_ors_its_patterns() -> None:
    m = Machine()
    m.add_rule("r", {"a": ["1"]})
    m.add_rule("r", {"b": ["2"]})
    assert len(m) == 1
    assert m.stats()["patterns"] == 2
    assert m.rules_for_event({"a": "1"}) == ["r"]
    assert m.rules_for_event({"b": "2"}) == ["r"]
    # Deleting one pattern keeps the other; key order does not matter.
    assert m.delete_rule("r", '{"b": ["2"]}') == 1
    assert m.rules_for_event({"b": "2"}) == []
    assert m.rules_for_event({"a": "1"}) == ["r"]
    assert m.delete_rule("r", {"a": ["999"]}) == 0
    assert m.delete_rule("r", {"a": ["1"]}) == 1
    assert len(m) == 0


def test_results_are_each_name_once_sorted() -> None:
    m = Machine()
    m.add_rules({"z": {"a": ["1"]}, "y": {"$or": [{"a": ["1"]}, {"b": ["1"]}]}})
    assert m.rules_for_event({"a": "1", "b": "1"}) == ["y", "z"]


def test_event_kinds() -> None:
    m = Machine()
    m.add_rule("r", {"name": ["Zoë 🚀"], "n": [12345678901234567890], "f": [2.5], "t": [True]})
    ev = {
        "name": "Zoë 🚀",
        "n": 12345678901234567890,
        "f": 2.5,
        "t": True,
        "x": None,
        "l": [1, (2, 3)],
    }
    text = json.dumps(ev, ensure_ascii=False)
    for e in (ev, text, text.encode(), bytearray(text.encode()), json.dumps(ev)):
        assert m.rules_for_event(e) == ["r"], e
    with pytest.raises(TypeError):
        m.rules_for_event(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        m.rules_for_event({1: "x"})  # type: ignore[dict-item]


def test_many_events_and_errors_carry_index() -> None:
    m = Machine()
    m.add_rule("ec2", EC2)
    events = [event(), event(state="x"), event()]
    assert m.rules_for_events(events) == [["ec2"], [], ["ec2"]]
    assert m.rules_for_events(iter(events)) == [["ec2"], [], ["ec2"]]
    mixed = [event(), b"{nope", event(), b"[1]"]
    returned = m.rules_for_events(mixed, errors="return")
    assert returned[0] == ["ec2"] and returned[2] == ["ec2"]
    assert isinstance(returned[1], InvalidEventError) and returned[1].index == 1
    assert isinstance(returned[3], InvalidEventError) and returned[3].kind == "not_an_object"
    with pytest.raises(ValueError, match="errors must be"):
        m.rules_for_events(mixed, errors="ignore")  # type: ignore[call-overload]
    with pytest.raises(InvalidEventError) as info:
        m.rules_for_events([event(), b"{nope", event()])
    assert info.value.index == 1
    assert info.value.kind == "syntax"
    assert info.value.offset == 1


def test_a_batch_of_many_parts_answers_like_one_event_at_a_time() -> None:
    # A batch is converted and matched half a megabyte of text (a thread) at
    # a time; answers, error positions and the analysis calls must not show
    # where one part ends and the next begins.
    m = Machine()
    m.add_rules({"ec2": EC2, "big": BIG})
    pad = "x" * 1000
    events = [
        json.dumps({"source": "aws.ec2" if i % 3 else "other", "pad": pad,
                    "detail": {"state": "running", "total": i}}).encode()
        for i in range(3000)
    ]
    assert sum(map(len, events)) > 5 * (512 << 10)
    one = [m.rules_for_event(e) for e in events]
    for threads in (1, 2):
        assert m.rules_for_events(events, threads=threads) == one
        assert m.rules_for_events(iter(events), threads=threads) == one
        assert m.count_matches(events, threads=threads) == {
            "big": sum("big" in r for r in one), "ec2": sum("ec2" in r for r in one)}
    bad = {700, 1400, 2999}
    mixed = [b"{nope" if i in bad else e for i, e in enumerate(events)]
    returned = m.rules_for_events(mixed, errors="return")
    assert [i for i, r in enumerate(returned) if isinstance(r, InvalidEventError)] == sorted(bad)
    assert all(r.index == i for i, r in enumerate(returned) if isinstance(r, InvalidEventError))
    assert [r for i, r in enumerate(returned) if i not in bad] == [
        r for i, r in enumerate(one) if i not in bad]
    for threads in (1, 2):
        with pytest.raises(InvalidEventError) as info:
            m.rules_for_events(mixed, threads=threads)
        assert info.value.index == 700
        with pytest.raises(InvalidEventError) as info:
            m.count_matches(mixed[701:], threads=threads)
        assert info.value.index == 1400 - 701
    # A wrong kind of item far into the batch is still reported.
    with pytest.raises(TypeError, match="expected bytes"):
        m.rules_for_events([*events, 42])  # type: ignore[list-item]


def test_batch_names_are_sorted_and_each_once() -> None:
    # A batch sorts an event's names by their first sixteen bytes, then by
    # the names where those tie, and gives a rule matched by two of its
    # patterns once: names sharing long prefixes, differing only past
    # byte sixteen or by length, non-ASCII, over several segments.
    stem = "tenant-000000000042"
    names = [f"{stem}-{s}" for s in ("b", "a", "ab", "", "é", "z" * 30)] + [stem, "a", "é", "Z"]
    m = Machine()
    for i, name in enumerate(names):
        m.add_rule(name, {"detail": {"total": [{"numeric": ["<=", i]}]}})
    m.add_rule(names[0], {"source": ["aws.ec2"]})
    assert len(m) == len(names)
    events = [event(total=t) for t in range(len(names) + 1)] + [event(source="x", total=100)]
    want = [sorted({n for i, n in enumerate(names) if t <= i}) for t in range(len(names) + 1)]
    want = [sorted({*w, names[0]}) for w in want] + [[]]
    assert [m.rules_for_event(e) for e in events] == want
    assert m.rules_for_events(events) == want
    assert m.rules_for_events(events) == want  # with the strings kept from the first
    assert m.rules_for_events(events, threads=3) == want
    counts = m.count_matches(events)
    assert counts == {n: sum(n in w for w in want) for n in names}


def test_batch_names_follow_the_rules_as_they_change() -> None:
    # Calls keep the names' Python strings between them; a rule deleted
    # and another added (whose name may well land where the old one was)
    # must never be answered with the old name.
    m = Machine()
    events = [event(), event(state="x")]
    for i in range(200):
        name = f"rule-{i}-{'x' * (i % 7)}"
        m.add_rule(name, EC2)
        assert m.rules_for_events(events) == [[name], []]
        assert m.rules_for_events(events, threads=2) == [[name], []]
        assert m.rules_for_event(events[0]) == [name]
        m.delete_rule(name)
        assert m.rules_for_events(events) == [[], []]
        assert m.rules_for_event(events[0]) == []


def test_batch_results_are_lists_of_their_own() -> None:
    # A batch makes each rule's name a Python string once and shares it; each
    # event still gets a list of its own, so changing one changes no other.
    m = Machine()
    m.add_rules({"ec2": EC2, "any": {"source": [{"exists": True}]}})
    first, second, third = m.rules_for_events([event(), event(), event(state="x")])
    assert first == second == ["any", "ec2"] and third == ["any"]
    assert first is not second
    first.append("mine")
    assert second == ["any", "ec2"] and third == ["any"]
    assert all(type(n) is str for n in first + second + third)


def test_add_rules_is_all_or_nothing() -> None:
    m = Machine()
    with pytest.raises(InvalidPatternError) as info:
        m.add_rules([("good", EC2), ("bad", {"a": 1})])
    assert info.value.reason == '"a" must be an object or an array'
    assert len(m) == 0


def test_pattern_errors() -> None:
    with pytest.raises(InvalidPatternError) as info:
        fastbridge.validate_pattern({"a": [{"numeric": [">", 0, ">", 0]}]})
    assert isinstance(info.value, ValueError)
    assert info.value.reason == "Bad numeric range operator: >"
    assert str(info.value) == "Event pattern is not valid. Reason: Bad numeric range operator: >"
    with pytest.raises(InvalidPatternError, match="Filter is not an object"):
        fastbridge.validate_pattern("[1, 2]")
    with pytest.raises(InvalidPatternError):
        fastbridge.validate_pattern("{not json")
    assert fastbridge.validate_pattern(EC2) is None


def test_limits_are_typed_errors() -> None:
    m = Machine(max_states=10)
    m.add_rule("small", {"a": ["1"]})
    with pytest.raises(LimitError) as info:
        m.add_rule("big", {f"f{i}": ["x"] for i in range(20)})
    assert info.value.limit_name == "max_states"
    assert info.value.limit == 10
    assert len(m) == 1
    with pytest.raises(InvalidPatternError, match="Too many fields in pattern: 257"):
        fastbridge.validate_pattern({f"f{i}": ["x"] for i in range(257)})
    fastbridge.validate_pattern({f"f{i}": ["x"] for i in range(256)})
    narrow = Machine(max_fields_per_pattern=2)
    with pytest.raises(InvalidPatternError, match="Too many fields in pattern: 3 .limit 2."):
        narrow.add_rule("r", {"a": ["1"], "b": ["1"], "c": ["1"]})
    assert narrow.config()["max_fields_per_pattern"] == 2


def test_pickle_round_trip() -> None:
    m = Machine(max_event_bytes=4096)
    m.add_rule("ec2", EC2)
    m.add_rule("ec2", BIG)
    m.add_rule("other", {"x": [{"prefix": "a"}]})
    clone = pickle.loads(pickle.dumps(m))
    assert clone.rules() == m.rules()
    assert clone.config() == m.config()
    assert clone.rules_for_event(event(total=500)) == ["ec2"]
    assert clone.rules_for_event({"x": "abc"}) == ["other"]


def _match_in_worker(args: tuple[Machine, list[bytes]]) -> list[list[str]]:
    machine, events = args
    return machine.rules_for_events(events)


def test_machine_ships_to_worker_processes() -> None:
    m = Machine()
    m.add_rule("ec2", EC2)
    m.add_rule("big", BIG)
    batches = [[event(total=t) for t in range(0, 300, 50)] for _ in range(2)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_match_in_worker, [(m, b) for b in batches]))
    assert results == [m.rules_for_events(b) for b in batches]
    assert results[0][-1] == ["big", "ec2"]


def test_stats_and_repr() -> None:
    m = Machine()
    assert m.stats()["rules"] == 0
    for i in range(50):
        m.add_rule(f"r{i}", {"source": [f"s{i}"], "detail": {"n": [{"numeric": [">", i]}]}})
    s = m.stats()
    assert s["rules"] == 50 and s["patterns"] == 50 and s["fields"] == 2
    assert 1 <= s["segments"] <= 7  # logarithmic in the number of patterns
    assert s["states"] >= 100
    assert "rules=50" in repr(m)
    assert m.rules_for_event({"source": "s7", "detail": {"n": 8}}) == ["r7"]
    assert m.rules_for_event({"source": "s7", "detail": {"n": 7}}) == []


def test_later_members_still_count_after_early_exit() -> None:
    # Scanning may stop once every used top-level member was seen, but not
    # when a later key can still name a used path: a dotted key, or a
    # repeated one (every occurrence of a repeated key counts).
    m = Machine()
    m.add_rule("xy", {"x.y": ["x"]})
    m.add_rule("a", {"a": ["2"]})
    assert m.rules_for_event(b'{"x": {}, "x.y": "x"}') == ["xy"]
    assert m.rules_for_event(b'{"x": {"y": "q"}, "z": 1, "x.y": "x"}') == ["xy"]
    assert m.rules_for_event(b'{"a": "1", "b": 0, "a": "2"}') == ["a"]
    assert m.rules_for_event(b'{"a": "1", "b": 0, "\\u0061": "2"}') == ["a"]
    assert m.rules_for_event(b'{"x": {"y": "q"}, "a": "1", "b": "x.y"}') == []


def test_nested_early_exit_keeps_later_members_that_can_count() -> None:
    # Scanning may also stop inside a nested object once it holds the last
    # used members of the event, but again not when a later key, at that
    # level or above, can still name a used path.
    m = Machine()
    m.add_rule("t", {"p": {"s": ["x"]}, "g": {"type": [{"anything-but": "Polygon"}]}})
    m.add_rule("d", {"g": {"c": {"z": ["deep"]}}})
    assert m.rules_for_event(b'{"p": {"s": "x"}, "g": {"type": "Line", "c": []}}') == ["t"]
    assert m.rules_for_event(b'{"p": {"s": "x"}, "g": {"type": "L", "type": "Polygon"}}') == ["t"]
    assert m.rules_for_event(b'{"p": {"s": "x"}, "g": {"c": {"z": "deep"}, "type": "L"}}') == [
        "d", "t"]
    assert m.rules_for_event(b'{"p": {"s": "x"}, "g": {"type": "L", "c": {"z": "deep"}}}') == [
        "d", "t"]
    assert m.rules_for_event(b'{"g": {"type": "L", "c": {"z": "-"}}, "p": {"s": "x"}}') == ["t"]
    assert m.rules_for_event(b'{"g": {"type": "L", "c": {"z": 1}}, "g.c.z": "deep"}') == ["d"]
    assert m.rules_for_event(b'{"p": {"s": "x"}, "g": {"type": "L", "c": {"z": "-"}}, '
                             b'"p": {"s": "y"}}') == ["t"]
    # Inside an array nothing stops early: a later element counts too.
    m = Machine()
    m.add_rule("a", {"g": {"k": ["2"]}})
    assert m.rules_for_event(b'{"g": [{"k": "1"}, {"k": "2"}]}') == ["a"]


def test_threads_and_analysis_calls_agree() -> None:
    np = pytest.importorskip("numpy")
    m = Machine()
    m.add_rules({"ec2": EC2, "big": BIG, "never": {"source": ["nope"]}})
    events = [event(total=t, state=("running" if t % 3 else "stopped")) for t in range(0, 400, 7)]
    one = m.rules_for_events(events)
    assert m.rules_for_events(events, threads=2) == one
    assert m.rules_for_events(events, threads=7) == one
    counts = m.count_matches(events, threads=2)
    assert counts == {
        "big": sum("big" in r for r in one),
        "ec2": sum("ec2" in r for r in one),
        "never": 0,
    }
    assert counts["big"] > 0 and counts["ec2"] > 0
    names, matrix = m.match_matrix(events)
    assert names == ["big", "ec2", "never"]
    assert matrix.shape == (len(events), 3) and matrix.dtype == np.bool_
    assert [[names[j] for j in np.flatnonzero(row)] for row in matrix] == one
    names, indptr, indices = m.match_indices(events, threads=2)
    assert indptr.dtype == np.int64 and indices.dtype == np.int32
    assert len(indptr) == len(events) + 1
    rebuilt = [[names[j] for j in indices[indptr[i] : indptr[i + 1]]] for i in range(len(events))]
    assert rebuilt == one
    with pytest.raises(InvalidEventError) as info:
        m.count_matches([event(), event(), b"nope"], threads=2)
    assert info.value.index == 2
    with pytest.raises(InvalidEventError) as info:
        m.rules_for_events([event(), b"{", event(), b"["], threads=2)
    assert info.value.index == 1

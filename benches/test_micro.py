"""pytest-benchmark micro-benchmarks of fastbridge's Python entry points.

Not collected by the default ``pytest`` run (its testpaths is ``tests``).
Run them with::

    pip install -e '.[bench]'
    pytest benches/test_micro.py                       # all, grouped by entry point
    pytest benches/test_micro.py -k rules_for_event    # a subset
    pytest benches/test_micro.py --benchmark-save=base # then compare a later run with
    pytest benches/test_micro.py --benchmark-compare=0001

Each benchmark checks its answer once before timing it.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

pytest.importorskip("pytest_benchmark")

import fastbridge  # noqa: E402
from benches import data, rulesets  # noqa: E402

LINES = 1_000


@pytest.fixture(scope="module")
def citylots() -> list[bytes]:
    """The first 1,000 lots of the generated citylots file (no cache needed)."""
    return [data.citylots_line(lot).encode() for lot in data.citylots(LINES)]


@pytest.fixture(scope="module")
def bus_events() -> list[bytes]:
    rng = random.Random(1)
    accts = data.accounts()
    return [json.dumps(data.bus_event(rng, accts)).encode() for _ in range(LINES)]


@pytest.fixture(scope="module")
def quamina4() -> fastbridge.Machine:
    m = fastbridge.Machine()
    m.add_rules(rulesets.QUAMINA_FOUR.rules)
    return m


@pytest.fixture(scope="module")
def bus1k() -> fastbridge.Machine:
    m = fastbridge.Machine()
    m.add_rules(rulesets.bus_rules(1_000))
    return m


# The lot with Quamina's planted coordinate: it matches two of the four patterns.
PLANTED = "0011008"


def _planted(lines: list[bytes]) -> bytes:
    return next(line for line in lines if f'"MAPBLKLOT": "{PLANTED}"'.encode() in line)


@pytest.mark.benchmark(group="rules_for_event")
def test_rules_for_event_bytes(benchmark: Any, quamina4: fastbridge.Machine,
                               citylots: list[bytes]) -> None:
    event = _planted(citylots)
    assert quamina4.rules_for_event(event) == ["COORDINATE", "LOT-AND-COORDINATE"]
    benchmark(quamina4.rules_for_event, event)


@pytest.mark.benchmark(group="rules_for_event")
def test_rules_for_event_str(benchmark: Any, quamina4: fastbridge.Machine,
                             citylots: list[bytes]) -> None:
    event = _planted(citylots).decode()
    assert quamina4.rules_for_event(event) == ["COORDINATE", "LOT-AND-COORDINATE"]
    benchmark(quamina4.rules_for_event, event)


@pytest.mark.benchmark(group="rules_for_event")
def test_rules_for_event_dict(benchmark: Any, quamina4: fastbridge.Machine,
                              citylots: list[bytes]) -> None:
    event = json.loads(_planted(citylots))
    assert quamina4.rules_for_event(event) == ["COORDINATE", "LOT-AND-COORDINATE"]
    benchmark(quamina4.rules_for_event, event)


@pytest.mark.benchmark(group="rules_for_event")
def test_rules_for_event_bus_1k_rules(benchmark: Any, bus1k: fastbridge.Machine,
                                      bus_events: list[bytes]) -> None:
    event = bus_events[0]
    assert isinstance(bus1k.rules_for_event(event), list)
    benchmark(bus1k.rules_for_event, event)


@pytest.mark.benchmark(group="baseline")
def test_orjson_loads_same_event(benchmark: Any, citylots: list[bytes]) -> None:
    orjson = pytest.importorskip("orjson")
    event = _planted(citylots)
    benchmark(orjson.loads, event)


@pytest.mark.benchmark(group="rules_for_events (1,000 events)")
def test_rules_for_events_citylots(benchmark: Any, quamina4: fastbridge.Machine,
                                   citylots: list[bytes]) -> None:
    result = quamina4.rules_for_events(citylots)
    assert sum(1 for r in result if "COORDINATE" in r) == 2
    benchmark(quamina4.rules_for_events, citylots)


@pytest.mark.benchmark(group="rules_for_events (1,000 events)")
def test_rules_for_events_errors_return(benchmark: Any, quamina4: fastbridge.Machine,
                                        citylots: list[bytes]) -> None:
    events = [*citylots[:-1], b"{not json"]
    result = quamina4.rules_for_events(events, errors="return")
    assert isinstance(result[-1], fastbridge.InvalidEventError)
    benchmark(quamina4.rules_for_events, events, errors="return")


@pytest.mark.benchmark(group="rules_for_events (1,000 events)")
def test_rules_for_events_bus_1k_rules(benchmark: Any, bus1k: fastbridge.Machine,
                                       bus_events: list[bytes]) -> None:
    assert len(bus1k.rules_for_events(bus_events)) == LINES
    benchmark(bus1k.rules_for_events, bus_events)


@pytest.mark.benchmark(group="one-shot")
def test_matches(benchmark: Any, citylots: list[bytes]) -> None:
    pattern = rulesets.QUAMINA_FOUR.rules[2][1]
    event = _planted(citylots)
    assert fastbridge.matches(pattern, event)
    benchmark(fastbridge.matches, pattern, event)


@pytest.mark.benchmark(group="one-shot")
def test_validate_pattern(benchmark: Any) -> None:
    pattern = rulesets.bus_rules(20)[9][1]
    fastbridge.validate_pattern(pattern)
    benchmark(fastbridge.validate_pattern, pattern)


@pytest.mark.benchmark(group="building")
def test_add_rule_one_at_a_time_1k(benchmark: Any) -> None:
    rules = list(rulesets.exact_rules(1_000).items())

    def build() -> fastbridge.Machine:
        m = fastbridge.Machine()
        for name, pattern in rules:
            m.add_rule(name, pattern)
        return m

    assert len(build()) == 1_000
    benchmark(build)


@pytest.mark.benchmark(group="building")
def test_add_rules_exact_1k(benchmark: Any) -> None:
    rules = rulesets.exact_rules(1_000)

    def build() -> fastbridge.Machine:
        m = fastbridge.Machine()
        m.add_rules(rules)
        return m

    assert len(build()) == 1_000
    benchmark(build)


@pytest.mark.benchmark(group="building")
def test_add_rules_bus_1k(benchmark: Any) -> None:
    rules = rulesets.bus_rules(1_000)

    def build() -> fastbridge.Machine:
        m = fastbridge.Machine()
        m.add_rules(rules)
        return m

    assert len(build()) == 1_000
    benchmark(build)

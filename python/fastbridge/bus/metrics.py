"""Counters per bus, rule and target, named as EventBridge's CloudWatch metrics.

``Metrics.get(name, **dimensions)`` reads one counter; ``snapshot()`` all of
them; ``prometheus()`` renders them in Prometheus' text exposition format
(``fastbridge_<snake_case_name>_total{bus=...,rule=...,target=...}``).

Names used by the bus:

=============================== ===============================================
``Events``                      entries accepted by put_events (per bus)
``MatchedEvents``               accepted events that matched at least one rule
``TriggeredRules``              rule matches (per rule)
``Invocations``                 deliveries that reached their target (per target)
``FailedInvocations``           deliveries that failed for good (per target)
``RetryInvocationAttempts``     attempts after the first (per target)
``InvocationsSentToDLQ``        deliveries moved to a dead-letter queue
``InvocationsFailedToBeSentToDLQ`` failed deliveries with no usable dead-letter
                                queue: kept in the store's ``undeliverable``
                                table and logged
``ScheduledEvents``             events fired by schedule expressions
``ReplayedEvents``              events re-sent by replays
=============================== ===============================================
"""

from __future__ import annotations

import re
import threading
from collections import Counter

Key = tuple[str, tuple[tuple[str, str], ...]]


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[Key] = Counter()

    def add(self, name: str, value: int = 1, **dimensions: str) -> None:
        # hot path: keyed by the call's own keyword order; snapshot() normalises
        key = (name, tuple(dimensions.items()))
        with self._lock:
            self._counts[key] += value

    def get(self, name: str, **dimensions: str) -> int:
        """The sum of a counter over every series whose dimensions include
        the given ones (``get("Invocations")`` is the total)."""
        want = set(dimensions.items())
        with self._lock:
            return sum(
                v for (n, dims), v in self._counts.items() if n == name and want <= set(dims)
            )

    def snapshot(self) -> list[dict[str, object]]:
        merged: Counter[Key] = Counter()
        with self._lock:
            for (name, dims), v in self._counts.items():
                merged[(name, tuple(sorted(dims)))] += v
        return [
            {"MetricName": n, "Dimensions": dict(d), "Value": v}
            for (n, d), v in sorted(merged.items())
        ]

    def prometheus(self) -> str:
        lines: list[str] = []
        seen: set[str] = set()
        for entry in self.snapshot():
            name = "fastbridge_" + _snake(str(entry["MetricName"])) + "_total"
            if name not in seen:
                seen.add(name)
                lines.append(f"# TYPE {name} counter")
            dims = entry["Dimensions"]
            assert isinstance(dims, dict)
            labels = ",".join(f'{k}="{_escape(str(v))}"' for k, v in dims.items())
            lines.append(f"{name}{{{labels}}} {entry['Value']}")
        return "\n".join(lines) + "\n"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

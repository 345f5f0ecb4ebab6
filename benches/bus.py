"""The bus benchmark: events/s through put_events -> match -> delivery.

    python -m benches.bus [--quick] [--rules N] [--out FILE]

For each store — in memory, SQLite with ``durability="normal"`` (survives a
crash of the process) and SQLite with ``durability="full"`` (the default:
survives a power cut; one fsync per put_events call) — it measures:

* **accept**: put_events calls of 10 entries, no dispatcher running: the
  cost of validation, envelope, matching against the rule set and the
  commit of every delivery owed;
* **end to end**: the same with the dispatcher's threads delivering to an
  in-process Python function target while events arrive, timed until the
  last delivery is done.

The rule set is the bus rule set of the matching benchmark
(``benches/rulesets.py``: tenants' rules over every operator), plus one rule
every event matches so that every event is delivered exactly once. Every
delivered id is checked against the accepted ids.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benches import rulesets
from fastbridge.bus import EventBridge

ENTRY_DETAIL = {
    "orderId": "ord-1",
    "amount": 125.5,
    "customer": {"tier": "gold"},
    "items": [{"sku": "a-1", "qty": 2}],
}


def _bus(kind: str, folder: Path, rules: int, start: bool) -> EventBridge:
    path = None if kind == "memory" else folder / f"{kind}-{time.monotonic_ns()}.db"
    durability = "full" if kind == "sqlite-full" else "normal"
    bus = EventBridge(path, durability=durability, start=False)
    for name, pattern in rulesets.bus_rules(rules):
        bus.put_rule(Name=name[:64], EventPattern=pattern)
    bus.put_rule(Name="all-orders", EventPattern='{"source": ["bench.orders"]}')
    if start:
        bus.start(workers=2)
    return bus


def _entries(n: int) -> list[dict[str, Any]]:
    detail = json.dumps(ENTRY_DETAIL)
    return [{"Source": "bench.orders", "DetailType": "Order Placed", "Detail": detail}] * n


def measure(kind: str, folder: Path, events: int, rules: int) -> dict[str, Any]:
    # accept only
    bus = _bus(kind, folder, rules, start=False)
    bus.put_targets(Rule="all-orders", Targets=[{"Id": "q", "Arn": bus.create_queue("q")}])
    batch = _entries(10)
    t0 = time.perf_counter()
    for _ in range(events // 10):
        bus.put_events(Entries=batch)
    accept = time.perf_counter() - t0
    bus.close()

    # end to end, to a Python function
    got: list[str] = []
    lock = threading.Lock()

    def sink(event: Any) -> None:
        with lock:
            got.append(event["id"])

    bus = _bus(kind, folder, rules, start=False)
    bus.put_targets(
        Rule="all-orders", Targets=[{"Id": "f", "Arn": bus.register_function("sink", sink)}]
    )
    bus.start(workers=2)
    ids: list[str] = []
    t0 = time.perf_counter()
    for _ in range(events // 10):
        ids += [e["EventId"] for e in bus.put_events(Entries=batch)["Entries"]]
    if not bus.wait_idle(600):
        raise RuntimeError(f"{kind}: deliveries did not finish")
    end_to_end = time.perf_counter() - t0
    bus.close()
    if sorted(got) != sorted(ids):
        raise RuntimeError(f"{kind}: delivered ids differ from accepted ids")
    return {
        "store": kind,
        "events": events,
        "rules": rules + 1,
        "accept_events_per_s": events / accept,
        "end_to_end_events_per_s": events / end_to_end,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benches.bus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer events (a few seconds)")
    parser.add_argument("--rules", type=int, default=1000, help="bus rules besides the catch-all")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    events = 2_000 if args.quick else 20_000
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("memory", "sqlite-normal", "sqlite-full"):
            n = events // 4 if kind == "sqlite-full" else events
            r = measure(kind, Path(tmp), n, args.rules)
            results.append(r)
            print(
                f"{kind:14} {r['rules']:>6} rules  accept {r['accept_events_per_s']:>9,.0f} ev/s"
                f"  end to end {r['end_to_end_events_per_s']:>9,.0f} ev/s  ({n:,} events)",
                flush=True,
            )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

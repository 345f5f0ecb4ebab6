"""A bus in a child process, for tests/bus/test_crash.py.

    python crash_child.py produce DIR N   # accept N events, deliver while accepting
    python crash_child.py resume DIR      # restart on the same store, deliver what is owed

Every EventId that put_events returned is appended to DIR/accepted.txt
(after put_events returned, so only accepted events are listed); the target
appends each id it receives to DIR/delivered.txt. Both files are flushed
line by line, so a SIGKILL loses nothing that was written.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

from fastbridge.bus import EventBridge


def open_bus(folder: Path) -> tuple[EventBridge, Any]:
    delivered = open(folder / "delivered.txt", "a", buffering=1)  # noqa: SIM115
    lock = threading.Lock()

    def target(event: Any) -> None:
        time.sleep(0.0005)  # a target with some latency, so deliveries lag behind
        with lock:
            delivered.write(event["id"] + "\n")
            delivered.flush()

    bus = EventBridge(folder / "bus.db", start=False, durability="full", retry_base=0.05)
    bus.register_function("sink", target)
    if "r" not in [r["Name"] for r in bus.list_rules()["Rules"]]:
        bus.put_rule(Name="r", EventPattern='{"source": ["crash.test"]}')
        bus.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": bus.function_arn("sink")}])
    return bus, delivered


def produce(folder: Path, n: int) -> None:
    bus, _ = open_bus(folder)
    bus.start(workers=2)
    accepted = open(folder / "accepted.txt", "a", buffering=1)  # noqa: SIM115
    entry = {"Source": "crash.test", "DetailType": "t", "Detail": '{"n": 0}'}
    for i in range(0, n, 10):
        out = bus.put_events(Entries=[{**entry, "Detail": f'{{"n": {i + k}}}'} for k in range(10)])
        accepted.write("".join(e["EventId"] + "\n" for e in out["Entries"]))
        accepted.flush()
    print("produced", flush=True)
    bus.wait_idle(120)
    bus.close()


def resume(folder: Path) -> None:
    bus, _ = open_bus(folder)
    bus.start(workers=2)
    ok = bus.wait_idle(120)
    bus.close()
    print("idle" if ok else "timeout", flush=True)


if __name__ == "__main__":
    mode, folder = sys.argv[1], Path(sys.argv[2])
    if mode == "produce":
        produce(folder, int(sys.argv[3]))
    else:
        resume(folder)

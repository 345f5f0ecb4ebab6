"""The bus on a 3-node JetStream cluster (every stream R3) while the node
leading the routers' consumer is SIGKILLed and later restarted: every
accepted event is delivered at least once; duplicates are counted and
reported."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fastbridge.nats import NatsBus
from fastbridge.nats.local import Node

ORDER = {"Source": "shop", "DetailType": "Order", "Detail": '{"total": 250}'}


def leaders(bus: NatsBus) -> dict[str, str]:
    """Which node leads the ingest stream and the router and deliver consumers."""
    js, stream = bus.nats.js, bus.nats.stream

    async def ask() -> dict[str, str]:
        out = {"ingest": (await js.stream_info(stream("INGEST"))).cluster}
        out["router"] = (await js.consumer_info(stream("INGEST"), "router")).cluster
        out["deliver"] = (await js.consumer_info(stream("DELIVER"), "deliver")).cluster
        return {k: str(c.leader) for k, c in out.items() if c is not None}

    return bus.nats.run(ask())


@pytest.mark.slow
def test_sigkilled_leader_loses_no_accepted_event(
    nats_cluster: list[Node], tmp_path: Path
) -> None:
    bus = NatsBus([n.url for n in nats_cluster], replicas=3, log_dir=tmp_path / "logs",
                  retry_base=0.05, retry_cap=0.5)  # fmt: skip
    got: Counter[str] = Counter()
    lock = threading.Lock()

    def sink(event: Any) -> None:
        with lock:
            got[event["id"]] += 1

    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    bus.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": bus.register_function("s", sink)}])
    bus.start()
    accepted: list[str] = []
    failed_calls = 0
    stop = threading.Event()

    def publish() -> None:
        nonlocal failed_calls
        while not stop.is_set() and len(accepted) < 3000:
            try:
                out = bus.put_events(Entries=[ORDER] * 10)
            except Exception:  # not accepted: no EventIds were returned
                failed_calls += 1
                continue
            accepted.extend(e["EventId"] for e in out["Entries"])

    publisher = threading.Thread(target=publish)
    publisher.start()
    try:
        deadline = time.monotonic() + 60
        while len(accepted) < 500:
            assert time.monotonic() < deadline, "events did not flow"
            time.sleep(0.05)
        led = leaders(bus)
        victim = next(n for n in nats_cluster if n.name == led["router"])
        victim.kill()  # the consumer leader (and whatever else it led), while events flow
        killed_at = len(accepted)
        while len(accepted) < killed_at + 500:
            assert time.monotonic() < deadline + 60, "events stopped after the kill"
            time.sleep(0.05)
        victim.start()  # it rejoins
        publisher.join(120)
        assert not publisher.is_alive()
        # the killed node's unacknowledged messages come back after ack_wait
        deadline = time.monotonic() + 120
        while not set(accepted) <= set(got) and time.monotonic() < deadline:
            time.sleep(0.2)
        missing = set(accepted) - set(got)
        assert not missing, f"{len(missing)} of {len(accepted)} accepted events not delivered"
        deadline = time.monotonic() + 60
        while True:  # and the restarted node is a current replica again
            info = bus.nats.run(bus.nats.js.stream_info(bus.nats.stream("INGEST")))
            replicas = {r.name: r for r in (info.cluster.replicas or [])}  # type: ignore[union-attr]
            if victim.name in replicas and replicas[victim.name].current:
                break
            assert time.monotonic() < deadline, f"{victim.name} did not rejoin: {replicas}"
            time.sleep(0.5)
        twice = sum(c - 1 for c in got.values())
        roles = ", ".join(k for k, v in led.items() if v == victim.name)
        print(f"killed {victim.name} (leader of: {roles}); {len(accepted)} events accepted, "
              f"all delivered, {twice} delivered more than once; {failed_calls} put_events "
              "calls failed during the election")  # fmt: skip
        assert len(accepted) >= 3000
    finally:
        stop.set()
        publisher.join(30)
        bus.close()

"""The NATS backend end to end, beside SQLite, with JetStream's own ceiling.

    python -m benches.nats [--events 4000] [--routers 1 2 4] [--cluster] [--out FILE]

Each run starts its own nats-server (one node; with ``--cluster`` also a
3-node cluster, streams at R3) on loopback and measures, for the same events
and one catch-all rule delivering to a Python function:

* **raw JetStream**: publish every event to a stream and read it back
  through a durable pull consumer, acking each — the most any backend on this
  server can do;
* **NATS backend** with 1, 2, 4 router processes (``python -m fastbridge.nats
  router``) and one deliverer in this process: events/s from the first
  put_events to the last delivery;
* **SQLite backend** (``durability="normal"`` and ``"full"``) in the same run.

Every delivered id is checked against the accepted ids.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENTRY = {"Source": "bench", "DetailType": "load", "Detail": '{"orderId": "o-1", "total": 12.5}'}


def _subscribe(bus: Any) -> list[str]:
    """One catch-all rule delivering to a Python function; the ids it receives."""
    got: list[str] = []
    lock = threading.Lock()

    def sink(event: Any) -> None:
        with lock:
            got.append(event["id"])

    bus.put_rule(Name="all", EventPattern='{"source": ["bench"]}')
    bus.put_targets(Rule="all", Targets=[{"Id": "f", "Arn": bus.register_function("sink", sink)}])
    return got


def _pump(bus: Any, events: int, got: list[str]) -> float:
    """Put ``events`` events, ten a call, and wait for every delivery: events/s."""
    ids: list[str] = []
    t0 = time.perf_counter()
    for _ in range(events // 10):
        ids += [e["EventId"] for e in bus.put_events(Entries=[ENTRY] * 10)["Entries"]]
    _wait(lambda: len(got) >= len(ids))
    seconds = time.perf_counter() - t0
    if set(got) != set(ids):
        raise RuntimeError("delivered ids differ from accepted ids")
    return len(ids) / seconds


def _wait(done: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("deliveries did not finish")
        time.sleep(0.01)


def raw_jetstream(urls: list[str], events: int, replicas: int) -> float:
    import nats
    from nats.js.api import ConsumerConfig, StreamConfig

    async def go() -> float:
        nc = await nats.connect(servers=urls)
        js = nc.jetstream(timeout=10)
        await js.add_stream(StreamConfig(name="RAW", subjects=["raw.>"], num_replicas=replicas))
        body = json.dumps(ENTRY).encode()
        t0 = time.perf_counter()
        for start in range(0, events, 100):
            await asyncio.gather(*(js.publish("raw.x", body)
                                   for _ in range(min(100, events - start))))  # fmt: skip
        sub = await js.pull_subscribe("raw.>", durable="raw",
                                      config=ConsumerConfig(max_ack_pending=10_000))  # fmt: skip
        seen = 0
        while seen < events:
            for m in await sub.fetch(min(256, events - seen), timeout=5):
                await m.ack()
                seen += 1
        seconds = time.perf_counter() - t0
        await js.delete_stream("RAW")
        await nc.close()
        return events / seconds

    return asyncio.run(go())


def nats_backend(urls: list[str], events: int, routers: int, replicas: int, prefix: str,
                 logs: Path) -> float:  # fmt: skip
    from fastbridge.nats import NatsBus

    bus = NatsBus(urls, prefix=prefix, replicas=replicas, log_dir=logs)
    got = _subscribe(bus)
    bus.start_deliverer()
    procs = [subprocess.Popen([sys.executable, "-m", "fastbridge.nats", "router", "--servers",
                               ",".join(urls), "--prefix", prefix], stdout=subprocess.PIPE,
                              text=True) for _ in range(routers)]  # fmt: skip
    try:
        for p in procs:
            assert p.stdout is not None and "running" in p.stdout.readline()
        return _pump(bus, events, got)
    finally:
        for p in procs:
            p.terminate()
            p.wait(30)
        bus.close()


def sqlite_backend(folder: Path, events: int, durability: str) -> float:
    from fastbridge.bus import EventBridge

    bus = EventBridge(folder / f"bench-{durability}.db", durability=durability, workers=2)
    try:
        return _pump(bus, events, _subscribe(bus))
    finally:
        bus.close()


def main(argv: list[str] | None = None) -> int:
    from fastbridge.nats.local import NATS_SERVER, Node, cluster

    parser = argparse.ArgumentParser(
        prog="python -m benches.nats",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--routers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--cluster", action="store_true", help="also on a 3-node cluster (R3)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if NATS_SERVER is None:
        print("nats-server is not installed (make install fetches it from Debian)")
        return 2
    results: list[dict[str, Any]] = []

    def report(setup: str, what: str, rate: float) -> None:
        results.append({"setup": setup, "what": what, "events_per_s": rate})
        print(f"{setup:10} {what:28} {rate:10,.0f} events/s", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind in ("normal", "full"):
            report("sqlite", f"durability={kind}", sqlite_backend(folder, args.events, kind))
        setups: list[tuple[str, list[Node], int]] = [("1 node", [Node("b1", folder / "b1")], 1)]
        if args.cluster:
            setups.append(("3 nodes", cluster(folder / "c"), 3))
        for setup, nodes, replicas in setups:
            for node in nodes:
                node.start()
            urls = [n.url for n in nodes]
            try:
                time.sleep(2 if replicas > 1 else 0)  # a cluster elects its meta leader first
                report(setup, "raw JetStream pub+consume", raw_jetstream(urls, args.events,
                                                                          replicas))  # fmt: skip
                for i, n in enumerate(args.routers):
                    rate = nats_backend(urls, args.events, n, replicas, f"B{i}", folder / "logs")
                    report(setup, f"NATS backend, {n} router(s)", rate)
            finally:
                for node in nodes:
                    node.stop()
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

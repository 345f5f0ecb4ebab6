"""A bounded load test of ``fastbridge serve``: concurrent boto3 clients.

    python -m benches.serve [--clients 4] [--calls 200] [--entries 10] [--out FILE]

The server runs in this process (SQLite store, SigV4 on, as ``fastbridge
serve`` runs it) with one rule and a built-in queue target; each client is a
process of its own with its own boto3 client, making ``--calls`` PutEvents
calls of ``--entries`` entries one after another. Printed: events/s over the
whole run, and the p50/p99/max latency of a PutEvents call as the client saw
it. Every accepted event is checked to have reached the queue.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

KEY_ID, SECRET = "FBBENCHKEY000001", "bench-secret-0123456789"


def _client_run(endpoint: str, calls: int, entries: int) -> tuple[list[float], list[str]]:
    import boto3
    import botocore.config

    events = boto3.client(
        "events",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )
    batch = [
        {"Source": "bench", "DetailType": "load", "Detail": '{"n": 1, "payload": "x"}'}
        for _ in range(entries)
    ]
    events.list_event_buses()  # connect and warm up outside the timing
    latencies, ids = [], []
    for _ in range(calls):
        t0 = time.perf_counter()
        out = events.put_events(Entries=batch)
        latencies.append(time.perf_counter() - t0)
        if out["FailedEntryCount"]:
            raise RuntimeError(f"entries failed: {out}")
        ids += [e["EventId"] for e in out["Entries"]]
    return latencies, ids


def run(clients: int, calls: int, entries: int, durability: str) -> dict[str, Any]:
    from fastbridge.bus import EventBridge
    from fastbridge.serve import Credentials, Limits, Server

    with tempfile.TemporaryDirectory() as tmp:
        bus = EventBridge(Path(tmp) / "serve.db", durability=durability, workers=2)
        bus.put_rule(Name="all", EventPattern='{"source": ["bench"]}')
        bus.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": bus.create_queue("sink")}])
        server = Server(
            bus,
            port=0,
            credentials=[Credentials(KEY_ID, SECRET)],
            threads=8,
            limits=Limits(per_client_concurrency=64),
        ).start()
        try:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(clients) as pool:
                t0 = time.perf_counter()
                results = pool.starmap(_client_run, [(server.endpoint, calls, entries)] * clients)
                seconds = time.perf_counter() - t0
            bus.wait_idle(120)
            ids = [i for _, got in results for i in got]
            delivered = len(bus.queue("sink"))
            if delivered != len(ids):
                raise RuntimeError(f"{len(ids)} events accepted, {delivered} delivered")
        finally:
            server.close()
            bus.close()
    latencies = sorted(x for lat, _ in results for x in lat)
    return {
        "clients": clients, "calls_per_client": calls, "entries_per_call": entries,
        "durability": durability, "events": len(ids), "seconds": seconds,
        "events_per_s": len(ids) / seconds,
        "latency_ms": {"p50": 1e3 * statistics.median(latencies),
                       "p99": 1e3 * latencies[int(0.99 * (len(latencies) - 1))],
                       "max": 1e3 * latencies[-1]},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benches.serve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--calls", type=int, default=200, help="PutEvents calls per client")
    parser.add_argument("--entries", type=int, default=10, help="entries per call (1-10)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    results = []
    for durability in ("normal", "full"):
        r = run(args.clients, args.calls, args.entries, durability)
        results.append(r)
        lat = r["latency_ms"]
        print(f"sqlite-{durability:6}  {r['clients']} clients x {r['calls_per_client']} calls x "
              f"{r['entries_per_call']} entries: {r['events_per_s']:8,.0f} events/s   "
              f"PutEvents p50 {lat['p50']:.1f} ms  p99 {lat['p99']:.1f} ms  "
              f"max {lat['max']:.1f} ms", flush=True)  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Bus rule scaling up to 100k rules through the batch API (the quick suite
stops at 10k). Every machine is built first, then all are timed round-robin,
so drift on a shared machine hits them alike; the best pass counts. A digest
of every answer is printed, so runs before and after an engine change can be
compared for identical results.

    python -m benches.rule_scaling [--passes 7] [--counts 10,100,1000,10000,100000] [--out F]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import time
from pathlib import Path

import fastbridge
from benches.data import bus_file
from benches.rulesets import bus_rules


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=7)
    ap.add_argument("--counts", default="10,100,1000,10000,100000")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    events = bus_file(2000, log=False).read_lines()
    universe = bus_rules(max(counts))
    machines = {}
    for n in counts:
        m = fastbridge.Machine()
        m.add_rules(dict(universe[:n]))
        machines[n] = m
    gc.disable()
    best = {n: float("inf") for n in counts}
    digest = {}
    for p in range(args.passes):
        for n in counts:
            t = time.perf_counter()
            res = machines[n].rules_for_events(events)
            best[n] = min(best[n], time.perf_counter() - t)
            if p == 0:
                text = json.dumps([sorted(r) for r in res]).encode()
                digest[n] = hashlib.sha256(text).hexdigest()[:16]
    base = len(events) / best[counts[0]]
    out = {}
    for n in counts:
        rate = len(events) / best[n]
        out[n] = {"events_per_s": rate, "digest": digest[n]}
        print(f"{n:>7} rules: {rate:>10,.0f} ev/s  {100 * rate / base:>4.0f}% of {counts[0]} rules"
              f"  answers {digest[n]}")
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Worker processes for the NATS backend:

    python -m fastbridge.nats router  --servers nats://host:4222 [--prefix FB] [--replicas 3]
    python -m fastbridge.nats deliver --servers nats://host:4222 [--log-dir DIR]

A router matches and fans out; a deliverer delivers to every target kind but
Python functions (those are delivered by the processes that register them),
and runs schedules, replays and archive retention while it holds the ticker
lease. Both run until SIGTERM or Ctrl-C, then stop cleanly: unacknowledged
work goes to another worker.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from fastbridge.nats.bus import NatsBus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fastbridge.nats",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("role", choices=("router", "deliver"))
    parser.add_argument("--servers", required=True, help="NATS URL(s), comma-separated")
    parser.add_argument("--prefix", default="FB")
    parser.add_argument("--replicas", type=int, default=1,
                        help="stream replicas if this process makes them (3 on a 3-node cluster)")
    parser.add_argument("--log-dir", default="fastbridge-logs")
    parser.add_argument(
        "--ack-wait",
        type=float,
        default=60.0,
        help="seconds a delivery may take before another deliverer gets it",
    )
    args = parser.parse_args(argv)
    bus = NatsBus(args.servers.split(","), prefix=args.prefix, replicas=args.replicas,
                  log_dir=args.log_dir, ack_wait=args.ack_wait)  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.role == "router":
        bus.start_router()
    else:
        bus.start_deliverer()
    print(f"fastbridge.nats {args.role}: running", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    bus.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

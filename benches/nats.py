"""The NATS backend end to end, beside SQLite, with JetStream's own ceiling.

    python -m benches.nats [--events 4000] [--routers 1 2 4] [--producers 4]
                           [--no-cluster] [--no-sqlite] [--out FILE]

One run starts fresh nats-servers on loopback in a temporary folder (one
node, then a 3-node cluster with every stream at R3) and measures, for the
same events and one catch-all rule delivering to a Python function:

* **raw JetStream**: publish every event to a stream while a durable pull
  consumer reads and acks them, from the first publish to the last ack (best
  of a run before and one after the backend's runs): the ceiling for that
  topology;
* **NATS backend** with 1, 2 and 4 router processes (``python -m
  fastbridge.nats router``) and one deliverer in this process: from the first
  put_events to the last delivery; each run has its own stream prefix (and
  its streams are deleted after it). On the cluster every client and router
  gets all three URLs;
* **routing only**: the same with no deliverer, until the routers have
  acknowledged every event (each delivery they owe is published and counted):
  what adding router processes adds, apart from delivering;
* **SQLite backend** (``durability="normal"`` and ``"full"``, two workers).

Events are put ten a call (``--events`` is rounded down to a multiple of
ten) from ``--producers`` threads. Every delivered id
is checked against the accepted ids (missing, unknown and duplicate ids fail
the run); NATS runs also check the streams' replica count, that the
consumers drained, and report what the router processes wrote to stderr.
Exit status: 0 when every run passed its checks, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ENTRY = {"Source": "bench", "DetailType": "load", "Detail": '{"orderId": "o-1", "total": 12.5}'}
BATCH = 10
"""Entries per put_events call (EventBridge's limit)."""
ROOT = Path(__file__).resolve().parent.parent


class CheckFailed(RuntimeError):
    """A run whose deliveries (or streams) are not what they should be."""


@dataclass
class Row:
    """One line of the table."""

    backend: str
    topology: str
    routers: int | None
    events: int = 0
    seconds: float = 0.0
    events_per_s: float = 0.0
    put_per_s: float | None = None
    ceiling_ratio: float | None = None
    ok: bool = True
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


# ---- deliveries and their check ------------------------------------------------------


class Sink:
    """The Python function target: records every delivered id and when the
    last one came."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: list[str] = []
        self.times: list[float] = []
        self.seen: set[str] = set()
        self.last = 0.0

    def __call__(self, event: Any) -> None:
        with self.lock:
            self.last = time.perf_counter()
            self.ids.append(event["id"])
            self.times.append(self.last)
            self.seen.add(event["id"])


def _subscribe(bus: Any) -> Sink:
    """One catch-all rule whose one target is a fresh :class:`Sink`."""
    sink = Sink()
    bus.put_rule(Name="all", EventPattern='{"source": ["bench"]}')
    bus.put_targets(Rule="all", Targets=[{"Id": "f", "Arn": bus.register_function("sink", sink)}])
    return sink


def _put(bus: Any, calls: int) -> list[str]:
    """``calls`` put_events of BATCH entries each; the accepted ids."""
    ids: list[str] = []
    for _ in range(calls):
        out = bus.put_events(Entries=[ENTRY] * BATCH)
        if out["FailedEntryCount"]:
            raise CheckFailed(f"put_events failed entries: {out['Entries']}")
        ids += [e["EventId"] for e in out["Entries"]]
    return ids


def _pump(bus: Any, sink: Sink, events: int, producers: int, stall: float) -> Row:
    """Put ``events`` events from ``producers`` threads, wait for every
    delivery, and check the delivered ids against the accepted ones."""
    calls = max(1, events // BATCH)
    shares = [calls // producers + (i < calls % producers) for i in range(producers)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(producers, thread_name_prefix="producer") as pool:
        parts = [pool.submit(_put, bus, n) for n in shares if n]
        accepted = [i for part in parts for i in part.result()]
    put_seconds = time.perf_counter() - t0
    wanted = set(accepted)
    if len(wanted) != len(accepted):
        raise CheckFailed("put_events returned the same EventId twice")
    progress, since = -1, time.monotonic()
    while True:
        with sink.lock:
            done = wanted <= sink.seen
            count = len(sink.ids)
        if done:
            break
        if count != progress:
            progress, since = count, time.monotonic()
        elif time.monotonic() - since > stall:
            with sink.lock:
                missing = len(wanted - sink.seen)
            raise CheckFailed(f"stalled: no delivery for {stall:.0f} s with {missing} of "
                              f"{len(wanted)} accepted events undelivered")  # fmt: skip
        time.sleep(0.005)
    seconds = sink.last - t0
    time.sleep(0.5)  # late duplicates or strangers show up here
    with sink.lock:
        got, times = list(sink.ids), sorted(sink.times)
    n = len(accepted)
    row = Row("", "", None, events=n, seconds=seconds, events_per_s=n / seconds,
              put_per_s=n / put_seconds)  # fmt: skip
    gaps = [b - a for a, b in zip([t0, *times], times, strict=False)]
    row.extra["delivered_by_s"] = {f"{q}%": times[min(len(times), max(1, n * q // 100)) - 1] - t0
                                   for q in (1, 50, 90, 100)}  # fmt: skip
    row.extra["longest_gap_s"] = max(gaps)
    if max(gaps) > 2:
        row.notes.append(f"deliveries paused {max(gaps):.1f} s at "
                         f"{gaps.index(max(gaps))} of {n} delivered")  # fmt: skip
    strangers = len(set(got) - wanted)
    duplicates = len(got) - len(set(got))
    if strangers:
        raise CheckFailed(f"{strangers} delivered ids were never accepted")
    if duplicates:
        # At-least-once allows them, but none should happen on a quiet run.
        row.notes.append(f"{duplicates} duplicate deliveries")
        row.ok = False
    return row


# ---- processes and servers -------------------------------------------------------------


def _env() -> dict[str, str]:
    """This interpreter's import path for child processes: the fastbridge
    this process imported, and ``benches``."""
    import fastbridge

    paths = [str(Path(fastbridge.__file__).resolve().parent.parent), str(ROOT)]
    old = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths + ([old] if old else []))}


def _stop(procs: list[subprocess.Popen[bytes]], timeout: float = 20) -> None:
    """SIGTERM every process, then SIGKILL whatever is left after ``timeout``."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


@contextmanager
def _routers(commands: list[list[str]], logs: list[Path],
             timeout: float = 60) -> Iterator[list[subprocess.Popen[bytes]]]:  # fmt: skip
    """Router processes, each up (it printed ``running``) before the body
    runs; always stopped afterwards, killed if they do not stop."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for command, log in zip(commands, logs, strict=True):
            with open(log, "wb") as out:
                procs.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, env=_env(),
                                              cwd=log.parent))  # fmt: skip
        deadline = time.monotonic() + timeout
        for p, log in zip(procs, logs, strict=True):
            while "running" not in log.read_text(errors="replace"):
                if p.poll() is not None:
                    raise CheckFailed(f"router exited with {p.returncode}: {_tail(log)}")
                if time.monotonic() > deadline:
                    raise CheckFailed(f"router not running after {timeout:.0f} s: {_tail(log)}")
                time.sleep(0.05)
        yield procs
    finally:
        _stop(procs)


def _tail(log: Path, lines: int = 3) -> str:
    text = log.read_text(errors="replace").strip().splitlines()
    return " | ".join(text[-lines:]) or "(no output)"


def _complaints(log: Path) -> list[str]:
    """What a router printed besides its ``running`` line."""
    return [line for line in log.read_text(errors="replace").splitlines()
            if line.strip() and "running" not in line]  # fmt: skip


class _Records(logging.Handler):
    """Warnings and errors fastbridge logs in this process."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _admin(urls: list[str], work: Callable[[Any], Awaitable[T]], timeout: float = 120) -> T:
    """Run ``work(js)`` on a connection of its own (not the bus's)."""
    import nats

    async def go() -> T:
        nc = await nats.connect(servers=urls, connect_timeout=5)
        try:
            return await asyncio.wait_for(work(nc.jetstream(timeout=10)), timeout)
        finally:
            await nc.close()

    return asyncio.run(go())


def _wait_ready(urls: list[str], replicas: int, timeout: float = 90) -> float:
    """Wait until JetStream answers on every node and, on a cluster, an R3
    stream can be placed (the meta leader is elected and knows every
    peer); the seconds it took."""
    import nats.errors
    import nats.js.errors
    from nats.js.api import StreamConfig

    transient = (nats.js.errors.APIError, nats.errors.TimeoutError,
                 nats.errors.NoRespondersError, asyncio.TimeoutError)  # fmt: skip
    t0 = time.monotonic()

    async def until(step: Callable[[], Awaitable[Any]]) -> None:
        while True:
            try:
                await step()
                return
            except transient:
                if time.monotonic() - t0 > timeout:
                    raise
                await asyncio.sleep(0.25)

    async def each(js: Any) -> None:
        await until(js.account_info)

    for url in urls:
        _admin([url], each, timeout)
    if replicas > 1:

        async def probe(js: Any) -> None:
            config = StreamConfig(name="READY", subjects=["ready.x"], num_replicas=replicas)
            await until(lambda: js.add_stream(config))
            await js.delete_stream("READY")

        _admin(urls, probe, timeout)
    return time.monotonic() - t0


def _ours(name: str, prefix: str) -> bool:
    """Whether a stream belongs to the NATS backend under ``prefix`` (its
    streams, and its key-value buckets' ``KV_`` streams)."""
    return name.startswith((f"{prefix}_", f"KV_{prefix}_"))


def _streams_of(urls: list[str], prefix: str) -> dict[str, int]:
    """The replica count of each stream of a NATS backend prefix."""

    async def read(js: Any) -> dict[str, int]:
        infos = await js.streams_info()
        return {i.config.name: i.config.num_replicas for i in infos
                if _ours(i.config.name, prefix)}  # fmt: skip

    return _admin(urls, read)


def _pending(urls: list[str], prefix: str, wait: float = 5) -> dict[str, int]:
    """What the durable consumers of a prefix still hold, unread or unacked
    (waits up to ``wait`` s for the last acks to land); only those not at 0."""

    async def read(js: Any) -> dict[str, int]:
        deadline = time.monotonic() + wait
        while True:
            out = {}
            for stream in await js.streams_info():
                if not _ours(stream.config.name, prefix):
                    continue
                for c in await js.consumers_info(stream.config.name):
                    if c.config.durable_name and c.num_pending + c.num_ack_pending:
                        out[f"{stream.config.name}/{c.name}"] = c.num_pending + c.num_ack_pending
            if not out or time.monotonic() > deadline:
                return out
            await asyncio.sleep(0.2)

    return _admin(urls, read)


def _drop(urls: list[str], prefix: str) -> None:
    """Delete a finished run's streams, so later runs share the servers with
    nothing but idle names."""

    async def drop(js: Any) -> None:
        for info in await js.streams_info():
            name = info.config.name
            if _ours(name, prefix):
                await js.delete_stream(name)

    _admin(urls, drop)


def _log_sizes(folder: Path) -> dict[Path, int]:
    """Where each nats-server log in ``folder`` ends now."""
    return {log: log.stat().st_size for log in folder.glob("*.log")}


def _server_complaints(folder: Path, since: dict[Path, int]) -> list[str]:
    """[ERR] and [WRN] lines the nats-server logs in ``folder`` got after ``since``."""
    out = []
    for log in sorted(folder.glob("*.log")):
        with open(log, "rb") as f:
            f.seek(since.get(log, 0))
            text = f.read().decode(errors="replace")
        out += [f"{log.stem}: {line.strip()}" for line in text.splitlines()
                if "[ERR]" in line or "[WRN]" in line]  # fmt: skip
    return out


# ---- the measurements ------------------------------------------------------------------


def raw_jetstream(urls: list[str], events: int, replicas: int, name: str) -> Row:
    """Publish ``events`` events (a hundred in flight) to a fresh stream while
    a durable pull consumer reads and acks them: first publish to last ack."""
    import nats.errors
    from nats.js.api import ConsumerConfig, StreamConfig

    body = json.dumps(ENTRY).encode()

    async def go(js: Any) -> Row:
        subject = f"{name.lower()}.x"
        await js.add_stream(StreamConfig(name=name, subjects=[subject], num_replicas=replicas))
        sub = await js.pull_subscribe(subject, durable="raw", stream=name,
                                      config=ConsumerConfig(max_ack_pending=20_000))  # fmt: skip

        async def publish() -> float:
            for start in range(0, events, 100):
                await asyncio.gather(*(js.publish(subject, body)
                                       for _ in range(min(100, events - start))))  # fmt: skip
            return time.perf_counter()

        t0 = time.perf_counter()
        published = asyncio.ensure_future(publish())
        seen = 0
        while seen < events:
            try:
                msgs = await sub.fetch(min(256, events - seen), timeout=1)
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                if published.done():
                    await published  # raises what the publisher raised
                if time.perf_counter() - t0 > 300:
                    raise CheckFailed(f"raw consumer stalled at {seen} of {events}") from None
                continue
            for m in msgs:
                await m.ack()
            seen += len(msgs)
        end = time.perf_counter()
        put_end = await published
        await js.delete_stream(name)
        return Row("raw JetStream", "", None, events=events, seconds=end - t0,
                   events_per_s=events / (end - t0), put_per_s=events / (put_end - t0))  # fmt: skip

    return _admin(urls, go, timeout=600)


def _router_command(urls: list[str], prefix: str, replicas: int, logs: Path) -> list[str]:
    """A router process, as users start one."""
    return [sys.executable, "-m", "fastbridge.nats", "router", "--servers", ",".join(urls),
            "--prefix", prefix, "--replicas", str(replicas), "--log-dir", str(logs)]  # fmt: skip


def nats_backend(urls: list[str], events: int, routers: int, replicas: int, prefix: str,
                 folder: Path, producers: int, stall: float) -> Row:  # fmt: skip
    """The NATS backend with ``routers`` router processes and a deliverer here."""
    from fastbridge.nats import NatsBus

    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    command = _router_command(urls, prefix, replicas, logs)
    router_logs = [folder / f"router-{prefix}-{i}.log" for i in range(routers)]
    records = _Records()
    logging.getLogger("fastbridge").addHandler(records)
    notes: list[str] = []
    t0 = time.monotonic()
    try:
        bus = NatsBus(urls, prefix=prefix, replicas=replicas, log_dir=logs)
        try:
            sink = _subscribe(bus)
            bus.start_deliverer()
            with _routers([command] * routers, router_logs):
                setup = time.monotonic() - t0
                row = _pump(bus, sink, events, producers, stall)
                streams = _streams_of(urls, prefix)
        finally:
            bus.close()
    except CheckFailed as e:
        raise CheckFailed(f"{e}{_replica_damage(urls, prefix, replicas)}") from None
    finally:
        logging.getLogger("fastbridge").removeHandler(records)
    left = _pending(urls, prefix)
    if left:
        notes.append(f"not drained after the run: {left}")
    wrong = {n: r for n, r in streams.items() if r != replicas}
    if wrong:
        row.ok = False
        notes.append(f"streams not at R{replicas} after the routers started: {wrong}")
    said = [line for log in router_logs for line in _complaints(log)]
    if said:
        notes.append(f"router output, {len(said)} lines: " + " | ".join(said[:3]))
    if records.lines:
        notes.append(f"this process logged {len(records.lines)} warnings/errors: "
                     + " | ".join(records.lines[:3]))  # fmt: skip
    row.notes = notes + row.notes
    row.extra |= {"setup_s": setup, "prefix": prefix, "streams": streams,
                  "router_output": said[:50], "logged": records.lines[:50],
                  "router_command": command}  # fmt: skip
    return row


def nats_routing(urls: list[str], events: int, routers: int, replicas: int, prefix: str,
                 folder: Path, producers: int, stall: float) -> Row:  # fmt: skip
    """Routing alone: ``routers`` router processes and no deliverer, from the
    first put_events until the routers' consumer has every event acked; the
    deliveries they published are counted (one per event)."""
    from fastbridge.nats import NatsBus

    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    command = _router_command(urls, prefix, replicas, logs)
    router_logs = [folder / f"router-{prefix}-{i}.log" for i in range(routers)]
    bus = NatsBus(urls, prefix=prefix, replicas=replicas, log_dir=logs)
    store = bus.nats
    try:
        bus.put_rule(Name="all", EventPattern='{"source": ["bench"]}')
        bus.put_targets(Rule="all", Targets=[{"Id": "l", "Arn": bus.arns.log_group("unread")}])
        with _routers([command] * routers, router_logs):
            calls = max(1, events // BATCH)
            shares = [calls // producers + (i < calls % producers) for i in range(producers)]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(producers, thread_name_prefix="producer") as pool:
                accepted = [i for part in [pool.submit(_put, bus, n) for n in shares if n]
                            for i in part.result()]  # fmt: skip
            since, last = time.monotonic(), -1
            while True:
                info = store.run(store.js.consumer_info(store.stream("INGEST"), "router"))
                if info.num_pending + info.num_ack_pending == 0:
                    break
                if info.ack_floor.stream_seq != last:
                    since, last = time.monotonic(), info.ack_floor.stream_seq
                elif time.monotonic() - since > stall:
                    raise CheckFailed(f"routing stalled with {info.num_pending} events unread")
                time.sleep(0.005)
            seconds = time.perf_counter() - t0
            owed = store.run(store.js.stream_info(store.stream("DELIVER"))).state.messages
    finally:
        bus.close()
    n = len(accepted)
    if owed != n:
        raise CheckFailed(f"{n} events routed but {owed} deliveries published")
    return Row("", "", None, events=n, seconds=seconds, events_per_s=n / seconds)


def _replica_damage(urls: list[str], prefix: str, replicas: int) -> str:
    """After a failed run: which of its streams are no longer at R``replicas``."""
    try:
        wrong = {n: r for n, r in _streams_of(urls, prefix).items() if r != replicas}
    except Exception as e:  # noqa: BLE001
        return f"; (stream info failed: {e})"
    return f"; streams now not at R{replicas}: {wrong}" if wrong else ""


def sqlite_backend(folder: Path, events: int, durability: str, producers: int,
                   stall: float) -> Row:  # fmt: skip
    """The SQLite bus in this process, two delivery workers, a fresh file."""
    from fastbridge.bus import EventBridge

    path = folder / f"bench-{durability}-{uuid.uuid4().hex[:8]}.db"
    bus = EventBridge(path, durability=durability, workers=2, log_dir=folder / "logs")
    try:
        return _pump(bus, _subscribe(bus), events, producers, stall)
    finally:
        bus.close()


# ---- the run ----------------------------------------------------------------------------


def _attempt(row: Row, measure: Callable[..., Row], *args: Any) -> Row:
    """``measure(*args)`` labelled as ``row``; a failure becomes a failed row."""
    try:
        got = measure(*args)
    except Exception as e:  # noqa: BLE001 - one failed run must not hide the others
        row.ok, row.error = False, f"{type(e).__name__}: {e}"
        return row
    got.backend, got.topology, got.routers = row.backend, row.topology, row.routers
    return got


HEADER = (f"{'backend':19} {'topology':12} {'routers':>7} {'events':>7} {'events/s':>9} "
          f"{'/ raw JS':>8}  check")  # fmt: skip


def _line(row: Row) -> str:
    routers = "-" if row.routers is None else str(row.routers)
    ratio = "" if row.ceiling_ratio is None else f"{row.ceiling_ratio:.2f}"
    rate = "-" if row.error else f"{row.events_per_s:,.0f}"
    return (f"{row.backend:19} {row.topology:12} {routers:>7} {row.events:>7,} {rate:>9} "
            f"{ratio:>8}  {'ok' if row.ok else 'FAILED'}")  # fmt: skip


class Runner:
    """One run of the benchmark: its rows, printed as they come."""

    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args, self.folder = args, folder
        self.rows: list[Row] = []
        self.ceilings: dict[str, float] = {}
        self.notes: dict[str, list[str]] = {}
        self.run = uuid.uuid4().hex[:6].upper()  # stream names of this run only

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(_line(row), flush=True)
        for note in ([f"error: {row.error}"] if row.error else []) + row.notes:
            print(f"    {note}", flush=True)
        return row

    def sqlite(self) -> None:
        a = self.args
        for kind in ("normal", "full"):
            self.add(_attempt(Row("sqlite", kind, None), sqlite_backend, self.folder, a.events,
                              kind, a.producers, a.stall))  # fmt: skip

    def nats(self, topology: str, replicas: int) -> None:
        """Fresh servers: raw JetStream, the backend with each router count, raw again."""
        from fastbridge.nats.local import Node, cluster

        a = self.args
        where = self.folder / ("cluster" if replicas > 1 else "single")
        where.mkdir(parents=True)
        nodes = cluster(where) if replicas > 1 else [Node("n1", where / "n1")]
        notes = self.notes.setdefault(topology, [])
        raw: list[Row] = []
        since: dict[Path, int] = {}
        try:
            for node in nodes:
                node.start()
            urls = [n.url for n in nodes]
            notes.append(f"JetStream ready {_wait_ready(urls, replicas):.1f} s after start")
            since = _log_sizes(where)

            def measure(row: Row, fn: Callable[..., Row], *args: Any) -> Row:
                mark = _log_sizes(where)
                row = _attempt(row, fn, *args)
                said = _server_complaints(where, mark)
                if said:
                    row.notes.append(f"nats-server logged {len(said)} [ERR]/[WRN] lines: "
                                     + " | ".join(said[:2]))  # fmt: skip
                    row.extra["server_log"] = said[:50]
                return self.add(row)

            raw.append(measure(Row("raw JetStream", topology, None), raw_jetstream, urls,
                               a.events, replicas, f"RAW{self.run}A"))  # fmt: skip
            for i, n in enumerate(a.routers):
                prefix = f"B{self.run}{replicas}{i}"
                for backend, fn, tag in (("nats", nats_backend, ""),
                                         ("nats (routing only)", nats_routing, "R")):  # fmt: skip
                    measure(Row(backend, topology, n), fn, urls, a.events, n, replicas,
                            prefix + tag, where, a.producers, a.stall)  # fmt: skip
                    try:
                        _drop(urls, prefix + tag)
                    except Exception as e:  # noqa: BLE001
                        notes.append(f"could not delete the streams of {prefix + tag}: {e}")
            raw.append(measure(Row("raw JetStream", topology, None), raw_jetstream, urls,
                               a.events, replicas, f"RAW{self.run}B"))  # fmt: skip
        finally:
            for node in nodes:
                node.stop()
        good = [r.events_per_s for r in raw if r.error is None]
        if good:
            self.ceilings[topology] = max(good)
        said = _server_complaints(where, since)
        if said:
            notes.append(f"nats-server logged {len(said)} [ERR]/[WRN] lines in all, between "
                         "runs included (stream deletions, shutdown)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from fastbridge.nats.local import NATS_SERVER

    parser = argparse.ArgumentParser(
        prog="python -m benches.nats",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=4000, help="events per run (default 4000)")
    parser.add_argument("--routers", type=int, nargs="+", default=[1, 2, 4],
                        help="router process counts (default 1 2 4)")  # fmt: skip
    parser.add_argument("--producers", type=int, default=4,
                        help="threads calling put_events (default 4)")  # fmt: skip
    parser.add_argument("--no-cluster", dest="cluster", action="store_false",
                        help="skip the 3-node cluster")  # fmt: skip
    parser.add_argument("--cluster", action="store_true", help="(the default)")
    parser.add_argument("--no-sqlite", dest="sqlite", action="store_false")
    parser.add_argument("--stall", type=float, default=90,
                        help="fail a run after this many seconds without a delivery (default "
                        "90: above the deliverer's 60 s ack wait, so one redelivery is "
                        "measured, and noted, rather than failed)")  # fmt: skip
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if NATS_SERVER is None:
        print("nats-server is not installed (make install fetches it from Debian)")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so every `finally` runs
    started = time.monotonic()
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="fastbridge-nats-bench-") as tmp:
        runner = Runner(args, Path(tmp))
        if args.sqlite:
            runner.sqlite()
        runner.nats("1 node", 1)
        if args.cluster:
            runner.nats("3 nodes R3", 3)
    rows = runner.rows
    for row in rows:
        ceiling = runner.ceilings.get("1 node" if row.backend == "sqlite" else row.topology)
        if ceiling and row.error is None:
            row.ceiling_ratio = row.events_per_s / ceiling
    print(f"\nResults, {time.monotonic() - started:.0f} s. events/s: first put to last delivery "
          "(raw: to last ack); / raw JS: over the best raw JetStream run on the same servers "
          "(SQLite: over 1 node's).\n")  # fmt: skip
    print(HEADER)
    for row in rows:
        print(_line(row))
    for topology, notes in runner.notes.items():
        for note in notes:
            print(f"  {topology}: {note}")
    failed = [r for r in rows if not r.ok]
    for row in failed:
        print(f"  FAILED {row.backend} {row.topology} routers={row.routers}: "
              f"{row.error or '; '.join(row.notes)}")  # fmt: skip
    if args.out:
        doc = {"events": args.events, "producers": args.producers, "batch": BATCH,
               "routers": args.routers, "python": sys.version.split()[0],
               "machine": platform.platform(), "cpus": os.cpu_count(),
               "seconds": time.monotonic() - started, "ceilings": runner.ceilings,
               "notes": runner.notes, "runs": [asdict(r) for r in rows]}  # fmt: skip
        args.out.write_text(json.dumps(doc, indent=2))
        print(f"  results written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The bus on NATS JetStream: the same API and semantics as the embedded bus,
spread over processes and machines.

:class:`NatsBus` *is* :class:`fastbridge.bus.EventBridge` — every operation,
check, error, target kind, retry policy, archive, replay and schedule — on
the storage of :mod:`fastbridge.nats.store` instead of SQLite, with three
roles that any number of processes may take, anywhere:

* **publishers**: ``put_events`` puts each accepted envelope into the ingest
  stream and returns its EventId only once JetStream has acknowledged it;
* **routers** (:meth:`NatsBus.start_router`) take events through the shared
  durable consumer ``router``, match them with one compiled machine per bus,
  publish one delivery per matched (rule, target) and archive entry, and
  acknowledge the event only once every one of those publishes is
  acknowledged;
* **deliverers** (:meth:`NatsBus.start_deliverer`) take deliveries through
  the durable consumer ``deliver`` (every target kind but Python functions)
  and ``fn_<name>`` for each function registered in their process, and own
  the retry policy: a retryable
  failure is ``nak(delay)`` with backoff and jitter clipped to the event's
  age; when retries or age run out, or the error is not retryable, the event
  goes to its dead-letter queue (a built-in queue, itself a JetStream
  subject), that publish is acknowledged, then the delivery ``term()``-ed.
  ``MaxDeliver`` (200) is a hard cap above the policy's 185 retries; a
  sweeper turns JetStream's MAX_DELIVERIES advisories into dead letters.

Every process follows the resources bucket (buses, rules, archives,
connections...) with a watcher and keeps its compiled machines in step; a
router catches up with the bucket before routing a batch, so a rule put
before an event is seen by it. Schedules, replays and archive retention run
in one process at a time: the holder of the ``ticker`` lease.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import fastbridge
from fastbridge.bus.core import EventBridge, _BusState
from fastbridge.bus.events import envelopes_of, loads
from fastbridge.bus.http import DeliveryError
from fastbridge.bus.names import DEFAULT_BUS
from fastbridge.bus.schedule import Clock
from fastbridge.bus.store import Delivery, NewDelivery
from fastbridge.nats.store import MAX_DELIVER, JetStreamStore

log = logging.getLogger("fastbridge.nats")


class NatsBus(EventBridge):
    """The bus API over a NATS JetStream deployment (``servers``: one URL or
    several; ``replicas=3`` on a 3-node cluster). Nothing runs until
    :meth:`start_router` / :meth:`start_deliverer` (or :meth:`start`, both);
    :meth:`run_pending` routes and delivers in the caller's thread."""

    def __init__(
        self,
        servers: str | Sequence[str],
        *,
        account: str = "000000000000",
        region: str = "us-east-1",
        prefix: str = "FB",
        replicas: int = 1,
        clock: Clock | None = None,
        retry_base: float = 1.0,
        retry_cap: float = 300.0,
        log_dir: str | Path = "fastbridge-logs",
        http_timeout: float = 5.0,
        ack_wait: float = 60.0,
        max_deliver: int = MAX_DELIVER,
    ) -> None:
        self.nats = JetStreamStore(servers, prefix=prefix, replicas=replicas, lease=ack_wait,
                                   now=lambda: self._now(), max_deliver=max_deliver)  # fmt: skip
        self._workers: list[threading.Thread] = []
        self._delivering = False
        super().__init__(None, account=account, region=region, clock=clock, start=False,
                         retry_base=retry_base, retry_cap=retry_cap, lease=ack_wait,
                         log_dir=log_dir, http_timeout=http_timeout,
                         store=self.nats)  # fmt: skip

    # ---- life cycle ------------------------------------------------------------------

    def _load(self) -> None:
        now = self._now()
        default = {"Name": DEFAULT_BUS, "CreationTime": now, "LastModifiedTime": now}
        self.nats.create("bus", DEFAULT_BUS, default)
        self.nats.watch(self._apply)

    def _apply(self, kind: str, name: str, doc: dict[str, Any] | None) -> None:
        """Bring this process's compiled machines and caches in line with a
        definition another process (or this one) put or deleted."""
        with self._lock:
            if kind == "bus":
                if doc is None:
                    self._buses.pop(name, None)
                else:
                    self._buses.setdefault(name, _BusState(fastbridge.Machine()))
            elif kind == "rule":
                bus, _, rule = name.rpartition("/")  # bus names may hold "/", rule names not
                if doc is None:
                    self._unindex_rule(bus, rule)
                else:
                    self._buses.setdefault(bus, _BusState(fastbridge.Machine()))
                    self._index_rule(doc)
            elif kind == "archive":
                if doc is not None:
                    self._buses.setdefault(doc["Bus"], _BusState(fastbridge.Machine()))
                    self._index_archive(doc)
                else:
                    self._unindex_archive(name)
            elif kind == "connection":
                self._connections.pop(name, None)
            elif kind == "api-destination":
                self._destinations.pop(name, None)

    def start(self, workers: int = 2) -> None:
        """Route and deliver in this process."""
        self.start_router()
        self.start_deliverer(workers)

    def start_router(self) -> None:
        """Route in this process (any number of routers may run, anywhere)."""
        self._thread_for(self._route_loop, "router")

    def start_deliverer(self, workers: int = 2) -> None:
        """Deliver in this process: ``workers`` threads for every target kind
        but Python functions, one thread for each function registered here
        (now or later), the ticker (which works while this process holds
        the lease) and the sweeper."""
        super().start(workers)
        self._thread_for(self._sweep_loop, "sweeper")
        with self._lock:
            self._delivering = True
            for name in self.targets.functions:
                self._thread_for(self._work, f"function-{name}", name)

    def register_function(self, name: str, fn: Callable[..., Any]) -> str:
        """As the embedded bus's; deliveries to this function are taken by
        the processes that registered it (and run a deliverer) only."""
        with self._lock:
            new = name not in self.targets.functions
            arn = super().register_function(name, fn)
            if new and self._delivering:
                self._thread_for(self._work, f"function-{name}", name)
        return arn

    def _claim(self, source: str | None) -> list[Delivery]:
        return self.nats.claim(self._now(), 16, self.lease, function=source)

    def _thread_for(self, loop: Callable[..., None], name: str, *args: Any) -> None:
        self._stopping.clear()
        t = threading.Thread(target=loop, args=args, name=f"fastbridge-{name}", daemon=True)
        t.start()
        self._workers.append(t)

    def close(self, timeout: float = 10.0) -> None:
        """Stop this process's workers (work in progress ends first) and
        close the connection. What is not acknowledged goes to another worker."""
        self._stopping.set()
        for t in self._workers:
            t.join(timeout)
        self._workers.clear()
        self._delivering = False
        super().close(timeout)

    # ---- publishing and routing ---------------------------------------------------------

    def put_events(
        self, *, Entries: Sequence[Mapping[str, Any]], EndpointId: str | None = None
    ) -> dict[str, Any]:
        """As the embedded bus's, except that an EventId is returned once the
        event is in the ingest stream (JetStream acknowledged it); routers
        match it from there."""
        now = self.clock.now()
        results, envelopes = envelopes_of(Entries, now, self.arns)
        for bus, _ in envelopes:
            self.metrics.add("Events", bus=bus)
        self.nats.publish_events(envelopes, now.timestamp())
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}

    def route_pending(self, limit: int = 64, wait: float = 0.5) -> int:
        """Route one batch of accepted events (up to ``limit``, waiting up
        to ``wait`` for the first); how many."""
        taken = self.nats.take_events(limit, wait)
        if not taken:
            return 0
        self.nats.caught_up()
        batches: list[tuple[Sequence[NewDelivery], Any, float, int | None]] = []
        with self._lock:
            for event in taken:
                try:
                    envelope = loads(event.body)
                    deliveries, archived = self._route(event.bus, envelope, event.accepted)
                except Exception as e:  # not an envelope of ours: kept aside, not retried
                    log.error("fastbridge: an ingested message could not be routed (%s: %s); "
                              "kept as undeliverable", type(e).__name__, e)  # fmt: skip
                    self.nats.dead_letter(event.id, None, event.body.decode(errors="replace"),
                                          {}, self._now(), f"not routable: {type(e).__name__}: "
                                          f"{e}")  # fmt: skip
                    continue
                batches.append((deliveries, archived, event.accepted, event.id))
        self.nats.accept_each(batches)
        return len(taken)

    def _route_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.route_pending()
            except Exception:  # the router outlives any one batch: unacked, it comes back
                log.exception("fastbridge: routing a batch failed; it comes back after ack_wait")
                self._stopping.wait(0.2)

    def _sweep_loop(self) -> None:
        """Dead-letter what JetStream gave up redelivering (MaxDeliver) — a
        delivery whose worker kept dying before it could decide."""
        err = DeliveryError("MAX_DELIVERIES", "JetStream stopped redelivering after "
                            f"{self.nats.max_deliver} deliveries.", retryable=False)  # fmt: skip
        while not self._stopping.is_set():
            try:
                for d in self.nats.swept(16):
                    self._dead_letter(d, err, "MaximumRetryAttempts")
            except Exception:
                log.exception("fastbridge: sweeping failed; trying again")
                self._stopping.wait(0.2)

    # ---- ticking and running in the caller's thread ---------------------------------------

    def tick(self) -> None:
        """Schedules, replays and archive retention — in the process that
        holds the ``ticker`` lease only."""
        if self.nats.lead("ticker"):
            super().tick()

    def run_pending(self, limit: int = 100_000) -> int:
        """Route every accepted event, then make every delivery due now, in
        this thread (for tests and scripts); the number of delivery attempts."""
        while self.route_pending(wait=0.05):
            pass
        self.tick()
        done = 0
        sources: list[str | None] = [None, *self.targets.functions]
        while done < limit:
            batches = [self.nats.claim(self._now(), 64, self.lease, wait=0.05, function=f)
                       for f in sources]  # fmt: skip
            if not any(batches):
                break
            for batch in batches:
                finished: list[int] = []
                for d in batch:
                    self._deliver(d, finished)
                    done += 1
                self.nats.done(finished)
            while self.route_pending(wait=0.01):  # events forwarded to a bus, replays
                pass
        return done


__all__ = ["NatsBus"]

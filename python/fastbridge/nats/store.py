"""The bus's storage on NATS JetStream: the calls of the SQLite store
(:mod:`fastbridge.bus.store`), answered by streams and key-value buckets, so
the whole bus runs on it unchanged.

Streams and buckets (``P`` is the prefix, ``FB`` by default; ``p`` the same
in lower case; names inside subjects and keys are escaped by :func:`token`):

=================== ================================ ========================================
``P_INGEST``        ``p.ingest.<bus>``               accepted events (id = EventId);
                                                     consumer ``router``
``P_DELIVER``       ``p.deliver.<bus>.fn.<f>``       one per (event, rule, target), work
                    ``p.deliver.<bus>.any.<k>.<t>``  queue; consumers ``fn_<f>``, ``deliver``
``P_QUEUES``        ``p.queue.<queue>``              built-in queues (DLQs too), work
                                                     queue; one consumer per queue
``P_ARCHIVE``       ``p.archive.<archive>``          archived events, for replay
``P_UNDELIVERABLE`` ``p.undeliverable``              failures no dead-letter queue took
``P_ADVISORIES``    MAX_DELIVERIES advisories        the sweeper's input
``P_RESOURCES``     key ``<kind>.<name>``            definitions of every kind (KV)
``P_LEASES``        key ``<role>``                   who runs the ticker (KV with a TTL)
=================== ================================ ========================================

Where the SQLite store commits a transaction, this one publishes and waits
for JetStream's acknowledgement, then acknowledges the message it consumed:
a crash in between repeats the step, and ``Nats-Msg-Id`` makes the repeated
publishes no-ops. A claimed message (an event to route, a delivery) is held
under a small integer id, the id the bus passes back to retire it.

A built-in queue's visibility timeout is JetStream's ``nak(delay)``: a
received message is handed back at once with the timeout as its delay, and
``delete`` acknowledges it before the delay runs out.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, RetentionPolicy, StreamConfig

from fastbridge.bus.events import compact, loads
from fastbridge.bus.names import parse_target_arn
from fastbridge.bus.store import Archived, Delivery, Message, NewDelivery

log = logging.getLogger("fastbridge.nats")
T = TypeVar("T")

MAX_DELIVER = 200
"""JetStream's hard cap on deliveries: above the policy's 185 retries + 1."""
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_/")
_HEADER = re.compile(r"(?!(?i:nats-|fb-))[A-Za-z0-9_\-]+")
"""Attribute names that are also written as headers of their own."""
_TRANSIENT = (
    nats.errors.TimeoutError,
    asyncio.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.NoStreamResponseError,  # what a publish meets during a leader election
    nats.errors.ConnectionReconnectingError,
)


def token(name: str) -> str:
    """A name as one subject token or key part: letters, digits, ``-_/``
    kept, every other byte written ``=XX`` (so distinct names stay distinct)."""
    return "".join(c if c in _SAFE else "".join(f"={b:02X}" for b in c.encode()) for c in name)


def untoken(text: str) -> str:
    """The name :func:`token` escaped."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == "=":
            out.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            out += text[i].encode()
            i += 1
    return out.decode()


@dataclass(frozen=True)
class Taken:
    """An accepted event taken by a router."""

    id: int
    bus: str
    body: bytes
    accepted: float


@dataclass
class _Held:
    """A consumed message awaiting its fate: ``msg`` itself, or (the
    sweeper's) a DELIVER stream sequence and the advisory that named it."""

    msg: Msg | None = None
    seq: int = 0
    advisory: Msg | None = None


class JetStreamStore:
    """The storage interface of :class:`fastbridge.bus.store.Store` on a NATS
    JetStream deployment (``servers``: one URL or several). One connection,
    on an event loop of its own; the methods are plain blocking calls, safe
    from any thread but the loop's. ``now`` is the bus's clock (retry delays
    and visibility timeouts are measured on it)."""

    def __init__(
        self,
        servers: str | Sequence[str],
        *,
        prefix: str = "FB",
        replicas: int = 1,
        lease: float = 60.0,
        now: Callable[[], float] = time.time,
        max_deliver: int = MAX_DELIVER,
    ) -> None:
        self.max_deliver = max_deliver  # a cap above the retry policy's; lower only in tests
        self.prefix, self.p = prefix, prefix.lower()
        self.replicas, self.lease, self.now = replicas, lease, now
        self.me = uuid.uuid4().hex
        # the last revision of the resources bucket in this process's copy, and applied
        self.mirrored = self.applied = 0
        self._held: dict[int, _Held] = {}
        self._ids = itertools.count(1)
        self._subs: dict[tuple[str, int], Any] = {}  # (durable, thread) -> pull subscription
        self._leases: dict[str, tuple[int, float]] = {}  # role -> (revision, renewed at)
        self._expired: dict[str, float] = {}  # archive -> when its retention last ran
        self._watching: asyncio.Task[None] | None = None
        self._mirror: dict[str, dict[str, dict[str, Any]]] = {}  # kind -> name -> doc
        self.closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fastbridge-nats",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        urls = [servers] if isinstance(servers, str) else list(servers)
        self.run(self._connect(urls), timeout=60)

    # ---- plumbing ----------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run a coroutine on the connection's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stream(self, role: str) -> str:
        return f"{self.prefix}_{role}"

    async def _connect(self, urls: list[str]) -> None:
        async def warn(e: Exception) -> None:  # one line, not nats-py's traceback per try
            log.warning("fastbridge: NATS: %s: %s", type(e).__name__, e)

        try:  # reconnects forever once connected, but the first connection must come soon
            self.nc = await asyncio.wait_for(
                nats.connect(servers=urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                             error_cb=warn), 15)  # fmt: skip
        except asyncio.TimeoutError:
            raise ConnectionError(f"no NATS server answered at {', '.join(urls)}") from None
        self.js = self.nc.jetstream(timeout=10)
        p, r = self.p, self.replicas
        streams = [
            StreamConfig(name=self.stream("INGEST"), subjects=[f"{p}.ingest.>"],
                         num_replicas=r, duplicate_window=120),
            StreamConfig(name=self.stream("DELIVER"), subjects=[f"{p}.deliver.>"],
                         num_replicas=r, duplicate_window=120,
                         retention=RetentionPolicy.WORK_QUEUE, max_age=7 * 86_400),
            StreamConfig(name=self.stream("QUEUES"), subjects=[f"{p}.queue.>"],
                         num_replicas=r, duplicate_window=120,
                         retention=RetentionPolicy.WORK_QUEUE, max_age=14 * 86_400),
            StreamConfig(name=self.stream("ARCHIVE"), subjects=[f"{p}.archive.>"],
                         num_replicas=r, duplicate_window=120),
            StreamConfig(name=self.stream("UNDELIVERABLE"), subjects=[f"{p}.undeliverable"],
                         num_replicas=r, duplicate_window=120),
            StreamConfig(name=self.stream("ADVISORIES"), num_replicas=r,
                         subjects=["$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."
                                   f"{self.stream('DELIVER')}.*"]),
        ]  # fmt: skip
        consumers = {
            # ack_wait well above a leader election (4-8 s seen on a small cluster)
            "INGEST": ConsumerConfig(durable_name="router", ack_wait=30, max_deliver=-1,
                                     max_ack_pending=4096),
            "DELIVER": self._deliveries_of(None)[2],
            "ADVISORIES": ConsumerConfig(durable_name="sweeper", ack_wait=60),
        }  # fmt: skip
        deadline = time.monotonic() + 30
        while True:  # a fresh cluster needs its meta leader first
            try:
                # What exists was made by the deployment's first process and is
                # shared as it is: a process with other settings (replicas) does
                # not reshape it.
                for config in streams:
                    try:
                        await self.js.add_stream(config)
                    except nats.js.errors.BadRequestError:
                        # made before — or refused ("no suitable peers for placement"
                        # on a cluster still forming): then stream_info raises, we retry
                        await self.js.stream_info(str(config.name))
                for role, consumer in consumers.items():
                    try:
                        await self.js.add_consumer(self.stream(role), consumer)
                    except nats.js.errors.BadRequestError:
                        await self.js.consumer_info(self.stream(role), str(consumer.durable_name))
                self.kv = await self._bucket("RESOURCES", replicas=r, history=1)
                self.leases = await self._bucket("LEASES", replicas=r, history=1, ttl=10)
                return
            except (*_TRANSIENT, nats.js.errors.APIError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def _bucket(self, role: str, **config: Any) -> Any:
        try:
            return await self.js.create_key_value(bucket=self.stream(role), **config)
        except nats.js.errors.BadRequestError:  # made before, with other settings (or refused)
            return await self.js.key_value(self.stream(role))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True

        async def stop() -> None:
            if self._watching is not None:
                self._watching.cancel()
                await asyncio.gather(self._watching, return_exceptions=True)
            await self.nc.close()

        try:
            self.run(stop(), timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def destroy(self) -> None:
        """Delete every stream and bucket of this prefix: all of the bus's
        data and definitions, for every process using it (tests, teardown)."""
        names = ["INGEST", "DELIVER", "QUEUES", "ARCHIVE", "UNDELIVERABLE", "ADVISORIES"]

        async def destroy() -> None:
            for name in [self.stream(n) for n in names] + [
                f"KV_{self.stream('RESOURCES')}", f"KV_{self.stream('LEASES')}"]:  # fmt: skip
                try:
                    await self.js.delete_stream(name)
                except nats.js.errors.NotFoundError:
                    pass

        self.run(destroy())

    async def _publish(self, subject: str, body: bytes, headers: dict[str, str]) -> None:
        """Publish until JetStream acknowledges it; a leader election in
        between is waited out (the same ``Nats-Msg-Id`` makes a repeat a no-op)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                await self.js.publish(subject, body, headers=headers)
                return
            except _TRANSIENT:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.25)

    async def _sub(self, key: tuple[str, int], subject: str, role: str,
                   config: ConsumerConfig | None = None) -> Any:  # fmt: skip
        """The calling thread's own pull subscription to a durable consumer
        (fetches from two threads on one subscription would share its inbox)."""
        sub = self._subs.get(key)
        if sub is None:
            sub = await self.js.pull_subscribe(subject, durable=key[0], stream=self.stream(role),
                                               config=config)  # fmt: skip
            self._subs[key] = sub
        return sub

    async def _fetch(self, durable: str, subject: str, role: str, limit: int, wait: float,
                     config: ConsumerConfig | None = None,
                     thread: int = 0) -> list[Msg]:  # fmt: skip
        """Up to ``limit`` messages: the first as soon as it comes (waiting up
        to ``wait``), then those already there. A failed fetch (a server
        restarting, a leader moving) is logged and answered with nothing; the
        subscription is made anew next time."""
        key = (durable, thread)
        try:
            sub = await self._sub(key, subject, role, config)
            msgs: list[Msg] = await sub.fetch(1, timeout=max(wait, 0.01))
            if limit > 1:
                try:
                    msgs += await sub.fetch(limit - 1, timeout=0.01)
                except (nats.errors.TimeoutError, asyncio.TimeoutError):
                    pass
            return msgs
        except (nats.errors.TimeoutError, asyncio.TimeoutError):  # nats-py raises either
            return []
        except Exception:
            log.exception("fastbridge: fetching from %s failed; trying again", durable)
            stale = self._subs.pop(key, None)
            if stale is not None:
                try:
                    await stale.unsubscribe()
                except Exception:
                    pass
            await asyncio.sleep(0.2)
            return []

    def _hold(self, held: _Held) -> int:
        key = next(self._ids)
        self._held[key] = held
        return key

    def _then(self, key: int, step: str) -> str:
        """The id (a UUID, as a queue's message ids are) of what a held
        delivery leads to (a message in a queue, a dead letter): the same
        whichever worker takes that step, so a step repeated after a crash
        is de-duplicated."""
        held = self._held.get(key)
        origin: str | None = None
        if held is not None and held.msg is not None:
            origin = (held.msg.headers or {}).get("Nats-Msg-Id")
        elif held is not None:
            origin = f"{self.stream('DELIVER')}:{held.seq}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{origin or uuid.uuid4()}:{step}"))

    async def _finish(self, key: int, how: str, delay: float | None = None) -> None:
        """Settle a held message: ``ack``, ``term`` or ``nak`` (after ``delay``)."""
        held = self._held.pop(key, None)
        if held is None:
            return
        if held.msg is not None:
            if how == "nak":
                await held.msg.nak(delay=delay)
            else:
                await (held.msg.ack() if how == "ack" else held.msg.term())
            return
        try:  # the sweeper's: the delivery is over, one way or the other
            await self.js.delete_msg(self.stream("DELIVER"), held.seq)
        except nats.js.errors.NotFoundError:
            pass
        if held.advisory is not None:
            await held.advisory.ack()

    async def _read(self, role: str, subject: str) -> list[Msg]:
        """Every message of a stream on ``subject``, oldest first."""
        info = await self.js.stream_info(self.stream(role), subjects_filter=subject)
        count = (info.state.subjects or {}).get(subject, 0)
        if not count:
            return []
        sub = await self.js.subscribe(subject, ordered_consumer=True, stream=self.stream(role))
        out: list[Msg] = []
        try:
            while len(out) < count:
                out.append(await sub.next_msg(timeout=5))
        except nats.errors.TimeoutError:
            pass
        finally:
            await sub.unsubscribe()
        return out

    # ---- definitions: the resources bucket --------------------------------------------

    def _key(self, kind: str, name: str) -> str:
        return f"{kind}.{token(name)}"

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        async def get() -> dict[str, Any] | None:
            try:
                entry = await self.kv.get(self._key(kind, name))
            except nats.js.errors.KeyNotFoundError:
                return None
            return None if not entry.value else dict(json.loads(entry.value))

        return self.run(get())

    def put(self, kind: str, name: str, doc: dict[str, Any]) -> None:
        self.run(self.kv.put(self._key(kind, name), compact(doc)))

    def create(self, kind: str, name: str, doc: dict[str, Any]) -> bool:
        """Put ``doc`` unless the name is taken; whether it was put."""

        async def create() -> bool:
            try:
                await self.kv.create(self._key(kind, name), compact(doc))
                return True
            except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.BadRequestError):
                return False

        return self.run(create())

    def delete(self, kind: str, name: str) -> bool:
        if self.get(kind, name) is None:
            return False
        self.run(self.kv.delete(self._key(kind, name)))
        return True

    def items(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """Every document of a kind, by name: this process's copy of the
        bucket, once it has caught up with every change committed so far."""
        if self._watching is None:
            self.watch(lambda kind, name, doc: None)
        self.caught_up(copy_only=True)  # (the caller may hold what applying needs)
        return sorted((name, dict(doc)) for name, doc in self._mirror.get(kind, {}).items())

    def watch(self, apply: Callable[[str, str, dict[str, Any] | None], None]) -> None:
        """Call ``apply(kind, name, doc)`` (``doc`` None: deleted) for every
        definition now in the bucket, then for every change, in order, in a
        thread of its own; returns once the present ones are applied. The
        watcher also keeps this process's copy of the bucket for :meth:`items`
        — at once, not waiting for ``apply`` (which may wait for a lock
        held by the very caller of :meth:`items`)."""
        ready = threading.Event()
        changes: queue.SimpleQueue[tuple[str, str, dict[str, Any] | None, int] | None]
        changes = queue.SimpleQueue()

        def applier() -> None:
            while (change := changes.get()) is not None:
                kind, name, doc, revision = change
                try:
                    apply(kind, name, doc)
                except Exception:
                    log.exception("fastbridge: applying %s %s failed", kind, name)
                self.applied = max(self.applied, revision)
                if revision < 0:
                    ready.set()

        async def follow() -> None:
            while True:  # the watcher is made anew if the connection's server goes
                watcher: Any = await self.kv.watchall()
                try:
                    async for entry in watcher:
                        if entry is None:  # the present definitions are all queued
                            changes.put(("", "", None, -1))
                            continue
                        kind, _, key = entry.key.partition(".")
                        name, doc = untoken(key), None
                        if entry.value and entry.operation is None:
                            doc = json.loads(entry.value)
                        docs = self._mirror.setdefault(kind, {})
                        if doc is None:
                            docs.pop(name, None)
                        else:
                            docs[name] = doc
                        self.mirrored = max(self.mirrored, entry.revision or 0)
                        changes.put((kind, name, doc, entry.revision or 0))
                except asyncio.CancelledError:
                    changes.put(None)
                    raise
                except Exception:
                    log.exception("fastbridge: watching the resources bucket failed; again")
                    await asyncio.sleep(0.5)
                finally:
                    await watcher.stop()

        async def start() -> None:
            self._watching = asyncio.ensure_future(follow())

        threading.Thread(target=applier, name="fastbridge-nats-apply", daemon=True).start()
        self.run(start())
        if not ready.wait(60):
            raise TimeoutError("the resources bucket's watcher did not start")

    def caught_up(self, timeout: float = 10.0, copy_only: bool = False) -> None:
        """Wait until every definition committed so far has been applied by
        the watcher (so what a client put before an event is seen by it), or
        with ``copy_only``, is in this process's copy of the bucket."""
        info = self.run(self.js.stream_info(f"KV_{self.stream('RESOURCES')}"))
        deadline = time.monotonic() + timeout
        while (self.mirrored if copy_only else self.applied) < info.state.last_seq and (
            time.monotonic() < deadline
        ):
            time.sleep(0.002)

    def lead(self, role: str) -> bool:
        """Whether this process holds (now takes or renews) the lease on
        ``role``; a lease lapses 10 s after its holder stops renewing it."""
        held = self._leases.get(role)
        if held is not None and time.monotonic() - held[1] < 3:
            return True

        async def lead() -> bool:
            try:
                if held is None:
                    revision = await self.leases.create(role, self.me.encode())
                else:
                    revision = await self.leases.update(role, self.me.encode(), last=held[0])
            except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.BadRequestError):
                self._leases.pop(role, None)
                return False
            self._leases[role] = (revision, time.monotonic())
            return True

        return self.run(lead())

    # ---- events to route ---------------------------------------------------------------

    def publish_events(self, events: Sequence[tuple[str, dict[str, Any]]], accepted: float) -> None:
        """Put accepted envelopes into the ingest stream; returns once
        JetStream acknowledged every one."""
        publishes = [
            self._publish(f"{self.p}.ingest.{token(bus)}", compact(envelope),
                          {"Nats-Msg-Id": envelope["id"], "FB-Bus": bus,
                           "FB-Accepted": repr(accepted)})
            for bus, envelope in events
        ]  # fmt: skip

        async def publish() -> None:
            await asyncio.gather(*publishes)

        self.run(publish(), timeout=90)

    def take_events(self, limit: int, wait: float = 0.5) -> list[Taken]:
        """Accepted events for a router; each is retired by :meth:`accept`."""
        msgs = self.run(self._fetch("router", f"{self.p}.ingest.>", "INGEST", limit, wait,
                                    thread=threading.get_ident()))  # fmt: skip
        out = []
        for msg in msgs:
            headers = msg.headers or {}
            accepted = float(headers.get("FB-Accepted", time.time()))
            out.append(Taken(self._hold(_Held(msg)), headers.get("FB-Bus", "default"),
                             msg.data, accepted))  # fmt: skip
        return out

    # ---- deliveries ---------------------------------------------------------------------

    def _deliver_subject(self, bus: str, target: dict[str, Any]) -> str:
        """A subject per target: ``fn.<name>`` for a Python function (only
        processes that registered it take those), ``any.<kind>.<name>`` for
        every other kind (every deliverer takes those)."""
        ref = parse_target_arn(str(target.get("Arn", "")))
        if ref is None:  # dead-lettered by whichever deliverer takes it
            return f"{self.p}.deliver.{token(bus)}.any.unknown"
        if ref.kind == "function":
            return f"{self.p}.deliver.{token(bus)}.fn.{token(ref.name)}"
        return f"{self.p}.deliver.{token(bus)}.any.{ref.kind}.{token(ref.name)}"

    def _deliveries_of(self, function: str | None) -> tuple[str, str, ConsumerConfig]:
        """The durable consumer (name, filter, config) of a function's
        deliveries, or (None) of every other kind's."""
        if function is None:
            durable, subject = "deliver", f"{self.p}.deliver.*.any.>"
        else:
            durable = f"fn_{function.encode().hex()}"
            subject = f"{self.p}.deliver.*.fn.{token(function)}"
        return durable, subject, ConsumerConfig(
            durable_name=durable, filter_subject=subject, ack_wait=self.lease,
            max_deliver=self.max_deliver, max_ack_pending=4096)  # fmt: skip

    def _publish_owed(self, deliveries: Sequence[NewDelivery],
                      archived: Sequence[tuple[str, str, float, bytes]],
                      accepted: float) -> list[Coroutine[Any, Any, None]]:  # fmt: skip
        out = []
        for d in deliveries:
            msg_id = f"{d.event_id}:{d.rule}:{d.target['Id']}"
            if b'"replay-name"' in d.event:  # a replay's events keep their ids
                msg_id += f":{loads(d.event).get('replay-name', '')}"
            body = compact({"event_id": d.event_id, "bus": d.bus, "rule": d.rule,
                            "target": d.target, "event": d.event.decode(),
                            "payload": None if d.payload is None else d.payload.decode(),
                            "accepted": accepted})  # fmt: skip
            out.append(self._publish(self._deliver_subject(d.bus, d.target), body,
                                     {"Nats-Msg-Id": msg_id}))  # fmt: skip
        for archive, event_id, when, body in archived:
            out.append(self._publish(f"{self.p}.archive.{token(archive)}", body,
                                     {"Nats-Msg-Id": f"{event_id}:{archive}",
                                      "FB-Time": repr(when), "FB-Event-Id": event_id}))  # fmt: skip
        return out

    def accept(
        self,
        deliveries: Sequence[NewDelivery],
        archived: Sequence[tuple[str, str, float, bytes]] = (),
        accepted: float = 0.0,
        retire: int | None = None,
    ) -> None:
        """Publish every delivery and archive entry an event owes, wait for
        their acknowledgements, then retire ``retire`` (the routed event or
        the delivery that forwarded it)."""
        self.accept_each([(deliveries, archived, accepted, retire)])

    def accept_each(
        self,
        batches: Sequence[tuple[Sequence[NewDelivery], Sequence[tuple[str, str, float, bytes]],
                                float, int | None]],
    ) -> None:  # fmt: skip
        """:meth:`accept` for several events at once: all publishes overlap,
        and each event is retired once its own publishes are acknowledged."""

        async def one(publishes: list[Coroutine[Any, Any, None]], retire: int | None) -> None:
            await asyncio.gather(*publishes)
            if retire is not None:
                await self._finish(retire, "ack")

        async def each() -> None:
            await asyncio.gather(*(one(self._publish_owed(d, a, t), r) for d, a, t, r in batches))

        self.run(each(), timeout=90)

    def claim(self, now: float, limit: int, lease: float, wait: float = 0.5,
              function: str | None = None) -> list[Delivery]:  # fmt: skip
        """Deliveries to make: to ``function``, or (None) to every target
        kind but functions. The lease is the consumer's ack wait, set when
        the store is made."""
        durable, subject, config = self._deliveries_of(function)
        msgs = self.run(self._fetch(durable, subject, "DELIVER", limit, wait, config,
                                    threading.get_ident()))  # fmt: skip
        out = []
        for msg in msgs:
            key = self._hold(_Held(msg))
            try:
                out.append(self._delivery(key, msg.data, msg.metadata.num_delivered - 1))
            except Exception as e:  # not a delivery of ours: kept aside, not retried
                self.dead_letter(key, None, msg.data.decode(errors="replace"), {}, now,
                                 f"not a delivery: {type(e).__name__}: {e}")  # fmt: skip
        return out

    @staticmethod
    def _delivery(key: int, data: bytes, attempts: int) -> Delivery:
        d = loads(data)
        return Delivery(key, d["event_id"], d["bus"], d["rule"], d["target"],
                        d["event"].encode(),
                        None if d["payload"] is None else d["payload"].encode(),
                        d["accepted"], attempts)  # fmt: skip

    def next_due(self) -> float | None:
        """Always "now": :meth:`claim` itself waits for the next delivery."""
        return 0.0

    def pending(self) -> int:
        """Events not yet routed plus deliveries not yet completed."""

        async def pending() -> int:
            routing = await self.js.consumer_info(self.stream("INGEST"), "router")
            owed = await self.js.stream_info(self.stream("DELIVER"))  # a work queue
            return int(routing.num_pending + routing.num_ack_pending + owed.state.messages)

        return self.run(pending())

    def done(self, delivery_ids: Sequence[int]) -> None:
        async def done() -> None:
            await asyncio.gather(*(self._finish(i, "ack") for i in delivery_ids))

        if delivery_ids:
            self.run(done())

    def retry_later(self, delivery_id: int, due: float, code: str, message: str) -> None:
        self.run(self._finish(delivery_id, "nak", max(0.0, due - self.now())))

    def dead_letter(
        self,
        delivery_id: int,
        queue: str | None,
        body: str,
        attributes: dict[str, str],
        now: float,
        reason: str | None,
    ) -> None:
        """Into ``queue``, or the undeliverable stream with ``reason``; the
        delivery ends once that publish is acknowledged."""

        async def dead_letter() -> None:
            if queue is not None:
                await self._send(queue, body, attributes, now, self._then(delivery_id, "dead"))
            else:
                await self._keep(body, attributes, now, reason or "no dead-letter queue")
            await self._finish(delivery_id, "term")

        self.run(dead_letter())

    async def _keep(self, body: str, attributes: dict[str, str], now: float,
                    reason: str) -> None:  # fmt: skip
        record = compact({"body": body, "attributes": attributes})
        await self._publish(f"{self.p}.undeliverable", record,
                            {"FB-Reason": reason, "FB-At": repr(now)})  # fmt: skip

    def undeliverable(self) -> list[dict[str, Any]]:
        msgs = self.run(self._read("UNDELIVERABLE", f"{self.p}.undeliverable"))
        return [{"at": float((m.headers or {}).get("FB-At", 0)),
                 "reason": (m.headers or {}).get("FB-Reason", ""), **loads(m.data)}
                for m in msgs]  # fmt: skip

    def swept(self, limit: int, wait: float = 0.5) -> list[Delivery]:
        """Deliveries JetStream gave up redelivering (MaxDeliver), for the
        sweeper to dead-letter; retiring one deletes it from its stream."""

        async def swept() -> list[Delivery]:
            advisories = await self._fetch(
                "sweeper", "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>", "ADVISORIES",
                limit, wait)  # fmt: skip
            out = []
            for advisory in advisories:
                seq = json.loads(advisory.data)["stream_seq"]
                try:
                    stored = await self.js.get_msg(self.stream("DELIVER"), seq)
                except nats.js.errors.NotFoundError:
                    await advisory.ack()  # acked or dead-lettered after all
                    continue
                key = self._hold(_Held(None, seq, advisory))
                try:
                    out.append(self._delivery(key, stored.data or b"", self.max_deliver - 1))
                except Exception as e:  # not a delivery of ours
                    await self._keep((stored.data or b"").decode(errors="replace"), {},
                                     self.now(), f"not a delivery: {type(e).__name__}: {e}")
                    await self._finish(key, "term")
            return out

        return self.run(swept())

    # ---- built-in queues ---------------------------------------------------------------------

    def _queue_sub(self, queue: str) -> tuple[str, str]:
        return f"q_{queue.encode().hex()}", f"{self.p}.queue.{token(queue)}"

    async def _send(self, queue: str, body: str, attributes: dict[str, str], now: float,
                    message_id: str | None = None) -> str:  # fmt: skip
        """A message into a queue. Its attributes travel whole as JSON, and
        each one a header can carry also as a header of its own (a dead
        letter's RULE_ARN, ERROR_CODE...: readable by any NATS client)."""
        message_id = message_id or str(uuid.uuid4())
        headers = {k: v for k, v in attributes.items()
                   if _HEADER.fullmatch(k) and "\r" not in v and "\n" not in v}  # fmt: skip
        headers.update({"Nats-Msg-Id": message_id, "FB-Sent": repr(now),
                        "FB-Attributes": json.dumps(attributes)})  # fmt: skip
        await self._publish(self._queue_sub(queue)[1], body.encode(), headers)
        return message_id

    def send(self, queue: str, body: str, attributes: dict[str, str], now: float) -> str:
        return self.run(self._send(queue, body, attributes, now))

    def send_and_done(
        self, delivery_id: int, queue: str, body: str, attributes: dict[str, str], now: float
    ) -> str:
        """Deliver to a built-in queue: the message is in (acknowledged), then
        the delivery is retired; a crash between repeats the publish, which
        its id makes a no-op."""

        async def send() -> str:
            message_id = await self._send(queue, body, attributes, now,
                                          self._then(delivery_id, "sent"))  # fmt: skip
            await self._finish(delivery_id, "ack")
            return message_id

        return self.run(send())

    def receive(self, queue: str, limit: int, now: float, visibility: float) -> list[Message]:
        durable, subject = self._queue_sub(queue)
        config = ConsumerConfig(durable_name=durable, ack_wait=12 * 3600, max_deliver=-1,
                                max_ack_pending=100_000, filter_subject=subject)  # fmt: skip

        thread = threading.get_ident()

        async def receive() -> list[Message]:
            msgs = await self._fetch(durable, subject, "QUEUES", limit, 0.05, config, thread)
            out = []
            for m in msgs:
                await m.nak(delay=visibility)  # back after the visibility timeout...
                headers = m.headers or {}
                body = m.data.decode(errors="replace")
                out.append(Message(headers.get("Nats-Msg-Id", ""), m.reply, body,
                                   json.loads(headers.get("FB-Attributes", "{}")),
                                   float(headers.get("FB-Sent", 0)),
                                   m.metadata.num_delivered))  # fmt: skip
            return out  # ...unless deleted (acknowledged) before

        return self.run(receive())

    def _receipt(self, queue: str, receipt: str) -> bool:
        durable = self._queue_sub(queue)[0]
        return receipt.startswith(f"$JS.ACK.{self.stream('QUEUES')}.{durable}.")

    def delete_message(self, queue: str, receipt: str) -> bool:
        if not self._receipt(queue, receipt):
            return False
        self.run(self.nc.request(receipt, b"+ACK", timeout=10))
        return True

    def change_visibility(self, queue: str, receipt: str, visible: float) -> bool:
        if not self._receipt(queue, receipt):
            return False
        delay = int(max(0.0, visible - self.now()) * 1e9)
        self.run(self.nc.request(receipt, f'-NAK {{"delay": {delay}}}'.encode(), timeout=10))
        return True

    def queue_depth(self, queue: str) -> int:
        subject = self._queue_sub(queue)[1]

        async def depth() -> int:
            info = await self.js.stream_info(self.stream("QUEUES"), subjects_filter=subject)
            return int((info.state.subjects or {}).get(subject, 0))

        return self.run(depth())

    def purge_queue(self, queue: str) -> None:
        durable, subject = self._queue_sub(queue)

        async def purge() -> None:
            for key in [k for k in self._subs if k[0] == durable]:
                self._subs.pop(key, None)
            try:
                await self.js.delete_consumer(self.stream("QUEUES"), durable)
            except nats.js.errors.NotFoundError:
                pass
            await self.js.purge_stream(self.stream("QUEUES"), subject=subject)

        self.run(purge())

    # ---- archives ----------------------------------------------------------------------

    def _archived(self, archive: str) -> list[Msg]:
        return self.run(self._read("ARCHIVE", f"{self.p}.archive.{token(archive)}"))

    def archived(self, archive: str, start: float, end: float) -> list[Archived]:
        """Events of an archive with start <= time < end, oldest first."""
        out = []
        for m in self._archived(archive):
            headers = m.headers or {}
            when = float(headers.get("FB-Time", 0))
            if start <= when < end:
                out.append(Archived(headers.get("FB-Event-Id", ""), when, m.data))
        return sorted(out, key=lambda a: a.time)

    def archive_stats(self, archive: str) -> tuple[int, int]:
        msgs = self._archived(archive)
        return len(msgs), sum(len(m.data) for m in msgs)

    def expire_archive(self, archive: str, before: float) -> int:
        """Drop events older than ``before``. Retention is counted in days,
        so an archive is read for it at most once a minute."""
        if time.monotonic() - self._expired.get(archive, -60.0) < 60:
            return 0
        self._expired[archive] = time.monotonic()
        old = [m for m in self._archived(archive)
               if float((m.headers or {}).get("FB-Time", 0)) < before]  # fmt: skip

        async def expire() -> None:
            for m in old:
                await self.js.delete_msg(self.stream("ARCHIVE"), m.metadata.sequence.stream)

        self.run(expire())
        return len(old)

    def drop_archive(self, archive: str) -> None:
        subject = f"{self.p}.archive.{token(archive)}"
        self.run(self.js.purge_stream(self.stream("ARCHIVE"), subject=subject))

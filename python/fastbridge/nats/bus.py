"""The bus on NATS JetStream: the same rules and events API, spread over
processes and machines.

Streams (``P`` is the prefix, ``FB`` by default):

=================  ============================  ==========================================
``P_INGEST``       ``p.ingest.<bus>``            accepted events; ``Nats-Msg-Id`` = EventId
``P_DELIVER``      ``p.deliver.<bus>``           one message per (event, rule, target);
                                                 ``Nats-Msg-Id`` = ``{event}:{rule}:{target}``;
                                                 work-queue retention
``P_DLQ``          ``p.dlq.<queue>``             dead letters, AWS's attributes as headers
``P_ADVISORIES``   MAX_DELIVERIES advisories     the safety net's input
=================  ============================  ==========================================

and the key-value bucket ``P_RULES`` (``<bus>.<rule>`` → the rule with its
targets). Three roles, any number of each, in any processes:

* ``put_events`` publishes each accepted envelope and returns its EventId
  only once JetStream has acknowledged it (a retried publish is de-duplicated
  by its id);
* a **router** pulls events through the durable consumer ``router``, matches
  them with one :class:`fastbridge.Machine` per bus (kept in step with the
  bucket by a watcher), publishes one delivery per matched target and acks the
  event only after every one of those publishes is acknowledged;
* a **deliverer** pulls deliveries through the durable consumer ``deliver``
  and owns the RetryPolicy: a retryable failure is ``nak(delay)`` with
  exponential backoff and jitter clipped to the event's remaining age; when
  retries or age run out, or the error is not retryable, the event is
  published to the dead-letter stream, that publish acknowledged, then the
  delivery ``term()``-ed. ``MaxDeliver`` (200) is a hard cap above the
  policy's 185 retries; the **sweeper** turns MAX_DELIVERIES advisories into
  dead letters, so nothing disappears silently.

Not yet on this backend (next steps of the issue): bus, archive, replay,
queue, connection and API-destination operations; targets other than Python
functions and log groups; ``fastbridge serve --backend``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, RetentionPolicy, StreamConfig

import fastbridge
from fastbridge.bus import transform
from fastbridge.bus.core import pattern_error
from fastbridge.bus.delivery import (
    LocalTargets,
    RetryPolicy,
    dead_letter_attributes,
    dead_letter_queue,
    expired_error,
)
from fastbridge.bus.errors import (
    Exceptions,
    ResourceNotFoundException,
    ValidationException,
)
from fastbridge.bus.events import compact, envelopes_of, loads
from fastbridge.bus.http import DeliveryError
from fastbridge.bus.names import DEFAULT_BUS, Arns, check_name, event_time, parse_target_arn

log = logging.getLogger("fastbridge.nats")
T = TypeVar("T")

MAX_DELIVER = 200
"""JetStream's hard cap on deliveries: above the policy's 185 retries + 1."""
UNDELIVERABLE = "_undeliverable"
"""The dead-letter subject of failures with no usable dead-letter queue."""


def _token(name: str) -> str:
    """A subject token for a name (``.``, ``*``, ``>`` and spaces are not allowed)."""
    return re.sub(r"[^A-Za-z0-9_\-]", "_", name) or "_"


class NatsBus:
    """The bus API over a NATS JetStream deployment (``servers``: one URL or
    several). Each instance keeps one connection on an event loop of its
    own, so the methods are plain synchronous calls like the SQLite bus's."""

    exceptions = Exceptions

    def __init__(
        self,
        servers: str | Sequence[str],
        *,
        account: str = "000000000000",
        region: str = "us-east-1",
        prefix: str = "FB",
        replicas: int = 1,
        retry_base: float = 1.0,
        retry_cap: float = 300.0,
        log_dir: str | Path = "fastbridge-logs",
        http_timeout: float = 5.0,
        ack_wait: float = 60.0,
    ) -> None:
        self.arns = Arns(account, region)
        self.account, self.region = account, region
        self.prefix, self.p = prefix, prefix.lower()
        self.replicas = replicas
        self.retry_base, self.retry_cap = retry_base, retry_cap
        # How long a delivery may take before JetStream hands it to another
        # deliverer (the deliverer that had it is presumed dead).
        self.ack_wait = ack_wait
        self.targets = LocalTargets(Path(log_dir), http_timeout)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fastbridge-nats",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        urls = [servers] if isinstance(servers, str) else list(servers)
        self._run(self._connect(urls))

    # ---- plumbing ----------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _stream(self, role: str) -> str:
        return f"{self.prefix}_{role}"

    async def _connect(self, urls: list[str]) -> None:
        self.nc = await nats.connect(servers=urls, max_reconnect_attempts=-1,
                                     reconnect_time_wait=0.2)  # fmt: skip
        self.js = self.nc.jetstream(timeout=10)
        p = self.p
        streams = [
            StreamConfig(name=self._stream("INGEST"), subjects=[f"{p}.ingest.>"],
                         num_replicas=self.replicas, duplicate_window=120),
            StreamConfig(name=self._stream("DELIVER"), subjects=[f"{p}.deliver.>"],
                         num_replicas=self.replicas, duplicate_window=120,
                         retention=RetentionPolicy.WORK_QUEUE, max_age=7 * 86_400),
            StreamConfig(name=self._stream("DLQ"), subjects=[f"{p}.dlq.>"],
                         num_replicas=self.replicas, duplicate_window=120),
            StreamConfig(name=self._stream("ADVISORIES"), num_replicas=self.replicas,
                         subjects=["$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."
                                   f"{self._stream('DELIVER')}.*"]),
        ]  # fmt: skip
        deadline = time.monotonic() + 30
        for config in streams:
            while True:  # a fresh cluster needs its meta leader first
                try:
                    await self.js.add_stream(config)
                    break
                except nats.js.errors.BadRequestError:
                    await self.js.update_stream(config)
                    break
                except (nats.js.errors.ServiceUnavailableError, nats.errors.TimeoutError):
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.5)
        self.kv = await self.js.create_key_value(bucket=f"{self.prefix}_RULES",
                                                 replicas=self.replicas, history=1)  # fmt: skip

    def close(self) -> None:
        """Stop this process's routers and deliverers (work in progress ends
        first) and close the connection. Nothing is lost: what is not acked
        is delivered again to another worker."""

        async def stop() -> None:
            self._stopping.set()
            for task in self._tasks:
                try:
                    await asyncio.wait_for(asyncio.shield(task), 10)
                except (asyncio.TimeoutError, Exception):
                    task.cancel()
            await self.nc.close()

        try:
            self._run(stop(), timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self.targets.close()

    def __enter__(self) -> NatsBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- rules and targets (in the key-value bucket) -----------------------------

    def _key(self, bus: str, name: str) -> str:
        return f"{_token(bus)}.{name}"

    def _get(self, bus: str, name: str) -> dict[str, Any] | None:
        async def get() -> dict[str, Any] | None:
            try:
                entry = await self.kv.get(self._key(bus, name))
            except nats.js.errors.KeyNotFoundError:
                return None
            return None if not entry.value else dict(json.loads(entry.value))

        return self._run(get())

    def _put(self, doc: dict[str, Any]) -> None:
        self._run(self.kv.put(self._key(doc["EventBusName"], doc["Name"]), compact(doc)))

    def _rule(self, bus: str, name: str) -> dict[str, Any]:
        doc = self._get(bus, name)
        if doc is None:
            raise ResourceNotFoundException(f"Rule {name} does not exist on EventBus {bus}.")
        return doc

    def put_rule(self, *, Name: str, EventPattern: str | None = None, State: str = "ENABLED",
                 Description: str | None = None, EventBusName: str | None = None,
                 **_: Any) -> dict[str, Any]:  # fmt: skip
        check_name(Name, "Name")
        bus = self.arns.bus_name(EventBusName)
        if EventPattern is None:
            raise ValidationException(
                "Parameter(s) EventPattern or ScheduleExpression must be "
                "specified. (Schedules are not on the NATS backend yet.)"
            )
        pattern_error(EventPattern)
        old = self._get(bus, Name) or {}
        doc = {"Name": Name, "Arn": self.arns.rule(bus, Name), "EventBusName": bus,
               "EventPattern": EventPattern, "State": State, "CreatedBy": self.account,
               "Targets": old.get("Targets", [])}  # fmt: skip
        if Description is not None:
            doc["Description"] = Description
        self._put(doc)
        return {"RuleArn": doc["Arn"]}

    def describe_rule(self, *, Name: str, EventBusName: str | None = None) -> dict[str, Any]:
        doc = self._rule(self.arns.bus_name(EventBusName), Name)
        return {k: v for k, v in doc.items() if k != "Targets"}

    def list_rules(
        self, *, EventBusName: str | None = None, NamePrefix: str = ""
    ) -> dict[str, Any]:
        bus = self.arns.bus_name(EventBusName)

        async def keys() -> list[str]:
            try:
                return list(await self.kv.keys())
            except nats.js.errors.NoKeysError:
                return []

        prefix = f"{_token(bus)}."
        names = sorted(k[len(prefix) :] for k in self._run(keys()) if k.startswith(prefix))
        docs = [self._get(bus, n) for n in names if n.startswith(NamePrefix)]
        return {"Rules": [{k: v for k, v in d.items() if k not in ("Targets", "CreatedBy")}
                          for d in docs if d is not None]}  # fmt: skip

    def enable_rule(self, *, Name: str, EventBusName: str | None = None) -> dict[str, Any]:
        return self._set_state(Name, EventBusName, "ENABLED")

    def disable_rule(self, *, Name: str, EventBusName: str | None = None) -> dict[str, Any]:
        return self._set_state(Name, EventBusName, "DISABLED")

    def _set_state(self, name: str, bus_name: str | None, state: str) -> dict[str, Any]:
        doc = self._rule(self.arns.bus_name(bus_name), name)
        doc["State"] = state
        self._put(doc)
        return {}

    def delete_rule(self, *, Name: str, EventBusName: str | None = None) -> dict[str, Any]:
        bus = self.arns.bus_name(EventBusName)
        doc = self._get(bus, Name)
        if doc is None:
            return {}
        if doc["Targets"]:
            raise ValidationException("Rule can't be deleted since it has targets.")
        self._run(self.kv.delete(self._key(bus, Name)))
        return {}

    def put_targets(self, *, Rule: str, Targets: Sequence[Mapping[str, Any]],
                    EventBusName: str | None = None) -> dict[str, Any]:  # fmt: skip
        bus = self.arns.bus_name(EventBusName)
        doc = self._rule(bus, Rule)
        # Also checks each target's input, and the five-target limit counting
        # the targets the rule keeps.
        transform.validate_targets(Targets, existing_ids=[t["Id"] for t in doc["Targets"]])
        current = {t["Id"]: t for t in doc["Targets"]}
        for target in Targets:
            ref = parse_target_arn(str(target["Arn"]))
            if ref is None or ref.kind not in ("function", "log"):
                raise ValidationException(
                    f"Target {target['Id']}: the NATS backend delivers to Python functions and "
                    "log groups so far; other target kinds are not available on it yet."
                )
            current[target["Id"]] = dict(target)
        doc["Targets"] = list(current.values())
        self._put(doc)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def remove_targets(self, *, Rule: str, Ids: Sequence[str],
                       EventBusName: str | None = None) -> dict[str, Any]:  # fmt: skip
        doc = self._rule(self.arns.bus_name(EventBusName), Rule)
        doc["Targets"] = [t for t in doc["Targets"] if t["Id"] not in set(Ids)]
        self._put(doc)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def list_targets_by_rule(self, *, Rule: str,
                             EventBusName: str | None = None) -> dict[str, Any]:  # fmt: skip
        return {"Targets": self._rule(self.arns.bus_name(EventBusName), Rule)["Targets"]}

    def register_function(self, name: str, fn: Callable[..., Any]) -> str:
        """A Python callable as a target, delivered to by the deliverers of
        this process."""
        check_name(name, "FunctionName")
        self.targets.functions[name] = fn
        return self.arns.function(name)

    # ---- events --------------------------------------------------------------------

    def put_events(self, *, Entries: Sequence[Mapping[str, Any]],
                   EndpointId: str | None = None) -> dict[str, Any]:  # fmt: skip
        """As the SQLite bus's, except that an EventId is returned once the
        event is in the ingest stream (JetStream acknowledged it)."""
        now = datetime.now(timezone.utc)
        results, envelopes = envelopes_of(Entries, now, self.arns)

        async def publish() -> None:
            acks = [
                self.js.publish(f"{self.p}.ingest.{_token(bus)}", compact(envelope),
                                headers={"Nats-Msg-Id": envelope["id"], "FB-Bus": bus,
                                         "FB-Accepted": repr(now.timestamp())})
                for bus, envelope in envelopes
            ]  # fmt: skip
            await asyncio.gather(*acks)

        self._run(publish())
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}

    # ---- workers ---------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        async def spawn() -> None:
            self._tasks.append(asyncio.ensure_future(coro))

        self._run(spawn())

    def start_router(self) -> None:
        """Route in this process (any number of routers may run, anywhere)."""
        self._spawn(_Router(self).run())

    def start_deliverer(self) -> None:
        """Deliver in this process, to the functions registered here and to log groups."""
        self._spawn(_Deliverer(self).run())
        self._spawn(_Deliverer(self).sweep())

    def dead_letters(self, queue: str) -> list[tuple[bytes, dict[str, str]]]:
        """The dead letters sent to ``queue`` (``UNDELIVERABLE`` for those
        with no usable dead-letter queue): (event, attributes), oldest first."""

        async def read() -> list[tuple[bytes, dict[str, str]]]:
            sub = await self.js.subscribe(f"{self.p}.dlq.{_token(queue)}",
                                          ordered_consumer=True)  # fmt: skip
            info = await self.js.stream_info(self._stream("DLQ"))
            out = []
            try:
                while info.state.messages:
                    msg = await sub.next_msg(timeout=0.5)
                    out.append((msg.data, dict(msg.headers or {})))
            except nats.errors.TimeoutError:
                pass
            await sub.unsubscribe()
            return out

        return self._run(read())


class _Router:
    """Matches ingested events and publishes their deliveries."""

    def __init__(self, bus: NatsBus) -> None:
        self.bus = bus
        self.machines: dict[str, fastbridge.Machine] = {}
        self.rules: dict[str, dict[str, dict[str, Any]]] = {}
        self.ready = asyncio.Event()
        self.applied = 0  # the last revision of the rules bucket applied

    async def watch(self) -> None:
        """Keep one machine per bus in step with the rules bucket."""
        watcher: Any = await self.bus.kv.watchall()
        try:
            await self._follow(watcher)
        finally:
            await watcher.stop()

    async def _follow(self, watcher: Any) -> None:
        async for entry in watcher:
            if entry is None:  # the initial values have all been seen
                self.ready.set()
                continue
            bus_token, _, name = entry.key.partition(".")
            doc = json.loads(entry.value) if entry.value else None
            bus = doc["EventBusName"] if doc else bus_token
            machine = self.machines.setdefault(bus, fastbridge.Machine())
            rules = self.rules.setdefault(bus, {})
            if name in machine:
                machine.delete_rule(name)
            rules.pop(name, None)
            if doc is not None and entry.operation is None:
                rules[name] = doc
                if doc["State"] != "DISABLED":
                    machine.add_rule(name, doc["EventPattern"])
            self.applied = max(self.applied, entry.revision or 0)

    async def caught_up(self) -> None:
        """Wait until every rule change committed so far is applied, so an
        event routed now sees every rule that was in place when it was put
        (a client's own put_rule, then put_events, always works as on SQLite)."""
        info = await self.bus.js.stream_info(f"KV_{self.bus.prefix}_RULES")
        deadline = time.monotonic() + 10
        while self.applied < info.state.last_seq and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    async def run(self) -> None:
        bus = self.bus
        watching = asyncio.ensure_future(self.watch())
        await self.ready.wait()
        sub = await bus.js.pull_subscribe(
            f"{bus.p}.ingest.>", durable="router", stream=bus._stream("INGEST"),
            config=ConsumerConfig(ack_wait=10, max_deliver=-1, max_ack_pending=1024))  # fmt: skip
        try:
            while not bus._stopping.is_set():
                msgs = await _fetch(sub, 64)
                if msgs:
                    await self.caught_up()
                # a batch at once: each event's publishes and ack overlap the others'
                await asyncio.gather(*(_outlive(self.route(msg), "routing", msg) for msg in msgs))
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
            await sub.unsubscribe()

    async def route(self, msg: Msg) -> None:
        bus = self.bus
        headers = msg.headers or {}
        name = headers.get("FB-Bus", DEFAULT_BUS)
        accepted = float(headers.get("FB-Accepted", time.time()))
        machine = self.machines.get(name)
        publishes = []
        if machine is not None:
            envelope = loads(msg.data)
            ingestion = event_time(datetime.fromtimestamp(accepted, timezone.utc))
            for rule_name in machine.rules_for_event(msg.data):
                rule = self.rules[name][rule_name]
                ctx = transform.Context(rule_arn=rule["Arn"], rule_name=rule_name,
                                        event_bus_name=name, ingestion_time=ingestion)  # fmt: skip
                for target in rule["Targets"]:
                    deliver, payload = transform.owed(target, envelope, ctx)
                    if not deliver:
                        continue
                    body = compact({"bus": name, "rule": rule_name, "rule_arn": rule["Arn"],
                                    "target": target, "event": msg.data.decode(),
                                    "payload": None if payload is None else payload.decode(),
                                    "accepted": accepted})  # fmt: skip
                    msg_id = f"{envelope['id']}:{rule_name}:{target['Id']}"
                    publishes.append(bus.js.publish(f"{bus.p}.deliver.{_token(name)}", body,
                                                    headers={"Nats-Msg-Id": msg_id}))  # fmt: skip
        await asyncio.gather(*publishes)  # every delivery acknowledged...
        await msg.ack()  # ...before the event is


class _Deliverer:
    """Invokes targets and owns the retry policy; the sweeper is its safety net."""

    def __init__(self, bus: NatsBus) -> None:
        self.bus = bus

    async def run(self) -> None:
        bus = self.bus
        sub = await bus.js.pull_subscribe(
            f"{bus.p}.deliver.>",
            durable="deliver",
            stream=bus._stream("DELIVER"),
            config=ConsumerConfig(
                ack_wait=bus.ack_wait, max_deliver=MAX_DELIVER, max_ack_pending=1024
            ),
        )
        while not bus._stopping.is_set():
            msgs = await _fetch(sub, 16)
            await asyncio.gather(*(_outlive(self.deliver(msg), "delivery", msg) for msg in msgs))

    async def deliver(self, msg: Msg) -> None:
        d = loads(msg.data)
        retries = msg.metadata.num_delivered - 1
        target = d["target"]
        policy = RetryPolicy.of(target, self.bus.retry_base, self.bus.retry_cap)
        now = time.time()
        if policy.expired(d["accepted"], now):
            await self.dead_letter(msg, d, expired_error(), retries, "MaximumEventAgeInSeconds")
            return
        body = (d["payload"] if d["payload"] is not None else d["event"]).encode()
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.invoke, target, body)
        except DeliveryError as e:
            delay, exhausted = policy.next(e, retries, d["accepted"], time.time())
            if delay is not None:
                await msg.nak(delay=delay)
            else:
                await self.dead_letter(msg, d, e, retries, exhausted)
            return
        await msg.ack()

    def invoke(self, target: Mapping[str, Any], body: bytes) -> None:
        ref = parse_target_arn(str(target["Arn"]))
        if ref is not None and ref.kind == "function":
            self.bus.targets.function(ref.name, body)
        elif ref is not None and ref.kind == "log":
            self.bus.targets.log(ref.name, body)
        else:
            raise DeliveryError("RESOURCE_NOT_FOUND", f"Unknown target {target['Arn']}",
                                retryable=False)  # fmt: skip

    async def dead_letter(self, msg: Msg | None, d: Mapping[str, Any], err: DeliveryError,
                          retries: int, exhausted: str | None) -> None:  # fmt: skip
        """Publish to the dead-letter stream, wait for its ack, then end the delivery."""
        bus = self.bus
        target = d["target"]
        attributes = dead_letter_attributes(d["rule_arn"], target["Arn"], err, retries, exhausted)
        queue = dead_letter_queue(target)[1] or UNDELIVERABLE
        if queue == UNDELIVERABLE:
            log.error("fastbridge: event for rule %s target %s failed (%s: %s) with no "
                      "dead-letter queue; kept under %s.dlq.%s", d["rule"], target["Id"],
                      err.code, err.message, bus.p, UNDELIVERABLE)  # fmt: skip
        event = loads(d["event"])
        msg_id = f"{event['id']}:{d['rule']}:{target['Id']}:dead"
        await bus.js.publish(f"{bus.p}.dlq.{_token(queue)}", d["event"].encode(),
                             headers={**attributes, "Nats-Msg-Id": msg_id})  # fmt: skip
        if msg is not None:
            await msg.term()

    async def sweep(self) -> None:
        """Dead-letter what JetStream gave up on (MaxDeliver) — a delivery
        whose worker kept dying before it could decide."""
        bus = self.bus
        sub = await bus.js.pull_subscribe(
            "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>",
            durable="sweeper",
            stream=bus._stream("ADVISORIES"),
            config=ConsumerConfig(ack_wait=60),
        )
        while not bus._stopping.is_set():
            msgs = await _fetch(sub, 16)
            for advisory in msgs:
                seq = json.loads(advisory.data)["stream_seq"]
                try:
                    stored = await bus.js.get_msg(bus._stream("DELIVER"), seq)
                except nats.js.errors.NotFoundError:
                    await advisory.ack()  # already dead-lettered or acked
                    continue
                d = loads(stored.data or b"{}")
                err = DeliveryError("MAX_DELIVERIES", "JetStream stopped redelivering after "
                                    f"{MAX_DELIVER} deliveries.", retryable=False)  # fmt: skip
                await self.dead_letter(None, d, err, MAX_DELIVER - 1, "MaximumRetryAttempts")
                await bus.js.delete_msg(bus._stream("DELIVER"), seq)
                await advisory.ack()


async def _fetch(sub: Any, batch: int) -> list[Msg]:
    """The next messages of a pull consumer; none after a quiet half second.
    A failed fetch (the server restarting, a leader moving) is logged and
    retried by the caller's loop: workers outlive the cluster's hiccups."""
    try:
        msgs: list[Msg] = await sub.fetch(batch, timeout=0.5)
        return msgs
    except (nats.errors.TimeoutError, asyncio.TimeoutError):  # nats-py raises either
        return []
    except Exception:
        log.exception("fastbridge: fetching from JetStream failed; trying again")
        await asyncio.sleep(0.2)
        return []


async def _outlive(work: Coroutine[Any, Any, None], what: str, msg: Msg) -> None:
    """One message's work. A failure is logged and the message comes back
    after ack_wait: the worker outlives any one message."""
    try:
        await work
    except Exception:
        log.exception("fastbridge: %s of %s failed; it comes back after ack_wait", what,
                      msg.headers)  # fmt: skip

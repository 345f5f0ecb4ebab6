"""What the NATS backend will rely on, pinned down against the server Debian
ships (nats-server 2.9.x) before any of it is built on:

- a publish carrying ``Nats-Msg-Id`` is stored once, however often it is
  retried (the duplicate window);
- ``nak(delay=...)`` on a pull consumer redelivers no sooner than the delay,
  counting deliveries in the message metadata;
- past ``MaxDeliver`` the server publishes a MAX_DELIVERIES advisory that a
  stream can capture, and the message is not redelivered;
- ``term()`` stops redelivery at once;
- a key-value watcher sees every put and delete of a bucket;
- an R3 stream keeps taking publishes when its leader is SIGKILLed, keeps
  every acknowledged message, and the killed node rejoins.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import nats
import pytest
from nats.js.api import ConsumerConfig, StreamConfig

if TYPE_CHECKING:
    from fastbridge.nats.local import Node


def run(coro: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(coro(), 60))


def test_msg_id_deduplicates_retried_publishes(nats_node: Node) -> None:
    async def go() -> None:
        nc = await nats.connect(nats_node.url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="INGEST", subjects=["ingest.>"]))
        first = await js.publish("ingest.default", b"e1", headers={"Nats-Msg-Id": "event-1"})
        again = await js.publish("ingest.default", b"e1", headers={"Nats-Msg-Id": "event-1"})
        other = await js.publish("ingest.default", b"e2", headers={"Nats-Msg-Id": "event-2"})
        assert not first.duplicate and again.duplicate and not other.duplicate
        assert again.seq == first.seq
        assert (await js.stream_info("INGEST")).state.messages == 2
        await nc.close()

    run(go)


def test_nak_with_delay_redelivers_no_sooner_and_counts(nats_node: Node) -> None:
    async def go() -> None:
        nc = await nats.connect(nats_node.url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="DELIVER", subjects=["deliver.>"]))
        await js.publish("deliver.t1", b"x")
        sub = await js.pull_subscribe(
            "deliver.>", "worker", config=ConsumerConfig(ack_wait=30, max_deliver=5)
        )
        (msg,) = await sub.fetch(1, timeout=5)
        assert msg.metadata.num_delivered == 1
        naked = time.monotonic()
        await msg.nak(delay=1.0)
        (again,) = await sub.fetch(1, timeout=10)
        assert time.monotonic() - naked >= 0.9
        assert again.metadata.num_delivered == 2
        await again.ack()
        await nc.close()

    run(go)


def test_max_deliver_advisory_is_captured_and_term_stops_redelivery(nats_node: Node) -> None:
    async def go() -> None:
        nc = await nats.connect(nats_node.url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="DELIVER", subjects=["deliver.>"]))
        await js.add_stream(
            StreamConfig(
                name="ADVISORIES", subjects=["$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.DELIVER.*"]
            )
        )
        await js.publish("deliver.t1", b"poison")
        await js.publish("deliver.t2", b"given-up")
        sub = await js.pull_subscribe(
            "deliver.>", "worker", config=ConsumerConfig(ack_wait=30, max_deliver=2)
        )
        seen: dict[bytes, int] = {}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                msgs = await sub.fetch(2, timeout=1)
            except nats.errors.TimeoutError:
                if seen.get(b"poison") == 2:
                    break
                continue
            for m in msgs:
                seen[m.data] = m.metadata.num_delivered
                if m.data == b"given-up":
                    await m.term()
                else:
                    await m.nak()
        assert seen == {b"poison": 2, b"given-up": 1}
        deadline = time.monotonic() + 10
        while (await js.stream_info("ADVISORIES")).state.messages < 1:
            assert time.monotonic() < deadline, "no MAX_DELIVERIES advisory"
            await asyncio.sleep(0.1)
        advisory = json.loads((await js.get_msg("ADVISORIES", 1)).data)
        assert advisory["stream"] == "DELIVER" and advisory["consumer"] == "worker"
        assert advisory["deliveries"] == 2
        # the message stays in the stream, so a sweeper can fetch it by sequence
        stored = await js.get_msg("DELIVER", advisory["stream_seq"])
        assert stored.data == b"poison"
        await nc.close()

    run(go)


def test_kv_watch_sees_puts_and_deletes(nats_node: Node) -> None:
    async def go() -> None:
        nc = await nats.connect(nats_node.url)
        js = nc.jetstream()
        kv = await js.create_key_value(bucket="RULES")
        watcher = await kv.watchall()
        await kv.put("default.r1", b'{"source": ["a"]}')
        await kv.put("default.r1", b'{"source": ["b"]}')
        await kv.delete("default.r1")
        ops = []
        deadline = time.monotonic() + 10
        while len(ops) < 3 and time.monotonic() < deadline:
            entry = await watcher.updates(timeout=5)
            if entry is not None:
                ops.append((entry.key, entry.operation, entry.value))
        assert [(k, v) for k, _, v in ops[:2]] == [
            ("default.r1", b'{"source": ["a"]}'),
            ("default.r1", b'{"source": ["b"]}'),
        ]
        assert ops[2][1] == "DEL"
        await watcher.stop()
        await nc.close()

    run(go)


@pytest.mark.slow
def test_r3_stream_survives_a_sigkilled_leader(nats_cluster: list[Node]) -> None:
    urls = [n.url for n in nats_cluster]

    async def go() -> None:
        nc = await nats.connect(servers=urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        js = nc.jetstream(timeout=10)
        deadline = time.monotonic() + 30
        while True:  # JetStream needs its meta leader before streams can be made
            try:
                await js.add_stream(
                    StreamConfig(name="INGEST", subjects=["ingest.>"], num_replicas=3)
                )
                break
            except Exception:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.5)
        acked: list[int] = []
        for i in range(200):
            ack = await js.publish("ingest.x", str(i).encode(), headers={"Nats-Msg-Id": f"e{i}"})
            acked.append(ack.seq)
        leader = (await js.stream_info("INGEST")).cluster.leader
        victim = next(n for n in nats_cluster if n.name == leader)
        victim.kill()
        for i in range(200, 400):  # retried on failure: Nats-Msg-Id makes retries safe
            for _ in range(50):
                try:
                    await js.publish("ingest.x", str(i).encode(), headers={"Nats-Msg-Id": f"e{i}"})
                    break
                except Exception:
                    await asyncio.sleep(0.2)
            else:
                raise AssertionError(f"publish {i} never acknowledged")
        info = await js.stream_info("INGEST")
        assert info.state.messages == 400
        assert info.cluster.leader != leader
        victim.start()  # it rejoins and catches up
        deadline = time.monotonic() + 30
        while True:
            info = await js.stream_info("INGEST")
            replicas = {r.name: r for r in (info.cluster.replicas or [])}
            if leader in replicas and replicas[leader].current:
                break
            assert time.monotonic() < deadline, f"{leader} did not catch up: {replicas}"
            await asyncio.sleep(0.5)
        await nc.close()

    asyncio.run(asyncio.wait_for(go(), 120))

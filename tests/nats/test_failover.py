"""What a worker and a publisher can count on when the nats-server that leads
a stream or a durable pull consumer is SIGKILLed and later restarted, pinned
against real 3-node clusters (nats-server 2.9.x, nats-py), no bus code:

- a publish made during the leader election fails (``NoStreamResponseError``,
  which is *not* a ``NoRespondersError``, or a timeout); repeating it with the
  same ``Nats-Msg-Id`` until it is acknowledged stores every message once, and
  the duplicate window outlives the leader change;
- JetStream API calls (``stream_info``, ``consumer_info``) fail too meanwhile;
- a durable consumer on an R3 stream is itself R3 by default;
- a pull subscription made before the failover keeps delivering once a new
  consumer leader is elected, even when its connection was on the killed node
  (nats-py reconnects to a discovered server and subscribes its inbox again);
  ``fetch`` only times out meanwhile, so it need not be made anew;
- a plain ``ack()`` sent while the consumer has no leader is dropped without
  an error, so the message comes back after ``ack_wait``; ``ack_sync()``
  fails instead and can be repeated until it lands; what the consumer had
  delivered and not yet had acked carries over to the new leader.

An election takes about 4-9 s here (2 cores), so ``ack_wait`` should be well
above that. ``Worker`` and ``publish_until_acked`` below are the reference
recipe.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, PubAck, StreamConfig

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

    from fastbridge.nats.local import Node

T = TypeVar("T")

# What a publish, an ack_sync or a JetStream API call may raise while a leader
# is being elected, or while the connection moves to another server: all of it
# is worth trying again. NoStreamResponseError is what js.publish makes of
# NoRespondersError; it is not a subclass of it.
TRANSIENT: tuple[type[BaseException], ...] = (
    nats.errors.TimeoutError,
    asyncio.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    nats.errors.ConnectionReconnectingError,
)
# What fetch raises when there is nothing for it, or nobody answered in time
# (FetchTimeoutError is a nats.errors.TimeoutError).
FETCH_TIMEOUTS = (nats.errors.TimeoutError, asyncio.TimeoutError)


# ---- the reference recipe -----------------------------------------------------------


async def publish_until_acked(
    js: JetStreamContext,
    subject: str,
    body: bytes,
    msg_id: str,
    *,
    within: float = 60.0,
    errors: Counter[str] | None = None,
) -> PubAck:
    """Publish until JetStream acknowledges, each attempt with the same
    ``Nats-Msg-Id``: an attempt that was stored after all (its ack lost) makes
    the next one a no-op (``duplicate``). ``within`` must stay well inside the
    stream's ``duplicate_window``; an election here takes 5-10 s."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})
        except TRANSIENT as e:
            if errors is not None:
                errors[type(e).__name__] += 1
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def ack_until_confirmed(msg: Msg, *, within: float) -> bool:
    """``ack_sync`` until the consumer leader confirms it. A plain ``ack()``
    sent while the consumer has no leader is dropped silently; this one fails
    and is repeated. False if it never landed: the message then comes back
    after ``ack_wait``, as any unacknowledged one."""
    deadline = time.monotonic() + within
    while True:
        try:
            await msg.ack_sync(timeout=1)
            return True
        except TRANSIENT:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.2)


@dataclass
class Worker:
    """A router's or deliverer's loop over a durable pull consumer.

    - The pull subscription is made once and kept: across a failover ``fetch``
      only times out until a new consumer leader is elected, then delivers again.
    - A timeout is "nothing now"; any other exception is counted and retried
      after a pause, and only ``resubscribe_after`` of them in a row make the
      subscription anew (a safety valve, not needed for a failover).
    - Nothing awaited in the loop may escape it: each message's work is guarded
      (an unacknowledged message comes back after ``ack_wait``).
    - Acks are confirmed (``ack_until_confirmed``), within most of ``ack_wait``,
      which must be well above an election for that to be in time.
    - The work is idempotent: a message can come twice, even with
      ``num_delivered == 1`` when its delivery had not reached the followers.
    """

    js: JetStreamContext
    stream: str
    durable: str
    subject: str
    config: ConsumerConfig
    batch: int = 64
    resubscribe_after: int = 5
    fetch_errors: Counter[str] = field(default_factory=Counter)
    resubscribed: int = 0
    unconfirmed: int = 0

    async def subscribe(self) -> Any:
        """``pull_subscribe`` looks the consumer up first, which fails during
        an election: retried until it works."""
        while True:
            try:
                return await self.js.pull_subscribe(
                    self.subject, durable=self.durable, stream=self.stream, config=self.config
                )
            except Exception as e:  # whatever it is, try again shortly
                self.fetch_errors[f"subscribe:{type(e).__name__}"] += 1
                await asyncio.sleep(0.5)

    async def run(self, work: Callable[[Msg], Awaitable[None]], stop: asyncio.Event) -> None:
        sub = await self.subscribe()
        failed = 0
        ack_within = max((self.config.ack_wait or 30) - 2, 1)
        while not stop.is_set():
            try:
                msgs = await sub.fetch(self.batch, timeout=1)
            except FETCH_TIMEOUTS:
                continue
            except Exception as e:  # counted and retried: the worker outlives it
                self.fetch_errors[type(e).__name__] += 1
                failed += 1
                if failed >= self.resubscribe_after:
                    try:
                        await sub.unsubscribe()
                    except Exception:  # the old one is dropped either way
                        pass
                    sub = await self.subscribe()
                    self.resubscribed += 1
                    failed = 0
                await asyncio.sleep(0.2)
                continue
            failed = 0

            async def one(msg: Msg) -> None:
                try:
                    await work(msg)
                except Exception:  # not acked: it comes back after ack_wait
                    return
                if not await ack_until_confirmed(msg, within=ack_within):
                    self.unconfirmed += 1

            await asyncio.gather(*(one(m) for m in msgs))


# ---- plumbing -------------------------------------------------------------------------


def run(coro: Callable[[], Awaitable[T]], limit: float = 100) -> T:
    return asyncio.run(asyncio.wait_for(coro(), limit))


async def connect(urls: list[str], reconnects: list[str] | None = None) -> Client:
    async def quiet(e: Exception) -> None:  # the default one prints every lost connection
        pass

    async def reconnected() -> None:
        if reconnects is not None:
            reconnects.append(str(nc.connected_url.netloc if nc.connected_url else ""))

    nc = await nats.connect(servers=urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                            error_cb=quiet, reconnected_cb=reconnected)  # fmt: skip
    return nc


async def until(check: Callable[[], Awaitable[T | None]], within: float, what: str) -> T:
    """Poll ``check`` (its transient failures included) until it gives a value."""
    deadline = time.monotonic() + within
    while True:
        try:
            got = await check()
            if got:
                return got
        except (*TRANSIENT, nats.js.errors.APIError):
            pass
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(0.25)


async def r3_stream(nc: Client, name: str, subject: str) -> None:
    """An R3 stream, once the fresh cluster can place it: short attempts, as
    the first ones go unanswered (no meta leader yet) or are refused with a
    400 "no suitable peers for placement" (not every node known yet)."""
    js = nc.jetstream(timeout=2)

    async def make() -> bool:
        try:
            await js.add_stream(StreamConfig(name=name, subjects=[subject], num_replicas=3,
                                             duplicate_window=120))  # fmt: skip
        except nats.js.errors.BadRequestError:  # refused, or made by an unanswered attempt
            await js.stream_info(name)  # NotFoundError if refused: tried again
        return True

    await until(make, 40, f"stream {name}")


async def consumer_leader(js: JetStreamContext, stream: str, durable: str) -> str:
    async def leader() -> str | None:
        return (await js.consumer_info(stream, durable, timeout=2)).cluster.leader

    return await until(leader, 40, f"a leader for {stream} > {durable}")


async def stream_leader(js: JetStreamContext, stream: str) -> str:
    async def leader() -> str | None:
        return (await js.stream_info(stream)).cluster.leader

    return await until(leader, 40, f"a leader for {stream}")


async def replicated(js: JetStreamContext, stream: str, durable: str, node: str) -> bool:
    """``node`` is a current replica of the consumer (the restarted one rejoined)."""
    info = await js.consumer_info(stream, durable, timeout=2)
    peers = {r.name: r for r in info.cluster.replicas or []}
    return info.cluster.leader is not None and node in peers and bool(peers[node].current)


async def rejoined(js: JetStreamContext, stream: str, node: str) -> bool:
    """``node`` is a current replica of the stream again."""
    info = await js.stream_info(stream)
    peers = {r.name: r for r in info.cluster.replicas or []}
    return node in peers and bool(peers[node].current)


def by_name(nodes: list[Node], name: str) -> Node:
    return next(n for n in nodes if n.name == name)


# ---- tests ----------------------------------------------------------------------------


def test_no_stream_response_is_not_a_no_responders_error(nats_node: Node) -> None:
    """js.publish with nobody to store it raises NoStreamResponseError at once,
    which an ``except NoRespondersError`` does not catch."""
    assert not issubclass(nats.js.errors.NoStreamResponseError, nats.errors.NoRespondersError)
    assert not issubclass(nats.js.errors.NoStreamResponseError, nats.errors.TimeoutError)

    async def go() -> None:
        nc = await connect([nats_node.url])
        js = nc.jetstream(timeout=5)
        started = time.monotonic()
        with pytest.raises(nats.js.errors.NoStreamResponseError):
            await js.publish("nostream.x", b"x", headers={"Nats-Msg-Id": "a"})
        assert time.monotonic() - started < 2  # an answer, not a timeout
        await nc.close()

    run(go)


@pytest.mark.slow
def test_publishes_retried_with_their_msg_id_through_an_election_are_stored_once(
    nats_cluster: list[Node],
) -> None:
    urls = [n.url for n in nats_cluster]

    async def go() -> None:
        admin = await connect(urls)
        await r3_stream(admin, "EV", "ev.>")
        ajs = admin.jetstream(timeout=2)
        leader = await stream_leader(ajs, "EV")
        victim = by_name(nats_cluster, leader)
        # the near publisher sits on a surviving node, the far one on the victim
        near = await connect([n.url for n in nats_cluster if n is not victim])
        far_moves: list[str] = []
        far = await connect([victim.url], reconnects=far_moves)
        njs, fjs = near.jetstream(timeout=5), far.jetstream(timeout=5)
        seqs: dict[int, int] = {}
        for i in range(200):
            seqs[i] = (await njs.publish("ev.x", b"%d" % i, headers={"Nats-Msg-Id": f"e{i}"})).seq
        await admin.close()

        victim.kill()
        killed = time.monotonic()
        quick = near.jetstream(timeout=2)
        with pytest.raises((*TRANSIENT, nats.js.errors.APIError)):  # any of them
            await quick.stream_info("EV")
        near_errors: Counter[str] = Counter()
        far_errors: Counter[str] = Counter()
        back: list[float] = []

        async def publisher(js: JetStreamContext, ids: range, errors: Counter[str]) -> None:
            for i in ids:
                ack = await publish_until_acked(js, "ev.x", b"%d" % i, f"e{i}", errors=errors)
                seqs[i] = ack.seq
                back.append(time.monotonic() - killed)

        await asyncio.gather(publisher(njs, range(201, 400, 2), near_errors),
                             publisher(fjs, range(200, 400, 2), far_errors))  # fmt: skip
        assert near_errors["NoStreamResponseError"] >= 1, near_errors
        assert far_errors, "the publisher on the killed node saw nothing fail"
        assert far_moves, "the publisher on the killed node did not move to another node"
        assert min(back) < 30, f"publishes failed for {min(back)} s"

        # the duplicate window survived the leader change: acked before, a no-op now
        for i in range(150, 200):
            again = await publish_until_acked(njs, "ev.x", b"%d" % i, f"e{i}")
            assert again.duplicate and again.seq == seqs[i], (i, again)
        info = await njs.stream_info("EV")
        print(f"\npublishes failed for {min(back):.1f} s after the kill; near: "
              f"{dict(near_errors)}, far: {dict(far_errors)}")  # fmt: skip
        assert info.state.messages == 400 and info.state.last_seq == 400
        assert sorted(seqs.values()) == list(range(1, 401))  # every id stored once
        assert info.cluster.leader != leader

        victim.start()
        await until(lambda: rejoined(quick, "EV", leader), 40, f"{leader} rejoining EV")
        await near.close()
        await far.close()

    run(go)


@pytest.mark.slow
def test_acks_sent_while_the_consumer_has_no_leader_are_lost_unless_confirmed(
    nats_cluster: list[Node],
) -> None:
    urls = [n.url for n in nats_cluster]
    # longer than an election: the confirmed acks land before the new leader
    # would hand their messages out again
    config = ConsumerConfig(ack_wait=12, max_deliver=-1, max_ack_pending=1024)

    async def go() -> None:
        admin = await connect(urls)
        await r3_stream(admin, "ACKS", "acks.>")
        ajs = admin.jetstream(timeout=2)
        for i in range(20):
            await ajs.publish("acks.x", b"%d" % i)
        await ajs.add_consumer("ACKS", replace(config, durable_name="w"))
        leader = await consumer_leader(ajs, "ACKS", "w")
        info = await ajs.consumer_info("ACKS", "w")
        assert info.config.num_replicas in (0, None, 3)  # not asked for: the stream's R3
        assert len(info.cluster.replicas or []) == 2, info.cluster

        victim = by_name(nats_cluster, leader)
        nc = await connect([n.url for n in nats_cluster if n is not victim])
        js = nc.jetstream(timeout=5)
        sub = await js.pull_subscribe("acks.>", durable="w", stream="ACKS")
        held: list[Msg] = []
        while len(held) < 20:
            try:
                held += await sub.fetch(20 - len(held), timeout=2)
            except FETCH_TIMEOUTS:
                pass

        async def settled() -> bool:  # the deliveries are known to the followers too
            i = await js.consumer_info("ACKS", "w", timeout=2)
            return i.num_ack_pending == 20 and all(r.current for r in i.cluster.replicas or [])

        await until(settled, 20, "deliveries replicated")
        await admin.close()

        victim.kill()
        killed = time.monotonic()
        with pytest.raises(TRANSIENT):  # nobody leads the consumer: a confirmed ack fails...
            await held[0].ack_sync(timeout=0.5)
        for msg in held[1:10]:
            await msg.ack()  # ...and a plain one is dropped without a word
        confirmed = await asyncio.gather(*(ack_until_confirmed(m, within=30) for m in held[10:]))
        assert all(confirmed)
        print(f"\nacks confirmed again {time.monotonic() - killed:.1f} s after the kill")

        async def carried_over() -> bool:  # the new leader knows what was delivered
            i = await js.consumer_info("ACKS", "w", timeout=2)
            return (i.cluster.leader not in (None, leader) and i.delivered.stream_seq == 20
                    and i.num_pending == 0 and i.num_ack_pending == 10)  # fmt: skip

        await until(carried_over, 20, "the consumer's state on its new leader")

        back: dict[int, int] = {}  # the unconfirmed ones come back after ack_wait

        async def redelivered() -> bool:
            try:
                msgs = await sub.fetch(20, timeout=2)
            except FETCH_TIMEOUTS:
                return False
            for m in msgs:
                back[int(m.data)] = m.metadata.num_delivered
                assert await ack_until_confirmed(m, within=10)
            return len(back) >= 10

        await until(redelivered, 40, "redelivery of the unconfirmed acks")
        assert sorted(back) == list(range(10)), back
        assert all(n >= 2 for n in back.values()), back

        async def drained() -> bool:  # and nothing else will: all 20 are acked
            i = await js.consumer_info("ACKS", "w", timeout=2)
            return i.num_ack_pending == 0 and i.num_pending == 0 and i.ack_floor.stream_seq == 20

        await until(drained, 20, "every message acked")
        await nc.close()

    run(go)


@dataclass
class Flow:
    """Messages ``m<i>`` published to ``work.x`` from a few concurrent lanes,
    each one retried until acknowledged."""

    js: JetStreamContext
    acked: set[int] = field(default_factory=set)
    errors: Counter[str] = field(default_factory=Counter)

    async def publish(self, ids: range, lanes: int = 4) -> None:
        async def lane(k: int) -> None:
            for i in ids[k::lanes]:
                await publish_until_acked(self.js, "work.x", b"%d" % i, f"m{i}",
                                          errors=self.errors)  # fmt: skip
                self.acked.add(i)
                await asyncio.sleep(0.005)  # a steady flow, not one burst

        await asyncio.gather(*(lane(k) for k in range(lanes)))


async def sigkill_and_restart(ajs: JetStreamContext, victim: Node, flow: Flow) -> float:
    """Let 1,500 messages flow, SIGKILL ``victim`` after the first 400, restart
    it once the consumer has a new leader and wait until it has rejoined, then
    publish 300 more. The moment of the kill."""
    flowing = asyncio.ensure_future(flow.publish(range(1500)))

    async def under_way() -> bool:
        return len(flow.acked) >= 400

    await until(under_way, 30, "400 messages published")
    victim.kill()
    killed = time.monotonic()
    assert await consumer_leader(ajs, "WORK", "w") != victim.name
    victim.start()
    await until(lambda: replicated(ajs, "WORK", "w", victim.name), 40, f"{victim.name} rejoining")
    await flowing
    await flow.publish(range(1500, 1800))  # after the rejoin
    return killed


async def busy(msgs: list[Msg], work: Callable[[Msg], Awaitable[None]]) -> None:
    """A batch's work, side by side, as a router publishing deliveries does."""
    await asyncio.sleep(0.05)
    await asyncio.gather(*(work(m) for m in msgs))


@pytest.mark.slow
def test_a_pull_subscription_made_before_the_failover_keeps_delivering(
    nats_cluster: list[Node],
) -> None:
    """The worker's connection is on the consumer leader, which is killed, and
    the worker never makes its subscription anew; it acks with plain acks."""
    urls = [n.url for n in nats_cluster]
    config = ConsumerConfig(durable_name="w", ack_wait=10, max_deliver=-1, max_ack_pending=1024)

    async def go() -> None:
        admin = await connect(urls)
        await r3_stream(admin, "WORK", "work.>")
        ajs = admin.jetstream(timeout=2)
        await ajs.add_consumer("WORK", config)
        leader = await consumer_leader(ajs, "WORK", "w")
        victim = by_name(nats_cluster, leader)
        moves: list[str] = []
        wnc = await connect([victim.url], reconnects=moves)
        sub = await wnc.jetstream(timeout=5).pull_subscribe("work.>", durable="w", stream="WORK")
        pnc = await connect(urls)
        flow = Flow(pnc.jetstream(timeout=5))

        fetched: Counter[int] = Counter()
        errors: Counter[str] = Counter()
        stop = asyncio.Event()

        async def work(m: Msg) -> None:
            fetched[int(m.data)] += 1
            try:
                await m.ack()
            except Exception as e:  # counted: the message comes back after ack_wait
                errors[f"ack:{type(e).__name__}"] += 1

        async def bare_worker() -> None:  # the same subscription throughout
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(64, timeout=0.5)
                except Exception as e:  # counted, and the loop goes on
                    errors[type(e).__name__] += 1
                    continue
                await busy(msgs, work)

        working = asyncio.ensure_future(bare_worker())
        killed = await sigkill_and_restart(ajs, victim, flow)

        async def all_fetched() -> bool:
            return flow.acked <= set(fetched)

        await until(all_fetched, 40, f"{len(flow.acked - set(fetched))} not fetched")
        took = time.monotonic() - killed

        async def drained() -> bool:  # acks lost in the election: back after ack_wait
            i = await ajs.consumer_info("WORK", "w", timeout=2)
            return i.num_pending == 0 and i.num_ack_pending == 0

        await until(drained, 40, "acks outstanding")
        stop.set()
        await working
        assert moves, "the worker's connection never moved off the killed node"
        assert len(flow.acked) == 1800 and set(fetched) == flow.acked
        assert errors.keys() <= {"TimeoutError", "FetchTimeoutError"}, errors
        info = await flow.js.stream_info("WORK")
        assert info.state.messages == 1800  # retried publishes were stored once
        print(f"\nbare subscription: {took:.1f} s from the kill to every message fetched; "
              f"{fetched.total() - len(fetched)} fetched twice; fetch raised "
              f"{dict(errors)}; publishes raised {dict(flow.errors)}")  # fmt: skip
        for nc in (wnc, pnc, admin):
            await nc.close()

    run(go)


@pytest.mark.slow
def test_reference_worker_gets_every_message_through_a_leader_sigkill_and_restart(
    nats_cluster: list[Node],
) -> None:
    """The node leading both the stream and the consumer is killed while
    messages flow, and restarted once new leaders are elected. ``ack_wait``
    is well above an election (up to ~9 s here), so the acks held through it
    are confirmed in time instead of the messages coming back."""
    urls = [n.url for n in nats_cluster]
    config = ConsumerConfig(ack_wait=30, max_deliver=-1, max_ack_pending=1024)

    async def go() -> None:
        admin = await connect(urls)
        await r3_stream(admin, "WORK", "work.>")
        ajs = admin.jetstream(timeout=2)
        await ajs.add_consumer("WORK", replace(config, durable_name="w"))
        leader = await stream_leader(ajs, "WORK")
        for _ in range(20):  # one node leads both, as when the bus test stalled
            if await consumer_leader(ajs, "WORK", "w") == leader:
                break
            try:
                await admin.request("$JS.API.CONSUMER.LEADER.STEPDOWN.WORK.w", b"", timeout=5)
            except TRANSIENT:
                pass
            await asyncio.sleep(0.5)
        else:
            pytest.fail(f"the consumer leader never came to {leader}")
        victim = by_name(nats_cluster, leader)

        nc = await connect(urls)  # one connection for the worker and the publisher
        js = nc.jetstream(timeout=5)
        first: dict[int, float] = {}
        fetched: Counter[int] = Counter()

        async def count(msg: Msg) -> None:  # idempotent: it only counts
            i = int(msg.data)
            first.setdefault(i, time.monotonic())
            fetched[i] += 1

        async def work(msg: Msg) -> None:
            await busy([msg], count)

        worker = Worker(js, "WORK", "w", "work.>", config)
        stop = asyncio.Event()
        working = asyncio.ensure_future(worker.run(work, stop))
        flow = Flow(js)
        await sigkill_and_restart(ajs, victim, flow)
        assert await stream_leader(ajs, "WORK") != leader

        async def drained() -> bool:
            i = await ajs.consumer_info("WORK", "w", timeout=2)
            return flow.acked <= set(fetched) and i.num_pending == 0 and i.num_ack_pending == 0

        await until(drained, 40, f"{len(flow.acked - set(fetched))} not fetched")
        stop.set()
        await working
        assert len(flow.acked) == 1800 and set(fetched) == flow.acked
        assert (await js.stream_info("WORK")).state.messages == 1800
        # a message comes twice only if it was out when the leader died: its
        # delivery or its ack had not reached the followers
        after = min(first[i] for i in range(1500, 1800))
        twice = sorted(i for i, n in fetched.items() if n > 1)
        assert all(first[i] < after for i in twice), twice
        assert worker.unconfirmed == 0, "an ack was not confirmed within ack_wait"
        print(f"\nreference worker: {len(twice)} fetched twice; re-subscribed "
              f"{worker.resubscribed} times; {worker.unconfirmed} acks unconfirmed; "
              f"fetch raised {dict(worker.fetch_errors)}; "
              f"publishes raised {dict(flow.errors)}")  # fmt: skip
        await nc.close()
        await admin.close()

    run(go)

"""The bus on NATS JetStream, against a real nats-server started by the tests:
events flow from put_events through a router to a deliverer; retries go
through nak(delay) and end in the dead-letter queue with AWS's attributes;
rule changes reach a running router; a SIGKILLed router loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fastbridge.bus import ValidationException
from fastbridge.nats import NatsBus

if TYPE_CHECKING:
    from fastbridge.nats.local import Node

ORDER = {"Source": "shop", "DetailType": "Order", "Detail": '{"total": 250}'}


@pytest.fixture
def bus(nats_node: Node, tmp_path: Path) -> Iterator[NatsBus]:
    b = NatsBus(nats_node.url, retry_base=0.05, retry_cap=0.2, log_dir=tmp_path / "logs")
    yield b
    b.close()


def wait_for(condition: Callable[[], bool], timeout: float = 20,
             what: Callable[[], str] = lambda: "") -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out {what()}"
        time.sleep(0.05)


class Sink:
    def __init__(self, fail_first: int = 0, always_fail: bool = False) -> None:
        self.got: list[Any] = []
        self.calls = 0
        self.fail_first, self.always_fail = fail_first, always_fail
        self.lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        with self.lock:
            self.calls += 1
            if self.always_fail or self.calls <= self.fail_first:
                raise ConnectionError(f"attempt {self.calls} fails")
            self.got.append(event)


def test_events_flow_through_router_and_deliverer(bus: NatsBus, tmp_path: Path) -> None:
    sink = Sink()
    bus.put_rule(Name="big", EventPattern='{"detail": {"total": [{"numeric": [">", 100]}]}}')
    bus.put_targets(Rule="big", Targets=[
        {"Id": "f", "Arn": bus.register_function("sink", sink)},
        {"Id": "l", "Arn": bus.arns.log_group("orders"),
         "InputTransformer": {"InputPathsMap": {"t": "$.detail.total"},
                              "InputTemplate": '{"total": <t>}'}}])  # fmt: skip
    bus.start_router()
    bus.start_deliverer()
    ids = []
    for _ in range(10):
        out = bus.put_events(Entries=[ORDER] * 5 + [{**ORDER, "Detail": '{"total": 5}'}])
        assert out["FailedEntryCount"] == 0
        ids += [e["EventId"] for e in out["Entries"][:5]]
    wait_for(lambda: len(sink.got) == 50)
    assert sorted(e["id"] for e in sink.got) == sorted(ids)
    assert sink.got[0]["detail"] == {"total": 250}
    log = tmp_path / "logs" / "orders.jsonl"
    wait_for(lambda: log.exists() and len(log.read_text().splitlines()) == 50)
    assert json.loads(log.read_text().splitlines()[0]) == {"total": 250}
    assert (
        bus.put_events(Entries=[{**ORDER, "Detail": "[]"}])["Entries"][0]["ErrorCode"]
        == "MalformedDetail"
    )


def test_retries_then_success(bus: NatsBus) -> None:
    sink = Sink(fail_first=3)
    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    bus.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": bus.register_function("s", sink)}])
    bus.start_router()
    bus.start_deliverer()
    (entry,) = bus.put_events(Entries=[ORDER])["Entries"]
    wait_for(lambda: len(sink.got) == 1)
    assert sink.calls == 4 and sink.got[0]["id"] == entry["EventId"]
    assert bus.undeliverable() == []


def test_exhausted_retries_are_dead_lettered_with_aws_attributes(bus: NatsBus) -> None:
    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    target = {
        "Id": "f",
        "Arn": bus.register_function("s", Sink(always_fail=True)),
        "RetryPolicy": {"MaximumRetryAttempts": 2},
        "DeadLetterConfig": {"Arn": bus.create_queue("dlq")},
    }
    bus.put_targets(Rule="r", Targets=[target])
    bus.start_router()
    bus.start_deliverer()
    (entry,) = bus.put_events(Entries=[ORDER])["Entries"]
    wait_for(lambda: len(bus.queue("dlq")) == 1)
    (dead,) = bus.queue("dlq").receive()
    assert json.loads(dead.body)["id"] == entry["EventId"]
    # any NATS client reading the queue's subject sees the attributes as headers too
    raw = bus.nats.run(bus.nats.js.get_last_msg(bus.nats.stream("QUEUES"), "fb.queue.dlq"))
    assert {k: raw.headers[k] for k in dead.attributes} == dead.attributes
    assert dead.attributes == {
        "RULE_ARN": "arn:aws:events:us-east-1:000000000000:rule/r",
        "TARGET_ARN": target["Arn"], "ERROR_CODE": "FUNCTION_ERROR",
        "ERROR_MESSAGE": "ConnectionError: attempt 3 fails", "RETRY_ATTEMPTS": "2",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts"}  # fmt: skip


def test_failures_without_a_dead_letter_queue_are_kept(bus: NatsBus) -> None:
    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    bus.put_targets(
        Rule="r",
        Targets=[
            {
                "Id": "f",
                "Arn": bus.register_function("s", Sink(always_fail=True)),
                "RetryPolicy": {"MaximumRetryAttempts": 0},
            }
        ],
    )
    bus.start_router()
    bus.start_deliverer()
    bus.put_events(Entries=[ORDER])
    wait_for(lambda: len(bus.undeliverable()) == 1)
    (kept,) = bus.undeliverable()
    assert kept["reason"] == "no dead-letter queue configured"
    assert kept["attributes"]["ERROR_CODE"] == "FUNCTION_ERROR"


def test_rule_changes_reach_a_running_router(bus: NatsBus) -> None:
    sink = Sink()
    arn = bus.register_function("s", sink)
    bus.start_router()
    bus.start_deliverer()

    def delivered_after_change(entry: dict[str, Any]) -> str:
        """Put the event until the router has the change (then it is delivered)."""
        deadline = time.monotonic() + 20
        while True:
            (out,) = bus.put_events(Entries=[entry])["Entries"]
            wait_until = time.monotonic() + 0.3
            while time.monotonic() < wait_until:
                if out["EventId"] in {e["id"] for e in sink.got}:
                    return str(out["EventId"])
                time.sleep(0.02)
            assert time.monotonic() < deadline, "the rule change never reached the router"

    bus.put_rule(Name="r", EventPattern='{"source": ["other"]}')
    bus.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": arn}])
    delivered_after_change({**ORDER, "Source": "other"})
    (unmatched,) = bus.put_events(Entries=[ORDER])["Entries"]  # the rule wants "other"
    wait_for(lambda: bus.pending() == 0)  # routed (rules apply when an event is routed)
    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    delivered_after_change(ORDER)
    bus.disable_rule(Name="r")
    # the bucket's changes arrive in order: once the probe rule works, r is disabled
    bus.put_rule(Name="probe", EventPattern='{"source": ["probe"]}')
    bus.put_targets(Rule="probe", Targets=[{"Id": "f", "Arn": arn}])
    delivered_after_change({**ORDER, "Source": "probe"})
    (disabled,) = bus.put_events(Entries=[ORDER])["Entries"]
    delivered_after_change({**ORDER, "Source": "probe"})  # routed after the one before
    ids = {e["id"] for e in sink.got}
    assert unmatched["EventId"] not in ids and disabled["EventId"] not in ids
    assert bus.describe_rule(Name="r")["State"] == "DISABLED"
    with pytest.raises(ValidationException, match="has targets"):
        bus.delete_rule(Name="r")


def test_sigkilled_router_loses_no_event(bus: NatsBus, nats_node: Node) -> None:
    sink = Sink()
    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    bus.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": bus.register_function("s", sink)}])
    bus.start_deliverer()  # routers run in processes of their own

    def router() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fastbridge.nats", "router", "--servers", nats_node.url],
            stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert proc.stdout is not None and "running" in proc.stdout.readline()
        return proc

    first = router()
    ids = []
    for _ in range(60):
        ids += [e["EventId"] for e in bus.put_events(Entries=[ORDER] * 10)["Entries"]]
    wait_for(lambda: len(sink.got) > 50)
    os.kill(first.pid, signal.SIGKILL)  # mid-flight: events are still being routed
    first.wait(10)
    for _ in range(20):
        ids += [e["EventId"] for e in bus.put_events(Entries=[ORDER] * 10)["Entries"]]
    second = router()
    try:
        # the killed router's unacknowledged events come back after ack_wait (30 s)
        wait_for(
            lambda: set(ids) <= {e["id"] for e in sink.got},
            timeout=90,
            what=lambda: f"{len(set(ids) - {e['id'] for e in sink.got})} not delivered",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    counts = Counter(e["id"] for e in sink.got)
    print(f"{len(ids)} events, {sum(c - 1 for c in counts.values())} delivered twice")


def test_sigkilled_deliverer_loses_no_event(nats_node: Node, tmp_path: Path) -> None:
    """Deliverers in processes of their own write a log group; one is killed
    mid-flight and its unacknowledged deliveries reach the next one."""
    bus = NatsBus(nats_node.url, log_dir=tmp_path / "unused")
    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    bus.put_targets(Rule="r", Targets=[{"Id": "l", "Arn": bus.arns.log_group("out")}])
    bus.start_router()
    log = tmp_path / "logs" / "out.jsonl"

    def deliverer() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fastbridge.nats", "deliver", "--servers", nats_node.url,
             "--log-dir", str(tmp_path / "logs"), "--ack-wait", "3"],
            stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert proc.stdout is not None and "running" in proc.stdout.readline()
        return proc

    def delivered() -> list[str]:
        if not log.exists():
            return []
        return [json.loads(line)["id"] for line in log.read_text().split("\n")[:-1] if line]

    try:
        first = deliverer()
        ids = []
        for _ in range(60):
            ids += [e["EventId"] for e in bus.put_events(Entries=[ORDER] * 10)["Entries"]]
        wait_for(lambda: len(delivered()) > 50)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        second = deliverer()
        try:
            wait_for(
                lambda: set(ids) <= set(delivered()),
                timeout=90,
                what=lambda: f"{len(set(ids) - set(delivered()))} not delivered",
            )
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
        counts = Counter(delivered())
        print(f"{len(ids)} events, {sum(c - 1 for c in counts.values())} delivered twice")
    finally:
        bus.close()


def test_function_deliveries_go_only_to_processes_that_registered_the_function(
    bus: NatsBus, nats_node: Node, tmp_path: Path
) -> None:
    """A deliverer process with no functions (the CLI's) takes the log-group
    deliveries; the function's go to this process only, none redelivered."""
    sink = Sink()
    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    bus.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": bus.register_function("fn", sink)},
                                       {"Id": "l", "Arn": bus.arns.log_group("out")}])  # fmt: skip
    other = subprocess.Popen(
        [sys.executable, "-m", "fastbridge.nats", "deliver", "--servers", nats_node.url,
         "--log-dir", str(tmp_path / "logs")], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert other.stdout is not None and "running" in other.stdout.readline()
        bus.start_router()
        bus.start_deliverer()
        ids = []
        for _ in range(5):
            ids += [e["EventId"] for e in bus.put_events(Entries=[ORDER] * 10)["Entries"]]
        log = tmp_path / "logs" / "out.jsonl"
        wait_for(lambda: len(sink.got) == 50 and log.exists()
                 and len(log.read_text().splitlines()) == 50)  # fmt: skip
        assert sorted(e["id"] for e in sink.got) == sorted(ids) and sink.calls == 50
        js, stream = bus.nats.js, bus.nats.stream("DELIVER")
        fn = bus.nats.run(js.consumer_info(stream, f"fn_{b'fn'.hex()}"))
        rest = bus.nats.run(js.consumer_info(stream, "deliver"))
        assert (fn.delivered.consumer_seq, fn.num_redelivered) == (50, 0)
        assert rest.delivered.consumer_seq == 50  # the log group's only
    finally:
        other.send_signal(signal.SIGTERM)
        other.wait(20)


def test_the_sweeper_dead_letters_what_jetstream_stopped_redelivering(
    nats_node: Node, tmp_path: Path
) -> None:
    """MaxDeliver lowered to 3 under a policy of 185 retries: JetStream gives
    up first, its advisory is captured, and the sweeper dead-letters the
    event with the reason — nothing disappears silently."""
    bus = NatsBus(nats_node.url, retry_base=0.01, retry_cap=0.05, max_deliver=3,
                  log_dir=tmp_path / "logs")  # fmt: skip
    try:
        sink = Sink(always_fail=True)
        bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
        target = {"Id": "f", "Arn": bus.register_function("s", sink),
                  "DeadLetterConfig": {"Arn": bus.create_queue("dlq")}}  # fmt: skip
        bus.put_targets(Rule="r", Targets=[target])
        bus.start()
        (entry,) = bus.put_events(Entries=[ORDER])["Entries"]
        wait_for(lambda: len(bus.queue("dlq")) == 1)
        (dead,) = bus.queue("dlq").receive()
        assert json.loads(dead.body)["id"] == entry["EventId"]
        assert dead.attributes["ERROR_CODE"] == "MAX_DELIVERIES"
        assert dead.attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
        assert sink.calls == 3
        wait_for(lambda: bus.pending() == 0)  # the delivery is gone from its stream
    finally:
        bus.close()


def test_a_message_that_is_not_an_event_is_kept_aside_and_routing_goes_on(bus: NatsBus) -> None:
    """Something other than our envelopes in the ingest stream (another
    client's publish) does not block the events around it, nor is it lost."""
    sink = Sink()
    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    bus.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": bus.register_function("s", sink)}])
    bus.put_events(Entries=[ORDER])
    bus.nats.run(bus.nats.js.publish("fb.ingest.default", b"{not json"))
    bus.put_events(Entries=[ORDER])
    bus.start()
    wait_for(lambda: len(sink.got) == 2)
    wait_for(lambda: len(bus.undeliverable()) == 1)
    (kept,) = bus.undeliverable()
    assert kept["body"] == "{not json" and kept["reason"].startswith("not routable: ")
    wait_for(lambda: bus.pending() == 0)


def test_a_message_that_is_not_a_delivery_is_kept_aside_and_delivering_goes_on(
    bus: NatsBus,
) -> None:
    sink = Sink()
    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    targets = [{"Id": "f", "Arn": bus.arns.log_group("out")},
               {"Id": "g", "Arn": bus.register_function("s", sink)}]  # fmt: skip
    bus.put_targets(Rule="r", Targets=targets)
    bus.nats.run(bus.nats.js.publish("fb.deliver.default.any.log.out", b'{"event_id": 1}'))
    bus.put_events(Entries=[ORDER])
    bus.start()
    wait_for(lambda: len(sink.got) == 1 and len(bus.undeliverable()) == 1)
    (kept,) = bus.undeliverable()
    assert kept["body"] == '{"event_id": 1}' and kept["reason"].startswith("not a delivery: ")
    wait_for(lambda: bus.pending() == 0)


def test_changes_made_by_one_process_reach_another_on_a_bus_with_slashes(
    bus: NatsBus, nats_node: Node, tmp_path: Path
) -> None:
    """Two bus objects, as two processes would have: one makes and deletes
    rules, the other routes and delivers — on a partner-style bus name."""
    client = NatsBus(nats_node.url, log_dir=tmp_path / "logs")
    try:
        sink = Sink()
        arn = bus.register_function("f", sink)
        bus.start()
        name = "aws.partner/example.com/1/orders"
        client.create_event_bus(Name=name)
        client.put_rule(Name="r", EventBusName=name, EventPattern='{"source": ["shop"]}')
        client.put_targets(Rule="r", EventBusName=name, Targets=[{"Id": "t", "Arn": arn}])
        client.put_events(Entries=[{**ORDER, "EventBusName": name}])
        wait_for(lambda: len(sink.got) == 1)
        client.remove_targets(Rule="r", EventBusName=name, Ids=["t"])
        client.delete_rule(Name="r", EventBusName=name)
        client.put_rule(Name="probe", EventBusName=name, EventPattern='{"source": ["shop"]}')
        client.put_targets(Rule="probe", EventBusName=name, Targets=[{"Id": "p", "Arn": arn}])
        client.put_events(Entries=[{**ORDER, "EventBusName": name}])
        wait_for(lambda: len(sink.got) == 2)  # delivered once, through probe alone
        time.sleep(0.5)
        assert len(sink.got) == 2
        assert "r" not in bus._buses[name].machine
    finally:
        client.close()

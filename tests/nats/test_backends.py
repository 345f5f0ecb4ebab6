"""The same bus behaviour on both backends, SQLite (the embedded default) and
NATS JetStream (a real server started by the tests), with workers running
and time passing for real: retries really wait, visibility timeouts really
run out (tests/bus/test_bus.py covers the rest on a fake clock)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fastbridge.bus import EventBridge, InvalidEventPatternException, ValidationException
from fastbridge.nats import NatsBus

ORDER = {"Source": "shop", "DetailType": "Order", "Detail": '{"total": 250, "id": "o-1"}'}


@pytest.fixture(params=["sqlite", "nats"])
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A bus delivering in threads of its own, retrying after 0.05-0.2 s."""
    b: EventBridge
    if request.param == "sqlite":
        b = EventBridge(tmp_path / "bus.db", durability="normal", retry_base=0.05,
                        retry_cap=0.2, log_dir=tmp_path / "logs")  # fmt: skip
    else:
        b = request.getfixturevalue("nats_bus")(retry_base=0.05, retry_cap=0.2,
                                                log_dir=tmp_path / "logs")  # fmt: skip
        b.start()
    yield b
    if not isinstance(b, NatsBus):  # the nats_bus fixture closes its own
        b.close()


def dead_letters(bus: Any, queue: str) -> list[tuple[bytes, dict[str, str]]]:
    """What the queue holds, left in it (received with no visibility timeout)."""
    return [(m.body.encode(), m.attributes) for m in bus.queue(queue).receive(10, 0)]


def eventually(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_delivery_with_an_input_transformer(bus: Any) -> None:
    got: list[Any] = []
    bus.put_rule(Name="big", EventPattern='{"detail": {"total": [{"numeric": [">", 100]}]}}')
    bus.put_targets(Rule="big", Targets=[{
        "Id": "f", "Arn": bus.register_function("sink", got.append),
        "InputTransformer": {"InputPathsMap": {"t": "$.detail.total", "id": "$.id"},
                             "InputTemplate": '{"total": <t>, "event": <id>}'}}])  # fmt: skip
    out = bus.put_events(Entries=[ORDER, {**ORDER, "Detail": '{"total": 1}'}])
    eventually(lambda: len(got) == 1)
    assert got == [{"total": 250, "event": out["Entries"][0]["EventId"]}]


def test_retries_then_dead_letter_with_the_same_attributes(bus: Any) -> None:
    calls: list[Any] = []

    def broken(event: Any) -> None:
        calls.append(event)
        raise ConnectionError("refused")

    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    target = {"Id": "t", "Arn": bus.register_function("broken", broken),
              "RetryPolicy": {"MaximumRetryAttempts": 2},
              "DeadLetterConfig": {"Arn": bus.create_queue("dlq")}}  # fmt: skip
    bus.put_targets(Rule="r", Targets=[target])
    (entry,) = bus.put_events(Entries=[ORDER])["Entries"]
    eventually(lambda: len(dead_letters(bus, "dlq")) == 1 if len(calls) >= 3 else False)
    ((body, attributes),) = dead_letters(bus, "dlq")
    assert json.loads(body)["id"] == entry["EventId"]
    assert len(calls) == 3
    assert attributes == {
        "RULE_ARN": "arn:aws:events:us-east-1:000000000000:rule/r",
        "TARGET_ARN": target["Arn"], "ERROR_CODE": "FUNCTION_ERROR",
        "ERROR_MESSAGE": "ConnectionError: refused", "RETRY_ATTEMPTS": "2",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts"}  # fmt: skip


def test_the_same_errors(bus: Any) -> None:
    with pytest.raises(InvalidEventPatternException, match="Event pattern is not valid"):
        bus.put_rule(Name="bad", EventPattern='{"source": "shop"}')
    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    bus.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": bus.register_function("f", print)}])
    with pytest.raises(ValidationException, match="Rule can't be deleted since it has targets."):
        bus.delete_rule(Name="r")
    with pytest.raises(ValidationException, match="less than or equal to 10"):
        bus.put_events(Entries=[ORDER] * 11)
    out = bus.put_events(Entries=[{**ORDER, "Detail": "[]"}, {"DetailType": "x", "Detail": "{}"}])
    assert out["FailedEntryCount"] == 2
    assert [e["ErrorCode"] for e in out["Entries"]] == ["MalformedDetail", "InvalidArgument"]
    with pytest.raises(bus.exceptions.ResourceNotFoundException):
        bus.describe_rule(Name="nope")


def test_queue_visibility_timeout_in_real_time(bus: Any) -> None:
    q = bus.queue(bus.create_queue("q"))
    q.send("hello", {"k": "v"})
    (m,) = q.receive(1, visibility_timeout=0.5)
    assert (m.body, m.attributes, m.receive_count) == ("hello", {"k": "v"}, 1)
    assert q.receive(10) == []  # invisible for half a second
    seen: list[Any] = []
    eventually(lambda: bool(seen.extend(q.receive(10, visibility_timeout=30)) or seen))
    (again,) = seen
    assert (again.body, again.receive_count) == ("hello", 2)
    assert q.receive(10) == []
    assert q.change_visibility(again.receipt_handle, 0)  # visible again at once
    seen.clear()
    eventually(lambda: bool(seen.extend(q.receive(10)) or seen), timeout=5)
    (third,) = seen
    assert third.receive_count == 3
    assert len(q) == 1
    assert q.delete(third.receipt_handle)
    eventually(lambda: len(q) == 0, timeout=5)
    assert q.receive(10) == []

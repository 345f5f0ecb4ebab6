"""The same bus behaviour on both backends: SQLite (the embedded default) and
NATS JetStream (a real single-node server started by the test). Each test
runs once per backend, through the shared API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fastbridge.bus import EventBridge, InvalidEventPatternException, ValidationException
from fastbridge.nats import NatsBus

ORDER = {"Source": "shop", "DetailType": "Order", "Detail": '{"total": 250, "id": "o-1"}'}


@dataclass
class Backend:
    bus: Any
    dead_letter_queue: Callable[[str], str]
    """The ARN of a dead-letter queue of that name (made if the backend needs it)."""
    dead_letters: Callable[[str], list[tuple[bytes, dict[str, str]]]]


@pytest.fixture(params=["sqlite", "nats"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        sqlite = EventBridge(tmp_path / "bus.db", durability="normal", retry_base=0.05,
                             retry_cap=0.2, log_dir=tmp_path / "logs")  # fmt: skip

        def received(queue: str) -> list[tuple[bytes, dict[str, str]]]:
            messages = sqlite.queue(queue).receive(10, visibility_timeout=0)  # a peek
            return [(m.body.encode(), m.attributes) for m in messages]

        yield Backend(sqlite, sqlite.create_queue, received)
        sqlite.close()
    else:
        node = request.getfixturevalue("nats_node")
        nats_bus = NatsBus(node.url, retry_base=0.05, retry_cap=0.2, log_dir=tmp_path / "logs")
        nats_bus.start_router()
        nats_bus.start_deliverer()
        yield Backend(nats_bus, nats_bus.arns.queue, nats_bus.dead_letters)
        nats_bus.close()


def eventually(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_delivery_with_an_input_transformer(backend: Backend) -> None:
    bus, got = backend.bus, []
    bus.put_rule(Name="big", EventPattern='{"detail": {"total": [{"numeric": [">", 100]}]}}')
    bus.put_targets(Rule="big", Targets=[{
        "Id": "f", "Arn": bus.register_function("sink", got.append),
        "InputTransformer": {"InputPathsMap": {"t": "$.detail.total", "id": "$.id"},
                             "InputTemplate": '{"total": <t>, "event": <id>}'}}])  # fmt: skip
    out = bus.put_events(Entries=[ORDER, {**ORDER, "Detail": '{"total": 1}'}])
    eventually(lambda: len(got) == 1)
    assert got == [{"total": 250, "event": out["Entries"][0]["EventId"]}]


def test_retries_then_dead_letter_with_the_same_attributes(backend: Backend) -> None:
    bus, calls = backend.bus, []

    def broken(event: Any) -> None:
        calls.append(event)
        raise ConnectionError("refused")

    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    target = {"Id": "t", "Arn": bus.register_function("broken", broken),
              "RetryPolicy": {"MaximumRetryAttempts": 2},
              "DeadLetterConfig": {"Arn": backend.dead_letter_queue("dlq")}}  # fmt: skip
    bus.put_targets(Rule="r", Targets=[target])
    (entry,) = bus.put_events(Entries=[ORDER])["Entries"]
    eventually(lambda: len(backend.dead_letters("dlq")) == 1 if len(calls) >= 3 else False)
    ((body, attributes),) = backend.dead_letters("dlq")
    assert json.loads(body)["id"] == entry["EventId"]
    assert len(calls) == 3
    assert {k: v for k, v in attributes.items() if not k.startswith("Nats")} == {
        "RULE_ARN": "arn:aws:events:us-east-1:000000000000:rule/r",
        "TARGET_ARN": target["Arn"], "ERROR_CODE": "FUNCTION_ERROR",
        "ERROR_MESSAGE": "ConnectionError: refused", "RETRY_ATTEMPTS": "2",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts"}  # fmt: skip


def test_the_same_errors(backend: Backend) -> None:
    bus = backend.bus
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

"""The bus end to end: rules, targets, retries, dead letters, durability,
schedules, archives and replays — on a fake clock, once on real SQLite files
and once on a real NATS JetStream server (the same tests: the backend is a
parameter; the few that cannot apply to JetStream say why and skip there)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from fastbridge.bus import (
    EventBridge,
    FakeClock,
    InvalidEventPatternException,
    LimitExceededException,
    ResourceNotFoundException,
    StoreLockedError,
    ValidationException,
)
from fastbridge.nats import NatsBus

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
ORDER = {"Source": "shop", "DetailType": "Order Placed", "Detail": '{"total": 250, "id": "o-1"}'}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture(params=["sqlite", "nats"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_bus(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., EventBridge]]:
    """Make buses of the backend under test; ``start`` and ``workers`` as
    EventBridge's (a NatsBus started routes and delivers in this process)."""
    made: list[EventBridge] = []

    def new(**kwargs: Any) -> EventBridge:
        kwargs.setdefault("log_dir", tmp_path / "logs")
        if backend == "nats":
            start, workers = kwargs.pop("start", True), kwargs.pop("workers", 2)
            kwargs.pop("durability", None)
            nats_bus: NatsBus = request.getfixturevalue("nats_bus")(**kwargs)
            if start:
                nats_bus.start(workers)
            return nats_bus
        kwargs.setdefault("durability", "normal")
        made.append(EventBridge(tmp_path / f"bus{len(made)}.db", **kwargs))
        return made[-1]

    yield new
    for bus in made:
        bus.close()


@pytest.fixture
def bus(new_bus: Callable[..., EventBridge], clock: FakeClock) -> EventBridge:
    return new_bus(clock=clock, start=False)


def sqlite_only(backend: str, why: str) -> None:
    if backend != "sqlite":
        pytest.skip(f"not on {backend}: {why}")


def rule(
    bus: EventBridge,
    name: str,
    pattern: dict[str, Any],
    *targets: dict[str, Any],
    event_bus: str = "default",
) -> None:
    bus.put_rule(Name=name, EventPattern=json.dumps(pattern), EventBusName=event_bus)
    if targets:
        out = bus.put_targets(Rule=name, EventBusName=event_bus, Targets=list(targets))
        assert out == {"FailedEntryCount": 0, "FailedEntries": []}


def test_put_events_delivers_the_envelope_to_a_function(bus: EventBridge) -> None:
    got: list[Any] = []
    arn = bus.register_function("sink", got.append)
    rule(
        bus,
        "orders",
        {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}},
        {"Id": "t", "Arn": arn},
    )
    out = bus.put_events(Entries=[ORDER, {**ORDER, "Detail": '{"total": 5}'}])
    assert out["FailedEntryCount"] == 0 and len(out["Entries"]) == 2
    # committed before put_events returned: the delivery owed on SQLite, the
    # two accepted events (not routed yet) on JetStream
    assert bus.pending() == (2 if isinstance(bus, NatsBus) else 1)
    assert bus.run_pending() == 1
    (event,) = got
    assert list(event) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert event["id"] == out["Entries"][0]["EventId"]
    assert event["time"] == "2026-03-01T12:00:00Z"
    assert event["detail"] == {"total": 250, "id": "o-1"}
    assert bus.metrics.get("Invocations", rule="orders") == 1
    assert bus.metrics.get("TriggeredRules", rule="orders") == 1


def test_per_entry_errors_and_whole_request_errors(bus: EventBridge) -> None:
    out = bus.put_events(Entries=[ORDER, {**ORDER, "Detail": "[]"}, {"DetailType": "x"}])
    assert out["FailedEntryCount"] == 2
    assert "EventId" in out["Entries"][0]
    assert out["Entries"][1] == {
        "ErrorCode": "MalformedDetail",
        "ErrorMessage": "Detail is malformed.",
    }
    assert out["Entries"][2]["ErrorCode"] == "InvalidArgument"
    with pytest.raises(ValidationException, match="less than or equal to 10"):
        bus.put_events(Entries=[ORDER] * 11)
    with pytest.raises(ValidationException, match="over the limit"):
        bus.put_events(Entries=[{**ORDER, "Detail": json.dumps({"x": "y" * 262_144})}])


def test_disabled_rules_do_not_fire_and_rules_with_targets_cannot_be_deleted(
    bus: EventBridge,
) -> None:
    got: list[Any] = []
    rule(bus, "r", {"source": ["shop"]}, {"Id": "t", "Arn": bus.register_function("f", got.append)})
    bus.disable_rule(Name="r")
    assert bus.describe_rule(Name="r")["State"] == "DISABLED"
    bus.put_events(Entries=[ORDER])
    bus.run_pending()
    assert got == []
    bus.enable_rule(Name="r")
    bus.put_events(Entries=[ORDER])
    bus.run_pending()
    assert len(got) == 1
    with pytest.raises(ValidationException, match="Rule can't be deleted since it has targets."):
        bus.delete_rule(Name="r")
    bus.remove_targets(Rule="r", Ids=["t"])
    bus.delete_rule(Name="r")
    with pytest.raises(
        ResourceNotFoundException, match="Rule r does not exist on EventBus default"
    ):
        bus.describe_rule(Name="r")


def test_bad_patterns_and_too_many_targets(bus: EventBridge) -> None:
    with pytest.raises(InvalidEventPatternException, match="Event pattern is not valid"):
        bus.put_rule(Name="bad", EventPattern='{"source": "shop"}')
    rule(bus, "r", {"source": ["shop"]})
    q = bus.create_queue("q")
    targets = [{"Id": str(i), "Arn": q} for i in range(6)]
    with pytest.raises(LimitExceededException):
        bus.put_targets(Rule="r", Targets=targets)


def test_retries_back_off_then_succeed(bus: EventBridge, clock: FakeClock, backend: str) -> None:
    sqlite_only(backend, "JetStream's nak(delay) waits in real time, not on the fake clock")
    calls: list[datetime] = []

    def flaky(event: Any) -> None:
        calls.append(clock.now())
        if len(calls) < 4:
            raise ConnectionError("down")

    rule(bus, "r", {"source": ["shop"]}, {"Id": "t", "Arn": bus.register_function("f", flaky)})
    bus.put_events(Entries=[ORDER])
    for _ in range(20):
        bus.run_pending()
        clock.advance(1.0)
    assert len(calls) == 4
    gaps = [(b - a).total_seconds() for a, b in zip(calls, calls[1:], strict=False)]
    # exponential backoff with jitter in [d/2, d]: 1, 2, 4 seconds (whole-second steps here)
    assert gaps[0] <= gaps[2] and gaps[2] >= 2
    assert bus.metrics.get("RetryInvocationAttempts", rule="r") == 3
    assert bus.metrics.get("Invocations", rule="r") == 1
    assert bus.pending() == 0


def test_exhausted_retries_go_to_the_dead_letter_queue(
    bus: EventBridge, clock: FakeClock, backend: str
) -> None:
    sqlite_only(backend, "JetStream's nak(delay) waits in real time, not on the fake clock")
    def broken(event: Any) -> None:
        raise RuntimeError("boom")

    dlq = bus.create_queue("dlq")
    target = {
        "Id": "t",
        "Arn": bus.register_function("f", broken),
        "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        "DeadLetterConfig": {"Arn": dlq},
    }
    rule(bus, "r", {"source": ["shop"]}, target)
    event_id = bus.put_events(Entries=[ORDER])["Entries"][0]["EventId"]
    for _ in range(30):
        bus.run_pending()
        clock.advance(5)
    (msg,) = bus.queue("dlq").receive()
    assert json.loads(msg.body)["id"] == event_id
    assert msg.attributes == {
        "RULE_ARN": "arn:aws:events:us-east-1:000000000000:rule/r",
        "TARGET_ARN": target["Arn"],
        "ERROR_CODE": "FUNCTION_ERROR",
        "ERROR_MESSAGE": "RuntimeError: boom",
        "RETRY_ATTEMPTS": "2",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
    }
    assert bus.metrics.get("InvocationsSentToDLQ", rule="r") == 1
    assert bus.pending() == 0


def test_event_age_expiry(
    new_bus: Callable[..., EventBridge], clock: FakeClock, backend: str
) -> None:
    sqlite_only(backend, "JetStream's nak(delay) waits in real time, not on the fake clock")
    bus = new_bus(clock=clock, start=False, retry_base=40, retry_cap=40)
    dlq = bus.create_queue("dlq")
    rule(
        bus,
        "r",
        {"source": ["shop"]},
        {
            "Id": "t",
            "Arn": bus.register_function("f", lambda e: 1 / 0),
            "RetryPolicy": {"MaximumEventAgeInSeconds": 60},
            "DeadLetterConfig": {"Arn": dlq},
        },
    )
    bus.put_events(Entries=[ORDER])
    for _ in range(10):
        bus.run_pending()
        clock.advance(10)
    (msg,) = bus.queue(dlq).receive()
    assert msg.attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
    assert int(msg.attributes["RETRY_ATTEMPTS"]) >= 1


def test_missing_target_is_not_retried_and_without_dlq_is_kept(bus: EventBridge) -> None:
    rule(bus, "r", {"source": ["shop"]}, {"Id": "t", "Arn": bus.arns.queue("nope")})
    bus.put_events(Entries=[ORDER])
    assert bus.run_pending() == 1
    (kept,) = bus.undeliverable()
    assert kept["reason"] == "no dead-letter queue configured"
    assert kept["attributes"]["ERROR_CODE"] == "RESOURCE_NOT_FOUND"
    assert kept["attributes"]["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in kept["attributes"]
    assert bus.metrics.get("InvocationsFailedToBeSentToDLQ") == 1


def test_pending_deliveries_survive_a_restart(
    tmp_path: Path, clock: FakeClock, backend: str
) -> None:
    sqlite_only(backend, "a store file and its lock (tests/nats restart processes instead)")
    path = tmp_path / "durable.db"
    bus = EventBridge(path, clock=clock, start=False)
    q = bus.create_queue("out")
    rule(bus, "r", {"source": ["shop"]}, {"Id": "t", "Arn": q})
    ids = [bus.put_events(Entries=[ORDER])["Entries"][0]["EventId"] for _ in range(3)]
    with pytest.raises(StoreLockedError):
        EventBridge(path, clock=clock, start=False)
    bus.close()
    again = EventBridge(path, clock=clock, start=False)
    try:
        assert again.describe_rule(Name="r")["State"] == "ENABLED"
        assert again.run_pending() == 3
        got = again.queue("out").receive(10)
        assert sorted(json.loads(m.body)["id"] for m in got) == sorted(ids)
    finally:
        again.close()


def test_queue_visibility_timeout_redelivers(
    bus: EventBridge, clock: FakeClock, backend: str
) -> None:
    sqlite_only(backend, "visibility is JetStream's nak(delay): real time (see tests/nats)")
    q = bus.queue(bus.create_queue("q"))
    q.send("hello")
    (m,) = q.receive(visibility_timeout=30)
    assert q.receive() == []
    clock.advance(31)
    (again,) = q.receive()
    assert again.body == "hello" and again.receive_count == 2
    assert not q.delete(m.receipt_handle)  # an old receipt no longer deletes
    assert q.delete(again.receipt_handle)
    assert len(q) == 0


def test_async_function_and_bus_to_bus_and_log_group(bus: EventBridge, tmp_path: Path) -> None:
    got: list[Any] = []

    async def handler(event: Any) -> None:
        await asyncio.sleep(0)
        got.append(event)

    bus.create_event_bus(Name="audit")
    rule(bus, "fwd", {"source": ["shop"]}, {"Id": "b", "Arn": bus.arns.bus("audit")})
    rule(
        bus,
        "on-audit",
        {"source": ["shop"]},
        {"Id": "f", "Arn": bus.register_function("h", handler)},
        {"Id": "l", "Arn": bus.log_group_arn("audit-log")},
        event_bus="audit",
    )
    first = bus.put_events(Entries=[ORDER])["Entries"][0]["EventId"]
    bus.run_pending()
    bus.run_pending()
    (event,) = got
    assert event["detail"]["id"] == "o-1" and event["id"] != first
    lines = (tmp_path / "logs" / "audit-log.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [event["id"]]


def test_input_transformer_reaches_the_target(bus: EventBridge) -> None:
    got: list[Any] = []
    rule(
        bus,
        "r",
        {"source": ["shop"]},
        {
            "Id": "t",
            "Arn": bus.register_function("f", got.append),
            "InputTransformer": {
                "InputPathsMap": {"total": "$.detail.total"},
                "InputTemplate": '{"amount": <total>, "rule": "<aws.events.rule-name>"}',
            },
        },
    )
    bus.put_events(Entries=[ORDER])
    bus.run_pending()
    assert got == [{"amount": 250, "rule": "r"}]


def test_schedules_fire_on_the_fake_clock(bus: EventBridge, clock: FakeClock) -> None:
    got: list[Any] = []
    bus.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")
    bus.put_targets(
        Rule="every-minute", Targets=[{"Id": "t", "Arn": bus.register_function("tick", got.append)}]
    )
    clock.advance(5 * 60 + 1)
    bus.run_pending()
    assert len(got) == 5
    assert {e["detail-type"] for e in got} == {"Scheduled Event"}
    assert got[0]["resources"] == ["arn:aws:events:us-east-1:000000000000:rule/every-minute"]
    assert [e["time"] for e in got][:2] == ["2026-03-01T12:01:00Z", "2026-03-01T12:02:00Z"]
    clock.advance(60)
    bus.run_pending()
    assert len(got) == 6
    with pytest.raises(ValidationException):
        bus.put_rule(Name="bad", ScheduleExpression="rate(1 minutes)")


def test_archive_and_replay(bus: EventBridge, clock: FakeClock) -> None:
    got: list[Any] = []
    rule(bus, "r", {"source": ["shop"]}, {"Id": "t", "Arn": bus.register_function("f", got.append)})
    bus.create_archive(
        ArchiveName="all",
        EventSourceArn=bus.arns.bus("default"),
        EventPattern='{"source": ["shop"]}',
        RetentionDays=1,
    )
    ids = [bus.put_events(Entries=[ORDER])["Entries"][0]["EventId"] for _ in range(3)]
    bus.run_pending()
    assert bus.describe_archive(ArchiveName="all")["EventCount"] == 3
    got.clear()
    clock.advance(120)
    out = bus.start_replay(
        ReplayName="again",
        EventSourceArn=bus.arns.archive("all"),
        EventStartTime=T0,
        EventEndTime=clock.now(),
        Destination={"Arn": bus.arns.bus("default"), "FilterArns": [bus.arns.rule("default", "r")]},
    )
    assert out["State"] == "STARTING"
    bus.run_pending()
    bus.run_pending()
    assert len(got) == 3 and all(e["replay-name"] == "again" for e in got)
    assert list(got[0])[6:9] == ["region", "replay-name", "resources"]
    assert bus.describe_replay(ReplayName="again")["State"] == "COMPLETED"
    # replayed events are not archived again
    assert bus.describe_archive(ArchiveName="all")["EventCount"] == 3
    assert len(ids) == 3


def test_metrics_export_in_prometheus_text(bus: EventBridge) -> None:
    rule(bus, "r", {"source": ["shop"]}, {"Id": "t", "Arn": bus.create_queue("q")})
    bus.put_events(Entries=[ORDER, ORDER])
    bus.run_pending()
    text = bus.metrics.prometheus()
    assert 'fastbridge_invocations_total{bus="default",rule="r",target="t"} 2' in text
    assert "# TYPE fastbridge_triggered_rules_total counter" in text


def test_dispatcher_threads_deliver_everything(new_bus: Callable[..., EventBridge]) -> None:
    got: list[Any] = []
    lock = threading.Lock()

    def sink(event: Any) -> None:
        with lock:
            got.append(event["id"])

    with new_bus(workers=3) as bus:
        rule(bus, "r", {"source": ["shop"]}, {"Id": "t", "Arn": bus.register_function("s", sink)})
        ids = []
        for _ in range(50):
            ids += [e["EventId"] for e in bus.put_events(Entries=[ORDER] * 4)["Entries"]]
        assert bus.wait_idle(20)
    assert sorted(got) == sorted(ids)


def test_subscribe_decorator_with_retry_and_dead_letter(bus: EventBridge, clock: FakeClock) -> None:
    @bus.subscribe(
        {"source": ["shop"]},
        retry_policy={"MaximumRetryAttempts": 0},
        dead_letter_queue="orders-dlq",
    )
    def orders(event: Any) -> None:
        raise ValueError("no")

    bus.put_events(Entries=[ORDER])
    bus.run_pending()
    (msg,) = bus.queue("orders-dlq").receive()
    assert msg.attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert msg.attributes["RETRY_ATTEMPTS"] == "0"


def test_asyncio_interface(new_bus: Callable[..., EventBridge]) -> None:
    from fastbridge.bus.aio import AsyncEventBridge

    async def main() -> list[Any]:
        got: list[Any] = []
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        async with AsyncEventBridge(new_bus(workers=1)) as bus:

            @bus.subscribe({"source": ["shop"]})
            async def orders(event: Any) -> None:
                got.append(event["detail"])
                loop.call_soon_threadsafe(done.set)

            out = await bus.put_events(Entries=[ORDER])
            assert out["FailedEntryCount"] == 0
            await asyncio.wait_for(done.wait(), 10)
            with pytest.raises(bus.exceptions.ResourceNotFoundException):
                await bus.describe_rule(Name="nope")
        return got

    assert asyncio.run(main()) == [{"total": 250, "id": "o-1"}]


def test_retry_policy_ranges_are_checked_like_aws(bus: EventBridge) -> None:
    rule(bus, "r", {"source": ["shop"]})
    q = bus.create_queue("q")
    with pytest.raises(ValidationException) as e:
        bus.put_targets(
            Rule="r",
            Targets=[
                {
                    "Id": "t",
                    "Arn": q,
                    "RetryPolicy": {"MaximumRetryAttempts": 186, "MaximumEventAgeInSeconds": 59},
                }
            ],
        )
    assert e.value.message == (
        "2 validation errors detected: Value '186' at 'targets.1.member.retryPolicy."
        "maximumRetryAttempts' failed to satisfy constraint: Member must have value less than "
        "or equal to 185; Value '59' at 'targets.1.member.retryPolicy.maximumEventAgeInSeconds' "
        "failed to satisfy constraint: Member must have value greater than or equal to 60"
    )
    assert bus.list_targets_by_rule(Rule="r")["Targets"] == []


def test_detail_with_lone_surrogate_escape_is_malformed(bus: EventBridge) -> None:
    # Found by fuzz/python/fuzz_transform.py: json (the fallback parser) accepted
    # "\ud800", and storing or rendering the event then raised UnicodeEncodeError.
    rule(bus, "r", {"source": ["shop"]})
    for detail in ('{"a": "\\ud800"}', '{"a": "\\udc00", "n": 123456789012345678901234567890}'):
        out = bus.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": detail}])
        assert out["FailedEntryCount"] == 1
        assert out["Entries"][0]["ErrorCode"] == "MalformedDetail"
    pair = '{"a": "\\ud83d\\ude00"}'
    ok = bus.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": pair}])
    assert ok["FailedEntryCount"] == 0


def test_lone_surrogates_and_deep_nesting_are_invalid_not_crashes(bus: EventBridge) -> None:
    # Found by fuzz/python/fuzz_jackson.py and fuzz_wire.py: a lone surrogate in a pattern
    # made the engine raise UnicodeEncodeError; TestEventPattern's Event and a Detail
    # nested deeper than Python's json goes raised TypeError/RecursionError.
    with pytest.raises(InvalidEventPatternException) as e:
        bus.put_rule(Name="r", EventPattern='{"a": ["\ud800"]}')
    assert e.value.message == (
        "Event pattern is not valid. Reason: lone surrogate U+D800 at character 9"
    )
    for event in ['{"a": "\\ud800"}', "[" * 5000, "NaN", 5]:
        with pytest.raises(ValidationException) as v:
            bus.test_event_pattern(EventPattern='{"a": [1]}', Event=event)  # type: ignore[arg-type]
        assert v.value.message == "Parameter Event is not valid."
    out = bus.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": "[" * 5000}])
    assert out["Entries"][0]["ErrorCode"] == "MalformedDetail"


def test_out_of_range_times_and_incomplete_tags_are_validation_errors(bus: EventBridge) -> None:
    # Found by fuzz/python/fuzz_wire.py: a Time past year 9999 (or NaN, inf) raised
    # OverflowError/ValueError, and a tag without Key or Value raised KeyError.
    for t in [1e20, 253402300800, float("nan"), float("inf"), "1e400"]:
        out = bus.put_events(
            Entries=[{"Source": "s", "DetailType": "t", "Detail": "{}", "Time": t}]
        )
        assert out["Entries"][0]["ErrorCode"] == "InvalidArgument", t
    with pytest.raises(ValidationException) as e:
        bus.create_event_bus(Name="tagged", Tags=[{"Key": "k"}, {"Value": "v"}])
    assert e.value.message == (
        "2 validation errors detected: Value null at 'tags.1.member.value' failed to satisfy "
        "constraint: Member must not be null; Value null at 'tags.2.member.key' failed to "
        "satisfy constraint: Member must not be null"
    )
    assert [b["Name"] for b in bus.list_event_buses(NamePrefix="tagged")["EventBuses"]] == []


def test_detail_number_beyond_a_double_is_malformed(bus: EventBridge) -> None:
    # Found by fuzz/python/fuzz_transform.py: json (the fallback parser for big integers)
    # read 1e400 as inf, which an InputPath then delivered as the non-JSON "Infinity".
    for detail in ('{"n": 1e400}', '{"n": [-1e400], "big": 123456789012345678901234567890}'):
        out = bus.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": detail}])
        assert out["Entries"][0]["ErrorCode"] == "MalformedDetail", detail
    ok = '{"n": 1e-400, "big": 123456789012345678901234567890}'
    assert (
        bus.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": ok}])[
            "FailedEntryCount"
        ]
        == 0
    )


def test_resources_that_are_not_a_list_are_an_entry_error(bus: EventBridge) -> None:
    # Found by fuzz/python/fuzz_wire.py: the request-size sum iterated Resources before the
    # entry's own checks, so {"Resources": true} raised TypeError (500 over the wire).
    for resources in [True, 5, {"a": 1}]:
        entry = {"Source": "s", "DetailType": "t", "Detail": "{}", "Resources": resources}
        out = bus.put_events(Entries=[entry])
        assert out["Entries"] == [
            {
                "ErrorCode": "InvalidArgument",
                "ErrorMessage": "Parameter Resources is not valid. Reason: Resources must be "
                "a list of strings.",
            }
        ]


def test_dead_letter_config_that_is_not_a_structure_fails_the_target(bus: EventBridge) -> None:
    # Found by fuzz/python/fuzz_wire.py: {"DeadLetterConfig": 1.5} raised AttributeError.
    rule(bus, "r", {"source": ["shop"]})
    q = bus.create_queue("q")
    for config, message in [
        (1.5, "DeadLetterConfig 1.5 is not a structure with an Arn."),
        ({"Arn": 5}, "DeadLetterConfig.Arn 5 is not an SQS queue ARN."),
    ]:
        out = bus.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": q, "DeadLetterConfig": config}])
        assert out["FailedEntries"] == [
            {"TargetId": "t", "ErrorCode": "ValidationException", "ErrorMessage": message}
        ]
    assert bus.list_targets_by_rule(Rule="r")["Targets"] == []


def test_event_bus_name_that_is_not_a_string_is_an_entry_error(bus: EventBridge) -> None:
    # Found by fuzz/python/fuzz_wire.py: an entry's "EventBusName": ["x", 1] raised
    # AttributeError in Arns.bus_name (500 over the wire).
    entry = {"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": ["x", 1]}
    assert bus.put_events(Entries=[entry])["Entries"] == [
        {
            "ErrorCode": "InvalidArgument",
            "ErrorMessage": "Parameter EventBusName is not valid: ['x', 1]",
        }
    ]

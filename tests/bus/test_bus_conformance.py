"""The bus against AWS's recordings (``shared/conformance/aws-recorded-bus.json``).

Every case of kinds ``api_sequence``, ``api_error``, ``delivered_event``,
``event_pattern_match``, ``put_events_result``, ``put_events_error``,
``test_event_pattern_error`` and ``test_event_pattern_result`` runs as its own
test against an in-process ``EventBridge.memory(start=False,
account="111111111111", clock=FakeClock(T0))``, and again against the same bus
on NATS JetStream (``NatsBus`` on a real server started by the tests, streams
of the case's own). (The target-input kinds are covered by
``test_transform.py``.)

Placeholders. Input tokens (``<bus-name>``, ``<rule-name>``, ``<queue-arn>``,
``arn:<partition>:``, ``<region>``, ``<T0>`` ...) are replaced by concrete
values, consistently within a case: names by a name derived from the token,
queue ARNs by built-in queues created on first use, times by times on the
fake clock. In expected outputs, a token already given a value must equal it;
any other token (``<uuid:N>``, ``<event-id:N>``, ``<next_token:N>``, ...) is a
wildcard bound by its first occurrence, so the same token must mean the same
value throughout the case, and different id tokens different values.
``datetime`` must be a datetime, ``date`` an RFC 3339 string. Key order of
API responses is not compared; key order of payloads (delivered bodies,
EventPattern, Policy) is.

Summary (190 recorded cases; 147 of these kinds):

- ``api_sequence`` 48: all run (including the four PutPermission /
  RemovePermission flows: the bus keeps and describes its resource policy).
- ``api_error`` 27: all run.
- ``delivered_event`` 25: 24 run; 1 skipped — the S3 notification case
  (``events/delivered/s3_notification_default_bus_to_custom_bus``): the
  envelope under test is emitted by S3, which this bus has no equivalent of
  (its CreateEventBus/PutRule/PutTargets steps run and are compared first).
  Kinesis, Firehose→S3 and SNS targets are mapped to a built-in queue (the
  delivered envelope, or for SNS the exact serialised ``Message`` string, is
  what they record); CloudWatch Logs runs on the bus's log-group target (the
  ``message`` is compared; ``timestamp``/``ingestionTime`` are CloudWatch's
  own fields, which a log file has no equivalent of).
- ``event_pattern_match`` 22, ``put_events_result`` 9, ``put_events_error`` 3,
  ``test_event_pattern_error`` 7, ``test_event_pattern_result`` 6: all run.

A last section tests malformed pattern texts beyond the recordings (Jackson's
messages as ``fastbridge.bus.jackson`` reproduces them, through PutRule).

Archive ``SizeBytes``: AWS recorded 1590 for ten 322-byte events (and 10959
on one run, which the README attributes to other events in the recording
account); the formula is not recorded, so for ``SizeBytes`` only "positive
when the archive holds events, 0 when empty" is checked.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fastbridge.bus import BusError, EventBridge, FakeClock
from fastbridge.nats import NatsBus

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
BUS_CASES = CORPUS / "aws-recorded-bus.json"

if not BUS_CASES.exists():
    pytest.skip(f"{BUS_CASES} is not available", allow_module_level=True)

KINDS = (
    "api_sequence",
    "api_error",
    "delivered_event",
    "event_pattern_match",
    "put_events_result",
    "put_events_error",
    "test_event_pattern_error",
    "test_event_pattern_result",
)

ACCOUNT = "111111111111"
SECOND_ACCOUNT = "222222222222"
REGION = "us-east-1"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)

S3_NOTIFICATION = "events/delivered/s3_notification_default_bus_to_custom_bus"
SKIPS = {
    S3_NOTIFICATION: (
        "S3 event notifications: the delivered envelope (source aws.s3, S3's detail) is "
        "emitted by S3, which this bus has no equivalent of (the case's bus, rule and "
        "target API steps ran and matched)"
    ),
}

# Tokens: <name>, <name:N>, <<name>:N>, and free-text ones such as <T0 + 1 minute>.
TOKEN = re.compile(r"<<[\w\-]+>:\d+>|<[A-Za-z][\w.:()+\- ]*>")
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Concrete values for tokens whose value a test relied on (name prefixes).
NAMES = {
    "<bus-name>": "unique-prefix-1234567890-b7c1",
    "<archive-name>": "test-archive-a1b2",
    "<short-uid>": "c3d4",
}
TIMES = {
    "<T0>": T0,
    "<T>": T0,
    "<now>": T0,
    "<T0 + 1 minute>": T0 + timedelta(minutes=1),
    "<now - 1 minute>": T0 - timedelta(minutes=1),
    "<T - 10 s>": T0 - timedelta(seconds=10),
    "<datetime.utcnow()>": T0.replace(tzinfo=None, microsecond=123456),
}


def _load() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(BUS_CASES.read_text())
    return [c for c in cases if c["kind"] in KINDS]


CASES = _load()


def _snake(op: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower()


@dataclass
class Case:
    """One case's bus(es), clock and token bindings."""

    case: dict[str, Any]
    tmp: Path
    clock: FakeClock = field(default_factory=lambda: FakeClock(T0))
    env: dict[str, Any] = field(default_factory=dict)
    wild: set[str] = field(default_factory=set)
    plain: dict[str, str] = field(default_factory=dict)
    buses: dict[str, EventBridge] = field(default_factory=dict)
    delivered: dict[str, list[Any]] = field(default_factory=dict)
    nats_bus: Callable[..., NatsBus] | None = None
    """The backend: SQLite in memory, or (this maker of buses) NATS JetStream."""

    def __post_init__(self) -> None:
        self.env.update({"<partition>": "aws", "<region>": REGION})
        self.env.update({"<account-id>": ACCOUNT, "<secondary-account-id>": SECOND_ACCOUNT})
        for token, value in (self.case.get("placeholder_values") or {}).items():
            self.env[token] = value

    # ---- buses, queues, functions ------------------------------------------------------

    def bus(self, region: str = REGION) -> EventBridge:
        if region not in self.buses:
            options = {"account": ACCOUNT, "region": region, "clock": self.clock,
                       "log_dir": self.tmp / "logs"}  # fmt: skip
            if self.nats_bus is None:
                self.buses[region] = EventBridge.memory(start=False, **options)
            else:
                self.buses[region] = self.nats_bus(**options)
        return self.buses[region]

    def close(self) -> None:
        for b in self.buses.values():
            if not isinstance(b, NatsBus):  # the nats_bus fixture closes its own
                b.close()

    def queue_arn(self, token: str) -> str:
        if token not in self.env:
            name = re.sub(r"[^A-Za-z0-9_-]", "-", token).strip("-")
            self.env[token] = self.bus().create_queue(name)
        return str(self.env[token])

    def function_arn(self, name: str) -> str:
        log = self.delivered.setdefault(name, [])
        return self.bus().register_function(name, log.append)

    def drain(self, arn: str) -> list[str]:
        q = self.bus().queue(arn)
        bodies = []
        for m in q.receive(max_messages=100):
            bodies.append(m.body)
            q.delete(m.receipt_handle)
        return bodies

    def run(self, times: int = 1) -> None:
        for _ in range(times):
            self.bus().run_pending()

    # ---- inputs ------------------------------------------------------------------------

    def value(self, token: str) -> Any:
        """The concrete value of an input token (created on first use)."""
        if token in self.env:
            return self.env[token]
        if token in TIMES:
            return TIMES[token]
        inner = token.strip("<>")
        if "queue" in inner and "arn" in inner:
            return self.queue_arn(token)
        if inner == "role-arn":
            return f"arn:aws:iam::{ACCOUNT}:role/events-role"
        if re.fullmatch(r"(uuid|event-id|next_token|<next-token>):\d+", inner):
            raise AssertionError(f"output token {token} used before it was bound")
        name = NAMES.get(token) or re.sub(r"[^A-Za-z0-9._-]", "-", inner).strip("-")
        self.env[token] = name
        return name

    def sub(self, value: Any) -> Any:
        """``value`` with its input tokens replaced, recursively."""
        if isinstance(value, dict):
            return {k: self.sub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.sub(v) for v in value]
        if not isinstance(value, str):
            return value
        if value in self.plain:
            return self.plain[value]
        whole = TOKEN.fullmatch(value)
        if whole is not None:
            return self.value(value)
        return TOKEN.sub(lambda m: str(self.value(m.group(0))), value)

    # ---- outputs -----------------------------------------------------------------------

    def bind(self, token: str, actual: str) -> bool:
        if token in self.env:
            return bool(self.env[token] == actual)
        if re.fullmatch(r"<(uuid|event-id):\d+>|<event-id>", token):
            taken = {v for k, v in self.env.items() if re.fullmatch(r"<(uuid|event-id)(:\d+)?>", k)}
            if actual in taken:
                return False
        self.env[token] = actual
        return True

    def match_str(self, expected: str, actual: Any, where: str) -> None:
        if expected in self.wild:
            assert isinstance(actual, str), f"{where}: {actual!r} is not a string"
            return
        if expected in self.plain:
            assert actual == self.plain[expected], f"{where}: {actual!r} != {expected!r}"
            return
        if expected == "datetime":
            assert isinstance(actual, datetime), f"{where}: {actual!r} is not a datetime"
            return
        if expected == "date":
            assert isinstance(actual, str) and RFC3339.fullmatch(actual), (
                f"{where}: {actual!r} is not an RFC 3339 timestamp"
            )
            return
        parts = TOKEN.split(expected)
        tokens = TOKEN.findall(expected)
        if not tokens:
            assert actual == expected, f"{where}: {actual!r} != {expected!r}"
            return
        assert isinstance(actual, str), f"{where}: {actual!r} is not a string"
        regex = re.escape(parts[0])
        groups: dict[str, str] = {}
        for i, (token, literal) in enumerate(zip(tokens, parts[1:], strict=True)):
            if token in self.env:
                regex += re.escape(str(self.env[token]))
            elif token in groups:
                regex += f"(?P={groups[token]})"
            else:
                groups[token] = f"g{i}"
                regex += f"(?P<g{i}>.+?)"
            regex += re.escape(literal)
        m = re.fullmatch(regex, actual)
        assert m is not None, f"{where}: {actual!r} does not match {expected!r}"
        for token, group in groups.items():
            assert self.bind(token, m.group(group)), (
                f"{where}: {token} = {m.group(group)!r} clashes with another binding"
            )

    def match(self, expected: Any, actual: Any, where: str = "$", ordered: bool = False) -> None:
        """Compare ``actual`` with ``expected``, tokens as wildcards; ``ordered``
        compares dict key order too (payloads)."""
        if expected is POSITIVE:
            assert isinstance(actual, int) and actual > 0, f"{where}: {actual!r} is not > 0"
        elif isinstance(expected, str):
            self.match_str(expected, actual, where)
        elif isinstance(expected, dict):
            if isinstance(actual, str):  # a JSON string the snapshot stored parsed
                actual, ordered = json.loads(actual), True
            assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
            if ordered:
                assert list(actual) == list(expected), (
                    f"{where}: keys {list(actual)} != {list(expected)}"
                )
            else:
                assert sorted(actual) == sorted(expected), (
                    f"{where}: keys {sorted(actual)} != {sorted(expected)}"
                )
            for k, v in expected.items():
                self.match(v, actual[k], f"{where}.{k}", ordered)
        elif isinstance(expected, list):
            if isinstance(actual, str):
                actual, ordered = json.loads(actual), True
            assert isinstance(actual, list), f"{where}: {actual!r} is not a list"
            assert len(actual) == len(expected), (
                f"{where}: {len(actual)} items != {len(expected)}: {actual!r}"
            )
            for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
                self.match(e, a, f"{where}[{i}]", ordered)
        else:
            assert type(actual) is type(expected) and actual == expected, (
                f"{where}: {actual!r} != {expected!r}"
            )

    def match_error(self, err: BusError, step: dict[str, Any]) -> None:
        assert err.code == step["error_code"], f"{err.code} != {step['error_code']}: {err}"
        self.match_str(step["error_message"], err.message, "error message")
        if "http_status" in step:
            assert err.status == step["http_status"]

    # ---- calls -------------------------------------------------------------------------

    def call(self, op: str, request: dict[str, Any], region: str = REGION) -> Any:
        method: Callable[..., Any] = getattr(self.bus(region), _snake(op))
        return method(**self.sub(request))

    def step(self, step: dict[str, Any]) -> None:
        """Run one recorded step and compare its response or error."""
        op, request = step["op"], step.get("request") or {}
        region = step.get("region", REGION)
        self.env["<region>"] = region  # ARNs of a step name its region
        response = step.get("response")
        if op.startswith("("):
            self.wait(step)
            return
        if op == "PutRule+PutTargets":
            rule = {k: v for k, v in request.items() if k != "Targets"}
            rule["Name"] = rule.pop("Rule")
            self.call("PutRule", rule)
            out = self.call(
                "PutTargets",
                {k: v for k, v in request.items() if k in ("Rule", "EventBusName", "Targets")},
            )
            assert out["FailedEntryCount"] == 0, out
            return
        if op == "StartReplay":
            self.run()  # what the targets are owed before the replay arrives first
            for arn in self.queues():
                self.drain(arn)
        if response == "ignored (setup)":
            try:
                self.call(op, request, region)
            except BusError:
                pass
            return
        if "error_code" in step:
            with pytest.raises(BusError) as info:
                self.call(op, request, region)
            self.match_error(info.value, step)
            return
        out = self.call(op, request, region)
        if op == "CreateEventBus":
            self.env.setdefault("<bus-arn>", out["EventBusArn"])
        if op == "CreateArchive":
            self.env.setdefault("<archive-arn>", out["ArchiveArn"])
        if "wait until" in step.get("note", ""):
            self.wait({})
        if isinstance(response, str):  # "not recorded": a setup call that must succeed
            if isinstance(out, dict) and "FailedEntryCount" in out:
                assert out["FailedEntryCount"] == 0, out
            return
        self.match(response, out, f"{op}")

    def queues(self) -> list[str]:
        return [v for k, v in self.env.items() if "queue" in k and "arn" in k]

    def wait(self, step: dict[str, Any]) -> None:
        """A non-API step: let the bus do what AWS did in the meantime."""
        self.clock.advance(1)
        self.run(2)
        if "observed" in step:
            (arn,) = self.queues()
            self.match(step["observed"], [json.loads(b) for b in self.drain(arn)], ordered=True)


@pytest.fixture(params=["sqlite", "nats"])
def make(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[dict[str, Any]], Case]]:
    made: list[Case] = []
    nats_bus = request.getfixturevalue("nats_bus") if request.param == "nats" else None

    def make(case: dict[str, Any]) -> Case:
        if case["id"] in SKIPS and case["id"] != S3_NOTIFICATION:
            pytest.skip(SKIPS[case["id"]])
        c = Case(case, tmp_path, nats_bus=nats_bus)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def cases(kind: str) -> Any:
    chosen = [c for c in CASES if c["kind"] == kind]
    return pytest.mark.parametrize("case", chosen, ids=[c["id"] for c in chosen])


class _Positive:
    """Stands for a recorded SizeBytes: any positive int (see the module docstring)."""

    def __repr__(self) -> str:
        return "<positive int>"


POSITIVE = _Positive()


def _size_bytes(response: Any) -> None:
    """Replace recorded SizeBytes (formula not recorded) by a plausibility check."""
    items = response.get("Archives", [response]) if isinstance(response, dict) else []
    for item in items:
        if isinstance(item, dict) and item.get("SizeBytes"):
            item["SizeBytes"] = POSITIVE


# ---- API sequences and errors --------------------------------------------------------------


@cases("api_sequence")
def test_api_sequence(case: dict[str, Any], make: Callable[[dict[str, Any]], Case]) -> None:
    c = make(case)
    notes = " ".join(case.get("notes", []))
    if "'replay-name' (value-only replacement)" in notes:
        c.wild.add("replay-name")
    if "'target-arn'" in notes:  # a plain-string stand-in for the queue ARN
        c.plain["target-arn"] = c.queue_arn("<queue-arn>")
    for step in case["steps"]:
        step = copy.deepcopy(step)
        _size_bytes(step.get("response"))
        c.step(step)


def _api_error_setup(c: Case, case: dict[str, Any]) -> None:
    request = case["request"]
    cid = case["id"]
    if cid == "replay/api_error/start_replay_duplicate_other_archive":
        arns = []
        for i in (1, 2):
            bus = c.bus().create_event_bus(Name=f"replay-bus-{i}")["EventBusArn"]
            archive = c.bus().create_archive(
                ArchiveName=f"replay-archive-{i}", EventSourceArn=bus, RetentionDays=1
            )["ArchiveArn"]
            arns.append((bus, archive))
        first = {**c.sub(request), "EventSourceArn": arns[0][1], "Destination": {"Arn": arns[0][0]}}
        c.bus().start_replay(**first)
        c.env["<bus-arn>"], c.env["<archive-arn>"] = arns[1]
        return
    for step in case.get("setup") or []:
        op, req = step["op"], step.get("request")
        if op == "CreateEventBus":
            out = c.call(op, req or {"Name": "<bus-name>"})
            c.env.setdefault("<bus-arn>", out["EventBusArn"])
            c.env.setdefault("<bus-arn of the new custom bus>", out["EventBusArn"])
        elif op == "CreateArchive":
            req = request if req == "same as request" else {"ArchiveName": "<archive-name>", **req}
            out = c.call(op, req)
            c.env.setdefault("<archive-arn>", out["ArchiveArn"])
        elif op == "StartReplay" and req == "same as request":
            c.call(op, request)
        elif op == "StartReplay x10":
            for i in range(10):
                c.call(
                    "StartReplay",
                    {**request, "ReplayName": f"<replay-name-prefix>-test-replay-{i}"},
                )
        elif step.get("note") == "errors ignored":
            try:
                c.call(op, req)
            except BusError:
                pass
        else:
            assert isinstance(req, dict), f"unrecognised setup step {step}"
            c.call(op, req)


@cases("api_error")
def test_api_error(case: dict[str, Any], make: Callable[[dict[str, Any]], Case]) -> None:
    c = make(case)
    _api_error_setup(c, case)
    with pytest.raises(BusError) as info:
        c.call(case["operation"], case["request"])
    c.match_error(info.value, case)


# ---- TestEventPattern -------------------------------------------------------------------------


@cases("test_event_pattern_result")
def test_test_event_pattern_result(
    case: dict[str, Any], make: Callable[[dict[str, Any]], Case]
) -> None:
    c = make(case)
    out = c.bus().test_event_pattern(EventPattern=case["event_pattern"], Event=case["event"])
    assert out == {"Result": case["result"]}


@cases("test_event_pattern_error")
def test_test_event_pattern_error(
    case: dict[str, Any], make: Callable[[dict[str, Any]], Case]
) -> None:
    c = make(case)
    with pytest.raises(BusError) as info:
        c.bus().test_event_pattern(EventPattern=case["event_pattern"], Event=case["event"])
    assert info.value.code == case["error_code"]
    assert info.value.message == case["error_message"]
    assert info.value.status == case["http_status"]


# ---- PutEvents ----------------------------------------------------------------------------------


def _expand(value: Any) -> Any:
    """The ``$concat``/``$repeat`` notation of large recorded strings."""
    if isinstance(value, dict) and "$concat" in value:
        return "".join(_expand(v) for v in value["$concat"])
    if isinstance(value, dict) and "$repeat" in value:
        return value["$repeat"] * value["count"]
    return value


def _entries(c: Case, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for entry in entries:
        entry = {k: _expand(v) for k, v in entry.items()}
        bus = entry.get("EventBusName")
        if bus is not None:
            name = c.sub(bus)
            if name != "default" and "nonexistent" not in c.case["id"]:
                if c.bus().list_event_buses(NamePrefix=name)["EventBuses"] == []:
                    c.bus().create_event_bus(Name=name)
        out.append(c.sub(entry))
    return out


@cases("put_events_error")
def test_put_events_error(case: dict[str, Any], make: Callable[[dict[str, Any]], Case]) -> None:
    c = make(case)
    entries = _entries(c, case["entries"])
    if "detail_length" in case:
        assert len(entries[0]["Detail"]) == case["detail_length"]
    with pytest.raises(BusError) as info:
        c.bus().put_events(Entries=entries)
    c.match_error(info.value, case)


@cases("put_events_result")
def test_put_events_result(case: dict[str, Any], make: Callable[[dict[str, Any]], Case]) -> None:
    c = make(case)
    setup = case.get("setup") or {}
    deleted = []
    if setup:
        rule = dict(setup["rule"])
        rule["EventPattern"] = json.dumps(rule["EventPattern"])
        c.call("PutRule", rule)
        targets = []
        for t in setup["targets"]:
            arn = t["Arn"]
            if arn.endswith(" (queue deleted)"):
                arn = arn[: -len(" (queue deleted)")]
                deleted.append(arn)
            targets.append({**t, "Arn": arn})
        out = c.call("PutTargets", {"Rule": rule["Name"], "Targets": targets})
        assert out["FailedEntryCount"] == 0
    for token in deleted:
        c.bus().delete_queue(str(c.env[token]).rsplit(":", 1)[-1])
    out = c.bus().put_events(Entries=_entries(c, case["entries"]))
    c.match(case["result"], out, "PutEvents")
    c.run()
    if "expected_delivered" in case:
        (arn,) = c.queues()
        got = [json.loads(b) for b in c.drain(arn)]
        c.match(case["expected_delivered"], got, "delivered", ordered=True)
    if "followup" in case:
        c.step(case["followup"])


# ---- bus-level matching --------------------------------------------------------------------------


@cases("event_pattern_match")
def test_event_pattern_match(case: dict[str, Any], make: Callable[[dict[str, Any]], Case]) -> None:
    c = make(case)
    event = case["event"]
    c.call("PutRule", {"Name": "<rule-name>", "EventPattern": json.dumps(case["event_pattern"])})
    c.call("PutTargets", {"Rule": "<rule-name>", "Targets": [{"Id": "t", "Arn": "<queue-arn>"}]})
    entry = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event["resources"],
    }
    out = c.bus().put_events(Entries=[entry])
    assert out["FailedEntryCount"] == 0, out
    c.bind("<event-id>", out["Entries"][0]["EventId"])
    c.run()
    got = [json.loads(b) for b in c.drain(str(c.env["<queue-arn>"]))]
    c.match([event] if case["matched"] else [], got, "delivered", ordered=True)


# ---- delivered events ---------------------------------------------------------------------------


def _rule(
    c: Case, bus: str, name: str, pattern: Any, targets: list[dict[str, Any]], via_arn: bool = False
) -> None:
    bus = c.sub(bus)
    if bus != "default" and not c.bus().list_event_buses(NamePrefix=bus)["EventBuses"]:
        c.bus().create_event_bus(Name=bus)
    bus_param = c.bus().arns.bus(bus) if via_arn else bus
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    c.call("PutRule", {"Name": name, "EventPattern": text, "EventBusName": bus_param})
    out = c.call("PutTargets", {"Rule": name, "EventBusName": bus_param, "Targets": targets})
    assert out == {"FailedEntryCount": 0, "FailedEntries": []}, out


def _bus_of(case: dict[str, Any]) -> str:
    return str(case["put_events_entries"][0].get("EventBusName", "default"))


def _put(c: Case, entries: list[dict[str, Any]]) -> dict[str, Any]:
    out = c.bus().put_events(Entries=_entries(c, entries))
    assert out["FailedEntryCount"] == 0, out
    return out


def _bodies(c: Case, token: str) -> list[Any]:
    return [json.loads(b) for b in c.drain(str(c.env[token]))]


def _delivered_lambda(c: Case, case: dict[str, Any]) -> None:
    arn = c.function_arn("echo")
    bus = _bus_of(case)
    if "event_patterns" in case:  # one rule per pattern, one put (and snapshot) per rule
        for i, pattern in enumerate(case["event_patterns"]):
            _rule(c, bus, f"<rule-name>-{i}", pattern, [{"Id": "echo", "Arn": arn}])
        for entry in case["put_events_entries"]:
            _put(c, [entry])
            c.run()
            c.match(
                case["expected_delivered"][entry["Source"]],
                list(c.delivered["echo"]),
                entry["Source"],
                ordered=True,
            )
        return
    rules = 2 if "two_rules" in case["id"] else 1
    for i in range(rules):
        _rule(c, bus, f"<rule-name>-{i}", case["event_pattern"], [{"Id": "echo", "Arn": arn}])
    _put(c, case["put_events_entries"])
    c.run()
    c.match(case["expected_delivered"], c.delivered["echo"], "delivered", ordered=True)


def _delivered_bus_to_bus(c: Case, case: dict[str, Any]) -> None:
    setup = case["setup"]
    for rule in setup["rules"]:
        name = c.sub(rule["EventBusName"])
        if name != "default" and not c.bus().list_event_buses(NamePrefix=name)["EventBuses"]:
            c.bus().create_event_bus(Name=name)
    if "put_permission" in setup:
        c.call("PutPermission", setup["put_permission"])
    for i, rule in enumerate(setup["rules"]):
        _rule(
            c,
            rule["EventBusName"],
            rule["Name"],
            rule["EventPattern"],
            rule["targets"],
            via_arn=i == 1 and case["id"].startswith("targets/"),
        )
    _put(c, case["put_events_entries"])
    c.run(2)
    (arn,) = c.queues()
    got = [json.loads(b) for b in c.drain(arn)]
    c.match(case["expected_delivered"], got, "delivered", ordered=True)


def _delivered_replay(c: Case, case: dict[str, Any]) -> None:
    bus = _bus_of(case)
    _rule(c, bus, "<rule-name>", case["event_pattern"], [{"Id": "t", "Arn": "<queue-arn>"}])
    bus_arn = c.bus().arns.bus(c.sub(bus))
    archive = c.bus().create_archive(
        ArchiveName=c.sub("<archive-name>"),
        EventSourceArn=bus_arn,
        EventPattern=json.dumps(case["event_pattern"]),
        RetentionDays=1,
    )["ArchiveArn"]
    _put(c, case["put_events_entries"])
    c.run()
    assert len(_bodies(c, "<queue-arn>")) == 3
    rule_arn = c.bus().describe_rule(Name=c.sub("<rule-name>"), EventBusName=c.sub(bus))["Arn"]
    c.clock.advance(10)
    c.bus().start_replay(
        ReplayName=c.sub("<replay-name>"),
        EventSourceArn=archive,
        EventStartTime=T0,
        EventEndTime=T0 + timedelta(minutes=1),
        Destination={"Arn": bus_arn, "FilterArns": [rule_arn]},
    )
    c.run()
    c.match(case["expected_delivered"], _bodies(c, "<queue-arn>"), "delivered", ordered=True)


def _delivered_logs(c: Case, case: dict[str, Any]) -> None:
    bus = _bus_of(case)
    responses = case["api_responses"]
    out = c.bus().create_event_bus(Name=c.sub(bus))
    c.match(responses["event_bus_response"]["response"], out, "CreateEventBus")
    pattern = json.dumps(case["event_pattern"])
    out = c.call("PutRule", {"Name": "<rule-name>", "EventBusName": bus, "EventPattern": pattern})
    c.match(responses["rule_response"]["response"], out, "PutRule")
    (target,) = case["targets"]
    out = c.call("PutTargets", {"Rule": "<rule-name>", "EventBusName": bus, "Targets": [target]})
    c.match(responses["put_targets_response"]["response"], out, "PutTargets")
    out = c.bus().put_events(Entries=_entries(c, case["put_events_entries"]))
    c.match(responses["put_events_response"]["response"], out, "PutEvents")
    c.run()
    group = c.sub(target["Arn"]).split(":log-group:", 1)[1]
    files = list((c.tmp / "logs").rglob("*.jsonl"))
    assert len(files) == 1 and group.strip("/").split("/")[-1] in files[0].name, files
    messages = [json.loads(line) for line in files[0].read_text().splitlines()]
    expected = [record["message"] for record in case["expected_delivered"]]
    c.match(expected, messages, "log messages", ordered=True)


def _delivered_queue(c: Case, case: dict[str, Any]) -> None:
    cid = case["id"]
    bus = _bus_of(case)
    targets = copy.deepcopy(case.get("targets")) or [{"Id": "<target-id>", "Arn": "<queue-arn>"}]
    for t in targets:
        if not ("queue" in t["Arn"] and "arn" in t["Arn"]):
            # Kinesis: the record Data is the envelope; a queue receives the same body.
            t["Arn"] = "<queue-arn>"
            t.pop("KinesisParameters", None)
    if "fanout" in cid:
        for i in range(2):
            arns = [{"Id": f"q{2 * i + j}", "Arn": f"<queue-{2 * i + j}-arn>"} for j in (0, 1)]
            _rule(c, bus, f"<rule-name>-{i}", case["event_pattern"], arns)
        _put(c, case["put_events_entries"])
        c.run()
        for i in range(4):
            assert len(_bodies(c, f"<queue-{i}-arn>")) >= 1
        return
    _rule(c, bus, "<rule-name>", case["event_pattern"], targets)
    entries = case["put_events_entries"]
    if "wire_time_value" in case:
        entries = [{**e, "Time": case["wire_time_value"]} for e in entries]
    if "put_events_response" in case:
        out = c.bus().put_events(Entries=_entries(c, entries))
        expected = copy.deepcopy(case["put_events_response"])
        for e in expected["Entries"]:  # "event-id": the assertion pins it to the delivered id
            if e.get("EventId") == "event-id":
                e["EventId"] = "<uuid:1>"
        c.match(expected, out, "PutEvents")
    elif "firehose" in cid:
        for entry in entries:  # ten PutEvents with one entry each
            _put(c, [entry])
    else:
        _put(c, entries)
    c.run()
    plain = [t for t in targets if not any(k in t for k in ("Input", "InputPath"))]
    expected = copy.deepcopy(case["expected_delivered"])
    if isinstance(expected, dict):  # one list per queue, in target order
        for t, (_name, bodies) in zip(plain, expected.items(), strict=True):
            for body in bodies:
                if body.get("detail") == "detail":
                    body["detail"] = case["expected_detail"]
            c.match(bodies, _bodies(c, t["Arn"]), t["Arn"], ordered=True)
        return
    (target,) = plain
    if case["output_match"] == "exact":  # SNS Message: the serialised event, exactly
        got = c.drain(str(c.env[target["Arn"]]))
        assert len(got) == len(expected)
        for e, a in zip(expected, got, strict=True):
            regex = re.escape(c.sub(e))
            regex = regex.replace(re.escape('"message-id"'), f'"{UUID}"')
            regex = regex.replace(re.escape('"date"'), '"' + RFC3339.pattern + '"')
            assert re.fullmatch(regex, a), f"{a!r} does not match {e!r}"
        return
    got = _bodies(c, target["Arn"])
    c.match(expected, got, "delivered", ordered=True)
    if "expected_time_field" in case:
        assert [b["time"] for b in got] == [case["expected_time_field"]] * len(got)
    if "expected_time_regex" in case:
        (body,) = got
        assert re.fullmatch(case["expected_time_regex"], body["time"])
        sent = c.clock.now()
        delivered = datetime.fromisoformat(body["time"].replace("Z", "+00:00"))
        assert abs((delivered - sent).total_seconds()) <= 60


@cases("delivered_event")
def test_delivered_event(case: dict[str, Any], make: Callable[[dict[str, Any]], Case]) -> None:
    c = make(case)
    target = case["target"]
    if case["id"] == S3_NOTIFICATION:
        for step in case["steps"]:
            if not step["op"].startswith(("S3 ", "PutBucket")):
                c.step(step)
        pytest.skip(SKIPS[case["id"]])
    if target.startswith("lambda"):
        _delivered_lambda(c, case)
    elif "setup" in case:
        _delivered_bus_to_bus(c, case)
    elif "replay" in target:
        _delivered_replay(c, case)
    elif target == "cloudwatch logs":
        _delivered_logs(c, case)
    else:
        _delivered_queue(c, case)


# ---- pattern text that is not a JSON object, beyond the recordings ------------------------------

# Not AWS recordings: what Jackson's char-based parser (default features) reports for
# other malformed texts, as ``fastbridge.bus.jackson`` reproduces it.
VALID = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
UNEXPECTED = "Unexpected character ({}): was expecting {}"
JACKSON = [
    ('{"a": 1,}', UNEXPECTED.format("'}' (code 125)", "double-quote to start field name"), 1, 9),
    (
        '{"a" 1}',
        UNEXPECTED.format("'1' (code 49)", "a colon to separate field name and value"),
        1,
        6,
    ),
    ('{"a": [1 2]}', UNEXPECTED.format("'2' (code 50)", "comma to separate Array entries"), 1, 10),
    ('{"a": [1,]}', f"Unexpected character (']' (code 93)): expected a valid value {VALID}", 1, 10),
    ('{"a": "x', "Unexpected end-of-input: was expecting closing quote for a string value", 1, 9),
    ('{"a": nul}', f"Unrecognized token 'nul': was expecting {VALID}", 1, 10),
    ("123", "Filter is not an object", 1, 4),
    ('{\n  "a": tru\n}', f"Unrecognized token 'tru': was expecting {VALID}", 2, 11),
]


@pytest.mark.parametrize(("text", "reason", "line", "column"), JACKSON, ids=[j[0] for j in JACKSON])
def test_malformed_pattern_text(text: str, reason: str, line: int, column: int) -> None:
    bus = EventBridge.memory(start=False, account=ACCOUNT, clock=FakeClock(T0))
    where = f'\n at [Source: (String)"{text}"; line: {line}, column: {column}]'
    with pytest.raises(BusError) as info:
        bus.put_rule(Name="r", EventPattern=text)
    assert info.value.code == "InvalidEventPatternException"
    assert info.value.message == f"Event pattern is not valid. Reason: {reason}{where}"
    bus.close()


def test_long_pattern_text_is_cut_in_the_location() -> None:
    text = "x" * 600
    bus = EventBridge.memory(start=False, account=ACCOUNT, clock=FakeClock(T0))
    with pytest.raises(BusError) as info:
        bus.test_event_pattern(EventPattern=text, Event="{}")
    token = "x" * 256 + "..."
    assert info.value.message == (
        f"Event pattern is not valid. Reason: Unrecognized token '{token}': was expecting "
        "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n at "
        f'[Source: (String)"{"x" * 500}"[truncated 100 chars]; line: 1, column: 257]'
    )
    bus.close()


def test_pattern_text_jackson_edge_cases_found_by_fuzzing() -> None:
    # fuzz/python/fuzz_jackson.py: only ASCII digits make a number ("０", "²" and "٣" are
    # digits to str.isdigit), and nesting deeper than Python's recursion limit is read.
    from fastbridge.bus.jackson import pattern_text_problem

    assert pattern_text_problem('{"a": ０}') == (
        f"Unexpected character ('０' (code 65296 / 0xff10)): expected a valid value {VALID}"
        '\n at [Source: (String)"{"a": ０}"; line: 1, column: 7]'
    )
    assert pattern_text_problem('{"a": 1²}') == (
        UNEXPECTED.format("'²' (code 178)", "comma to separate Object entries")
        + '\n at [Source: (String)"{"a": 1²}"; line: 1, column: 8]'
    )
    deep = '{"a":' * 5000
    assert pattern_text_problem(deep) == (
        "Unexpected end-of-input within/between Object entries\n at "
        f'[Source: (String)"{deep[:500]}"[truncated {len(deep) - 500} chars]; line: 1, '
        f"column: {len(deep) + 1}]"
    )
    assert pattern_text_problem('{"a":' + "[" * 5000 + "]" * 5000 + "}") is None
    bus = EventBridge.memory(start=False, account=ACCOUNT, clock=FakeClock(T0))
    with pytest.raises(BusError) as info:
        bus.put_rule(Name="r", EventPattern='{"a": ０}')
    assert info.value.message.startswith("Event pattern is not valid. Reason: Unexpected character")
    bus.close()

"""Fuzz the WSGI app ``fastbridge.serve.app.EventsApp`` over an in-memory bus (atheris).

Each input runs 1-3 requests against a fresh ``EventBridge.memory(start=False)`` (with a
``FakeClock``) that already has a custom bus ``b``, a queue ``q`` and a rule ``r`` (pattern
on ``source``, a queue target with an ``InputTransformer``, and a ``rate(1 minute)`` rule
``s``), served by ``EventsApp(bus, verifier=None)``. A request is one of:

- **shaped** (most): ``POST /``, ``X-Amz-Target: AWSEvents.<op>`` for a random operation
  the server implements, and a JSON body built from that operation's input shape in
  botocore's service model: members present or not, values of the shape's type or of a
  wrong type (``null``, numbers, ``NaN``, huge integers, lists, objects, strings with
  ``\\ud800`` escapes), strings from a per-member vocabulary (patterns, schedule and
  template texts, names and ARNs of the fixtures) or the input's bytes;
- **raw**: a random target (implemented, unknown, or none), raw body bytes, a random
  ``Content-Length`` (absent, wrong, negative, not a number, over the 1 MiB limit) and
  sometimes another method or ``GET /health``.

After the requests the clock moves 10 minutes and ``bus.run_pending()`` delivers what is
due (schedules, targets, input transformation), which must not raise.

Checks: every answer has status 200, 400, 405 or 413 and a JSON object body; an error
body has a non-empty ``__type`` and ``message``. A 500 is a bug: the assertion carries
the traceback the server logged.

Run: ``python fuzz/python/fuzz_wire.py fuzz/python/corpus/wire -max_total_time=540``
(``--seeds DIR`` writes the seed corpus first; see fuzz/python/README.md).
"""

from __future__ import annotations

import io
import json
import logging
import os
import traceback
from datetime import datetime, timezone

import atheris
import botocore.session
import harness

with atheris.instrument_imports(include=["fastbridge.bus", "fastbridge.serve"]):
    from fastbridge.bus import EventBridge
    from fastbridge.bus.schedule import FakeClock
    from fastbridge.serve.app import OPERATIONS as _OPERATIONS
    from fastbridge.serve.app import EventsApp

OPERATIONS = list(_OPERATIONS)
MODEL = botocore.session.get_session().get_service_model("events")
T0 = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)
ALLOWED_STATUS = {"200", "400", "405", "413"}
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:q"

STRINGS = {
    "EventPattern": [
        '{"source": ["app"]}',
        '{"detail": {"n": [{"numeric": [">", 0, "<=", 5]}], "s": [{"prefix": "a"}]}}',
        '{"source": [{"anything-but": ["x"]}], "$or": [{"a": [1]}, {"b": [{"exists": true}]}]}',
        '{"a": [{"wildcard": "*x*"}, {"cidr": "10.0.0.0/8"}, {"equals-ignore-case": "X"}]}',
        "{}",
        "[]",
        '{"a": 1}',
        '{"a": [',
        '{"a": ["\\ud800"]}',
        "not json",
    ],
    "ScheduleExpression": [
        "rate(1 minute)",
        "rate(5 minutes)",
        "cron(0/5 * * * ? *)",
        "cron(0 12 L * ? 2026)",
        "rate(0 minutes)",
        "cron(* * * * * *)",
    ],
    "Detail": [
        '{"n": 3, "s": "abc"}',
        "{}",
        '{"a": "\\ud800"}',
        "[]",
        "NaN",
        '{"a": 1e400}',
        '{"big": 123456789012345678901234567890}',
    ],
    "Event": [
        '{"id": "1", "account": "1", "source": "app", "time": "2026-11-29T12:00:00Z", '
        '"region": "us-east-1", "detail-type": "t", "detail": {}}',
        "{}",
        "[1]",
    ],
    "Input": ['{"x": 1}', "not json", '"s"', "NaN"],
    "InputPath": ["$.detail", "$.detail.n[-1]", "$..a", "$['a']", "detail", "$.*"],
    "InputTemplate": [
        '{"n": <n>, "s": "<s>", "e": <aws.events.event>}',
        "<n> and <s>",
        '"<aws.events.event.json>"',
        "<undefined>",
        "{bad json <n>",
    ],
    "Name": ["r", "s", "b", "default", "q", "new", "a" * 65, "", "bad name"],
    "Rule": ["r", "s", "missing"],
    "EventBusName": [
        "b",
        "default",
        "missing",
        "arn:aws:events:us-east-1:123456789012:event-bus/b",
    ],
    "Arn": [
        QUEUE_ARN,
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        "arn:aws:events:us-east-1:123456789012:event-bus/b",
        "arn:aws:sqs:::",
        "x",
    ],
    "Id": ["t1", "t2", "bad id", ""],
    "Source": ["app", "aws.ec2", ""],
    "DetailType": ["t", ""],
    "Time": ["2026-11-29T12:00:00Z", "yesterday", "1e400"],
    "NextToken": ["MQ==", "!!!", "LTE=", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk="],
    "ResourceARN": [
        "arn:aws:events:us-east-1:123456789012:rule/r",
        "arn:aws:events:us-east-1:123456789012:event-bus/b",
        "arn:x",
    ],
    "TargetArn": [QUEUE_ARN, "arn:x"],
    "NamePrefix": ["r", "", "zz"],
    "Policy": ['{"Version": "2012-10-17", "Statement": []}', "not json", "[]"],
    "EventSourceArn": ["arn:aws:events:us-east-1:123456789012:event-bus/b"],
    "ArchiveName": ["a", "missing"],
    "ReplayName": ["p", "missing"],
    "StatementId": ["s1", ""],
    "ConnectionArn": ["arn:aws:events:us-east-1:123456789012:connection/c/uuid"],
    "InvocationEndpoint": ["https://example.com/x", "ftp://x", ""],
}
ODD_VALUES = [None, True, False, 0, -1, 1.5, 2**64, -(10**30), float("nan"), float("inf"),
              "", "x", [], {}, [None], {"a": None}, ["x", 1], "\ud800"]  # fmt: skip
INTS = [0, 1, -1, 5, 100, 101, 2**31, 2**63, 10**20, -(2**63)]
TIMES = [0, 1.7e9, 1764417600, -1, 1e300, -1e20, "2026-11-29T12:00:00Z", 253402300800]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.last: str = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.last = "".join(traceback.format_exception(*record.exc_info))


CAPTURE = _Capture()
logging.getLogger("fastbridge.serve").addHandler(CAPTURE)
logging.getLogger("fastbridge.serve").propagate = False


def text(fdp: atheris.FuzzedDataProvider, n: int = 16) -> str:
    if fdp.ConsumeIntInRange(0, 7) == 0:
        return fdp.ConsumeUnicode(n)  # surrogates and all
    return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, n)).decode("utf-8", "replace")


def value(fdp: atheris.FuzzedDataProvider, shape, name: str, depth: int = 0):
    """A value for one member: usually of its shape's type, sometimes not."""
    if fdp.ConsumeIntInRange(0, 9) == 0 or depth > 6:
        return fdp.PickValueInList(ODD_VALUES)
    kind = shape.type_name
    if kind == "structure":
        out = {}
        required = set(shape.required_members)
        for member, sub in shape.members.items():
            if fdp.ConsumeIntInRange(0, 7) < (7 if member in required else 3):
                out[member] = value(fdp, sub, member, depth + 1)
        return out
    if kind == "list":
        n = fdp.ConsumeIntInRange(0, 3)
        return [value(fdp, shape.member, name, depth + 1) for _ in range(n)]
    if kind == "map":
        out = {}
        for _ in range(fdp.ConsumeIntInRange(0, 2)):
            key = value(fdp, shape.key, name + "Key", depth + 1)
            key = key if isinstance(key, str) else str(key)
            out[key] = value(fdp, shape.value, name, depth + 1)
        return out
    if kind == "string":
        choices = list(shape.enum or []) + STRINGS.get(name, [])
        if choices and fdp.ConsumeIntInRange(0, 3) > 0:
            return fdp.PickValueInList(choices)
        return text(fdp)
    if kind in ("integer", "long"):
        return fdp.PickValueInList(INTS) if fdp.ConsumeBool() else fdp.ConsumeInt(4)
    if kind == "boolean":
        return fdp.ConsumeBool()
    if kind == "timestamp":
        return fdp.PickValueInList(TIMES)
    if kind in ("double", "float"):
        return fdp.ConsumeRegularFloat()
    return text(fdp)


def setup() -> tuple[EventBridge, EventsApp, FakeClock]:
    clock = FakeClock(T0)
    bus = EventBridge.memory(start=False, clock=clock)
    bus.create_event_bus(Name="b")
    bus.create_queue("q")
    bus.put_rule(Name="r", EventPattern='{"source": ["app"]}')
    bus.put_rule(Name="s", ScheduleExpression="rate(1 minute)")
    transformer = {"InputPathsMap": {"n": "$.detail.n"}, "InputTemplate": '{"n": <n>}'}
    bus.put_targets(Rule="r", Targets=[{"Id": "t1", "Arn": QUEUE_ARN,
                                        "InputTransformer": transformer}])  # fmt: skip
    bus.put_targets(Rule="s", Targets=[{"Id": "t1", "Arn": QUEUE_ARN}])
    return bus, EventsApp(bus, verifier=None), clock


def call(app: EventsApp, environ: dict) -> None:
    got: list[str] = []

    def start_response(status: str, headers: list) -> None:
        got.append(status)

    CAPTURE.last = ""
    body = b"".join(app(environ, start_response))
    status = got[0].split()[0]
    if status not in ALLOWED_STATUS:
        raise AssertionError(
            f"status {got[0]} for {environ.get('HTTP_X_AMZ_TARGET')!r} "
            f"{environ['_body'][:2000]!r}\n{CAPTURE.last}"
        )
    answer = json.loads(body)
    assert isinstance(answer, dict), body
    if status != "200":
        assert answer.get("__type") and answer.get("message"), (environ["_body"], body)
        assert isinstance(answer["message"], str), body


def environ_for(body: bytes, target: str | None, method: str = "POST", path: str = "/",
                length: str | None = None) -> dict:  # fmt: skip
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/x-amz-json-1.1",
        "CONTENT_LENGTH": str(len(body)) if length is None else length,
        "wsgi.input": io.BytesIO(body),
        "HTTP_X_AMZ_TARGET": target,
        "_body": body,
    }
    if target is None:
        del env["HTTP_X_AMZ_TARGET"]
    return env


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    bus, app, clock = setup()
    try:
        for _ in range(fdp.ConsumeIntInRange(1, 3)):
            if fdp.ConsumeIntInRange(0, 4) > 0:  # shaped
                op = fdp.PickValueInList(OPERATIONS)
                params = value(fdp, MODEL.operation_model(op).input_shape, op)
                body = json.dumps(params).encode()
                env = environ_for(body, "AWSEvents." + op)
            else:  # raw
                target = fdp.PickValueInList(
                    ["AWSEvents." + fdp.PickValueInList(OPERATIONS), "AWSEvents.Nope",
                     "AWSEvents.", "Other.PutEvents", None, text(fdp, 24)]
                )  # fmt: skip
                body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 512))
                length = fdp.PickValueInList(
                    [None, None, None, "", "abc", "-1", "0", "3", "2000000", " 5 "]
                )
                method = fdp.PickValueInList(["POST", "POST", "POST", "GET", "PUT", ""])
                path = fdp.PickValueInList(["/", "/", "/health", "/x"])
                env = environ_for(body, target, method, path, length)
            call(app, env)
        clock.advance(600)
        bus.run_pending()
    finally:
        bus.close()


def seeds() -> list[bytes]:
    return [bytes([i % 3, 1 + i % 4]) + os.urandom(96) for i in range(64)]


if __name__ == "__main__":
    harness.main(TestOneInput, seeds)

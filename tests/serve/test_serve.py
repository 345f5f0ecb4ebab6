"""``fastbridge serve`` driven by real boto3 clients (botocore signs) on a
free loopback port: buses, rules, targets, events, deliveries, patterns,
archives and replays; then signatures that must fail and malformed requests
— each on both backends (SQLite, and NATS JetStream on a real server)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import pytest
import urllib3
from botocore.exceptions import ClientError

from fastbridge.bus import EventBridge
from fastbridge.nats import NatsBus
from fastbridge.serve import Credentials, Limits, Server

KEY = Credentials("FBTESTKEY0000001", "test-secret-0123456789")
REGION = "eu-west-1"


@pytest.fixture(params=["sqlite", "nats"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    bus: EventBridge
    if request.param == "sqlite":
        bus = EventBridge(
            tmp_path / "serve.db", region=REGION, account="123456789012", durability="normal"
        )
    else:
        bus = request.getfixturevalue("nats_bus")(region=REGION, account="123456789012",
                                                  log_dir=tmp_path / "logs")  # fmt: skip
        bus.start()
    srv = Server(
        bus,
        port=0,
        credentials=[KEY],
        limits=Limits(max_body_bytes=64 << 10, per_client_concurrency=4),
    )
    srv.start()
    yield srv
    srv.close()
    if not isinstance(bus, NatsBus):  # the nats_bus fixture closes its own
        bus.close()


def client(srv: Server, key: Credentials = KEY, region: str = REGION) -> Any:
    return boto3.client(
        "events",
        endpoint_url=srv.endpoint,
        region_name=region,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )


class Hook:
    """A webhook on loopback: the API-destination target of the tests."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                data = self.rfile.read(int(self.headers["Content-Length"]))
                hook.bodies.append(json.loads(data))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/events"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = 10) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.bodies


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.http.shutdown()
    h.http.server_close()


def webhook_target(events: Any, hook: Hook, name: str = "hook") -> str:
    conn = events.create_connection(
        Name=f"{name}-conn",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v"}},
    )
    dest = events.create_api_destination(
        Name=name,
        ConnectionArn=conn["ConnectionArn"],
        InvocationEndpoint=hook.url,
        HttpMethod="POST",
    )
    return str(dest["ApiDestinationArn"])


def test_bus_rule_target_events_and_delivery(server: Server, hook: Hook) -> None:
    events = client(server)
    arn = events.create_event_bus(Name="orders")["EventBusArn"]
    assert arn == "arn:aws:events:eu-west-1:123456789012:event-bus/orders"
    assert [b["Name"] for b in events.list_event_buses()["EventBuses"]] == ["default", "orders"]
    rule_arn = events.put_rule(
        Name="big",
        EventBusName="orders",
        EventPattern=json.dumps({"detail": {"total": [{"numeric": [">", 100]}]}}),
    )
    assert rule_arn["RuleArn"].endswith(":rule/orders/big")
    out = events.put_targets(
        Rule="big",
        EventBusName="orders",
        Targets=[
            {
                "Id": "hook",
                "Arn": webhook_target(events, hook),
                "InputTransformer": {
                    "InputPathsMap": {"t": "$.detail.total"},
                    "InputTemplate": '{"total": <t>}',
                },
            }
        ],
    )
    assert out["FailedEntryCount"] == 0
    sent = events.put_events(
        Entries=[
            {
                "Source": "shop",
                "DetailType": "Order",
                "Detail": '{"total": 250}',
                "EventBusName": "orders",
            },
            {
                "Source": "shop",
                "DetailType": "Order",
                "Detail": '{"total": 5}',
                "EventBusName": "orders",
            },
            {"Source": "shop", "DetailType": "Order", "Detail": "[]", "EventBusName": "orders"},
        ]
    )
    assert sent["FailedEntryCount"] == 1
    assert sent["Entries"][2] == {
        "ErrorCode": "MalformedDetail",
        "ErrorMessage": "Detail is malformed.",
    }
    assert hook.wait(1) == [{"total": 250}]
    described = events.describe_rule(Name="big", EventBusName="orders")
    assert described["State"] == "ENABLED" and described["CreatedBy"] == "123456789012"
    assert (
        events.list_targets_by_rule(Rule="big", EventBusName="orders")["Targets"][0]["Id"] == "hook"
    )
    assert (
        events.test_event_pattern(
            EventPattern='{"source": ["shop"]}',
            Event=json.dumps(
                {
                    "id": "1",
                    "account": "1",
                    "source": "shop",
                    "time": "2026-01-01T00:00:00Z",
                    "region": REGION,
                    "detail-type": "x",
                    "detail": {},
                }
            ),
        )["Result"]
        is True
    )


def test_aws_errors_arrive_as_client_errors(server: Server) -> None:
    events = client(server)
    with pytest.raises(events.exceptions.ResourceNotFoundException) as e:
        events.describe_rule(Name="nope")
    assert e.value.response["Error"]["Message"] == "Rule nope does not exist on EventBus default."
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        events.put_rule(Name="bad", EventPattern='{"source": "shop"}')
    events.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    events.put_targets(
        Rule="r", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:eu-west-1:123456789012:q"}]
    )
    with pytest.raises(ClientError) as e:
        events.delete_rule(Name="r")
    assert e.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Rule can't be deleted since it has targets.",
    }
    with pytest.raises(ClientError) as e:
        events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}] * 11)
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_archive_and_replay_over_the_wire(server: Server, hook: Hook) -> None:
    events = client(server)
    events.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    events.put_targets(Rule="r", Targets=[{"Id": "h", "Arn": webhook_target(events, hook)}])
    archive = events.create_archive(
        ArchiveName="all",
        EventPattern='{"source": ["shop"]}',
        EventSourceArn=f"arn:aws:events:{REGION}:123456789012:event-bus/default",
    )
    assert archive["State"] == "ENABLED"
    start = datetime.now(timezone.utc) - timedelta(minutes=1)
    events.put_events(Entries=[{"Source": "shop", "DetailType": "d", "Detail": '{"n": 1}'}])
    assert len(hook.wait(1)) == 1
    assert events.describe_archive(ArchiveName="all")["EventCount"] == 1
    out = events.start_replay(
        ReplayName="again",
        EventSourceArn=archive["ArchiveArn"],
        EventStartTime=start,
        EventEndTime=datetime.now(timezone.utc) + timedelta(minutes=1),
        Destination={"Arn": f"arn:aws:events:{REGION}:123456789012:event-bus/default"},
    )
    assert out["State"] == "STARTING" and isinstance(out["ReplayStartTime"], datetime)
    bodies = hook.wait(2)
    assert bodies[1]["replay-name"] == "again"
    deadline = time.monotonic() + 10
    while events.describe_replay(ReplayName="again")["State"] != "COMPLETED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert [r["ReplayName"] for r in events.list_replays()["Replays"]] == ["again"]


def test_tags(server: Server) -> None:
    events = client(server)
    arn = events.create_event_bus(Name="tagged", Tags=[{"Key": "team", "Value": "a"}])[
        "EventBusArn"
    ]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}])
    events.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}
    ]


def test_bad_signatures_are_refused(server: Server) -> None:
    wrong_secret = client(server, Credentials(KEY.access_key_id, "not-the-secret"))
    with pytest.raises(ClientError) as e:
        wrong_secret.list_event_buses()
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
    unknown = client(server, Credentials("FBUNKNOWNKEY0000", "whatever"))
    with pytest.raises(ClientError) as e:
        unknown.list_event_buses()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    other_region = client(server, region="us-west-2")
    with pytest.raises(ClientError) as e:
        other_region.list_event_buses()
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
    unsigned = boto3.client(
        "events",
        endpoint_url=server.endpoint,
        region_name=REGION,
        config=botocore.config.Config(signature_version=botocore.UNSIGNED),
    )
    with pytest.raises(ClientError) as e:
        unsigned.list_event_buses()
    assert e.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"


def raw(
    server: Server,
    body: bytes,
    target: str | None = "AWSEvents.ListEventBuses",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """An unsigned-by-botocore request, signed by hand where the test needs it."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    h = {"Content-Type": "application/x-amz-json-1.1", **(headers or {})}
    if target is not None:
        h["X-Amz-Target"] = target
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=h)
    SigV4Auth(BotoCredentials(KEY.access_key_id, KEY.secret_access_key), "events", REGION).add_auth(
        request
    )
    prepared = request.prepare()
    answer = urllib3.request("POST", prepared.url, body=body, headers=dict(prepared.headers))
    return answer.status, json.loads(answer.data)


def test_malformed_requests_get_aws_errors_and_the_server_lives_on(server: Server) -> None:
    assert raw(server, b"{not json")[1]["__type"] == "SerializationException"
    assert raw(server, b"[1, 2]")[1]["__type"] == "SerializationException"
    assert (
        raw(server, b"{}", target="AWSEvents.LaunchRockets")[1]["__type"]
        == "UnknownOperationException"
    )
    assert raw(server, b"{}", target=None)[1]["__type"] == "UnknownOperationException"
    status, body = raw(server, b"{}", target="AWSEvents.DescribeRule")
    assert (status, body["__type"]) == (400, "ValidationException")
    assert "at 'name' failed to satisfy constraint: Member must not be null" in body["message"]
    status, body = raw(
        server, b'{"Entries": "' + b"x" * (70 << 10) + b'"}', target="AWSEvents.PutEvents"
    )
    assert (status, body["__type"]) == (413, "RequestEntityTooLargeException")
    assert raw(server, b"{}")[0] == 200  # still serving


def test_per_client_concurrency_is_bounded(server: Server) -> None:
    gate = threading.Event()
    entered = threading.Semaphore(0)
    original = server.bus.list_event_buses

    def blocking(**kwargs: Any) -> Any:  # a slow operation, to hold requests in progress
        entered.release()
        gate.wait(10)
        return original(**kwargs)

    server.app._methods["ListEventBuses"] = (blocking, frozenset(), ())
    results: list[Any] = []

    def call() -> None:
        results.append(raw(server, b"{}"))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(4):
        assert entered.acquire(timeout=10)
    status, body = raw(server, b"{}")  # a fifth request of the same client
    gate.set()
    for t in threads:
        t.join(10)
    assert (status, body["__type"], body["message"]) == (
        400,
        "ThrottlingException",
        "Rate exceeded",
    )
    assert [r[0] for r in results] == [200] * 4


def test_wrong_json_types_get_aws_errors_not_500() -> None:
    # Found by fuzz/python/fuzz_wire.py: members of the wrong JSON type, NaN, a lone
    # surrogate escape or a deeply nested body reached the bus and answered 500.
    import io

    from fastbridge.serve.app import EventsApp

    bus = EventBridge.memory(start=False)
    app = EventsApp(bus, verifier=None)

    def call(target: str, body: bytes) -> tuple[str, dict[str, Any]]:
        got: list[str] = []
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "HTTP_X_AMZ_TARGET": "AWSEvents." + target,
        }
        data = b"".join(app(environ, lambda status, headers: got.append(status)))
        return got[0], json.loads(data)

    for target, body, message in [
        (
            "ListRules",
            b'{"NamePrefix": ["x"]}',
            "Parameter NamePrefix must be a string, not a list.",
        ),
        (
            "PutEvents",
            b'{"Entries": [1]}',
            "Parameter Entries must be a list of objects, not a list.",
        ),
        (
            "ListRules",
            b'{"Limit": 1099511627776}',
            "Parameter Limit must be an integer, not a number out of the 32-bit range.",
        ),
        (
            "RemoveTargets",
            b'{"Rule": "r", "Ids": [{}]}',
            "Parameter Ids must be a list of strings, not a list.",
        ),
        ("ListRules", b'{"Limit": NaN}', "The request body is not valid JSON."),
        ("ListEventBuses", b"[" * 5000, "The request body is not valid JSON."),
        (
            "DescribeRule",
            b'{"Name": "\\ud800"}',
            "The request body holds a lone surrogate escape (\\ud800-\\udfff), which is not text.",
        ),
    ]:
        status, answer = call(target, body)
        assert (status, answer) == (
            "400 Bad Request",
            {"__type": "SerializationException", "message": message},
        ), body
    assert call("ListRules", b'{"NamePrefix": null}')[0] == "200 OK"  # null: absent
    bus.close()

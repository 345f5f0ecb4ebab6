"""The bus delivering to an API destination: a real HTTP server on loopback
that fails on purpose — errors, 429, timeouts — then recovers or not. (The
retry timings are on a fake clock, so SQLite's; a client error, not retried,
is checked on both backends.)"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fastbridge.bus import EventBridge, FakeClock
from fastbridge.nats import NatsBus

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
ORDER = {"Source": "shop", "DetailType": "Order Placed", "Detail": '{"total": 250}'}


class Endpoint:
    """A scripted HTTP endpoint: answers with the next status of ``script``
    (then 200 forever); a status of 0 means "hang past the client's timeout"."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.requests: list[tuple[float, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with endpoint.lock:
                    endpoint.requests.append((time.monotonic(), dict(self.headers), body))
                    status = endpoint.script.pop(0) if endpoint.script else 200
                if status == 0:
                    time.sleep(0.6)
                    status = 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    yield e
    e.server.shutdown()
    e.server.server_close()


def http_bus(tmp_path: Any, clock: FakeClock, endpoint: Endpoint, **policy: int) -> EventBridge:
    bus = EventBridge(tmp_path / "b.db", clock=clock, start=False, http_timeout=0.3)
    return to_endpoint(bus, endpoint, **policy)


def to_endpoint(bus: EventBridge, endpoint: Endpoint, **policy: int) -> EventBridge:
    """A rule sending every shop event to ``endpoint`` (API key auth, a DLQ)."""
    conn = bus.create_connection(
        Name="hook-auth",
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"}
        },
    )
    dest = bus.create_api_destination(
        Name="hook",
        ConnectionArn=conn["ConnectionArn"],
        InvocationEndpoint=endpoint.url,
        HttpMethod="POST",
        InvocationRateLimitPerSecond=100,
    )
    target: dict[str, Any] = {
        "Id": "hook",
        "Arn": dest["ApiDestinationArn"],
        "DeadLetterConfig": {"Arn": bus.create_queue("dlq")},
    }
    if policy:
        target["RetryPolicy"] = policy
    bus.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    bus.put_targets(Rule="r", Targets=[target])
    return bus


def pump(bus: EventBridge, clock: FakeClock, rounds: int, step: float) -> list[datetime]:
    """Deliver, advance the clock, repeat; the fake times of the rounds that made attempts."""
    times = []
    for _ in range(rounds):
        if bus.run_pending():
            times.append(clock.now())
        clock.advance(step)
    return times


def test_flaky_endpoint_is_retried_with_growing_delays_then_succeeds(
    tmp_path: Any, endpoint: Endpoint
) -> None:
    clock = FakeClock(T0)
    bus = http_bus(tmp_path, clock, endpoint)
    try:
        endpoint.script = [500, 503, 429, 0, 502]  # four errors, a timeout, then success
        event_id = bus.put_events(Entries=[ORDER])["Entries"][0]["EventId"]
        attempts = pump(bus, clock, 200, 0.5)
        assert len(attempts) == 6
        gaps = [(b - a).total_seconds() for a, b in zip(attempts, attempts[1:], strict=False)]
        # exponential backoff with jitter: retry n waits between 2**(n-1)/2 and 2**(n-1)
        # seconds (the bus's retry_base is 1 s); the clock moves in steps of 0.5 s
        for n, gap in enumerate(gaps, 1):
            assert 2 ** (n - 1) / 2 <= gap <= 2 ** (n - 1) + 0.5, gaps
        assert len(endpoint.requests) == 6
        _, headers, body = endpoint.requests[-1]
        assert headers["x-api-key"] == "s3cret"
        assert json.loads(body)["id"] == event_id
        assert bus.metrics.get("RetryInvocationAttempts", rule="r") == 5
        assert bus.metrics.get("Invocations", rule="r") == 1
        assert bus.queue("dlq").receive() == []
    finally:
        bus.close()


def test_endpoint_that_keeps_failing_ends_in_the_dead_letter_queue(
    tmp_path: Any, endpoint: Endpoint
) -> None:
    clock = FakeClock(T0)
    bus = http_bus(tmp_path, clock, endpoint, MaximumRetryAttempts=3)
    try:
        endpoint.script = [503] * 10
        bus.put_events(Entries=[ORDER])
        pump(bus, clock, 100, 1.0)
        assert len(endpoint.requests) == 4  # the first attempt and three retries
        (msg,) = bus.queue("dlq").receive()
        assert msg.attributes["RETRY_ATTEMPTS"] == "3"
        assert msg.attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
        assert msg.attributes["RULE_ARN"] == "arn:aws:events:us-east-1:000000000000:rule/r"
        assert msg.attributes["TARGET_ARN"].startswith(
            "arn:aws:events:us-east-1:000000000000:api-destination/hook/"
        )
        assert "503" in msg.attributes["ERROR_MESSAGE"]
    finally:
        bus.close()


@pytest.mark.parametrize("backend", ["sqlite", "nats"])
def test_client_errors_are_not_retried(
    tmp_path: Any, endpoint: Endpoint, backend: str, request: pytest.FixtureRequest
) -> None:
    clock = FakeClock(T0)
    if backend == "sqlite":
        bus = http_bus(tmp_path, clock, endpoint)
    else:
        nats_bus = request.getfixturevalue("nats_bus")
        bus = to_endpoint(nats_bus(clock=clock, http_timeout=0.3, log_dir=tmp_path / "logs"),
                          endpoint)  # fmt: skip
    try:
        endpoint.script = [404]
        bus.put_events(Entries=[ORDER])
        pump(bus, clock, 10, 1.0)
        assert len(endpoint.requests) == 1
        (msg,) = bus.queue("dlq").receive()
        assert msg.attributes["RETRY_ATTEMPTS"] == "0"
        assert "EXHAUSTED_RETRY_CONDITION" not in msg.attributes
        assert msg.attributes["ERROR_CODE"] == "SDK_CLIENT_ERROR"  # no retry: straight to the DLQ
    finally:
        if not isinstance(bus, NatsBus):  # the nats_bus fixture closes its own
            bus.close()

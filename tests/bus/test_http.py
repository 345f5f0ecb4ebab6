"""Connections, API destinations and HttpInvoker against a real local HTTP server."""

from __future__ import annotations

import base64
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from fastbridge.bus.errors import ValidationException
from fastbridge.bus.http import (
    _AUTH_HEADER,
    _HEADER_VALUE,
    ApiDestination,
    Connection,
    DeliveryError,
    HttpInvoker,
    RateLimiter,
    is_retryable_status,
)

RECORDED = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "aws-recorded-bus.json"


# --------------------------------------------------------------------------
# A scriptable HTTP server
# --------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes


Script = Callable[[Seen], Reply]


class Endpoint:
    """What the test server answers, per path, and what it was sent."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.scripts: dict[str, list[Reply | Script]] = {}
        self.tokens_issued = 0
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply | Script) -> None:
        """Answer ``path`` with ``replies`` in turn; the last one repeats."""
        with self.lock:
            self.scripts[path] = list(replies)

    def at(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]

    def oauth(self, path: str = "/oauth/token", expires_in: int | None = 3600) -> None:
        def issue(_: Seen) -> Reply:
            with self.lock:
                self.tokens_issued += 1
                n = self.tokens_issued
            doc: dict[str, Any] = {"access_token": f"tok-{n}", "token_type": "Bearer"}
            if expires_in is not None:
                doc["expires_in"] = expires_in
            return Reply(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})

        self.script(path, issue)

    def answer(self, seen: Seen) -> Reply:
        with self.lock:
            self.seen.append(seen)
            replies = self.scripts.get(seen.path)
            if not replies:
                return Reply()
            reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return reply(seen) if callable(reply) else reply


def _handler(endpoint: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            seen = Seen(
                self.command,
                parts.path,
                parse_qs(parts.query, keep_blank_values=True),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            reply = endpoint.answer(seen)
            if reply.delay:
                time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)
            except OSError:
                pass  # the client gave up (timeout tests)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    ep = Endpoint()
    server = _Server(("127.0.0.1", 0), _handler(ep))
    ep.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield ep
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def invoker() -> Iterator[HttpInvoker]:
    with HttpInvoker(timeout=2.0) as inv:
        yield inv


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


# --------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------


def basic_connection(**extra: Any) -> Connection:
    return Connection.from_request(
        {
            "Name": "basic",
            "AuthorizationType": "BASIC",
            "AuthParameters": {
                "BasicAuthParameters": {"Username": "alice", "Password": "s3cret-pw"},
                **extra,
            },
        }
    )


def api_key_connection() -> Connection:
    return Connection.from_request(
        {
            "Name": "apikey",
            "AuthorizationType": "API_KEY",
            "AuthParameters": {
                "ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key", "ApiKeyValue": "k-123"}
            },
        }
    )


def oauth_connection(ep: Endpoint, method: str = "POST") -> Connection:
    return Connection.from_request(
        {
            "Name": "oauth",
            "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS",
            "AuthParameters": {
                "OAuthParameters": {
                    "ClientParameters": {"ClientID": "client-1", "ClientSecret": "shh"},
                    "AuthorizationEndpoint": ep.url("/oauth/token"),
                    "HttpMethod": method,
                    "OAuthHttpParameters": {
                        "HeaderParameters": [{"Key": "X-Tenant", "Value": "t1"}],
                        "QueryStringParameters": [{"Key": "realm", "Value": "r1"}],
                        "BodyParameters": [{"Key": "audience", "Value": "api://x"}],
                    },
                }
            },
        }
    )


def destination(
    conn: Connection, url: str, *, method: str = "POST", rate: int | None = None
) -> ApiDestination:
    req: dict[str, Any] = {
        "Name": "dest",
        "ConnectionArn": conn.arn,
        "InvocationEndpoint": url,
        "HttpMethod": method,
    }
    if rate is not None:
        req["InvocationRateLimitPerSecond"] = rate
    return ApiDestination.from_request(req)


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def failure(call: Callable[[], None]) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        call()
    return info.value


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def test_recorded_create_connection_validation_message() -> None:
    cases = json.loads(RECORDED.read_text())
    (case,) = [c for c in cases if c["id"] == "events/api_error/create_connection_validation"]
    with pytest.raises(ValidationException) as info:
        Connection.from_request(case["request"])
    assert info.value.code == case["error_code"] == "ValidationException"
    assert info.value.status == case["http_status"]
    assert info.value.message == case["error_message"]


def test_single_error_is_singular_and_null_has_no_quotes() -> None:
    with pytest.raises(ValidationException) as info:
        Connection.from_request({"Name": "ok", "AuthorizationType": "BASIC"})
    assert info.value.message == (
        "1 validation error detected: Value null at 'authParameters' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_nested_paths_and_sensitive_values_are_not_echoed() -> None:
    with pytest.raises(ValidationException) as info:
        Connection.from_request(
            {
                "Name": "c",
                "AuthorizationType": "API_KEY",
                "AuthParameters": {
                    "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "x" * 513},
                    "InvocationHttpParameters": {
                        "HeaderParameters": [{"Key": "ok", "Value": "v"}, {"Key": "bad key"}]
                    },
                },
            }
        )
    message = info.value.message
    assert message.startswith("3 validation errors detected: ")
    assert (
        "Value at 'authParameters.apiKeyAuthParameters.apiKeyValue' failed to satisfy "
        "constraint: Member must have length less than or equal to 512" in message
    )
    assert "x" * 20 not in message
    assert (
        "Value 'bad key' at 'authParameters.invocationHttpParameters.headerParameters.2.member"
        ".key' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$" in message
    )
    assert (
        "Value null at 'authParameters.invocationHttpParameters.headerParameters.2.member"
        ".value' failed to satisfy constraint: Member must not be null" in message
    )


def test_auth_parameters_must_match_authorization_type() -> None:
    with pytest.raises(ValidationException, match="must contain ApiKeyAuthParameters"):
        Connection.from_request(
            {
                "Name": "c",
                "AuthorizationType": "API_KEY",
                "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"}},
            }
        )
    with pytest.raises(ValidationException, match="only BasicAuthParameters"):
        Connection.from_request(
            {
                "Name": "c",
                "AuthorizationType": "BASIC",
                "AuthParameters": {
                    "BasicAuthParameters": {"Username": "u", "Password": "p"},
                    "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"},
                },
            }
        )


def test_header_value_pattern_is_linear_on_long_failing_values() -> None:
    started = time.monotonic()
    with pytest.raises(ValidationException, match="basicAuthParameters.username"):
        Connection.from_request(
            {
                "Name": "c",
                "AuthorizationType": "BASIC",
                "AuthParameters": {
                    "BasicAuthParameters": {"Username": "a " * 200 + "\x00", "Password": "p"}
                },
            }
        )
    assert time.monotonic() - started < 1.0


def test_linear_header_patterns_agree_with_the_model_regexes() -> None:
    alphabet = [" ", "\t", "a", ":", "\x00", "\x7f", "\n", "\u00e9"]
    for pattern in (_AUTH_HEADER, _HEADER_VALUE):
        model = re.compile(pattern.text)
        for n in range(6):
            for chars in itertools.product(alphabet, repeat=n):
                value = "".join(chars)
                assert pattern.matches(value) == (model.fullmatch(value) is not None), repr(value)


def test_describe_connection_hides_secrets() -> None:
    conn = basic_connection(
        InvocationHttpParameters={
            "HeaderParameters": [
                {"Key": "X-Secret", "Value": "hidden", "IsValueSecret": True},
                {"Key": "X-Plain", "Value": "shown"},
            ]
        }
    )
    described = conn.describe()
    text = repr(described) + repr(conn)
    assert "s3cret" not in text and "hidden" not in text
    assert described["ConnectionState"] == "AUTHORIZED"
    assert described["AuthorizationType"] == "BASIC"
    assert described["AuthParameters"] == {
        "BasicAuthParameters": {"Username": "alice"},
        "InvocationHttpParameters": {
            "HeaderParameters": [
                {"Key": "X-Secret", "IsValueSecret": True},
                {"Key": "X-Plain", "Value": "shown", "IsValueSecret": False},
            ]
        },
    }
    assert described["ConnectionArn"].startswith("arn:aws:events:us-east-1:")
    assert ":connection/basic/" in described["ConnectionArn"]
    assert described["SecretArn"].startswith("arn:aws:secretsmanager:")
    assert {"CreationTime", "LastModifiedTime", "LastAuthorizedTime"} <= described.keys()
    assert conn.create_response()["ConnectionState"] == "AUTHORIZED"


def test_oauth_connection_starts_authorizing(endpoint: Endpoint) -> None:
    conn = oauth_connection(endpoint)
    described = conn.describe()
    assert described["ConnectionState"] == "AUTHORIZING"
    oauth = described["AuthParameters"]["OAuthParameters"]
    assert oauth["ClientParameters"] == {"ClientID": "client-1"}
    assert oauth["HttpMethod"] == "POST"
    assert "shh" not in repr(described)


def test_api_destination_validation_and_describe() -> None:
    conn = basic_connection()
    with pytest.raises(ValidationException) as info:
        ApiDestination.from_request(
            {
                "Name": "d",
                "ConnectionArn": "not-an-arn",
                "InvocationEndpoint": "https://example.com/x",
                "HttpMethod": "TRACE",
                "InvocationRateLimitPerSecond": 0,
            }
        )
    assert info.value.message == (
        "3 validation errors detected: Value 'not-an-arn' at 'connectionArn' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        r"^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/"
        r"[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$; "
        "Value 'TRACE' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum "
        "value set: [POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE]; "
        "Value '0' at 'invocationRateLimitPerSecond' failed to satisfy constraint: Member must "
        "have value greater than or equal to 1"
    )
    with pytest.raises(ValidationException, match="less than or equal to 300"):
        destination(conn, "https://example.com/", rate=301)
    dest = destination(conn, "https://example.com/hook")
    described = dest.describe()
    assert described["InvocationRateLimitPerSecond"] == 300
    assert described["ApiDestinationState"] == "ACTIVE"
    assert described["ConnectionArn"] == conn.arn
    assert ":api-destination/dest/" in described["ApiDestinationArn"]


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8080/x", "http://127.0.0.1/x", "http://127.9.9.9:1/", "http://api.localhost/x"],
)
def test_http_is_accepted_on_loopback(url: str) -> None:
    assert destination(basic_connection(), url).invocation_endpoint == url


@pytest.mark.parametrize("url", ["http://example.com/x", "http://10.0.0.1/", "ftp://localhost/"])
def test_http_is_refused_elsewhere(url: str) -> None:
    with pytest.raises(ValidationException, match="InvocationEndpoint"):
        destination(basic_connection(), url)


# --------------------------------------------------------------------------
# Delivery and authorization
# --------------------------------------------------------------------------


def test_basic_auth_reaches_the_server(endpoint: Endpoint, invoker: HttpInvoker) -> None:
    conn = basic_connection()
    invoker.invoke(destination(conn, endpoint.url("/hook")), conn, b'{"id":"1"}')
    (seen,) = endpoint.at("/hook")
    assert seen.method == "POST"
    assert seen.headers["authorization"] == basic_header("alice", "s3cret-pw")
    assert seen.headers["content-type"] == "application/json; charset=utf-8"
    assert seen.headers["user-agent"] == "Amazon/EventBridge/ApiDestinations"
    assert seen.body == b'{"id":"1"}'


def test_api_key_header_reaches_the_server(endpoint: Endpoint, invoker: HttpInvoker) -> None:
    conn = api_key_connection()
    invoker.invoke(destination(conn, endpoint.url("/hook"), method="PUT"), conn, b"{}")
    (seen,) = endpoint.at("/hook")
    assert seen.method == "PUT"
    assert seen.headers["x-api-key"] == "k-123"
    assert "authorization" not in seen.headers


def test_oauth_token_is_fetched_once_and_cached(endpoint: Endpoint, invoker: HttpInvoker) -> None:
    endpoint.oauth()
    conn = oauth_connection(endpoint)
    dest = destination(conn, endpoint.url("/hook"))
    for _ in range(3):
        invoker.invoke(dest, conn, b"{}")
    (token_request,) = endpoint.at("/oauth/token")
    assert token_request.method == "POST"
    assert token_request.headers["authorization"] == basic_header("client-1", "shh")
    assert token_request.headers["x-tenant"] == "t1"
    assert token_request.query == {"realm": ["r1"]}
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "audience": ["api://x"],
    }
    assert [s.headers["authorization"] for s in endpoint.at("/hook")] == ["Bearer tok-1"] * 3
    assert conn.state == "AUTHORIZED" and conn.last_authorized_time is not None


def test_oauth_get_token_request_uses_the_query_string(
    endpoint: Endpoint, invoker: HttpInvoker
) -> None:
    endpoint.oauth()
    conn = oauth_connection(endpoint, method="GET")
    invoker.invoke(destination(conn, endpoint.url("/hook")), conn, b"{}")
    (token_request,) = endpoint.at("/oauth/token")
    assert token_request.method == "GET" and token_request.body == b""
    assert token_request.query == {
        "realm": ["r1"], "grant_type": ["client_credentials"], "audience": ["api://x"],
    }


def test_oauth_token_is_refreshed_before_it_expires(endpoint: Endpoint) -> None:
    endpoint.oauth(expires_in=3600)
    fake = FakeTime()
    conn = oauth_connection(endpoint)
    dest = destination(conn, endpoint.url("/hook"))
    with HttpInvoker(timeout=2.0, clock=fake.clock, sleep=fake.sleep) as invoker:
        invoker.invoke(dest, conn, b"{}")
        fake.now += 3000  # well within the token's life
        invoker.invoke(dest, conn, b"{}")
        fake.now += 545  # 3545 s: inside the 60 s refresh margin
        invoker.invoke(dest, conn, b"{}")
    assert endpoint.tokens_issued == 2
    assert [s.headers["authorization"] for s in endpoint.at("/hook")] == [
        "Bearer tok-1", "Bearer tok-1", "Bearer tok-2",
    ]


def test_oauth_token_is_refreshed_once_on_401(endpoint: Endpoint, invoker: HttpInvoker) -> None:
    endpoint.oauth()
    endpoint.script("/hook", Reply(401), Reply(200))
    conn = oauth_connection(endpoint)
    dest = destination(conn, endpoint.url("/hook"))
    invoker.invoke(dest, conn, b"{}")
    assert [s.headers["authorization"] for s in endpoint.at("/hook")] == [
        "Bearer tok-1", "Bearer tok-2",
    ]
    invoker.invoke(dest, conn, b"{}")  # the new token is cached
    assert endpoint.tokens_issued == 2


def test_oauth_persistent_401_is_retryable_after_one_refresh(
    endpoint: Endpoint, invoker: HttpInvoker
) -> None:
    endpoint.oauth()
    endpoint.script("/hook", Reply(401))
    conn = oauth_connection(endpoint)
    err = failure(lambda: invoker.invoke(destination(conn, endpoint.url("/hook")), conn, b"{}"))
    assert err.retryable and err.status == 401
    assert endpoint.tokens_issued == 2
    assert len(endpoint.at("/hook")) == 2


def test_oauth_token_endpoint_refusal_deauthorizes(
    endpoint: Endpoint, invoker: HttpInvoker
) -> None:
    endpoint.script("/oauth/token", Reply(400, b'{"error":"invalid_client"}'))
    conn = oauth_connection(endpoint)
    err = failure(lambda: invoker.invoke(destination(conn, endpoint.url("/hook")), conn, b"{}"))
    assert not err.retryable
    assert "OAuth access token" in err.message
    assert conn.state == "DEAUTHORIZED"
    assert endpoint.at("/hook") == []


def test_oauth_token_endpoint_5xx_is_retryable(endpoint: Endpoint, invoker: HttpInvoker) -> None:
    endpoint.script("/oauth/token", Reply(503))
    conn = oauth_connection(endpoint)
    err = failure(lambda: invoker.invoke(destination(conn, endpoint.url("/hook")), conn, b"{}"))
    assert err.retryable and err.status == 503


def test_path_query_header_and_body_parameters(endpoint: Endpoint, invoker: HttpInvoker) -> None:
    conn = basic_connection(
        InvocationHttpParameters={
            "HeaderParameters": [
                {"Key": "X-Both", "Value": "connection"},
                {"Key": "X-C", "Value": "c"},
            ],
            "QueryStringParameters": [
                {"Key": "shared", "Value": "conn"},
                {"Key": "c", "Value": "1"},
            ],
            "BodyParameters": [{"Key": "added", "Value": "yes"}],
        }
    )
    dest = destination(conn, endpoint.url("/orders/*/items/*?fixed=1"))
    invoker.invoke(
        dest,
        conn,
        b'{"detail":{"n":1}}',
        http_parameters={
            "PathParameterValues": ["o 1", "i2"],
            "HeaderParameters": {"X-Both": "target", "X-T": "t"},
            "QueryStringParameters": {"q": "a b", "shared": "target"},
        },
    )
    (seen,) = endpoint.at("/orders/o%201/items/i2")
    assert seen.query == {"fixed": ["1"], "q": ["a b"], "shared": ["conn"], "c": ["1"]}
    assert seen.headers["x-both"] == "connection"  # the connection's value wins
    assert seen.headers["x-t"] == "t" and seen.headers["x-c"] == "c"
    assert json.loads(seen.body) == {"detail": {"n": 1}, "added": "yes"}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_get_and_head_send_no_body(
    endpoint: Endpoint, invoker: HttpInvoker, method: str
) -> None:
    conn = basic_connection()
    invoker.invoke(destination(conn, endpoint.url("/hook"), method=method), conn, b'{"a":1}')
    (seen,) = endpoint.at("/hook")
    assert seen.method == method and seen.body == b""


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_success(endpoint: Endpoint, invoker: HttpInvoker, status: int) -> None:
    endpoint.script("/hook", Reply(status, b""))
    conn = basic_connection()
    invoker.invoke(destination(conn, endpoint.url("/hook")), conn, b"{}")


@pytest.mark.parametrize("status", [301, 302, 400, 403, 404, 405, 413, 422])
def test_non_retryable_statuses(endpoint: Endpoint, invoker: HttpInvoker, status: int) -> None:
    endpoint.script("/hook", Reply(status, headers={"Location": "/elsewhere"}))
    conn = basic_connection()
    err = failure(lambda: invoker.invoke(destination(conn, endpoint.url("/hook")), conn, b"{}"))
    assert not err.retryable
    assert err.status == status
    assert err.code == "SDK_CLIENT_ERROR"
    assert err.message == (
        "Unable to invoke ApiDestination endpoint: the API destination endpoint answered "
        f"HTTP status {status}."
    )
    assert endpoint.at("/elsewhere") == []  # redirects are not followed


@pytest.mark.parametrize("status", [401, 407, 409, 429, 500, 502, 503, 504])
def test_retryable_statuses(endpoint: Endpoint, invoker: HttpInvoker, status: int) -> None:
    endpoint.script("/hook", Reply(status))
    conn = api_key_connection()
    err = failure(lambda: invoker.invoke(destination(conn, endpoint.url("/hook")), conn, b"{}"))
    assert err.retryable and err.status == status
    assert err.code == ("THROTTLING" if status == 429 else "SDK_CLIENT_ERROR")
    assert len(endpoint.at("/hook")) == 1  # the invoker itself does not retry


def test_retry_after(endpoint: Endpoint, invoker: HttpInvoker) -> None:
    conn = basic_connection()
    dest = destination(conn, endpoint.url("/hook"))
    endpoint.script("/hook", Reply(429, headers={"Retry-After": "7"}))
    err = failure(lambda: invoker.invoke(dest, conn, b"{}"))
    assert err.retryable and err.retry_after == 7.0
    endpoint.script("/hook", Reply(503, headers={"Retry-After": "-1"}))
    err = failure(lambda: invoker.invoke(dest, conn, b"{}"))
    assert not err.retryable and err.retry_after == -1.0


def test_timeout_is_retryable(endpoint: Endpoint) -> None:
    endpoint.script("/slow", Reply(200, delay=1.0))
    conn = basic_connection()
    dest = destination(conn, endpoint.url("/slow"))
    with HttpInvoker(timeout=0.2) as invoker:
        started = time.monotonic()
        err = failure(lambda: invoker.invoke(dest, conn, b"{}"))
        elapsed = time.monotonic() - started
    assert err.retryable and err.status is None
    assert err.code == "UNKNOWN"
    assert err.message == (
        "Unable to invoke ApiDestination endpoint: Timeout calling endpoint for API "
        "Destination: socket closed."
    )
    assert 0.15 < elapsed < 0.9


def test_connection_refused_is_retryable(invoker: HttpInvoker) -> None:
    conn = basic_connection()
    dest = destination(conn, f"http://127.0.0.1:{closed_port()}/hook")
    err = failure(lambda: invoker.invoke(dest, conn, b"{}"))
    assert err.retryable and err.status is None
    assert err.code == "SDK_CLIENT_ERROR"
    assert err.message == (
        "Unable to invoke ApiDestination endpoint: API destination endpoint cannot be reached."
    )


def test_destination_must_use_its_connection(endpoint: Endpoint, invoker: HttpInvoker) -> None:
    conn = basic_connection()
    dest = destination(api_key_connection(), endpoint.url("/hook"))
    with pytest.raises(ValueError, match="uses connection"):
        invoker.invoke(dest, conn, b"{}")


def test_status_classification_table() -> None:
    assert [s for s in range(100, 600) if is_retryable_status(s)] == [
        401, 407, 409, 429, *range(500, 600),
    ]


# --------------------------------------------------------------------------
# Rate limiting
# --------------------------------------------------------------------------


def test_rate_limiter_spacing_with_a_fake_clock() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, clock=fake.clock, sleep=fake.sleep)
    waits = [limiter.acquire() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.1, 0.1, 0.1])
    assert fake.now == pytest.approx(1000.4)
    fake.now += 5  # idle time refills only up to the burst
    assert limiter.try_acquire() and not limiter.try_acquire()


def test_rate_limiter_reservations_queue_and_burst() -> None:
    fake = FakeTime()
    limiter = RateLimiter(4, burst=2, clock=fake.clock, sleep=fake.sleep)
    assert [limiter.reserve() for _ in range(4)] == pytest.approx([0.0, 0.0, 0.25, 0.5])
    limiter.set_rate(1)
    assert limiter.reserve() == pytest.approx(3.0)


def test_invoker_rate_limits_per_destination_with_a_fake_clock(
    endpoint: Endpoint,
) -> None:
    fake = FakeTime()
    conn = basic_connection()
    slow = destination(conn, endpoint.url("/slow"), rate=2)
    with HttpInvoker(timeout=2.0, clock=fake.clock, sleep=fake.sleep) as invoker:
        for _ in range(4):
            invoker.invoke(slow, conn, b"{}")
        assert fake.slept == pytest.approx([0.5, 0.5, 0.5])
        other = destination(conn, endpoint.url("/other"), rate=2)
        invoker.invoke(other, conn, b"{}")  # its own bucket: no wait
        assert len(fake.slept) == 3
    assert len(endpoint.at("/slow")) == 4


def test_invoker_rate_limit_real_time(endpoint: Endpoint, invoker: HttpInvoker) -> None:
    conn = basic_connection()
    dest = destination(conn, endpoint.url("/hook"), rate=50)
    started = time.monotonic()
    threads = [
        threading.Thread(target=invoker.invoke, args=(dest, conn, b"{}")) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for _ in range(16):
        invoker.invoke(dest, conn, b"{}")
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert len(endpoint.at("/hook")) == 20
    assert elapsed >= 0.35  # 19 gaps of 20 ms

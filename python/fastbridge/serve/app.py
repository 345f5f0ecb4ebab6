"""EventBridge's wire protocol (AWS JSON 1.1) as a WSGI application.

Every request is ``POST /`` with ``X-Amz-Target: AWSEvents.<Operation>``,
``Content-Type: application/x-amz-json-1.1`` and a JSON object of the
operation's parameters; the answer is the operation's response as JSON, or an
error as AWS shapes it: HTTP 4xx/5xx and ``{"__type": code, "message": text}``
(botocore reads both). The operation runs on an in-process
:class:`~fastbridge.bus.EventBridge`, so the wire protocol is a thin layer:
check the size, the signature, the client's concurrency and the JSON, call the
method of the same name, serialise timestamps as epoch seconds.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastbridge.bus import BusError, EventBridge
from fastbridge.serve.sigv4 import SignatureError, Verifier

log = logging.getLogger("fastbridge.serve")

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "AWSEvents."

# The operations of EventBridge's API that the bus implements.
OPERATIONS = (
    "CancelReplay", "CreateApiDestination", "CreateArchive", "CreateConnection",
    "CreateEventBus", "DeleteApiDestination", "DeleteArchive", "DeleteConnection",
    "DeleteEventBus", "DeleteRule", "DescribeApiDestination", "DescribeArchive",
    "DescribeConnection", "DescribeEventBus", "DescribeReplay", "DescribeRule", "DisableRule",
    "EnableRule", "ListApiDestinations", "ListArchives", "ListConnections", "ListEventBuses",
    "ListReplays", "ListRuleNamesByTarget", "ListRules", "ListTagsForResource",
    "ListTargetsByRule", "PutEvents", "PutPermission", "PutRule", "PutTargets",
    "RemovePermission", "RemoveTargets", "StartReplay", "TagResource", "TestEventPattern",
    "UntagResource", "UpdateArchive",
)  # fmt: skip

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

_STATUS = {200: "200 OK", 400: "400 Bad Request", 403: "403 Forbidden", 404: "404 Not Found",
           405: "405 Method Not Allowed", 413: "413 Payload Too Large",
           500: "500 Internal Server Error"}  # fmt: skip


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Limits:
    """What one request, and one client, may ask of the server."""

    max_body_bytes: int = 1 << 20
    """Larger request bodies get 413 without being read."""
    per_client_concurrency: int = 16
    """Requests of one client (access key, or address without auth) in
    progress at once; one more gets ThrottlingException."""


class _Reply(Exception):
    """An error answer, raised anywhere in request handling."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class EventsApp:
    """The WSGI application. ``verifier=None`` turns signature checks off."""

    def __init__(self, bus: EventBridge, verifier: Verifier | None,
                 limits: Limits | None = None) -> None:  # fmt: skip
        self.bus, self.verifier, self.limits = bus, verifier, limits or Limits()
        self._methods: dict[str, tuple[Callable[..., Any], frozenset[str], tuple[str, ...]]] = {}
        self._types: dict[str, dict[str, str]] = {}
        for op in OPERATIONS:
            method = getattr(bus, _snake(op))
            params = inspect.signature(method).parameters.values()
            kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            named = [p for p in params if p.kind in kinds]
            takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
            accepted = frozenset() if takes_any else frozenset(p.name for p in named)
            required = tuple(p.name for p in named if p.default is inspect.Parameter.empty)
            self._methods[op] = (method, accepted, required)
            # The annotations (text) of the parameters: what JSON types they take.
            self._types[op] = {p.name: str(p.annotation) for p in named}
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        try:
            status, body = 200, self._handle(environ)
        except _Reply as e:
            status, body = e.status, {"__type": e.code, "message": e.message}
        except Exception:  # never let a bug take the server down
            log.exception("fastbridge serve: request %s failed", request_id)
            status, body = 500, {"__type": "InternalException",
                                 "message": "An internal error occurred."}  # fmt: skip
        data = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
        headers = [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(data))),
                   ("x-amzn-RequestId", request_id)]  # fmt: skip
        if status != 200:
            headers.append(("x-amzn-ErrorType", str(body["__type"])))
        start_response(_STATUS.get(status, f"{status} Error"), headers)
        return [data]

    def _handle(self, environ: dict[str, Any]) -> Any:
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "") or "/"
        if method == "GET" and path == "/health":
            return {"status": "ok"}
        if method != "POST":
            raise _Reply(
                405,
                "MethodNotAllowedException",
                f"{method} is not supported; EventBridge's API is POST /.",
            )
        body = self._read_body(environ)
        headers = _headers(environ)
        client = str(environ.get("REMOTE_ADDR", ""))
        if self.verifier is not None:
            try:
                client = self.verifier.verify(
                    method,
                    environ.get("RAW_URI", path).split("?")[0],
                    environ.get("QUERY_STRING", ""),
                    headers,
                    body,
                )
            except SignatureError as e:
                raise _Reply(e.status, e.code, e.message) from None
        with self._slot(client):
            return self._dispatch(headers, body)

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _Reply(400, "SerializationException", "Content-Length is not a number.") from None
        limit = self.limits.max_body_bytes
        if length > limit:
            raise _Reply(
                413,
                "RequestEntityTooLargeException",
                f"Request body of {length} bytes exceeds the limit of {limit} bytes.",
            )
        data: bytes = environ["wsgi.input"].read(length) if length else b""
        return data

    def _slot(self, client: str) -> _Slot:
        return _Slot(self, client)

    def _dispatch(self, headers: list[tuple[str, str]], body: bytes) -> Any:
        target = _header(headers, "x-amz-target")
        if target is None or not target.startswith(TARGET_PREFIX):
            raise _Reply(
                400,
                "UnknownOperationException",
                "Missing or unknown X-Amz-Target; expected AWSEvents.<Operation>.",
            )
        op = target[len(TARGET_PREFIX) :]
        entry = self._methods.get(op)
        if entry is None:
            raise _Reply(
                400,
                "UnknownOperationException",
                f"The operation {op} is not supported by this server.",
            )
        try:
            params = json.loads(body or b"{}", parse_constant=_not_json)
        except (ValueError, RecursionError):
            raise _Reply(
                400, "SerializationException", "The request body is not valid JSON."
            ) from None
        try:
            json.dumps(params, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise _Reply(
                400,
                "SerializationException",
                "The request body holds a lone surrogate escape (\\ud800-\\udfff), "
                "which is not text.",
            ) from None
        except RecursionError:
            raise _Reply(400, "SerializationException", "The body nests too deep.") from None
        if not isinstance(params, dict):
            raise _Reply(400, "SerializationException", "The request body must be a JSON object.")
        method, accepted, required = entry
        if accepted:  # AWS ignores members it does not know
            params = {k: v for k, v in params.items() if k in accepted}
        params = {k: v for k, v in params.items() if v is not None}  # null: an absent member
        types = self._types[op]
        for name, value in params.items():
            expected = _type_problem(types.get(name), value)
            if expected is not None:
                raise _Reply(
                    400,
                    "SerializationException",
                    f"Parameter {name} must be {expected}, not {_json_kind(value)}.",
                )
        missing = [name for name in required if params.get(name) is None]
        if missing:
            problems = [
                f"Value null at '{name[0].lower()}{name[1:]}' failed to satisfy "
                "constraint: Member must not be null"
                for name in missing
            ]
            n = len(problems)
            raise _Reply(
                400,
                "ValidationException",
                f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(problems),
            )
        try:
            return method(**params)
        except BusError as e:
            raise _Reply(e.status, e.code, e.message) from None


class _Slot:
    """One request of a client in progress (a bounded count per client)."""

    def __init__(self, app: EventsApp, client: str) -> None:
        self.app, self.client = app, client

    def __enter__(self) -> None:
        app = self.app
        with app._lock:
            n = app._in_flight.get(self.client, 0)
            if n >= app.limits.per_client_concurrency:
                raise _Reply(400, "ThrottlingException", "Rate exceeded")
            app._in_flight[self.client] = n + 1

    def __exit__(self, *exc: object) -> None:
        app = self.app
        with app._lock:
            n = app._in_flight[self.client] - 1
            if n:
                app._in_flight[self.client] = n
            else:
                del app._in_flight[self.client]


def _headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out.append((key[5:].replace("_", "-").lower(), str(value)))
    if environ.get("CONTENT_TYPE"):
        out.append(("content-type", str(environ["CONTENT_TYPE"])))
    if environ.get("CONTENT_LENGTH"):
        out.append(("content-length", str(environ["CONTENT_LENGTH"])))
    return out


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _type_problem(annotation: str | None, value: Any) -> str | None:
    """The JSON type a parameter annotated ``annotation`` (on the bus method) must have,
    when ``value`` is not of it; None when it is (or the annotation says nothing)."""
    kind = (annotation or "Any").replace(" | None", "")
    if kind == "str":
        return None if isinstance(value, str) else "a string"
    if kind == "int":  # the model's Integer: 32 bits
        ok = isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31
        return None if ok else "an integer"
    if kind == "bool":
        return None if isinstance(value, bool) else "a boolean"
    if kind.startswith("Sequence[") and kind.endswith("]"):
        inner = kind[len("Sequence[") : -1]
        if not isinstance(value, list):
            return "a list"
        for item in value:
            problem = _type_problem(inner, item)
            if problem is not None:  # "a string" -> "a list of strings"
                noun, _, rest = problem.partition(" ")[2].partition(" ")
                return f"a list of {noun}s {rest}".rstrip()
        return None
    if kind.startswith("Mapping["):
        if not isinstance(value, dict):
            return "an object"
        if kind.endswith(", str]") and not all(isinstance(v, str) for v in value.values()):
            return "an object of strings"
    return None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int) and not -(2**31) <= value < 2**31:
        return "a number out of the 32-bit range"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")

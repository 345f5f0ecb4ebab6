"""Delivery, the part every backend shares: invoking the targets that live in
this process, and deciding what a failed attempt leads to.

* :class:`RetryPolicy` is a target's ``RetryPolicy`` with AWS's defaults
  (185 retries, 86,400 seconds). After a failed attempt, :meth:`~RetryPolicy.next`
  says either "retry after this delay" — exponential backoff with jitter,
  clipped to the event's remaining age — or "give up", with the exhausted
  condition (none when the error is not retryable).
* :func:`dead_letter_attributes` are the message attributes AWS puts on a
  dead-lettered event.
* :class:`LocalTargets` invokes Python functions (sync or async), appends to
  log files and calls HTTP API destinations; each failure is a
  :class:`~fastbridge.bus.http.DeliveryError` saying whether it is retryable.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastbridge.bus.events import loads
from fastbridge.bus.http import ApiDestination, Connection, DeliveryError, HttpInvoker
from fastbridge.bus.names import parse_target_arn

DEFAULT_MAX_RETRIES = 185
DEFAULT_MAX_AGE = 86_400


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    max_age: float = DEFAULT_MAX_AGE
    base: float = 1.0
    cap: float = 300.0

    @classmethod
    def of(cls, target: Mapping[str, Any], base: float = 1.0, cap: float = 300.0) -> RetryPolicy:
        policy = target.get("RetryPolicy") or {}
        return cls(policy.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES),
                   policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE), base, cap)  # fmt: skip

    def expired(self, accepted: float, now: float) -> bool:
        return now - accepted > self.max_age

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1, 2, ...): base·2^(n-1),
        at most ``cap``, scaled by a random factor in [0.5, 1]."""
        delay = min(self.cap, self.base * 2.0 ** min(retry - 1, 30))
        return float(delay * random.uniform(0.5, 1.0))

    def next(self, err: DeliveryError, retries: int, accepted: float,
             now: float) -> tuple[float | None, str | None]:  # fmt: skip
        """After a failed attempt (``retries`` made before it): ``(delay,
        None)`` to retry after ``delay`` seconds, or ``(None, condition)`` to
        give up — condition ``MaximumRetryAttempts`` or
        ``MaximumEventAgeInSeconds``, or None for an error not worth retrying."""
        if not err.retryable:
            return None, None
        if retries >= self.max_retries:
            return None, "MaximumRetryAttempts"
        remaining = accepted + self.max_age - now
        if remaining <= 0:
            return None, "MaximumEventAgeInSeconds"
        return min(self.backoff(retries + 1), remaining), None


def expired_error() -> DeliveryError:
    return DeliveryError("EVENT_EXPIRED", "The event exceeded MaximumEventAgeInSeconds.",
                         retryable=False)  # fmt: skip


def dead_letter_attributes(rule_arn: str, target_arn: str, err: DeliveryError, retries: int,
                           exhausted: str | None) -> dict[str, str]:  # fmt: skip
    """The attributes AWS gives a dead-lettered event."""
    attributes = {"RULE_ARN": rule_arn, "TARGET_ARN": target_arn, "ERROR_CODE": err.code,
                  "ERROR_MESSAGE": err.message, "RETRY_ATTEMPTS": str(retries)}  # fmt: skip
    if exhausted is not None:
        attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
    return attributes


def dead_letter_queue(target: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The target's dead-letter ARN, and the name of the queue it names (None
    when it names no queue)."""
    arn = (target.get("DeadLetterConfig") or {}).get("Arn")
    ref = parse_target_arn(arn) if arn else None
    return arn, (ref.name if ref is not None and ref.kind == "queue" else None)


def log_file(group: str) -> str:
    """The file of a log group under the log folder: a leading ``/`` is
    dropped and the others become ``_`` (``/aws/events/x`` → ``aws_events_x.jsonl``)."""
    return group.lstrip("/").replace("/", "_") + ".jsonl"


class LocalTargets:
    """The targets that live in this process."""

    def __init__(self, log_dir: Path, http_timeout: float = 5.0) -> None:
        self.log_dir = log_dir
        self.functions: dict[str, Callable[..., Any]] = {}
        self.http = HttpInvoker(timeout=http_timeout)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None

    def function(self, name: str, body: bytes) -> None:
        """Call a registered function with the body parsed from JSON (or as
        text). A name not registered (yet) is retryable: the registry is this
        process's, and is filled again after a restart."""
        fn = self.functions.get(name)
        if fn is None:
            raise DeliveryError("RESOURCE_NOT_FOUND",
                                f"Function {name} is not registered in this process.",
                                retryable=True)  # fmt: skip
        try:
            arg = loads(body)
        except ValueError:
            arg = body.decode()
        try:
            if inspect.iscoroutinefunction(fn):
                asyncio.run_coroutine_threadsafe(fn(arg), self._event_loop()).result()
            else:
                result = fn(arg)
                if inspect.isawaitable(result):
                    asyncio.run_coroutine_threadsafe(_await(result), self._event_loop()).result()
        except Exception as e:
            raise DeliveryError("FUNCTION_ERROR", f"{type(e).__name__}: {e}", retryable=True) from e

    def log(self, group: str, body: bytes) -> None:
        """Append the body as one line to the log group's file, synced."""
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with open(self.log_dir / log_file(group), "ab") as f:
                f.write(body.rstrip(b"\n") + b"\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise DeliveryError("LOG_WRITE_FAILED", str(e), retryable=True) from e

    def api(self, dest: ApiDestination, conn: Connection, body: bytes,
            http_parameters: Mapping[str, Any] | None) -> None:  # fmt: skip
        self.http.invoke(dest, conn, body, http_parameters=http_parameters)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="fastbridge-async",
                                          daemon=True)  # fmt: skip
                thread.start()
                self._loop, self._loop_thread = loop, thread
            return self._loop

    def close(self, timeout: float = 10.0) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join(timeout)
            self._loop = None


async def _await(awaitable: Any) -> Any:
    return await awaitable

"""Names, ARNs and times as EventBridge spells them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fastbridge.bus.errors import ValidationException

DEFAULT_BUS = "default"

_NAME = re.compile(r"[.\-_A-Za-z0-9]+")
_BUS_NAME = re.compile(r"[/.\-_A-Za-z0-9]+")


@dataclass(frozen=True)
class Arns:
    """Builds and reads the ARNs of one account in one region."""

    account: str
    region: str
    partition: str = "aws"

    def _prefix(self, service: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:"

    def bus(self, name: str) -> str:
        return self._prefix("events") + f"event-bus/{name}"

    def rule(self, bus: str, name: str) -> str:
        if bus == DEFAULT_BUS:
            return self._prefix("events") + f"rule/{name}"
        return self._prefix("events") + f"rule/{bus}/{name}"

    def archive(self, name: str) -> str:
        return self._prefix("events") + f"archive/{name}"

    def replay(self, name: str) -> str:
        return self._prefix("events") + f"replay/{name}"

    def connection(self, name: str) -> str:
        return self._prefix("events") + f"connection/{name}"

    def api_destination(self, name: str) -> str:
        return self._prefix("events") + f"api-destination/{name}"

    def queue(self, name: str) -> str:
        return self._prefix("sqs") + name

    def function(self, name: str) -> str:
        return self._prefix("lambda") + f"function:{name}"

    def log_group(self, name: str) -> str:
        return self._prefix("logs") + f"log-group:{name}"

    def bus_name(self, name_or_arn: str | None) -> str:
        """EventBusName parameters take a name or an ARN."""
        if not name_or_arn:
            return DEFAULT_BUS
        if not isinstance(name_or_arn, str):
            raise ValidationException(f"Parameter EventBusName is not valid: {name_or_arn!r}")
        if name_or_arn.startswith("arn:"):
            _, _, resource = name_or_arn.partition(":event-bus/")
            if not resource:
                raise ValidationException(f"Parameter EventBusName is not valid: {name_or_arn}")
            return resource
        return name_or_arn


@dataclass(frozen=True)
class Target:
    """What a target ARN names: (kind, name)."""

    kind: str  # "function" | "queue" | "bus" | "api-destination" | "log"
    name: str


def parse_target_arn(arn: str) -> Target | None:
    """The local equivalent of an AWS target ARN, or None if we have none."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    service, resource = parts[2], parts[5]
    if service == "lambda" and resource.startswith("function:"):
        name = resource[len("function:") :].split(":", 1)[0]
        return Target("function", name) if name else None
    if service == "sqs" and resource:
        return Target("queue", resource)
    if service == "events" and resource.startswith("event-bus/"):
        return Target("bus", resource[len("event-bus/") :])
    if service == "events" and resource.startswith("api-destination/"):
        return Target("api-destination", resource[len("api-destination/") :].split("/", 1)[0])
    if service == "logs" and resource.startswith("log-group:"):
        name = resource[len("log-group:") :]
        name = name[:-2] if name.endswith(":*") else name
        return Target("log", name) if name else None
    return None


def check_name(value: Any, field: str, *, bus: bool = False, limit: int = 64) -> str:
    """AWS's constraint check on a resource name, with AWS's message."""
    if not isinstance(value, str):
        raise ValidationException(f"Parameter {field} is not valid.")
    pattern = _BUS_NAME if bus else _NAME
    problems = []
    if not pattern.fullmatch(value):
        problems.append(
            f"Value '{value}' at '{field[0].lower()}{field[1:]}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern.pattern}"
        )
    if not 1 <= len(value) <= limit:
        problems.append(
            f"Value '{value}' at '{field[0].lower()}{field[1:]}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {limit}"
        )
    if problems:
        n = len(problems)
        raise ValidationException(
            f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(problems)
        )
    return value


def event_time(t: datetime) -> str:
    """An event's ``time``: ``YYYY-MM-DDThh:mm:ssZ``, UTC, whole seconds."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, field: str) -> datetime:
    """A time parameter: a datetime, epoch seconds, or an RFC 3339 / ISO 8601 string."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:  # NaN, infinities and seconds past year 9999 have no datetime
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            pass
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            t = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
        try:
            return datetime.fromtimestamp(float(value), timezone.utc)
        except (OverflowError, OSError, ValueError):
            pass
    raise ValidationException(
        f"Parameter {field} is not valid. Reason: {value!r} is not an RFC 3339 timestamp."
    )

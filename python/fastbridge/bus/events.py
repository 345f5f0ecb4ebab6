"""PutEvents, up to the envelope: what every bus backend does with a
request before it routes anything.

:func:`envelopes_of` checks the request as AWS does (1-10 entries, 256 KB in
all counted AWS's way), then each entry (Source, DetailType and Detail
required; Detail a JSON object; Time; Resources; ``aws.`` sources are
AWS's own), and builds the envelope of each valid one (``version, id,
detail-type, source, account, time, region, resources, detail``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from fastbridge.bus.errors import ValidationException
from fastbridge.bus.names import Arns, event_time, parse_time

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024


def compact(value: Any) -> bytes:
    """Compact JSON, key order kept (orjson; json for integers beyond 64 bits)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    """A JSON number with a fraction or exponent; ``1e400`` overflows a double, which
    orjson refuses and json would turn into ``inf`` (delivered as ``Infinity``)."""
    value = float(text)
    if abs(value) == float("inf"):
        raise ValueError(f"{text} is out of the range of a double")
    return value


def loads(text: str | bytes) -> Any:
    """Parse JSON text (orjson; json for integers beyond 64 bits). NaN and
    Infinity are not JSON and raise ValueError, as any malformed text does."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
        except RecursionError:
            raise ValueError("the JSON text nests too deep") from None
    try:  # json lets a lone surrogate escape through ("\ud800"); it is not UTF-8
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate escape") from None
    return value


class EntryError(Exception):
    """Why one entry of a PutEvents request is refused (its ErrorCode)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def envelopes_of(
    entries: Sequence[Mapping[str, Any]], now: datetime, arns: Arns
) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """The PutEvents result entries (EventId, or ErrorCode and ErrorMessage)
    and the (bus name, envelope) of each accepted entry. A request AWS
    rejects as a whole raises ValidationException."""
    entries = list(entries)
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise ValidationException(
            f"1 validation error detected: Value '[{', '.join(map(java_entry, entries))}]' "
            "at 'entries' failed to satisfy constraint: Member must have length "
            + ("less than or equal to 10" if entries else "greater than or equal to 1")
        )
    if sum(entry_size(e) for e in entries) > MAX_REQUEST_BYTES:
        raise ValidationException("Total size of the entries in the request is over the limit.")
    now_text = event_time(now)
    results: list[dict[str, Any]] = []
    envelopes: list[tuple[str, dict[str, Any]]] = []
    for entry in entries:
        try:
            bus, envelope = _envelope(entry, now, now_text, arns)
        except EntryError as e:
            results.append({"ErrorCode": e.code, "ErrorMessage": e.message})
            continue
        envelopes.append((bus, envelope))
        results.append({"EventId": envelope["id"]})
    return results, envelopes


def _envelope(
    entry: Mapping[str, Any], now: datetime, now_text: str, arns: Arns
) -> tuple[str, dict[str, Any]]:
    source, detail_type, detail = entry.get("Source"), entry.get("DetailType"), entry.get("Detail")
    for name, value in (("Source", source), ("DetailType", detail_type), ("Detail", detail)):
        if not value:
            raise EntryError(
                "InvalidArgument",
                f"Parameter {name} is not valid. Reason: {name} is a required argument.",
            )
    if not isinstance(source, str) or not isinstance(detail_type, str):
        raise EntryError("InvalidArgument", "Source and DetailType must be strings.")
    if source.lower().startswith("aws."):
        raise EntryError("NotAuthorizedForSourceException", "Not authorized for the source.")
    try:
        parsed = loads(detail) if isinstance(detail, str) else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise EntryError("MalformedDetail", "Detail is malformed.")
    time = now
    if entry.get("Time") is not None:
        try:
            time = parse_time(entry["Time"], "Time")
        except ValidationException as e:
            raise EntryError("InvalidArgument", e.message) from None
    resources = entry.get("Resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise EntryError(
            "InvalidArgument",
            "Parameter Resources is not valid. Reason: Resources must be a list of strings.",
        )
    try:
        bus = arns.bus_name(entry.get("EventBusName"))
    except ValidationException as e:
        raise EntryError("InvalidArgument", e.message) from None
    return bus, {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": arns.account,
        "time": now_text if time is now else event_time(time),
        "region": arns.region,
        "resources": resources,
        "detail": parsed,
    }


def entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as AWS counts it: Time 14 bytes, and the UTF-8 bytes
    of Source, DetailType, Detail and each Resource."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        value = entry.get(key)
        if isinstance(value, str):
            size += len(value.encode())
    resources = entry.get("Resources")
    for resource in resources if isinstance(resources, list) else ():
        if isinstance(resource, str):
            size += len(resource.encode())
    return size


def java_entry(entry: Mapping[str, Any]) -> str:
    """An entry as the service's Java toString prints it in a validation message."""

    def show(value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, list):
            return "[" + ", ".join(map(str, value)) + "]"
        return str(value)

    fields = [
        ("time", entry.get("Time")),
        ("source", entry.get("Source")),
        ("resources", entry.get("Resources")),
        ("detailType", entry.get("DetailType")),
        ("detail", entry.get("Detail")),
        ("eventBusName", entry.get("EventBusName")),
        ("traceHeader", entry.get("TraceHeader")),
        ("kmsKeyIdentifier", None),
        ("internalMetadata", None),
    ]
    return "PutEventsRequestEntry(" + ", ".join(f"{k}={show(v)}" for k, v in fields) + ")"

"""The bus: EventBridge's ``events`` API, in process, durable by default.

:class:`EventBridge` takes the same method names, parameter names and
response shapes as boto3's ``events`` client, so code written for EventBridge
runs against it unchanged::

    bus = EventBridge("events.db")
    bus.put_rule(Name="big-orders", EventPattern='{"detail": {"total": [{"numeric": [">", 100]}]}}')
    bus.put_targets(Rule="big-orders", Targets=[{"Id": "1", "Arn": bus.function_arn("ship")}])
    bus.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": '{"total": 250}'}])

How an event travels:

1. ``put_events`` validates each entry as AWS does and builds the envelope;
2. each bus's compiled rules (one :class:`fastbridge.Machine` per bus) name
   the rules the envelope matches; for each enabled matching rule and each of
   its targets the body is rendered (Input / InputPath / InputTransformer);
3. every delivery owed, and every archive entry, is committed to the store in
   one transaction — only then does ``put_events`` return the EventIds;
4. dispatcher threads claim due deliveries, invoke the targets, and on a
   failure retry with exponential backoff and jitter inside the target's
   RetryPolicy, then move the event to its dead-letter queue with AWS's
   attributes. A delivery with no usable dead-letter queue is kept in the
   store's ``undeliverable`` table, counted and logged: never dropped.

Rules, targets, queues, archives and replays are documents in the store, so a
restarted bus resumes with everything it had, including pending deliveries.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import fastbridge
from fastbridge.bus import jackson, transform
from fastbridge.bus.delivery import (
    LocalTargets,
    RetryPolicy,
    dead_letter_attributes,
    dead_letter_queue,
    expired_error,
)
from fastbridge.bus.errors import (
    BusError,
    Exceptions,
    IllegalStatusException,
    InvalidEventPatternException,
    LimitExceededException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from fastbridge.bus.events import compact, envelopes_of, loads
from fastbridge.bus.http import ApiDestination, Connection, DeliveryError
from fastbridge.bus.metrics import Metrics
from fastbridge.bus.names import (
    DEFAULT_BUS,
    Arns,
    check_name,
    event_time,
    parse_target_arn,
    parse_time,
)
from fastbridge.bus.schedule import Clock, SystemClock, due_times, parse_schedule
from fastbridge.bus.store import Delivery, Message, NewDelivery, Storage, Store

log = logging.getLogger("fastbridge.bus")

F = TypeVar("F", bound=Callable[..., Any])

MAX_CONCURRENT_REPLAYS = 10
_ARCHIVE_RULE = "\x00archive:"  # prefix of archive rules inside a bus's machine

_FINAL_REPLAY_STATES = ("COMPLETED", "CANCELLED", "FAILED")


def _iso(t: float) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc)


@dataclass
class _BusState:
    """What routing needs of one bus: its compiled rules and their documents."""

    machine: fastbridge.Machine
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    archives: dict[str, dict[str, Any]] = field(default_factory=dict)


class EventBridge:
    """An event bus service in process, shaped like boto3's ``events`` client.

    ``path`` is the SQLite file (created if missing); ``None`` (or
    :meth:`memory`) keeps everything in memory. ``clock`` is injectable so
    tests drive schedules and retries without sleeping. With ``start=False``
    no dispatcher thread runs and :meth:`run_pending` delivers in the
    caller's thread. ``store`` replaces the SQLite store by another object
    with the same methods (the storage interface: see ``store.py``).
    """

    exceptions = Exceptions

    def __init__(
        self,
        path: str | os.PathLike[str] | None = "fastbridge.db",
        *,
        account: str = "000000000000",
        region: str = "us-east-1",
        clock: Clock | None = None,
        durability: str = "full",
        workers: int = 2,
        start: bool = True,
        retry_base: float = 1.0,
        retry_cap: float = 300.0,
        lease: float = 300.0,
        log_dir: str | os.PathLike[str] | None = None,
        http_timeout: float = 5.0,
        store: Storage | None = None,
    ) -> None:
        self.arns = Arns(account, region)
        self.account, self.region = account, region
        self.clock: Clock = clock or SystemClock()
        self.store: Storage = store if store is not None else Store(path, durability=durability)
        self.metrics = Metrics()
        self.retry_base, self.retry_cap, self.lease = retry_base, retry_cap, lease
        base = Path(path).parent if path is not None else Path.cwd()
        self.log_dir = Path(log_dir) if log_dir is not None else base / "fastbridge-logs"
        self.targets = LocalTargets(self.log_dir, http_timeout)
        self._lock = threading.RLock()
        self._scheduled: dict[str, dict[str, Any]] = {}  # rule key -> its document
        self._connections: dict[str, Connection] = {}
        self._destinations: dict[str, ApiDestination] = {}
        self._buses: dict[str, _BusState] = {}
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._load()
        if start:
            self.start(workers)

    @classmethod
    def memory(cls, **kwargs: Any) -> EventBridge:
        """A bus that keeps nothing on disk (the explicit in-memory option)."""
        return cls(None, **kwargs)

    # ---- life cycle ------------------------------------------------------------------

    def _load(self) -> None:
        if self.store.get("bus", DEFAULT_BUS) is None:
            now = self._now()
            self.store.put(
                "bus",
                DEFAULT_BUS,
                {"Name": DEFAULT_BUS, "CreationTime": now, "LastModifiedTime": now},
            )
        for name, _ in self.store.items("bus"):
            self._buses[name] = _BusState(fastbridge.Machine())
        for _key, doc in self.store.items("rule"):
            self._index_rule(doc)
        for _name, doc in self.store.items("archive"):
            self._index_archive(doc)

    def start(self, workers: int = 2) -> None:
        """Start the dispatcher: ``workers`` delivery threads and one ticker
        (schedules, replays, archive retention)."""
        if self._threads:
            return
        self._stopping.clear()
        for i in range(max(1, workers)):
            t = threading.Thread(target=self._work, name=f"fastbridge-dispatch-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._tick_loop, name="fastbridge-ticker", daemon=True)
        t.start()
        self._threads.append(t)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the dispatcher (deliveries in flight finish) and close the store.
        Pending deliveries stay in the store for the next start."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()
        self.targets.close(timeout)
        self.store.close()

    def __enter__(self) -> EventBridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # ---- event buses -----------------------------------------------------------------

    def _bus_doc(self, name: str) -> dict[str, Any]:
        doc = self.store.get("bus", name)
        if doc is None:
            raise ResourceNotFoundException(f"Event bus {name} does not exist.")
        return doc

    def _describe_bus(self, doc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"Name": doc["Name"], "Arn": self.arns.bus(doc["Name"])}
        if doc.get("Description"):
            out["Description"] = doc["Description"]
        if doc.get("Policy"):
            out["Policy"] = json.dumps(doc["Policy"])
        out["CreationTime"] = _iso(doc["CreationTime"])
        out["LastModifiedTime"] = _iso(doc["LastModifiedTime"])
        return out

    def create_event_bus(
        self,
        *,
        Name: str,
        Description: str | None = None,
        Tags: Sequence[Mapping[str, str]] = (),
        **_: Any,
    ) -> dict[str, Any]:
        check_name(Name, "Name", bus=True, limit=256)
        _check_tags(Tags)
        with self._lock:
            if self.store.get("bus", Name) is not None:
                raise ResourceAlreadyExistsException(f"Event bus {Name} already exists.")
            now = self._now()
            doc: dict[str, Any] = {"Name": Name, "CreationTime": now, "LastModifiedTime": now}
            if Description is not None:
                doc["Description"] = Description
            self.store.put("bus", Name, doc)
            self._buses[Name] = _BusState(fastbridge.Machine())
            self._set_tags(self.arns.bus(Name), Tags)
        out = {"EventBusArn": self.arns.bus(Name)}
        if Description is not None:
            out["Description"] = Description
        return out

    def delete_event_bus(self, *, Name: str) -> dict[str, Any]:
        if Name == DEFAULT_BUS:
            raise ValidationException("Cannot delete event bus default.")
        with self._lock:
            for key, doc in self.store.items("rule"):
                if doc["EventBusName"] == Name:
                    self.store.delete("rule", key)
            self.store.delete("bus", Name)
            self._buses.pop(Name, None)
        return {}

    def describe_event_bus(self, *, Name: str | None = None) -> dict[str, Any]:
        return self._describe_bus(self._bus_doc(self.arns.bus_name(Name)))

    def list_event_buses(
        self, *, NamePrefix: str = "", NextToken: str | None = None, Limit: int | None = None
    ) -> dict[str, Any]:
        docs = [d for n, d in self.store.items("bus") if n.startswith(NamePrefix)]
        page, token = _page(docs, NextToken, Limit)
        out: dict[str, Any] = {"EventBuses": [self._describe_bus(d) for d in page]}
        if token:
            out["NextToken"] = token
        return out

    # ---- permissions (the bus's resource policy) ---------------------------------------

    def put_permission(
        self,
        *,
        EventBusName: str | None = None,
        Action: str | None = None,
        Principal: str | None = None,
        StatementId: str | None = None,
        Condition: Mapping[str, str] | None = None,
        Policy: str | None = None,
    ) -> dict[str, Any]:
        """Add (or replace, by StatementId) a statement of the bus's resource
        policy, or with ``Policy`` replace the whole policy. The policy is
        recorded and described; this bus does not authorise callers by it."""
        name = self.arns.bus_name(EventBusName)
        if Policy is not None:
            try:
                policy = json.loads(Policy)
            except ValueError:
                policy = None
            if not isinstance(policy, dict):
                raise ValidationException("Parameter Policy is not valid.")
        elif Action is None or Principal is None or StatementId is None:
            raise ValidationException(
                "One of Policy or (Action, Principal and StatementId) must be provided."
            )
        if Action is not None and Action != "events:PutEvents":
            raise ValidationException("Provided value in parameter 'action' is not supported.")
        with self._lock:
            doc = self._bus_doc(name)
            if Policy is None:
                assert Principal is not None and StatementId is not None
                statement: dict[str, Any] = {
                    "Sid": StatementId,
                    "Effect": "Allow",
                    "Principal": (
                        "*" if Principal == "*" else {"AWS": f"arn:aws:iam::{Principal}:root"}
                    ),
                    "Action": Action,
                    "Resource": self.arns.bus(name),
                }
                if Condition:
                    statement["Condition"] = {
                        "StringEquals": {Condition.get("Key", ""): Condition.get("Value", "")}
                    }
                current = doc.get("Policy") or {"Version": "2012-10-17", "Statement": []}
                statements = list(current.get("Statement", []))
                for i, old in enumerate(statements):
                    if old.get("Sid") == StatementId:  # the same id again: replaced in place
                        statements[i] = statement
                        break
                else:
                    statements.append(statement)
                policy = {**current, "Statement": statements}
            doc["Policy"] = policy
            doc["LastModifiedTime"] = self._now()
            self.store.put("bus", name, doc)
        return {}

    def remove_permission(
        self,
        *,
        EventBusName: str | None = None,
        StatementId: str | None = None,
        RemoveAllPermissions: bool = False,
    ) -> dict[str, Any]:
        """Remove one statement of the bus's resource policy, or all of it."""
        name = self.arns.bus_name(EventBusName)
        with self._lock:
            doc = self._bus_doc(name)
            policy = doc.get("Policy") or {}
            if RemoveAllPermissions:
                doc.pop("Policy", None)
            else:
                statements = policy.get("Statement", [])
                kept = [s for s in statements if s.get("Sid") != StatementId]
                if StatementId is None or len(kept) == len(statements):
                    raise ResourceNotFoundException(
                        "Statement with the provided id does not exist."
                    )
                if kept:
                    doc["Policy"] = {**policy, "Statement": kept}
                else:
                    doc.pop("Policy", None)
            doc["LastModifiedTime"] = self._now()
            self.store.put("bus", name, doc)
        return {}

    # ---- rules -----------------------------------------------------------------------

    @staticmethod
    def _rule_key(bus: str, name: str) -> str:
        return f"{bus}/{name}"

    def _rule_doc(self, bus: str, name: str) -> dict[str, Any]:
        doc = self.store.get("rule", self._rule_key(bus, name))
        if doc is None:
            raise ResourceNotFoundException(f"Rule {name} does not exist on EventBus {bus}.")
        return doc

    def _index_rule(self, doc: dict[str, Any]) -> None:
        """Bring a bus's compiled rules in line with a rule document."""
        state = self._buses.get(doc["EventBusName"])
        if state is None:
            return
        name = doc["Name"]
        if name in state.machine:
            state.machine.delete_rule(name)
        if doc.get("EventPattern") and doc["State"] != "DISABLED":
            state.machine.add_rule(name, doc["EventPattern"])
        state.rules[name] = doc  # readers (routing) hold self._lock too
        key = self._rule_key(doc["EventBusName"], name)
        if doc.get("ScheduleExpression"):
            self._scheduled[key] = doc
        else:
            self._scheduled.pop(key, None)

    def _unindex_rule(self, bus: str, name: str) -> None:
        state = self._buses.get(bus)
        if state is None:
            return
        if name in state.machine:
            state.machine.delete_rule(name)
        state.rules.pop(name, None)
        self._scheduled.pop(self._rule_key(bus, name), None)

    def put_rule(
        self,
        *,
        Name: str,
        EventPattern: str | None = None,
        ScheduleExpression: str | None = None,
        State: str = "ENABLED",
        Description: str | None = None,
        RoleArn: str | None = None,
        Tags: Sequence[Mapping[str, str]] = (),
        EventBusName: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        check_name(Name, "Name")
        _check_tags(Tags)
        bus = self.arns.bus_name(EventBusName)
        if EventPattern is None and ScheduleExpression is None:
            raise ValidationException(
                "Parameter(s) EventPattern or ScheduleExpression must be specified."
            )
        if State not in ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"):
            raise ValidationException(
                f"1 validation error detected: Value '{State}' at 'state' failed to satisfy "
                "constraint: Member must satisfy enum value set: [ENABLED, DISABLED, "
                "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
            )
        if EventPattern is not None:
            pattern_error(EventPattern)
        if ScheduleExpression is not None:
            if bus != DEFAULT_BUS:
                raise ValidationException(
                    "ScheduleExpression is supported only on the default event bus."
                )
            parse_schedule(ScheduleExpression)
        with self._lock:
            self._bus_doc(bus)
            key = self._rule_key(bus, Name)
            old = self.store.get("rule", key) or {}
            doc: dict[str, Any] = {
                "Name": Name,
                "Arn": self.arns.rule(bus, Name),
                "EventBusName": bus,
                "State": State,
                "CreatedBy": self.account,
                "Targets": old.get("Targets", []),
            }
            for k, v in (
                ("EventPattern", EventPattern),
                ("ScheduleExpression", ScheduleExpression),
                ("Description", Description),
                ("RoleArn", RoleArn),
            ):
                if v is not None:
                    doc[k] = v
            if ScheduleExpression is not None:
                same = old.get("ScheduleExpression") == ScheduleExpression
                doc["ScheduleFrom"] = old["ScheduleFrom"] if same else self._now()
            self.store.put("rule", key, doc)
            self._index_rule(doc)
            self._set_tags(doc["Arn"], Tags)
        return {"RuleArn": doc["Arn"]}

    @staticmethod
    def _describe_rule(doc: dict[str, Any], *, created_by: bool) -> dict[str, Any]:
        keys = [
            "Name",
            "Arn",
            "EventPattern",
            "ScheduleExpression",
            "State",
            "Description",
            "RoleArn",
            "ManagedBy",
            "EventBusName",
        ]
        out = {k: doc[k] for k in keys if k in doc}
        if created_by:
            out["CreatedBy"] = doc["CreatedBy"]
        return out

    def describe_rule(self, *, Name: str, EventBusName: str | None = None) -> dict[str, Any]:
        bus = self.arns.bus_name(EventBusName)
        return self._describe_rule(self._rule_doc(bus, Name), created_by=True)

    def list_rules(
        self,
        *,
        NamePrefix: str = "",
        EventBusName: str | None = None,
        NextToken: str | None = None,
        Limit: int | None = None,
    ) -> dict[str, Any]:
        bus = self.arns.bus_name(EventBusName)
        self._bus_doc(bus)
        docs = [
            d
            for _, d in self.store.items("rule")
            if d["EventBusName"] == bus and d["Name"].startswith(NamePrefix)
        ]
        docs.sort(key=lambda d: d["Name"])
        page, token = _page(docs, NextToken, Limit)
        out: dict[str, Any] = {"Rules": [self._describe_rule(d, created_by=False) for d in page]}
        if token:
            out["NextToken"] = token
        return out

    def _set_state(self, name: str, bus_name: str | None, state: str) -> dict[str, Any]:
        bus = self.arns.bus_name(bus_name)
        with self._lock:
            doc = self._rule_doc(bus, name)
            doc["State"] = state
            self.store.put("rule", self._rule_key(bus, name), doc)
            self._index_rule(doc)
        return {}

    def enable_rule(self, *, Name: str, EventBusName: str | None = None) -> dict[str, Any]:
        return self._set_state(Name, EventBusName, "ENABLED")

    def disable_rule(self, *, Name: str, EventBusName: str | None = None) -> dict[str, Any]:
        return self._set_state(Name, EventBusName, "DISABLED")

    def delete_rule(
        self, *, Name: str, EventBusName: str | None = None, Force: bool = False
    ) -> dict[str, Any]:
        bus = self.arns.bus_name(EventBusName)
        with self._lock:
            doc = self.store.get("rule", self._rule_key(bus, Name))
            if doc is None:
                return {}
            if doc["Targets"]:
                raise ValidationException("Rule can't be deleted since it has targets.")
            self.store.delete("rule", self._rule_key(bus, Name))
            self._unindex_rule(bus, Name)
        return {}

    # ---- targets ---------------------------------------------------------------------

    def put_targets(
        self, *, Rule: str, Targets: Sequence[Mapping[str, Any]], EventBusName: str | None = None
    ) -> dict[str, Any]:
        bus = self.arns.bus_name(EventBusName)
        failed = []
        with self._lock:
            doc = self._rule_doc(bus, Rule)
            # Also checks each target's input, and the five-target limit
            # counting the targets the rule keeps.
            transform.validate_targets(Targets, existing_ids=[t["Id"] for t in doc["Targets"]])
            current = {t["Id"]: t for t in doc["Targets"]}
            for target in Targets:
                problem = self._target_problem(target)
                if problem is not None:
                    failed.append(
                        {
                            "TargetId": target["Id"],
                            "ErrorCode": "ValidationException",
                            "ErrorMessage": problem,
                        }
                    )
                    continue
                current[target["Id"]] = dict(target)
            doc["Targets"] = list(current.values())
            self.store.put("rule", self._rule_key(bus, Rule), doc)
            self._index_rule(doc)
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def _target_problem(self, target: Mapping[str, Any]) -> str | None:
        """Why this bus cannot deliver to a target, or None."""
        arn = target.get("Arn")
        if not isinstance(arn, str) or parse_target_arn(arn) is None:
            return (
                f"Target {target.get('Id')}: ARN {arn!r} names no target kind this bus "
                "delivers to (Lambda function, SQS queue, event bus, API destination, "
                "CloudWatch Logs log group)."
            )
        config = target.get("DeadLetterConfig")
        if config is not None and not isinstance(config, Mapping):
            return f"DeadLetterConfig {config!r} is not a structure with an Arn."
        dlq = (config or {}).get("Arn")
        if dlq is not None:
            ref = parse_target_arn(dlq) if isinstance(dlq, str) else None
            if ref is None or ref.kind != "queue":
                return f"DeadLetterConfig.Arn {dlq!r} is not an SQS queue ARN."
        return None

    def remove_targets(
        self, *, Rule: str, Ids: Sequence[str], EventBusName: str | None = None, Force: bool = False
    ) -> dict[str, Any]:
        bus = self.arns.bus_name(EventBusName)
        with self._lock:
            doc = self._rule_doc(bus, Rule)
            doc["Targets"] = [t for t in doc["Targets"] if t["Id"] not in set(Ids)]
            self.store.put("rule", self._rule_key(bus, Rule), doc)
            self._index_rule(doc)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def list_targets_by_rule(
        self,
        *,
        Rule: str,
        EventBusName: str | None = None,
        NextToken: str | None = None,
        Limit: int | None = None,
    ) -> dict[str, Any]:
        doc = self._rule_doc(self.arns.bus_name(EventBusName), Rule)
        page, token = _page(doc["Targets"], NextToken, Limit)
        out: dict[str, Any] = {"Targets": page}
        if token:
            out["NextToken"] = token
        return out

    def list_rule_names_by_target(
        self,
        *,
        TargetArn: str,
        EventBusName: str | None = None,
        NextToken: str | None = None,
        Limit: int | None = None,
    ) -> dict[str, Any]:
        bus = self.arns.bus_name(EventBusName)
        names = sorted(
            d["Name"]
            for _, d in self.store.items("rule")
            if d["EventBusName"] == bus and any(t["Arn"] == TargetArn for t in d["Targets"])
        )
        page, token = _page(names, NextToken, Limit)
        out: dict[str, Any] = {"RuleNames": page}
        if token:
            out["NextToken"] = token
        return out

    # ---- tags ------------------------------------------------------------------------

    def _set_tags(self, arn: str, tags: Iterable[Mapping[str, str]]) -> None:
        tags = list(tags)
        if not tags:
            return
        _check_tags(tags)
        current = self.store.get("tags", arn) or {}
        current.update({t["Key"]: t["Value"] for t in tags})
        self.store.put("tags", arn, current)

    def tag_resource(
        self, *, ResourceARN: str, Tags: Sequence[Mapping[str, str]]
    ) -> dict[str, Any]:
        self._set_tags(ResourceARN, Tags)
        return {}

    def untag_resource(self, *, ResourceARN: str, TagKeys: Sequence[str]) -> dict[str, Any]:
        current = self.store.get("tags", ResourceARN) or {}
        self.store.put("tags", ResourceARN, {k: v for k, v in current.items() if k not in TagKeys})
        return {}

    def list_tags_for_resource(self, *, ResourceARN: str) -> dict[str, Any]:
        current = self.store.get("tags", ResourceARN) or {}
        return {"Tags": [{"Key": k, "Value": v} for k, v in current.items()]}

    # ---- events ----------------------------------------------------------------------

    def put_events(
        self, *, Entries: Sequence[Mapping[str, Any]], EndpointId: str | None = None
    ) -> dict[str, Any]:
        """Validate, envelope, match and commit up to 10 entries (see the
        module docstring). Entries that fail validation get ErrorCode and
        ErrorMessage; the others an EventId, after their deliveries are on
        disk."""
        now = self.clock.now()
        results, envelopes = envelopes_of(Entries, now, self.arns)
        self._accept(envelopes, now.timestamp())
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}

    def _route(
        self,
        bus: str,
        envelope: dict[str, Any],
        accepted: float,
        only_rules: Iterable[str] | None = None,
    ) -> tuple[list[NewDelivery], list[tuple[str, str, float, bytes]]]:
        """The deliveries and archive entries an envelope owes on a bus."""
        state = self._buses.get(bus)
        if state is None:  # AWS accepts events for a missing bus, and drops them
            return [], []
        body = compact(envelope)
        names = state.machine.rules_for_event(body)
        if only_rules is not None:
            allowed = set(only_rules)
            names = [n for n in names if n in allowed]
        deliveries: list[NewDelivery] = []
        archived: list[tuple[str, str, float, bytes]] = []
        ingestion = ""
        matched = False
        for name in names:
            if name.startswith(_ARCHIVE_RULE):
                continue
            rule = state.rules[name]
            matched = True
            ingestion = ingestion or event_time(_iso(accepted))
            self.metrics.add("TriggeredRules", bus=bus, rule=name)
            ctx = transform.Context(
                rule_arn=rule["Arn"], rule_name=name, event_bus_name=bus, ingestion_time=ingestion
            )
            for target in rule["Targets"]:
                deliveries.extend(self._owed(bus, name, target, envelope, body, ctx, accepted))
        if state.archives and "replay-name" not in envelope:
            wanted = {n[len(_ARCHIVE_RULE) :] for n in names if n.startswith(_ARCHIVE_RULE)}
            when = parse_time(envelope["time"], "time").timestamp()
            for archive in state.archives.values():
                if archive["ArchiveName"] in wanted or not archive.get("EventPattern"):
                    archived.append((archive["ArchiveName"], envelope["id"], when, body))
        if matched:
            self.metrics.add("MatchedEvents", bus=bus)
        return deliveries, archived

    def _owed(
        self,
        bus: str,
        rule: str,
        target: Mapping[str, Any],
        envelope: dict[str, Any],
        body: bytes,
        ctx: transform.Context,
        accepted: float,
    ) -> list[NewDelivery]:
        deliver, payload = transform.owed(target, envelope, ctx)
        if not deliver:
            return []
        return [NewDelivery(envelope["id"], bus, rule, dict(target), body, payload, accepted)]

    def _accept(
        self,
        envelopes: Sequence[tuple[str, dict[str, Any]]],
        accepted: float,
        only_rules: Iterable[str] | None = None,
        retire: int | None = None,
    ) -> None:
        deliveries: list[NewDelivery] = []
        archived: list[tuple[str, str, float, bytes]] = []
        with self._lock:
            for bus, envelope in envelopes:
                self.metrics.add("Events", bus=bus)
                d, a = self._route(bus, envelope, accepted, only_rules)
                deliveries += d
                archived += a
        self.store.accept(deliveries, archived, accepted, retire=retire)
        if deliveries:
            with self._wake:
                self._wake.notify_all()

    def test_event_pattern(self, *, EventPattern: str, Event: str) -> dict[str, Any]:
        pattern_error(EventPattern)
        try:  # as PutEvents reads a Detail: no NaN, no lone surrogate, no RecursionError
            event = loads(Event)
        except (TypeError, ValueError):
            event = None
        required = ("id", "account", "source", "time", "region", "detail-type")
        if not isinstance(event, dict) or not all(k in event for k in required):
            raise ValidationException("Parameter Event is not valid.")
        return {"Result": fastbridge.matches(EventPattern, Event)}

    # ---- functions, queues, log groups -----------------------------------------------

    def function_arn(self, name: str) -> str:
        return self.arns.function(name)

    def register_function(self, name: str, fn: Callable[..., Any]) -> str:
        """Make a Python callable (sync or async) the target
        ``arn:aws:lambda:<region>:<account>:function:<name>``. It is called
        with the event (or the transformed input), parsed from JSON. The
        registry lives in this process: register again after a restart;
        deliveries to a name not (yet) registered are retried."""
        check_name(name, "FunctionName")
        self.targets.functions[name] = fn
        return self.arns.function(name)

    def function(self, name: str | None = None) -> Callable[[F], F]:
        """Decorator form of :meth:`register_function`."""

        def register(fn: F) -> F:
            self.register_function(name or fn.__name__, fn)
            return fn

        return register

    def subscribe(
        self,
        pattern: Mapping[str, Any] | str,
        *,
        name: str | None = None,
        event_bus: str = DEFAULT_BUS,
        retry_policy: Mapping[str, int] | None = None,
        dead_letter_queue: str | None = None,
        input_transformer: Mapping[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Decorator: a rule with ``pattern`` whose one target is the function.

        ``dead_letter_queue`` names a built-in queue (created if missing)."""
        text = pattern if isinstance(pattern, str) else json.dumps(pattern)

        def register(fn: F) -> F:
            rule = name or fn.__name__
            arn = self.register_function(rule, fn)
            self.put_rule(Name=rule, EventPattern=text, EventBusName=event_bus)
            target: dict[str, Any] = {"Id": "function", "Arn": arn}
            if retry_policy is not None:
                target["RetryPolicy"] = dict(retry_policy)
            if dead_letter_queue is not None:
                target["DeadLetterConfig"] = {"Arn": self.create_queue(dead_letter_queue)}
            if input_transformer is not None:
                target["InputTransformer"] = dict(input_transformer)
            self.put_targets(Rule=rule, EventBusName=event_bus, Targets=[target])
            return fn

        return register

    def create_queue(self, name: str) -> str:
        """A built-in durable queue (the local SQS); returns its ARN. Idempotent."""
        check_name(name, "QueueName", limit=80)
        if self.store.get("queue", name) is None:
            self.store.put("queue", name, {"Name": name, "CreationTime": self._now()})
        return self.arns.queue(name)

    def delete_queue(self, name: str) -> None:
        self.store.delete("queue", name)
        self.store.purge_queue(name)

    def queue(self, name_or_arn: str) -> Queue:
        """A handle to read a built-in queue."""
        ref = parse_target_arn(name_or_arn) if name_or_arn.startswith("arn:") else None
        name = ref.name if ref is not None else name_or_arn
        if self.store.get("queue", name) is None:
            raise ResourceNotFoundException(f"Queue {name} does not exist.")
        return Queue(self, name)

    def log_group_arn(self, name: str) -> str:
        """The ARN of a log-group target: events are appended, one JSON line
        each, to ``<log_dir>/<name>.jsonl`` (``/`` in the name, as in
        ``/aws/events/x``, becomes ``_``: the file stays inside ``log_dir``)."""
        return self.arns.log_group(name)

    # ---- connections and API destinations ---------------------------------------------

    def create_connection(self, **request: Any) -> dict[str, Any]:
        now = self.clock.now()
        conn = Connection.from_request(request, region=self.region, account=self.account, now=now)
        with self._lock:
            if self.store.get("connection", conn.name) is not None:
                raise ResourceAlreadyExistsException(f"Connection {conn.name} already exists.")
            self.store.put(
                "connection",
                conn.name,
                {"Request": request, "Arn": conn.arn, "CreationTime": now.timestamp()},
            )
            self._connections[conn.name] = conn
        return conn.create_response()

    def _connection(self, name: str) -> Connection:
        conn: Connection = self._live(
            "connection", name, self._connections, Connection.from_request,
            f"Failed to describe the connection(s). Connection '{name}' does not exist.",
        )  # fmt: skip
        return conn

    def _live(self, kind: str, name: str, cache: dict[str, Any], build: Callable[..., Any],
              missing: str) -> Any:  # fmt: skip
        """The live object (connection, API destination) rebuilt from its
        stored request once per process; ResourceNotFoundException if none."""
        with self._lock:
            live = cache.get(name)
            if live is None:
                doc = self.store.get(kind, name)
                if doc is None:
                    raise ResourceNotFoundException(missing)
                live = build(doc["Request"], region=self.region, account=self.account,
                             arn=doc["Arn"], now=_iso(doc["CreationTime"]))  # fmt: skip
                cache[name] = live
            return live

    def describe_connection(self, *, Name: str) -> dict[str, Any]:
        return self._connection(Name).describe()

    def delete_connection(self, *, Name: str) -> dict[str, Any]:
        conn = self._connection(Name)
        with self._lock:
            self.store.delete("connection", Name)
            self._connections.pop(Name, None)
        return {
            "ConnectionArn": conn.arn,
            "ConnectionState": "DELETING",
            "CreationTime": conn.creation_time,
            "LastModifiedTime": conn.last_modified_time,
        }

    def list_connections(self, *, NamePrefix: str = "", **_: Any) -> dict[str, Any]:
        out = []
        for name, _doc in self.store.items("connection"):
            if name.startswith(NamePrefix):
                d = self._connection(name).describe()
                out.append(
                    {
                        k: d[k]
                        for k in (
                            "Name",
                            "ConnectionArn",
                            "ConnectionState",
                            "AuthorizationType",
                            "CreationTime",
                            "LastModifiedTime",
                        )
                        if k in d
                    }
                )
        return {"Connections": out}

    def create_api_destination(self, **request: Any) -> dict[str, Any]:
        now = self.clock.now()
        dest = ApiDestination.from_request(
            request, region=self.region, account=self.account, now=now
        )
        with self._lock:
            if self.store.get("api-destination", dest.name) is not None:
                raise ResourceAlreadyExistsException(
                    f"An api-destination '{dest.name}' already exists."
                )
            self._connection(_connection_name(dest.connection_arn))
            self.store.put(
                "api-destination",
                dest.name,
                {"Request": request, "Arn": dest.arn, "CreationTime": now.timestamp()},
            )
            self._destinations[dest.name] = dest
        return dest.create_response()

    def _api_destination(self, name: str) -> ApiDestination:
        dest: ApiDestination = self._live(
            "api-destination", name, self._destinations, ApiDestination.from_request,
            f"An api-destination '{name}' does not exist.",
        )  # fmt: skip
        return dest

    def describe_api_destination(self, *, Name: str) -> dict[str, Any]:
        return self._api_destination(Name).describe()

    def delete_api_destination(self, *, Name: str) -> dict[str, Any]:
        self._api_destination(Name)
        with self._lock:
            self.store.delete("api-destination", Name)
            self._destinations.pop(Name, None)
        return {}

    def list_api_destinations(self, *, NamePrefix: str = "", **_: Any) -> dict[str, Any]:
        out = []
        for name, _doc in self.store.items("api-destination"):
            if name.startswith(NamePrefix):
                d = self._api_destination(name).describe()
                out.append(
                    {
                        k: d[k]
                        for k in (
                            "Name",
                            "ApiDestinationArn",
                            "ApiDestinationState",
                            "ConnectionArn",
                            "InvocationEndpoint",
                            "HttpMethod",
                            "InvocationRateLimitPerSecond",
                            "CreationTime",
                            "LastModifiedTime",
                        )
                        if k in d
                    }
                )
        return {"ApiDestinations": out}

    # ---- archives --------------------------------------------------------------------

    def _index_archive(self, doc: dict[str, Any]) -> None:
        bus = doc["Bus"]
        state = self._buses.get(bus)
        if state is None:
            return
        rule = _ARCHIVE_RULE + doc["ArchiveName"]
        if rule in state.machine:
            state.machine.delete_rule(rule)
        if doc.get("EventPattern") and doc["State"] == "ENABLED":
            state.machine.add_rule(rule, doc["EventPattern"])
        state.archives[doc["ArchiveName"]] = doc

    def _archive_doc(self, name: str) -> dict[str, Any]:
        doc = self.store.get("archive", name)
        if doc is None:
            raise ResourceNotFoundException(f"Archive {name} does not exist.")
        return doc

    def _bus_of_arn(self, arn: str) -> str:
        bus = self.arns.bus_name(arn)
        self._bus_doc(bus)
        return bus

    def create_archive(
        self,
        *,
        ArchiveName: str,
        EventSourceArn: str,
        Description: str | None = None,
        EventPattern: str | None = None,
        RetentionDays: int = 0,
    ) -> dict[str, Any]:
        check_name(ArchiveName, "ArchiveName", limit=48)
        bus = self._bus_of_arn(EventSourceArn)
        if EventPattern is not None:
            pattern_error(EventPattern)
        with self._lock:
            if self.store.get("archive", ArchiveName) is not None:
                raise ResourceAlreadyExistsException(f"Archive {ArchiveName} already exists.")
            doc: dict[str, Any] = {
                "ArchiveName": ArchiveName,
                "EventSourceArn": EventSourceArn,
                "Bus": bus,
                "State": "ENABLED",
                "RetentionDays": RetentionDays,
                "CreationTime": self._now(),
            }
            if Description is not None:
                doc["Description"] = Description
            if EventPattern is not None:
                doc["EventPattern"] = EventPattern
            self.store.put("archive", ArchiveName, doc)
            self._index_archive(doc)
        return {
            "ArchiveArn": self.arns.archive(ArchiveName),
            "State": "ENABLED",
            "CreationTime": _iso(doc["CreationTime"]),
        }

    def _describe_archive(self, doc: dict[str, Any], full: bool) -> dict[str, Any]:
        count, size = self.store.archive_stats(doc["ArchiveName"])
        out: dict[str, Any] = {
            "ArchiveName": doc["ArchiveName"],
            "EventSourceArn": doc["EventSourceArn"],
            "State": doc["State"],
            "RetentionDays": doc["RetentionDays"],
            "SizeBytes": size,
            "EventCount": count,
            "CreationTime": _iso(doc["CreationTime"]),
        }
        if full:
            out["ArchiveArn"] = self.arns.archive(doc["ArchiveName"])
            for k in ("Description", "EventPattern"):
                if k in doc:
                    out[k] = doc[k]
        return out

    def describe_archive(self, *, ArchiveName: str) -> dict[str, Any]:
        return self._describe_archive(self._archive_doc(ArchiveName), True)

    def list_archives(
        self,
        *,
        NamePrefix: str = "",
        EventSourceArn: str | None = None,
        State: str | None = None,
        NextToken: str | None = None,
        Limit: int | None = None,
    ) -> dict[str, Any]:
        if EventSourceArn is not None:
            self._bus_of_arn(EventSourceArn)
        docs = [
            d
            for n, d in self.store.items("archive")
            if n.startswith(NamePrefix)
            and (EventSourceArn is None or d["EventSourceArn"] == EventSourceArn)
            and (State is None or d["State"] == State)
        ]
        page, token = _page(docs, NextToken, Limit)
        out: dict[str, Any] = {"Archives": [self._describe_archive(d, False) for d in page]}
        if token:
            out["NextToken"] = token
        return out

    def update_archive(
        self,
        *,
        ArchiveName: str,
        Description: str | None = None,
        EventPattern: str | None = None,
        RetentionDays: int | None = None,
    ) -> dict[str, Any]:
        if Description is None and EventPattern is None and RetentionDays is None:
            raise ValidationException(
                "At least one of EventPattern, RetentionDays or Description must be provided."
            )
        with self._lock:
            doc = self._archive_doc(ArchiveName)
            if EventPattern is not None:
                pattern_error(EventPattern)
                doc["EventPattern"] = EventPattern
            if Description is not None:
                doc["Description"] = Description
            if RetentionDays is not None:
                doc["RetentionDays"] = RetentionDays
            self.store.put("archive", ArchiveName, doc)
            self._index_archive(doc)
        return {
            "ArchiveArn": self.arns.archive(ArchiveName),
            "State": doc["State"],
            "CreationTime": _iso(doc["CreationTime"]),
        }

    def delete_archive(self, *, ArchiveName: str) -> dict[str, Any]:
        with self._lock:
            self._archive_doc(ArchiveName)  # ResourceNotFoundException when there is none
            self.store.delete("archive", ArchiveName)
            self.store.drop_archive(ArchiveName)
            self._unindex_archive(ArchiveName)
        return {}

    def _unindex_archive(self, name: str) -> None:
        """Drop an archive from the bus that routes to it."""
        for state in self._buses.values():
            if state.archives.pop(name, None) is not None:
                if _ARCHIVE_RULE + name in state.machine:
                    state.machine.delete_rule(_ARCHIVE_RULE + name)

    # ---- replays ---------------------------------------------------------------------

    def start_replay(
        self,
        *,
        ReplayName: str,
        EventSourceArn: str,
        EventStartTime: Any,
        EventEndTime: Any,
        Destination: Mapping[str, Any],
        Description: str | None = None,
    ) -> dict[str, Any]:
        check_name(ReplayName, "ReplayName")
        with self._lock:
            if self.store.get("replay", ReplayName) is not None:
                raise ResourceAlreadyExistsException(f"Replay {ReplayName} already exists.")
            start = parse_time(EventStartTime, "EventStartTime")
            end = parse_time(EventEndTime, "EventEndTime")
            if end <= start:
                raise ValidationException(
                    "Parameter EventEndTime is not valid. Reason: "
                    "EventStartTime must be before EventEndTime."
                )
            archive_name = EventSourceArn.rsplit("/", 1)[-1]
            archive = self.store.get("archive", archive_name)
            if archive is None:
                raise ValidationException(
                    "Parameter EventSourceArn is not valid. Reason: "
                    f"Archive {archive_name} does not exist."
                )
            bus = self._bus_of_arn(Destination["Arn"])
            if bus != archive["Bus"]:
                raise ValidationException(
                    "Parameter Destination.Arn is not valid. Reason: "
                    "Cross event bus replay is not permitted."
                )
            running = [
                d for _, d in self.store.items("replay") if d["State"] not in _FINAL_REPLAY_STATES
            ]
            if len(running) >= MAX_CONCURRENT_REPLAYS:
                raise LimitExceededException()
            now = self._now()
            doc: dict[str, Any] = {
                "ReplayName": ReplayName,
                "EventSourceArn": EventSourceArn,
                "Destination": dict(Destination),
                "State": "STARTING",
                "EventStartTime": start.timestamp(),
                "EventEndTime": end.timestamp(),
                "ReplayStartTime": now,
                "Archive": archive_name,
                "Bus": bus,
            }
            if Description is not None:
                doc["Description"] = Description
            self.store.put("replay", ReplayName, doc)
        with self._wake:
            self._wake.notify_all()
        return {
            "ReplayArn": self.arns.replay(ReplayName),
            "State": "STARTING",
            "ReplayStartTime": _iso(now),
        }

    def _replay_doc(self, name: str) -> dict[str, Any]:
        doc = self.store.get("replay", name)
        if doc is None:
            raise ResourceNotFoundException(f"Replay {name} does not exist.")
        return doc

    def _describe_replay(self, doc: dict[str, Any], full: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ReplayName": doc["ReplayName"],
            "EventSourceArn": doc["EventSourceArn"],
            "State": doc["State"],
            "EventStartTime": _iso(doc["EventStartTime"]),
            "EventEndTime": _iso(doc["EventEndTime"]),
            "ReplayStartTime": _iso(doc["ReplayStartTime"]),
        }
        for k in ("EventLastReplayedTime", "ReplayEndTime"):
            if k in doc:
                out[k] = _iso(doc[k])
        if "StateReason" in doc:
            out["StateReason"] = doc["StateReason"]
        if full:
            out["ReplayArn"] = self.arns.replay(doc["ReplayName"])
            out["Destination"] = doc["Destination"]
            if "Description" in doc:
                out["Description"] = doc["Description"]
        return out

    def describe_replay(self, *, ReplayName: str) -> dict[str, Any]:
        return self._describe_replay(self._replay_doc(ReplayName), True)

    def list_replays(
        self,
        *,
        NamePrefix: str = "",
        State: str | None = None,
        EventSourceArn: str | None = None,
        NextToken: str | None = None,
        Limit: int | None = None,
    ) -> dict[str, Any]:
        docs = [
            d
            for n, d in self.store.items("replay")
            if n.startswith(NamePrefix)
            and (State is None or d["State"] == State)
            and (EventSourceArn is None or d["EventSourceArn"] == EventSourceArn)
        ]
        page, token = _page(docs, NextToken, Limit)
        out: dict[str, Any] = {"Replays": [self._describe_replay(d, False) for d in page]}
        if token:
            out["NextToken"] = token
        return out

    def cancel_replay(self, *, ReplayName: str) -> dict[str, Any]:
        with self._lock:
            doc = self._replay_doc(ReplayName)
            if doc["State"] in _FINAL_REPLAY_STATES:
                raise IllegalStatusException(
                    f"Replay {ReplayName} is not in a valid state for this operation."
                )
            doc["State"] = "CANCELLING"
            self.store.put("replay", ReplayName, doc)
        return {"ReplayArn": self.arns.replay(ReplayName), "State": "CANCELLING"}

    def _run_replays(self) -> None:
        """Advance every replay by one step: STARTING replays run (all their
        events are re-sent in one go), CANCELLING ones become CANCELLED."""
        for name, doc in self.store.items("replay"):
            if doc["State"] == "CANCELLING":
                doc["State"] = "CANCELLED"
                doc["ReplayEndTime"] = self._now()
                self.store.put("replay", name, doc)
            elif doc["State"] in ("STARTING", "RUNNING"):
                self._replay(doc)

    def _replay(self, doc: dict[str, Any]) -> None:
        events = self.store.archived(doc["Archive"], doc["EventStartTime"], doc["EventEndTime"])
        filters = doc["Destination"].get("FilterArns")
        only = None
        if filters:
            only = [arn.rsplit("/", 1)[-1] for arn in filters]
        now = self._now()
        batch: list[tuple[str, dict[str, Any]]] = []
        for item in events:
            original = loads(item.body)
            replayed = {k: v for k, v in original.items() if k not in ("resources", "detail")}
            replayed["replay-name"] = doc["ReplayName"]
            replayed["resources"] = original.get("resources", [])
            replayed["detail"] = original.get("detail", {})
            batch.append((doc["Bus"], replayed))
            self.metrics.add("ReplayedEvents", bus=doc["Bus"])
        if batch:
            self._accept(batch, now, only_rules=only)
            doc["EventLastReplayedTime"] = now
        doc["State"] = "COMPLETED"
        doc["ReplayEndTime"] = self._now()
        self.store.put("replay", doc["ReplayName"], doc)

    # ---- schedules -------------------------------------------------------------------

    def _fire_schedules(self) -> None:
        now = self.clock.now()
        with self._lock:
            scheduled = list(self._scheduled.items())
        for key, doc in scheduled:
            expr = doc.get("ScheduleExpression")
            if not expr or doc["State"] == "DISABLED":
                continue
            start = _iso(doc["ScheduleFrom"])
            last = _iso(doc.get("LastFired", doc["ScheduleFrom"]))
            times = due_times(parse_schedule(expr, start=start), last, now)
            if not times:
                continue
            envelopes = []
            for t in times:
                envelopes.append(
                    {
                        "version": "0",
                        "id": str(uuid.uuid4()),
                        "detail-type": "Scheduled Event",
                        "source": "aws.events",
                        "account": self.account,
                        "time": event_time(t),
                        "region": self.region,
                        "resources": [doc["Arn"]],
                        "detail": {},
                    }
                )
            self._deliver_scheduled(doc, envelopes)
            with self._lock:
                fresh = self.store.get("rule", key)
                if fresh is not None:
                    fresh["LastFired"] = times[-1].timestamp()
                    self.store.put("rule", key, fresh)
                    if key in self._scheduled:
                        self._scheduled[key] = fresh
                        self._buses[fresh["EventBusName"]].rules[fresh["Name"]] = fresh
            self.metrics.add("ScheduledEvents", len(envelopes), rule=doc["Name"])

    def _deliver_scheduled(self, rule: dict[str, Any], envelopes: list[dict[str, Any]]) -> None:
        accepted = self._now()
        ingestion = event_time(_iso(accepted))
        deliveries: list[NewDelivery] = []
        ctx = transform.Context(
            rule_arn=rule["Arn"],
            rule_name=rule["Name"],
            event_bus_name=rule["EventBusName"],
            ingestion_time=ingestion,
        )
        for envelope in envelopes:
            body = compact(envelope)
            for target in rule["Targets"]:
                deliveries += self._owed(
                    rule["EventBusName"], rule["Name"], target, envelope, body, ctx, accepted
                )
        self.store.accept(deliveries, (), accepted)
        with self._wake:
            self._wake.notify_all()

    # ---- dispatch --------------------------------------------------------------------

    def tick(self) -> None:
        """Fire due schedules, advance replays, apply archive retention."""
        self._fire_schedules()
        self._run_replays()
        now = self._now()
        for name, doc in self.store.items("archive"):
            if doc.get("RetentionDays"):
                self.store.expire_archive(name, now - doc["RetentionDays"] * 86_400)

    def run_pending(self, limit: int = 100_000) -> int:
        """Tick, then deliver every delivery that is due now, in this thread;
        the number of delivery attempts made. For tests and for embedding
        without dispatcher threads (``start=False``)."""
        self.tick()
        done = 0
        while done < limit:
            batch = self.store.claim(self._now(), 64, self.lease)
            if not batch:
                break
            finished: list[int] = []
            for d in batch:
                self._deliver(d, finished)
                done += 1
            self.store.done(finished)
        return done

    def pending(self) -> int:
        """Deliveries not yet completed (due now or waiting for a retry)."""
        return self.store.pending()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait (real time) until no delivery is pending; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.store.pending():
            if time.monotonic() > deadline:
                return False
            with self._wake:
                self._wake.wait(0.01)
        return True

    def _tick_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:  # the ticker must outlive a bad schedule or replay
                log.exception("fastbridge: tick failed")
            self._stopping.wait(0.5)

    def _claim(self, source: str | None) -> list[Delivery]:
        """The next deliveries for a dispatcher thread (``source``: which of
        the store's queues of work; SQLite has one)."""
        return self.store.claim(self._now(), 16, self.lease)

    def _work(self, source: str | None = None) -> None:
        while not self._stopping.is_set():
            try:
                batch = self._claim(source)
            except Exception:
                log.exception("fastbridge: claiming deliveries failed")
                batch = []
            if not batch:
                due = self.store.next_due()
                wait = 0.5 if due is None else min(0.5, max(0.0, due - self._now()))
                with self._wake:
                    self._wake.wait(wait if wait > 0 else 0.001)
                continue
            finished: list[int] = []
            for d in batch:
                if self._stopping.is_set():
                    break  # unfinished claims return to the pool when the lease ends
                self._deliver(d, finished)
            self.store.done(finished)

    def _deliver(self, d: Delivery, finished: list[int]) -> None:
        """One attempt at a delivery. Success either retires the delivery
        (queue and bus targets, in the same transaction as their effect) or
        appends its id to ``finished``, retired in one transaction per batch:
        a crash before that commit repeats those deliveries (at-least-once)."""
        dims = {"bus": d.bus, "rule": d.rule, "target": d.target["Id"]}
        policy = RetryPolicy.of(d.target, self.retry_base, self.retry_cap)
        if policy.expired(d.accepted, self._now()):
            self._dead_letter(d, expired_error(), "MaximumEventAgeInSeconds")
            return
        if d.attempts:
            self.metrics.add("RetryInvocationAttempts", **dims)
        try:
            if self._invoke(d):
                finished.append(d.id)
        except DeliveryError as e:
            self._failed(d, e, policy)
            return
        except Exception as e:  # a bug of ours must not lose the event
            log.exception("fastbridge: delivery %s failed unexpectedly", d.id)
            err = DeliveryError("INTERNAL_ERROR", f"{type(e).__name__}: {e}", retryable=True)
            self._failed(d, err, policy)
            return
        self.metrics.add("Invocations", **dims)

    def _invoke(self, d: Delivery) -> bool:
        """Hand a delivery to its target; True when the caller must retire it."""
        ref = parse_target_arn(d.target["Arn"])
        if ref is None:
            raise DeliveryError(
                "RESOURCE_NOT_FOUND", f"Unknown target {d.target['Arn']}", retryable=False
            )
        if ref.kind == "queue":
            if self.store.get("queue", ref.name) is None:
                raise DeliveryError(
                    "RESOURCE_NOT_FOUND", f"Queue {ref.name} does not exist.", retryable=False
                )
            self.store.send_and_done(d.id, ref.name, d.body.decode(), {}, self._now())
            return False
        if ref.kind == "bus":
            if self.store.get("bus", ref.name) is None:
                raise DeliveryError(
                    "RESOURCE_NOT_FOUND", f"Event bus {ref.name} does not exist.", retryable=False
                )
            original = loads(d.body)
            if not isinstance(original, dict) or "detail" not in original:
                raise DeliveryError(
                    "INVALID_PARAMETER",
                    "An event bus target needs an event, not a transformed input.",
                    retryable=False,
                )
            forwarded = {**original, "id": str(uuid.uuid4())}
            forwarded.pop("replay-name", None)
            self._accept([(ref.name, forwarded)], self._now(), retire=d.id)
            return False
        if ref.kind == "function":
            self.targets.function(ref.name, d.body)
        elif ref.kind == "log":
            self.targets.log(ref.name, d.body)
        else:
            try:
                dest = self._api_destination(ref.name)
                conn = self._connection(_connection_name(dest.connection_arn))
            except ResourceNotFoundException as e:
                raise DeliveryError("RESOURCE_NOT_FOUND", e.message, retryable=False) from None
            self.targets.api(dest, conn, d.body, d.target.get("HttpParameters"))
        return True

    def _failed(self, d: Delivery, err: DeliveryError, policy: RetryPolicy) -> None:
        now = self._now()
        delay, exhausted = policy.next(err, d.attempts, d.accepted, now)
        if delay is not None:
            self.store.retry_later(d.id, now + delay, err.code, err.message)
        else:
            self._dead_letter(d, err, exhausted)

    def _dead_letter(self, d: Delivery, err: DeliveryError, exhausted: str | None) -> None:
        dims = {"bus": d.bus, "rule": d.rule, "target": d.target["Id"]}
        self.metrics.add("FailedInvocations", **dims)
        attributes = dead_letter_attributes(
            self.arns.rule(d.bus, d.rule), d.target["Arn"], err, d.attempts, exhausted
        )
        dlq, queue = dead_letter_queue(d.target)
        if queue is not None and self.store.get("queue", queue) is None:
            queue = None
        reason = None
        if queue is None:
            reason = (
                "no dead-letter queue configured"
                if not dlq
                else f"dead-letter queue {dlq} does not exist"
            )
            log.error(
                "fastbridge: event %s for rule %s target %s failed (%s: %s) and %s; kept "
                "in the store's undeliverable table",
                d.event_id,
                d.rule,
                d.target["Id"],
                err.code,
                err.message,
                reason,
            )
            self.metrics.add("InvocationsFailedToBeSentToDLQ", **dims)
        else:
            self.metrics.add("InvocationsSentToDLQ", **dims)
        self.store.dead_letter(d.id, queue, d.event.decode(), attributes, self._now(), reason)

    def undeliverable(self) -> list[dict[str, Any]]:
        """Failed deliveries that no dead-letter queue took, with the reason."""
        return self.store.undeliverable()


class Queue:
    """A built-in queue, read like SQS: receive, then delete within the
    visibility timeout, or the message comes back (at-least-once)."""

    def __init__(self, bus: EventBridge, name: str) -> None:
        self._bus, self.name = bus, name

    @property
    def arn(self) -> str:
        return self._bus.arns.queue(self.name)

    def send(self, body: str, attributes: Mapping[str, str] | None = None) -> str:
        return self._bus.store.send(self.name, body, dict(attributes or {}), self._bus._now())

    def receive(
        self, max_messages: int = 10, visibility_timeout: float = 30.0, wait: float = 0.0
    ) -> list[Message]:
        """Up to ``max_messages`` visible messages; with ``wait`` > 0, poll
        (real time) up to that long for at least one."""
        deadline = time.monotonic() + wait
        while True:
            got = self._bus.store.receive(
                self.name, max_messages, self._bus._now(), visibility_timeout
            )
            if got or time.monotonic() >= deadline:
                return got
            with self._bus._wake:
                self._bus._wake.wait(0.02)

    def delete(self, receipt_handle: str) -> bool:
        return self._bus.store.delete_message(self.name, receipt_handle)

    def change_visibility(self, receipt_handle: str, timeout: float) -> bool:
        return self._bus.store.change_visibility(
            self.name, receipt_handle, self._bus._now() + timeout
        )

    def __len__(self) -> int:
        return self._bus.store.queue_depth(self.name)


def _check_tags(tags: Iterable[Mapping[str, str]]) -> None:
    """Tag's Key and Value are required members (AWS's model): ValidationException."""
    problems = [
        f"Value null at 'tags.{i}.member.{field.lower()}' failed to satisfy constraint: "
        "Member must not be null"
        for i, t in enumerate(tags, start=1)
        for field in ("Key", "Value")
        if not isinstance(t, Mapping) or not isinstance(t.get(field), str)
    ]
    if problems:
        n = len(problems)
        raise ValidationException(
            f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(problems)
        )


def pattern_error(pattern: Any) -> None:
    """Raise InvalidEventPatternException, with the engine's message, if the
    pattern is not valid. Text that is not a JSON object gets the message of
    the JSON parser EventBridge uses (see :mod:`fastbridge.bus.jackson`)."""
    if not isinstance(pattern, str):
        raise InvalidEventPatternException("Event pattern is not valid. Reason: not a string")
    problem = jackson.pattern_text_problem(pattern)
    if problem is not None:
        raise InvalidEventPatternException(f"Event pattern is not valid. Reason: {problem}")
    try:  # a lone surrogate ("\ud800" in the request's JSON) is not text the engine takes
        pattern.encode()
    except UnicodeEncodeError as e:
        raise InvalidEventPatternException(
            "Event pattern is not valid. Reason: lone surrogate "
            f"U+{ord(pattern[e.start]):04X} at character {e.start + 1}"
        ) from None
    try:
        fastbridge.validate_pattern(pattern)
    except fastbridge.InvalidPatternError as e:
        raise InvalidEventPatternException(str(e)) from None
    except fastbridge.LimitError as e:
        raise InvalidEventPatternException(f"Event pattern is not valid. Reason: {e}") from None


def _page(items: Sequence[Any], token: str | None, limit: int | None) -> tuple[list[Any], str]:
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError:
            raise ValidationException("The NextToken is not valid.") from None
    end = len(items) if not limit else start + limit
    rest = ""
    if end < len(items):
        rest = base64.urlsafe_b64encode(str(end).encode()).decode()
    return list(items[start:end]), rest


def _connection_name(arn: str) -> str:
    """The name in ``arn:...:connection/<name>/<uuid>`` (or ``.../<name>``)."""
    _, _, rest = arn.partition(":connection/")
    return rest.split("/", 1)[0]


__all__ = ["BusError", "EventBridge", "Queue", "pattern_error"]

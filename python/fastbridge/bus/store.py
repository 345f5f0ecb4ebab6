"""Where the bus keeps what it must not lose: SQLite.

One file holds everything: the definitions (buses, rules, targets, queues,
archives, replays, connections, API destinations) as JSON documents in one
key-value table, and the moving parts in tables of their own:

* ``deliveries``: one row per (event, rule, target) still to be delivered,
  written in the same transaction that accepts the event, so ``put_events``
  returns an EventId only once every delivery it owes is on disk;
* ``messages``: the built-in queues (SQS-like: visibility timeout, receipt
  handles, at-least-once);
* ``archived``: events kept by archives, for replay;
* ``undeliverable``: what could not even reach its dead-letter queue (or had
  none): kept, counted and logged, never silently dropped.

The file is opened in WAL mode. ``durability="full"`` (the default) syncs the
log on every commit, so an accepted event survives a power cut;
``"normal"`` survives a crash of the process but not of the machine, and is
several times faster. ``Store.memory()`` is the explicit in-memory option: the
same code on SQLite's ``:memory:`` database.

One process owns a store file at a time (an exclusive lock on
``<file>.lock``); a second one gets a clear error instead of two dispatchers
delivering the same rows.

The :class:`Storage` protocol (the methods of :class:`Store`) is the whole
interface the bus needs from its storage; :mod:`fastbridge.nats.store`
implements the same calls on NATS JetStream.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    bus TEXT NOT NULL,
    rule TEXT NOT NULL,
    target TEXT NOT NULL,
    event BLOB NOT NULL,
    payload BLOB,
    accepted REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due REAL NOT NULL,
    lease REAL NOT NULL DEFAULT 0,
    error_code TEXT,
    error_message TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (due);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    sent REAL NOT NULL,
    visible REAL NOT NULL,
    receipt TEXT,
    receives INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible);
CREATE TABLE IF NOT EXISTS archived (
    id INTEGER PRIMARY KEY,
    archive TEXT NOT NULL,
    event_id TEXT NOT NULL,
    time REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS archived_time ON archived (archive, time);
CREATE TABLE IF NOT EXISTS undeliverable (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    reason TEXT NOT NULL,
    delivery TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class NewDelivery:
    """A delivery owed by an accepted event: ``target`` is the target's
    definition at the moment of matching (so a later PutTargets does not
    change what an already-accepted event owes)."""

    event_id: str
    bus: str
    rule: str
    target: dict[str, Any]
    event: bytes
    payload: bytes | None
    due: float


@dataclass(frozen=True)
class Delivery:
    """A claimed delivery. ``payload`` is None when the target gets the event
    itself; ``attempts`` counts the failed attempts so far."""

    id: int
    event_id: str
    bus: str
    rule: str
    target: dict[str, Any]
    event: bytes
    payload: bytes | None
    accepted: float
    attempts: int

    @property
    def body(self) -> bytes:
        return self.event if self.payload is None else self.payload


@dataclass(frozen=True)
class Message:
    """A message received from a built-in queue."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    sent: float
    receive_count: int


@dataclass(frozen=True)
class Archived:
    event_id: str
    time: float
    body: bytes


class Storage(Protocol):
    """What the bus needs of its storage (see :class:`Store` for each call)."""

    def close(self) -> None: ...
    def get(self, kind: str, name: str) -> dict[str, Any] | None: ...
    def put(self, kind: str, name: str, doc: dict[str, Any]) -> None: ...
    def delete(self, kind: str, name: str) -> bool: ...
    def items(self, kind: str) -> list[tuple[str, dict[str, Any]]]: ...
    def accept(self, deliveries: Sequence[NewDelivery],
               archived: Sequence[tuple[str, str, float, bytes]] = (), accepted: float = 0.0,
               retire: int | None = None) -> None: ...  # fmt: skip
    def claim(self, now: float, limit: int, lease: float) -> list[Delivery]: ...
    def next_due(self) -> float | None: ...
    def pending(self) -> int: ...
    def done(self, delivery_ids: Sequence[int]) -> None: ...
    def retry_later(self, delivery_id: int, due: float, code: str, message: str) -> None: ...
    def dead_letter(self, delivery_id: int, queue: str | None, body: str,
                    attributes: dict[str, str], now: float,
                    reason: str | None) -> None: ...  # fmt: skip
    def undeliverable(self) -> list[dict[str, Any]]: ...
    def send(self, queue: str, body: str, attributes: dict[str, str], now: float) -> str: ...
    def send_and_done(self, delivery_id: int, queue: str, body: str,
                      attributes: dict[str, str], now: float) -> str: ...  # fmt: skip
    def receive(self, queue: str, limit: int, now: float, visibility: float) -> list[Message]: ...
    def delete_message(self, queue: str, receipt: str) -> bool: ...
    def change_visibility(self, queue: str, receipt: str, visible: float) -> bool: ...
    def queue_depth(self, queue: str) -> int: ...
    def purge_queue(self, queue: str) -> None: ...
    def archived(self, archive: str, start: float, end: float) -> list[Archived]: ...
    def archive_stats(self, archive: str) -> tuple[int, int]: ...
    def expire_archive(self, archive: str, before: float) -> int: ...
    def drop_archive(self, archive: str) -> None: ...


class StoreLockedError(RuntimeError):
    """Another process has this store file open."""


class Store:
    """The bus's storage: SQLite in WAL mode, one connection behind a lock.

    SQLite runs one writer at a time anyway; one connection keeps every
    transaction of this process in order and lets the in-memory database be
    the same code.
    """

    def __init__(self, path: str | os.PathLike[str] | None, *, durability: str = "full") -> None:
        if durability not in ("full", "normal"):
            raise ValueError(f"durability must be 'full' or 'normal', not {durability!r}")
        self.path = None if path is None else Path(path)
        self._lockfile: IO[bytes] | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lockfile = open(f"{self.path}.lock", "wb")  # noqa: SIM115 - held for life
            try:
                fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._lockfile.close()
                raise StoreLockedError(
                    f"store {self.path} is open in another process; one process owns a store"
                ) from None
        target = ":memory:" if self.path is None else str(self.path)
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(f"PRAGMA synchronous={durability.upper()}")
            self._db.executescript(_SCHEMA)
            # A lease belongs to a dispatcher of this process; at open, none is running.
            self._db.execute("UPDATE deliveries SET lease = 0 WHERE lease != 0")

    @classmethod
    def memory(cls) -> Store:
        return cls(None)

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._lockfile is not None:
                fcntl.flock(self._lockfile, fcntl.LOCK_UN)
                self._lockfile.close()
                self._lockfile = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ---- definitions ---------------------------------------------------------------

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc FROM resources WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, kind: str, name: str, doc: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO resources (kind, name, doc) VALUES (?, ?, ?)",
                (kind, name, json.dumps(doc)),
            )

    def delete(self, kind: str, name: str) -> bool:
        with self._tx() as db:
            cur = db.execute("DELETE FROM resources WHERE kind = ? AND name = ?", (kind, name))
        return cur.rowcount > 0

    def items(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """Every document of a kind, by name."""
        with self._lock:
            rows = self._db.execute(
                "SELECT name, doc FROM resources WHERE kind = ? ORDER BY name", (kind,)
            ).fetchall()
        return [(name, json.loads(doc)) for name, doc in rows]

    # ---- accepted events and their deliveries --------------------------------------

    def accept(
        self,
        deliveries: Sequence[NewDelivery],
        archived: Sequence[tuple[str, str, float, bytes]] = (),
        accepted: float = 0.0,
        retire: int | None = None,
    ) -> None:
        """Commit, in one transaction, every delivery and archive entry that a
        batch of accepted events owes. ``archived`` holds (archive, event id,
        event time, body). ``retire`` names a delivery that is done by this
        very commit (an event forwarded to another bus)."""
        if not deliveries and not archived and retire is None:
            return
        with self._tx() as db:
            if retire is not None:
                db.execute("DELETE FROM deliveries WHERE id = ?", (retire,))
            db.executemany(
                "INSERT INTO deliveries"
                " (event_id, bus, rule, target, event, payload, accepted, due)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.event_id,
                        d.bus,
                        d.rule,
                        json.dumps(d.target),
                        d.event,
                        d.payload,
                        accepted,
                        d.due,
                    )
                    for d in deliveries
                ],
            )
            db.executemany(
                "INSERT INTO archived (archive, event_id, time, body) VALUES (?, ?, ?, ?)",
                archived,
            )

    def claim(self, now: float, limit: int, lease: float) -> list[Delivery]:
        """Take up to ``limit`` deliveries that are due and not leased; they
        stay invisible to other claims until ``now + lease``."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, event_id, bus, rule, target, event, payload, accepted, attempts"
                " FROM deliveries WHERE due <= ? AND lease <= ? ORDER BY due LIMIT ?",
                (now, now, limit),
            ).fetchall()
            db.executemany(
                "UPDATE deliveries SET lease = ? WHERE id = ?", [(now + lease, r[0]) for r in rows]
            )
        return [
            Delivery(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], r[8]) for r in rows
        ]

    def next_due(self) -> float | None:
        """When the earliest unleased delivery falls due (None: nothing waits)."""
        with self._lock:
            row = self._db.execute("SELECT MIN(MAX(due, lease)) FROM deliveries").fetchone()
        return None if row[0] is None else float(row[0])

    def pending(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0])

    def done(self, delivery_ids: Sequence[int]) -> None:
        """Retire delivered deliveries."""
        if not delivery_ids:
            return
        with self._tx() as db:
            db.executemany("DELETE FROM deliveries WHERE id = ?", [(i,) for i in delivery_ids])

    def retry_later(self, delivery_id: int, due: float, code: str, message: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, due = ?, lease = 0,"
                " error_code = ?, error_message = ? WHERE id = ?",
                (due, code, message, delivery_id),
            )

    def dead_letter(
        self,
        delivery_id: int,
        queue: str | None,
        body: str,
        attributes: dict[str, str],
        now: float,
        reason: str | None,
    ) -> None:
        """Retire a delivery that failed for good: into ``queue`` when it
        exists, else into ``undeliverable`` with ``reason`` — one transaction,
        so the event is always somewhere."""
        with self._tx() as db:
            if queue is not None:
                self._send(db, queue, body, attributes, now)
            else:
                record = {"body": body, "attributes": attributes}
                db.execute(
                    "INSERT INTO undeliverable (at, reason, delivery) VALUES (?, ?, ?)",
                    (now, reason or "no dead-letter queue", json.dumps(record)),
                )
            db.execute("DELETE FROM deliveries WHERE id = ?", (delivery_id,))

    def undeliverable(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, reason, delivery FROM undeliverable ORDER BY id"
            ).fetchall()
        return [{"at": at, "reason": reason, **json.loads(d)} for at, reason, d in rows]

    # ---- built-in queues -------------------------------------------------------------

    @staticmethod
    def _send(
        db: sqlite3.Connection, queue: str, body: str, attributes: dict[str, str], now: float
    ) -> str:
        message_id = str(uuid.uuid4())
        db.execute(
            "INSERT INTO messages (queue, message_id, body, attributes, sent, visible)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (queue, message_id, body, json.dumps(attributes), now, now),
        )
        return message_id

    def send(self, queue: str, body: str, attributes: dict[str, str], now: float) -> str:
        with self._tx() as db:
            return self._send(db, queue, body, attributes, now)

    def send_and_done(
        self, delivery_id: int, queue: str, body: str, attributes: dict[str, str], now: float
    ) -> str:
        """Deliver to a built-in queue: the message appears and the delivery
        is retired in one transaction (exactly once, for this target kind)."""
        with self._tx() as db:
            message_id = self._send(db, queue, body, attributes, now)
            db.execute("DELETE FROM deliveries WHERE id = ?", (delivery_id,))
        return message_id

    def receive(self, queue: str, limit: int, now: float, visibility: float) -> list[Message]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, message_id, body, attributes, sent, receives FROM messages"
                " WHERE queue = ? AND visible <= ? ORDER BY id LIMIT ?",
                (queue, now, limit),
            ).fetchall()
            out = []
            for row_id, message_id, body, attributes, sent, receives in rows:
                receipt = f"{row_id}:{uuid.uuid4().hex}"
                db.execute(
                    "UPDATE messages SET visible = ?, receipt = ?, receives = receives + 1"
                    " WHERE id = ?",
                    (now + visibility, receipt, row_id),
                )
                out.append(
                    Message(message_id, receipt, body, json.loads(attributes), sent, receives + 1)
                )
        return out

    def delete_message(self, queue: str, receipt: str) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM messages WHERE queue = ? AND receipt = ?", (queue, receipt)
            )
        return cur.rowcount > 0

    def change_visibility(self, queue: str, receipt: str, visible: float) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE messages SET visible = ? WHERE queue = ? AND receipt = ?",
                (visible, queue, receipt),
            )
        return cur.rowcount > 0

    def queue_depth(self, queue: str) -> int:
        with self._lock:
            return int(
                self._db.execute(
                    "SELECT COUNT(*) FROM messages WHERE queue = ?", (queue,)
                ).fetchone()[0]
            )

    def purge_queue(self, queue: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM messages WHERE queue = ?", (queue,))

    # ---- archives --------------------------------------------------------------------

    def archived(self, archive: str, start: float, end: float) -> list[Archived]:
        """Events of an archive with start <= time < end, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id, time, body FROM archived WHERE archive = ? AND time >= ?"
                " AND time < ? ORDER BY time, id",
                (archive, start, end),
            ).fetchall()
        return [Archived(*r) for r in rows]

    def archive_stats(self, archive: str) -> tuple[int, int]:
        """(event count, total bytes) of an archive."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM archived WHERE archive = ?",
                (archive,),
            ).fetchone()
        return int(row[0]), int(row[1])

    def expire_archive(self, archive: str, before: float) -> int:
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM archived WHERE archive = ? AND time < ?", (archive, before)
            )
        return cur.rowcount

    def drop_archive(self, archive: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM archived WHERE archive = ?", (archive,))

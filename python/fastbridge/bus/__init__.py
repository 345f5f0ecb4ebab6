"""The event bus: EventBridge's API in process, durable on SQLite by default.

>>> from fastbridge.bus import EventBridge
>>> bus = EventBridge.memory(start=False)
>>> seen = []
>>> @bus.subscribe({"source": ["shop"]})
... def orders(event):
...     seen.append(event["detail"])
>>> bus.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": '{"n": 1}'}])[
...     "FailedEntryCount"]
0
>>> bus.run_pending()
1
>>> seen
[{'n': 1}]
"""

from fastbridge.bus.core import EventBridge, Queue
from fastbridge.bus.errors import (
    BusError,
    ConcurrentModificationException,
    IllegalStatusException,
    InternalException,
    InvalidEventPatternException,
    LimitExceededException,
    ManagedRuleException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from fastbridge.bus.schedule import Clock, FakeClock, SystemClock
from fastbridge.bus.store import Store, StoreLockedError

__all__ = [
    "BusError",
    "Clock",
    "ConcurrentModificationException",
    "EventBridge",
    "FakeClock",
    "IllegalStatusException",
    "InternalException",
    "InvalidEventPatternException",
    "LimitExceededException",
    "ManagedRuleException",
    "Queue",
    "ResourceAlreadyExistsException",
    "ResourceNotFoundException",
    "Store",
    "StoreLockedError",
    "SystemClock",
    "ValidationException",
]

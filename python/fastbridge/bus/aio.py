"""The bus from asyncio.

:class:`AsyncEventBridge` offers every method of :class:`EventBridge` as a
coroutine (``await bus.put_events(Entries=[...])``), run in a worker thread so
the event loop never waits on SQLite's commit. Async functions registered as
targets run on the bus's own event loop; :meth:`AsyncEventBridge.subscribe`
takes them directly::

    bus = AsyncEventBridge(EventBridge("events.db"))

    @bus.subscribe({"source": ["shop"]})
    async def on_order(event):
        ...

    await bus.put_events(Entries=[...])
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastbridge.bus.core import EventBridge
from fastbridge.bus.store import Message


class AsyncEventBridge:
    def __init__(self, bus: EventBridge) -> None:
        self.bus = bus
        self.exceptions = bus.exceptions

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.bus, name)
        if not callable(method) or name.startswith("_"):
            raise AttributeError(name)

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call

    def subscribe(self, pattern: Any, **options: Any) -> Callable[[Any], Any]:
        """As :meth:`EventBridge.subscribe` (registration is immediate)."""
        return self.bus.subscribe(pattern, **options)

    async def receive(
        self,
        queue: str,
        max_messages: int = 10,
        visibility_timeout: float = 30.0,
        wait: float = 0.0,
    ) -> list[Message]:
        """Receive from a built-in queue, long-polling up to ``wait`` seconds
        without blocking the event loop."""
        handle = self.bus.queue(queue)
        return await asyncio.to_thread(handle.receive, max_messages, visibility_timeout, wait)

    async def close(self) -> None:
        await asyncio.to_thread(self.bus.close)

    async def __aenter__(self) -> AsyncEventBridge:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

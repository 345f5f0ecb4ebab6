"""Timing and memory helpers.

Timed loops run with Python's cyclic garbage collector off (as ``timeit``
does) and drop every result at once: holding 200k parsed events alive would
make the collector dominate the parse cost.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Figure:
    """A throughput figure: the best of ``times`` (seconds for one pass)."""

    events: int
    bytes: int
    times: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def events_per_s(self) -> float:
        return self.events / self.best

    @property
    def ns_per_event(self) -> float:
        return self.best / self.events * 1e9

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.best / 1e6

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "bytes": self.bytes,
            "seconds": self.times,
            "events_per_s": self.events_per_s,
            "ns_per_event": self.ns_per_event,
            "mb_per_s": self.mb_per_s,
        }


class _NoGC:
    def __enter__(self) -> None:
        gc.collect()
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()


def no_gc() -> _NoGC:
    return _NoGC()


def interleaved(
    passes: dict[str, Callable[[], object]],
    repeats: int,
    sizes: dict[str, tuple[int, int]],
    max_seconds: float = float("inf"),
) -> dict[str, Figure]:
    """Times each pass ``repeats`` times, round-robin (so drift hits all alike);
    no new round starts after ``max_seconds`` (there is always one)."""
    figures = {name: Figure(*sizes[name]) for name in passes}
    with no_gc():
        deadline = time.perf_counter() + max_seconds
        for _ in range(repeats):
            if figures[next(iter(passes))].times and time.perf_counter() > deadline:
                break
            for name, run in passes.items():
                start = time.perf_counter()
                run()
                figures[name].times.append(time.perf_counter() - start)
    return figures


def budgeted(
    match: Callable[[bytes], object],
    events: Sequence[bytes],
    order: Sequence[int],
    budget: float,
) -> tuple[Figure, list[tuple[int, object]]]:
    """Runs ``match`` over ``events`` in ``order`` until ``budget`` seconds are
    spent (at least one event). Returns the figure and (index, result) pairs."""
    results: list[tuple[int, object]] = []
    done_bytes = 0
    with no_gc():
        start = time.perf_counter()
        deadline = start + budget
        for i in order:
            event = events[i]
            results.append((i, match(event)))
            done_bytes += len(event)
            if time.perf_counter() >= deadline:
                break
        elapsed = time.perf_counter() - start
    figure = Figure(len(results), done_bytes, [elapsed])
    return figure, results


def threaded(
    work: Callable[[Sequence[Any]], object],
    slices: Sequence[Sequence[Any]],
) -> float:
    """Wall seconds for one thread per slice running ``work(slice)`` together."""
    barrier = threading.Barrier(len(slices) + 1)
    done: list[float] = []

    def body(part: Sequence[Any]) -> None:
        barrier.wait()
        work(part)

    threads = [threading.Thread(target=body, args=(part,)) for part in slices]
    with no_gc():
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        done.append(time.perf_counter() - start)
    return done[0]


def rss_bytes() -> int | None:
    """Resident set size of this process now (Linux /proc, else psutil)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        return None

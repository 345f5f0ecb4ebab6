"""Fuzz ``fastbridge.bus.schedule.parse_schedule`` and ``next_after`` (atheris).

Input: the bytes, decoded as UTF-8 (undecodable bytes as U+FFFD), are the
``ScheduleExpression``. Checks:

- ``parse_schedule`` raises nothing but ``ValidationException`` (with PutRule's message);
- on what parses, ``next_after`` from a few fixed moments (1969 .. 9999, UTC) and from a
  rate's own ``start`` returns ``None`` or an aware UTC datetime strictly after the
  moment, a cron firing at second 0 of a minute whose fields the schedule allows, and a
  second call from that firing is later still; every call takes < 0.5 s;
- ``due_times`` over one day returns an ascending list inside the window.

Run: ``python fuzz/python/fuzz_schedule.py fuzz/python/corpus/schedule -max_total_time=540``
(``--seeds DIR`` writes the seed corpus first; see fuzz/python/README.md).
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime, timedelta, timezone

import atheris
import harness

with atheris.instrument_imports(include=["fastbridge.bus.schedule"]):
    from fastbridge.bus.errors import ValidationException
    from fastbridge.bus.schedule import (
        INVALID_SCHEDULE_MESSAGE,
        CronSchedule,
        RateSchedule,
        due_times,
        parse_schedule,
    )

UTC = timezone.utc
MAX_SECONDS = 0.5
MOMENTS = [
    datetime(1969, 12, 31, 23, 59, 30, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 28, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2027, 12, 31, 23, 59, tzinfo=UTC),
    datetime(2199, 12, 31, 23, 58, 59, tzinfo=UTC),
    datetime(2199, 12, 31, 23, 59, tzinfo=UTC),
    datetime(2200, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
]
STARTS = [None, datetime(2024, 5, 13, 12, 0, 7, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(what: str, expression: str, call, *args):
    began = time.perf_counter()
    result = call(*args)
    took = time.perf_counter() - began
    if took > MAX_SECONDS:
        raise AssertionError(f"{what} took {took:.3f} s on {expression!r} {args!r}")
    return result


def check_firing(schedule, expression: str, after: datetime, got) -> None:
    if got is None:
        return
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0), (expression, after, got)
    assert got > after, (expression, after, got)
    if isinstance(schedule, CronSchedule):
        assert got.second == 0 and got.microsecond == 0, (expression, got)
        assert got.minute in schedule.minutes and got.hour in schedule.hours, (expression, got)
        assert got.month in schedule.months and got.year in schedule.years, (expression, got)
        assert got.day in schedule.days_in(got.year, got.month), (expression, got)


def TestOneInput(data: bytes) -> None:
    expression = data.decode("utf-8", "replace")
    try:
        schedule = timed("parse_schedule", expression, parse_schedule, expression)
    except ValidationException as e:
        assert e.message == INVALID_SCHEDULE_MESSAGE, e.message
        return
    assert isinstance(schedule, (CronSchedule, RateSchedule)), schedule
    schedules = [schedule]
    if isinstance(schedule, RateSchedule):
        schedules += [parse_schedule(expression, start) for start in STARTS[1:]]
    for s in schedules:
        for moment in MOMENTS + ([s.start] if isinstance(s, RateSchedule) else []):
            got = timed("next_after", expression, s.next_after, moment)
            check_firing(s, expression, moment, got)
            if got is not None:
                again = timed("next_after", expression, s.next_after, got)
                check_firing(s, expression, got, again)
    for moment in MOMENTS[1:5]:
        window = timed(
            "due_times", expression, due_times, schedule, moment, moment + timedelta(days=1), 50
        )
        assert window == sorted(set(window)), (expression, window)
        assert all(moment < t <= moment + timedelta(days=1) for t in window), (expression, window)


def seeds() -> list[str]:
    """Every ``cron(...)``/``rate(...)`` literal of the schedule tests and README texts."""
    found: set[str] = set()
    for rel in ("tests/bus/test_schedule.py", "tests/bus/test_bus.py", "python/README.md"):
        path = os.path.join(ROOT, rel)
        if os.path.exists(path):
            text = open(path, encoding="utf-8").read()
            found.update(re.findall(r"""["'](\s*(?:cron|rate)\([^"'\n]*)["']""", text))
    found.update(["cron(0/5 8-17 ? * MON-FRI *)", "rate(1 minute)", "cron(0 0 L * ? *)"])
    return sorted(found)


if __name__ == "__main__":
    harness.main(TestOneInput, seeds)

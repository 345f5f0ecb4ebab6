"""Schedule expressions (rate/cron as EventBridge's PutRule accepts them), clocks, due_times.

The property test checks ``CronSchedule.next_after`` against a brute-force reference: the
expression is generated as a structure, rendered to text for the parser, and matched by a
separate, deliberately naive matcher written here from the same structure.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastbridge.bus.errors import ValidationException
from fastbridge.bus.schedule import (
    CronSchedule,
    FakeClock,
    RateSchedule,
    Schedule,
    SystemClock,
    due_times,
    parse_schedule,
)

UTC = timezone.utc
MESSAGE = "Parameter ScheduleExpression is not valid."


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# --------------------------------------------------------------------------- validity

VALID = [
    # AWS's examples (EventBridge user guide, cron and rate expression references)
    "cron(0 10 * * ? *)",
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0/10 * ? * MON-FRI *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0 9 ? * 2#1 *)",
    "cron(0 20 * * ? *)",
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(2 hours)",
    "rate(1 day)",
    "rate(7 days)",
    # the rest of the grammar
    "cron(15 10 ? * 6L 2025-2030)",
    "cron(0 23 L * ? *)",
    "cron(0 21 LW * ? *)",
    "cron(0 0 3W * ? *)",
    "cron(0 0 ? * L *)",
    "cron(0 0 ? * FRIL *)",
    "cron(0 0 ? * MON#2 *)",
    "cron(0 0 1 JAN,FEB,MAR ? *)",
    "cron(0 0 1 jan-mar ? *)",
    "cron(*/5 * * * ? *)",
    "cron(5/20 */2 1-15/3 2/3 ? 2020/5)",
    "cron(0 22-2 ? * FRI-MON *)",
    "cron(0 0 25-5 NOV-FEB ? *)",
    "cron(59 23 31 12 ? 2199)",
    "cron(0 0 1 1 ? 1970)",
    "cron(0,15,30,45 0-6,18-23 ? * 1,7 *)",
    "cron(0 0 * * ? *)",
    "cron(0 0 ? * * *)",
    "cron(0  0   1 * ? *)",
]

INVALID = [
    # rate
    "rate(1 minutes)",
    "rate(0 minutes)",
    "rate(0 minute)",
    "rate(5 minute)",
    "rate(1 hours)",
    "rate(5 hour)",
    "rate(2 day)",
    "rate(1 days)",
    "rate(5 seconds)",
    "rate(1 second)",
    "rate(1 week)",
    "rate(-5 minutes)",
    "rate(+5 minutes)",
    "rate(1.5 hours)",
    "rate(5)",
    "rate(minutes)",
    "rate(5 minutes 1)",
    "rate(5 Minutes)",
    "rate()",
    "rate(5 minutes",
    "RATE(5 minutes)",
    "rate(999999999999999 days)",
    # cron: shape
    "cron(0 10 * * ?)",
    "cron(0 10 * * ? * *)",
    "cron()",
    "cron(0 10 * * ? *",
    "CRON(0 10 * * ? *)",
    "0 10 * * ? *",
    "",
    "every 5 minutes",
    # cron: day-of-month / day-of-week
    "cron(0 0 * * * *)",
    "cron(0 0 1 * MON *)",
    "cron(0 0 ? * ? *)",
    "cron(0 9 * * MON-FRI *)",
    # cron: out of range
    "cron(60 0 * * ? *)",
    "cron(0 24 * * ? *)",
    "cron(0 0 0 * ? *)",
    "cron(0 0 32 * ? *)",
    "cron(0 0 1 0 ? *)",
    "cron(0 0 1 13 ? *)",
    "cron(0 0 ? * 0 *)",
    "cron(0 0 ? * 8 *)",
    "cron(0 0 1 * ? 1969)",
    "cron(0 0 1 * ? 2200)",
    "cron(0 0 ? * 0#1 *)",
    "cron(0 0 ? * 2#0 *)",
    "cron(0 0 ? * 2#6 *)",
    "cron(0 0 ? * 8L *)",
    "cron(0 0 32W * ? *)",
    "cron(0 0 0W * ? *)",
    # cron: wildcards in the wrong place or form
    "cron(*/60 * * * ? *)",
    "cron(0/0 * * * ? *)",
    "cron(0/ * * * ? *)",
    "cron(/5 * * * ? *)",
    "cron(0 */24 * * ? *)",
    "cron(? 0 * * ? *)",
    "cron(0 0 * ? * *)",
    "cron(0 0 1 * ? ?)",
    "cron(L 0 * * ? *)",
    "cron(0 0 1 L ? *)",
    "cron(0 0 ? * 1W *)",
    "cron(0 0 1#2 * ? *)",
    "cron(0 0 ? * 3#1,6#3 *)",
    "cron(0 0 ? * 1,3#2 *)",
    "cron(0 0 1,L * ? *)",
    "cron(0 0 L-3 * ? *)",
    "cron(0 0 1W,15 * ? *)",
    "cron(0 0 W * ? *)",
    "cron(0 0 ? * 2/2 *)",
    "cron(0 0 ? * 5L,6 *)",
    "cron(0 0 1 * ? 2030-2020)",
    "cron(0 0 1 FOO ? *)",
    "cron(0 0 1 JANUARY ? *)",
    "cron(0 0 ? * MONDAY *)",
    "cron(0 0 1 * ? JAN)",
    "cron(MON 0 1 * ? *)",
    "cron(0 0 1-* * ? *)",
    "cron(0 0 1- * ? *)",
    "cron(0 0 -1 * ? *)",
    "cron(0 0 1-2-3 * ? *)",
    "cron(0 0 1,,2 * ? *)",
    "cron(0 0 1, * ? *)",
    "cron(-1 0 1 * ? *)",
    "cron(1.5 0 1 * ? *)",
]


@pytest.mark.parametrize("expression", VALID)
def test_valid(expression: str) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, Schedule)
    assert schedule.expression == expression
    assert isinstance(schedule, RateSchedule if expression.startswith("rate") else CronSchedule)


@pytest.mark.parametrize("expression", INVALID)
def test_invalid(expression: str) -> None:
    with pytest.raises(ValidationException) as info:
        parse_schedule(expression)
    assert info.value.message == MESSAGE
    assert info.value.code == "ValidationException"
    assert info.value.response["Error"]["Message"] == MESSAGE


def test_invalid_non_string() -> None:
    with pytest.raises(ValidationException):
        parse_schedule(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- cron semantics


def firings(expression: str, after: datetime, n: int) -> list[datetime]:
    schedule = parse_schedule(expression)
    out: list[datetime] = []
    t = after
    for _ in range(n):
        nxt = schedule.next_after(t)
        assert nxt is not None
        out.append(nxt)
        t = nxt
    return out


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # 10:00 UTC every day
        (
            "cron(0 10 * * ? *)",
            utc(2025, 3, 1, 9, 59, 59),
            [utc(2025, 3, 1, 10), utc(2025, 3, 2, 10)],
        ),
        # strictly after: a firing time is not its own successor
        ("cron(0 10 * * ? *)", utc(2025, 3, 1, 10), [utc(2025, 3, 2, 10)]),
        ("cron(15 12 * * ? *)", utc(2025, 3, 1, 12, 15, 0, 1), [utc(2025, 3, 2, 12, 15)]),
        # 18:00 Monday to Friday: 2025-03-07 is a Friday
        (
            "cron(0 18 ? * MON-FRI *)",
            utc(2025, 3, 7, 18),
            [utc(2025, 3, 10, 18), utc(2025, 3, 11, 18)],
        ),
        ("cron(0 8 1 * ? *)", utc(2025, 12, 15), [utc(2026, 1, 1, 8), utc(2026, 2, 1, 8)]),
        (
            "cron(0/15 * * * ? *)",
            utc(2025, 3, 1, 23, 40),
            [utc(2025, 3, 1, 23, 45), utc(2025, 3, 2, 0, 0), utc(2025, 3, 2, 0, 15)],
        ),
        (
            "cron(0/10 * ? * MON-FRI *)",
            utc(2025, 3, 7, 23, 55),  # Friday night -> Monday
            [utc(2025, 3, 10, 0, 0), utc(2025, 3, 10, 0, 10)],
        ),
        (
            "cron(0/5 8-17 ? * MON-FRI *)",
            utc(2025, 3, 10, 17, 55),
            [utc(2025, 3, 11, 8, 0), utc(2025, 3, 11, 8, 5)],
        ),
        # first Monday of the month at 09:00
        (
            "cron(0 9 ? * 2#1 *)",
            utc(2025, 3, 1),
            [utc(2025, 3, 3, 9), utc(2025, 4, 7, 9), utc(2025, 5, 5, 9)],
        ),
        # 1/10: the 1st, 11th, 21st ... minute (the guide's example)
        ("cron(1/10 * * * ? *)", utc(2025, 1, 1), [utc(2025, 1, 1, 0, 1), utc(2025, 1, 1, 0, 11)]),
        # last Friday of the month, 2025-2030
        (
            "cron(15 10 ? * 6L 2025-2030)",
            utc(2025, 1, 1),
            [utc(2025, 1, 31, 10, 15), utc(2025, 2, 28, 10, 15), utc(2025, 3, 28, 10, 15)],
        ),
        # last day of the month, leap February
        (
            "cron(0 23 L * ? *)",
            utc(2024, 1, 31, 23),
            [utc(2024, 2, 29, 23), utc(2024, 3, 31, 23), utc(2024, 4, 30, 23)],
        ),
        # last weekday: 2025-05-31 is a Saturday, 2025-08-31 a Sunday
        (
            "cron(0 21 LW * ? *)",
            utc(2025, 5, 1),
            [
                utc(2025, 5, 30, 21),
                utc(2025, 6, 30, 21),
                utc(2025, 7, 31, 21),
                utc(2025, 8, 29, 21),
            ],
        ),
        # nearest weekday: 2025-03-01 is a Saturday -> Monday 3rd (not February);
        # 2025-06-01 a Sunday -> Monday 2nd; 2025-11-01 a Saturday -> Monday 3rd
        ("cron(0 0 1W 3 ? *)", utc(2025, 1, 1), [utc(2025, 3, 3), utc(2026, 3, 2)]),
        ("cron(0 0 1W 6 ? 2025)", utc(2025, 1, 1), [utc(2025, 6, 2)]),
        # 2025-03-15 is a Saturday -> Friday 14th; 2025-06-15 a Sunday -> Monday 16th
        ("cron(0 0 15W 3,6 ? 2025)", utc(2025, 1, 1), [utc(2025, 3, 14), utc(2025, 6, 16)]),
        # 2025-08-31 is a Sunday, the month's last day -> Friday 29th
        ("cron(0 0 31W 8 ? 2025)", utc(2025, 1, 1), [utc(2025, 8, 29)]),
        # 31W skips months without a 31st (AWS console behaviour)
        (
            "cron(0 0 31W * ? 2027)",
            utc(2027, 1, 1),
            [utc(2027, 1, 29), utc(2027, 3, 31), utc(2027, 5, 31), utc(2027, 7, 30)],
        ),
        # day-of-week L alone: Saturday
        ("cron(0 0 ? * L *)", utc(2025, 3, 3), [utc(2025, 3, 8), utc(2025, 3, 15)]),
        # fifth Friday only in months that have one
        ("cron(0 0 ? * 6#5 2025)", utc(2025, 1, 1), [utc(2025, 1, 31), utc(2025, 5, 30)]),
        # wrapping ranges
        (
            "cron(0 22-1 ? * SAT-SUN *)",
            utc(2025, 3, 7, 12),  # Friday
            [utc(2025, 3, 8, 0), utc(2025, 3, 8, 1), utc(2025, 3, 8, 22), utc(2025, 3, 8, 23)],
        ),
        (
            "cron(0 0 1 NOV-JAN ? *)",
            utc(2025, 2, 1),
            [utc(2025, 11, 1), utc(2025, 12, 1), utc(2026, 1, 1)],
        ),
        # years with a step
        ("cron(0 0 1 1 ? 2020/4)", utc(2021, 6, 1), [utc(2024, 1, 1), utc(2028, 1, 1)]),
    ],
)
def test_cron_firings(expression: str, after: datetime, expected: list[datetime]) -> None:
    assert firings(expression, after, len(expected)) == expected


def test_cron_leap_day_is_found_fast() -> None:
    schedule = parse_schedule("cron(0 0 29 2 ? *)")
    began = time.perf_counter()
    assert schedule.next_after(utc(2025, 1, 1)) == utc(2028, 2, 29)
    assert schedule.next_after(utc(2100, 1, 1)) == utc(2104, 2, 29)  # 2100 is not a leap year
    assert time.perf_counter() - began < 0.5


@pytest.mark.parametrize(
    ("expression", "after"),
    [
        ("cron(0 0 1 1 ? 2020)", utc(2025, 1, 1)),
        ("cron(0 0 30 2 ? *)", utc(2025, 1, 1)),  # February never has a 30th
        ("cron(0 0 31W 4 ? *)", utc(2025, 1, 1)),
        ("cron(0 0 ? 2 6#5 2027)", utc(2025, 1, 1)),  # February 2027 has four Fridays
        ("cron(0 10 * * ? *)", utc(2199, 12, 31, 10)),  # past the last year
        ("cron(0 10 * * ? *)", utc(2500, 1, 1)),
        ("cron(59 23 31 12 ? 2199)", utc(2199, 12, 31, 23, 59)),
    ],
)
def test_cron_without_future_firing_is_none_quickly(expression: str, after: datetime) -> None:
    began = time.perf_counter()
    assert parse_schedule(expression).next_after(after) is None
    assert time.perf_counter() - began < 0.5


def test_cron_before_1970_and_last_moment() -> None:
    schedule = parse_schedule("cron(0 0 1 1 ? *)")
    assert schedule.next_after(utc(1900, 5, 5)) == utc(1970, 1, 1)
    last = parse_schedule("cron(59 23 31 12 ? 2199)")
    assert last.next_after(utc(2199, 12, 31, 23, 58, 59, 999999)) == utc(2199, 12, 31, 23, 59)


def test_next_after_converts_other_timezones_and_rejects_naive() -> None:
    schedule = parse_schedule("cron(0 10 * * ? *)")
    plus2 = timezone(timedelta(hours=2))
    # 11:30 at +02:00 is 09:30 UTC: the next firing is 10:00 UTC the same day
    result = schedule.next_after(datetime(2025, 3, 1, 11, 30, tzinfo=plus2))
    assert result == utc(2025, 3, 1, 10)
    assert result is not None and result.tzinfo == UTC
    with pytest.raises(ValueError):
        schedule.next_after(datetime(2025, 3, 1))


# --------------------------------------------------------------------------- rate semantics


def test_rate_default_is_aligned_to_the_epoch() -> None:
    schedule = parse_schedule("rate(5 minutes)")
    assert isinstance(schedule, RateSchedule)
    assert schedule.period == timedelta(minutes=5)
    assert schedule.next_after(utc(2025, 3, 1, 10, 2, 30)) == utc(2025, 3, 1, 10, 5)
    assert schedule.next_after(utc(2025, 3, 1, 10, 5)) == utc(2025, 3, 1, 10, 10)
    assert parse_schedule("rate(1 day)").next_after(utc(2025, 3, 1, 0, 0, 1)) == utc(2025, 3, 2)
    assert parse_schedule("rate(7 days)").next_after(utc(1970, 1, 1)) == utc(1970, 1, 8)


def test_rate_from_start() -> None:
    start = utc(2025, 3, 1, 10, 2, 30, 500)
    schedule = parse_schedule("rate(1 hour)", start=start)
    assert isinstance(schedule, RateSchedule)
    assert schedule.start == start
    # the first firing is one period after the rule starts, not at the start itself
    assert schedule.next_after(start) == start + timedelta(hours=1)
    assert schedule.next_after(start - timedelta(days=3)) == start + timedelta(hours=1)
    assert schedule.next_after(start + timedelta(hours=5)) == start + timedelta(hours=6)
    assert schedule.next_after(start + timedelta(hours=5, microseconds=-1)) == start + timedelta(
        hours=5
    )
    # start given in another zone is kept as the same instant, in UTC
    other = parse_schedule(
        "rate(2 hours)", start=datetime(2025, 1, 1, 3, tzinfo=timezone(timedelta(hours=3)))
    )
    assert other.next_after(utc(2025, 1, 1)) == utc(2025, 1, 1, 2)


def test_rate_start_must_be_aware() -> None:
    with pytest.raises(ValueError):
        parse_schedule("rate(1 hour)", start=datetime(2025, 1, 1))


def test_cron_ignores_start() -> None:
    schedule = parse_schedule("cron(0 10 * * ? *)", start=utc(2025, 1, 1, 9, 30))
    assert schedule.next_after(utc(2025, 1, 1)) == utc(2025, 1, 1, 10)


# --------------------------------------------------------------------------- due_times and clocks


def test_due_times_rate() -> None:
    schedule = parse_schedule("rate(5 minutes)")
    assert due_times(schedule, utc(2025, 1, 1, 10), utc(2025, 1, 1, 10, 20)) == [
        utc(2025, 1, 1, 10, 5),
        utc(2025, 1, 1, 10, 10),
        utc(2025, 1, 1, 10, 15),
        utc(2025, 1, 1, 10, 20),
    ]
    assert due_times(schedule, utc(2025, 1, 1, 10), utc(2025, 1, 1, 10, 4, 59)) == []
    assert due_times(schedule, utc(2025, 1, 1, 10), utc(2025, 1, 1, 9)) == []


def test_due_times_limit() -> None:
    schedule = parse_schedule("rate(1 minute)")
    window = (utc(2025, 1, 1), utc(2025, 1, 3))
    assert len(due_times(schedule, *window)) == 1000
    got = due_times(schedule, *window, limit=3)
    assert got == [utc(2025, 1, 1, 0, 1), utc(2025, 1, 1, 0, 2), utc(2025, 1, 1, 0, 3)]
    assert due_times(schedule, *window, limit=0) == []
    with pytest.raises(ValueError):
        due_times(schedule, *window, limit=-1)


def test_due_times_cron_running_out() -> None:
    schedule = parse_schedule("cron(0 12 31 12 ? 2025-2026)")
    assert due_times(schedule, utc(2020, 1, 1), utc(2100, 1, 1)) == [
        utc(2025, 12, 31, 12),
        utc(2026, 12, 31, 12),
    ]


def test_fake_clock_drives_due_times() -> None:
    clock = FakeClock(utc(2025, 3, 7, 17, 50))  # a Friday
    schedule = parse_schedule("cron(0/5 8-17 ? * MON-FRI *)")
    last = clock.now()
    clock.advance(15 * 60)
    now = clock.now()
    assert due_times(schedule, last, now) == [utc(2025, 3, 7, 17, 55)]
    last = now
    clock.advance(3 * 86_400)  # to Monday 18:05
    assert [t.strftime("%a %H:%M") for t in due_times(schedule, last, clock.now())][:3] == [
        "Mon 08:00",
        "Mon 08:05",
        "Mon 08:10",
    ]
    assert len(due_times(schedule, last, clock.now())) == 10 * 12


def test_fake_clock() -> None:
    clock = FakeClock(utc(2025, 1, 1))
    assert clock.now() == utc(2025, 1, 1)
    assert clock.now().tzinfo == UTC
    assert clock.monotonic() == 0.0
    clock.advance(90.5)
    assert clock.now() == utc(2025, 1, 1, 0, 1, 30, 500_000)
    assert clock.monotonic() == 90.5
    clock.set(utc(2025, 1, 1, 0, 2, 30, 500_000))
    assert clock.monotonic() == pytest.approx(150.5)
    clock.set(utc(2024, 1, 1))  # the wall clock may go back; monotonic does not
    assert clock.now() == utc(2024, 1, 1)
    assert clock.monotonic() == pytest.approx(150.5)
    clock.advance(0)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.advance(float("nan"))
    with pytest.raises(ValueError):
        clock.set(datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        FakeClock(datetime(2025, 1, 1))
    plus1 = timezone(timedelta(hours=1))
    clock.set(datetime(2025, 1, 1, 1, tzinfo=plus1))
    assert clock.now() == utc(2025, 1, 1) and clock.now().tzinfo == UTC


def test_system_clock() -> None:
    clock = SystemClock()
    before = datetime.now(UTC)
    now = clock.now()
    assert now.tzinfo == UTC
    assert before <= now <= datetime.now(UTC)
    a = clock.monotonic()
    assert clock.monotonic() >= a


# --------------------------------------------------------------------------- property test
#
# A cron expression is generated as a structure; `render` makes the text the parser reads,
# and the `Ref*` classes match it naively (a date, an hour, a minute at a time).

NAMES = {
    "month": ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
    "dow": ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
}


@dataclass(frozen=True)
class Term:
    """``*``, ``v`` or ``a-b``, with an optional ``/step``; ``a > b`` wraps around."""

    kind: str  # "star" | "value" | "range"
    a: int = 0
    b: int = 0
    step: int = 0  # 0: none
    named: bool = False


@dataclass(frozen=True)
class RefField:
    lo: int
    hi: int
    terms: tuple[Term, ...]
    names: str = ""

    def render(self) -> str:
        def val(v: int, named: bool) -> str:
            return NAMES[self.names][v - 1] if named and self.names else str(v)

        parts = []
        for t in self.terms:
            if t.kind == "star":
                s = "*"
            elif t.kind == "value":
                s = val(t.a, t.named)
            else:
                s = f"{val(t.a, t.named)}-{val(t.b, t.named)}"
            parts.append(s + (f"/{t.step}" if t.step else ""))
        return ",".join(parts)

    def matches(self, v: int) -> bool:
        return any(self._term_matches(t, v) for t in self.terms)

    def _term_matches(self, t: Term, v: int) -> bool:
        size = self.hi - self.lo + 1
        if t.kind == "star":
            start, end = self.lo, self.hi
        elif t.kind == "value":
            start, end = t.a, (self.hi if t.step else t.a)
        else:
            start, end = t.a, t.b
        # position of v counted from `start` going up and wrapping past `hi`
        offset = (v - start) % size
        if offset > (end - start) % size:
            return False
        return offset % (t.step or 1) == 0


def ref_dow(d: date) -> int:
    return d.isoweekday() % 7 + 1  # SUN=1 ... SAT=7


def ref_month_days(d: date) -> list[date]:
    return _month_days(d.year, d.month)


@functools.cache
def _month_days(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    out = []
    x = first
    while x.month == first.month:
        out.append(x)
        x += timedelta(days=1)
    return out


@dataclass(frozen=True)
class RefDay:
    """Which days fire: ``field`` is "dom" or "dow", ``kind`` a special form or "list"."""

    field: str
    kind: str  # "list" | "L" | "LW" | "W" | "nL" | "#"
    terms: RefField | None = None
    n: int = 0
    k: int = 0

    def render(self) -> tuple[str, str]:
        if self.kind == "list":
            assert self.terms is not None
            text = self.terms.render()
        else:
            text = {
                "L": "L",
                "LW": "LW",
                "W": f"{self.n}W",
                "nL": f"{self.n}L",
                "#": f"{self.n}#{self.k}",
            }[self.kind]
        return (text, "?") if self.field == "dom" else ("?", text)

    def matches(self, d: date) -> bool:
        days = ref_month_days(d)
        weekdays = [x for x in days if ref_dow(x) not in (1, 7)]
        if self.kind == "list":
            assert self.terms is not None
            return self.terms.matches(d.day if self.field == "dom" else ref_dow(d))
        if self.kind == "L":
            return d == days[-1] if self.field == "dom" else ref_dow(d) == 7
        if self.kind == "LW":
            return d == weekdays[-1]
        if self.kind == "W":
            if self.n > len(days):
                return False
            return d == min(weekdays, key=lambda x: abs(x.day - self.n))
        if self.kind == "nL":
            return ref_dow(d) == self.n and (d + timedelta(days=7)).month != d.month
        assert self.kind == "#"
        return ref_dow(d) == self.n and (d.day - 1) // 7 + 1 == self.k


@dataclass(frozen=True)
class RefCron:
    minutes: RefField
    hours: RefField
    day: RefDay
    months: RefField
    years: RefField

    def render(self) -> str:
        dom, dow = self.day.render()
        fields = [self.minutes.render(), self.hours.render(), dom, self.months.render()]
        return f"cron({' '.join(fields)} {dow} {self.years.render()})"

    def next_after(self, t: datetime, window_days: int) -> datetime | None:
        """Brute force: every day of the window; every minute of each matching day."""
        day = t.date()
        for _ in range(window_days + 1):
            if (
                self.years.matches(day.year)
                and self.months.matches(day.month)
                and self.day.matches(day)
            ):
                for minute_of_day in range(24 * 60):
                    h, m = divmod(minute_of_day, 60)
                    moment = datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)
                    if moment > t and self.hours.matches(h) and self.minutes.matches(m):
                        return moment
            day += timedelta(days=1)
        return None


def terms_of(
    lo: int, hi: int, max_step: int, *, steps: bool = True, names: bool = False
) -> st.SearchStrategy[Term]:
    value = st.integers(lo, hi)
    step = st.integers(1, max_step) if steps else st.just(0)
    maybe_step = st.one_of(st.just(0), step) if steps else st.just(0)
    named = st.booleans() if names else st.just(False)
    star = st.builds(Term, kind=st.just("star"), step=maybe_step)
    single = st.builds(Term, kind=st.just("value"), a=value, step=maybe_step, named=named)
    rng = st.builds(Term, kind=st.just("range"), a=value, b=value, step=maybe_step, named=named)
    return st.one_of(star, single, rng)


def field_of(
    lo: int, hi: int, max_step: int, *, steps: bool = True, names: str = "", max_terms: int = 3
) -> st.SearchStrategy[RefField]:
    terms = st.lists(
        terms_of(lo, hi, max_step, steps=steps, names=bool(names)), min_size=1, max_size=max_terms
    )
    return terms.map(lambda ts: RefField(lo, hi, tuple(ts), names))


def years_field() -> st.SearchStrategy[RefField]:
    """Years near the test window; ranges only ascending (the year field does not wrap)."""
    lo, hi = 1970, 2199

    @st.composite
    def term(draw: st.DrawFn) -> Term:
        kind = draw(st.sampled_from(["star", "value", "range"]))
        step = draw(st.one_of(st.just(0), st.integers(1, 5)))
        a = draw(st.integers(2018, 2034))
        if kind == "star":
            return Term("star", step=step)
        if kind == "value":
            return Term("value", a=a, step=step)
        return Term("range", a=a, b=draw(st.integers(a, 2036)), step=step)

    every = st.just(RefField(lo, hi, (Term("star"),)))
    listed = st.lists(term(), min_size=1, max_size=2).map(lambda ts: RefField(lo, hi, tuple(ts)))
    return st.one_of(every, listed)


def day_spec() -> st.SearchStrategy[RefDay]:
    dom_list = field_of(1, 31, 31).map(lambda f: RefDay("dom", "list", terms=f))
    dow_list = field_of(1, 7, 7, steps=False, names="dow").map(
        lambda f: RefDay("dow", "list", terms=f)
    )
    return st.one_of(
        dom_list,
        dow_list,
        st.just(RefDay("dom", "L")),
        st.just(RefDay("dom", "LW")),
        st.builds(RefDay, field=st.just("dom"), kind=st.just("W"), n=st.integers(1, 31)),
        st.just(RefDay("dow", "L")),
        st.builds(RefDay, field=st.just("dow"), kind=st.just("nL"), n=st.integers(1, 7)),
        st.builds(
            RefDay,
            field=st.just("dow"),
            kind=st.just("#"),
            n=st.integers(1, 7),
            k=st.integers(1, 5),
        ),
    )


crons = st.builds(
    RefCron,
    minutes=field_of(0, 59, 59),
    hours=field_of(0, 23, 23),
    day=day_spec(),
    months=field_of(1, 12, 12, names="month"),
    years=years_field(),
)

moments = st.datetimes(
    min_value=datetime(2019, 1, 1), max_value=datetime(2031, 12, 31), timezones=st.just(UTC)
)
minute_marks = moments.map(lambda t: t.replace(second=0, microsecond=0))

WINDOW_DAYS = 400


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cron=crons, t=st.one_of(moments, minute_marks))
def test_cron_next_after_matches_brute_force(cron: RefCron, t: datetime) -> None:
    expression = cron.render()
    schedule = parse_schedule(expression)
    expected = cron.next_after(t, WINDOW_DAYS)
    actual = schedule.next_after(t)
    if expected is not None:
        assert actual == expected, expression
    else:
        # nothing in the window: either never again, or later than the window
        assert actual is None or actual.date() > t.date() + timedelta(days=WINDOW_DAYS), expression
        if actual is not None:
            assert cron.next_after(actual - timedelta(minutes=1), 1) == actual, expression


@settings(max_examples=200, deadline=None)
@given(cron=crons, t=moments)
def test_cron_firings_follow_each_other(cron: RefCron, t: datetime) -> None:
    """Two successive firings with nothing between them (checked on the same brute force)."""
    schedule = parse_schedule(cron.render())
    first = schedule.next_after(t)
    if first is None:
        return
    assert first > t and first.second == 0 and first.microsecond == 0
    second = schedule.next_after(first)
    if second is None:
        return
    gap_days = (second.date() - first.date()).days
    assert cron.next_after(first, min(gap_days, WINDOW_DAYS)) == (
        second if gap_days <= WINDOW_DAYS else None
    )


@settings(max_examples=200, deadline=None)
@given(
    value=st.integers(1, 500),
    unit=st.sampled_from(["minute", "hour", "day"]),
    start=moments,
    t=moments,
)
def test_rate_next_after(value: int, unit: str, start: datetime, t: datetime) -> None:
    expression = f"rate({value} {unit}{'' if value == 1 else 's'})"
    schedule = parse_schedule(expression, start=start)
    period = timedelta(**{f"{unit}s": value})
    nxt = schedule.next_after(t)
    assert nxt is not None
    assert nxt > t and nxt - period <= max(t, start)
    assert (nxt - start) % period == timedelta(0) and nxt > start


SPECIAL_DAYS = (
    [RefDay("dom", "L"), RefDay("dom", "LW"), RefDay("dow", "L")]
    + [RefDay("dom", "W", n=n) for n in range(1, 32)]
    + [RefDay("dow", "nL", n=n) for n in range(1, 8)]
    + [RefDay("dow", "#", n=n, k=k) for n in range(1, 8) for k in range(1, 6)]
)


@pytest.mark.parametrize("day", SPECIAL_DAYS, ids=lambda d: "".join(d.render()))
def test_special_days_every_month_of_eight_years(day: RefDay) -> None:
    """``L LW nW nL n#k`` against the reference, month by month over 2024-2031 (every
    weekday a month can start on, leap and common Februaries)."""
    dom, dow = day.render()
    schedule = parse_schedule(f"cron(0 0 {dom} * {dow} *)")
    assert isinstance(schedule, CronSchedule)
    for year in range(2024, 2032):
        for month in range(1, 13):
            days = ref_month_days(date(year, month, 1))
            expected = [d.day for d in days if day.matches(d)]
            assert schedule.days_in(year, month) == expected, (year, month)

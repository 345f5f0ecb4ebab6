"""EventBridge schedule expressions (``rate(...)`` and ``cron(...)``) and the bus's clocks.

A rule's ``ScheduleExpression`` is parsed once by :func:`parse_schedule`; the result answers
:meth:`Schedule.next_after`, the first firing strictly after a moment. :func:`due_times` lists
every firing in a window, which is what the bus needs when a :class:`FakeClock` is advanced
past several firings at once. All times are timezone-aware UTC, as in EventBridge.

Syntax and semantics follow AWS's EventBridge user guide ("Cron expressions reference",
"Rate expressions reference"). Where the guide is silent this module follows the Quartz
scheduler, the dialect EventBridge's cron grew from, and each such choice is written down
below and in the docstrings.

Rate expressions
    ``rate(value unit)``: ``value`` a positive integer (ASCII digits), ``unit`` one of
    ``minute minutes hour hours day days``, singular exactly when ``value`` is 1. A rate
    schedule fires at ``start + k * period`` for ``k >= 1``, where ``start`` is when the rule
    was created or enabled (EventBridge starts the rate then). Without a ``start`` the
    schedule is aligned to the Unix epoch, so ``rate(5 minutes)`` fires at :00, :05, :10, ...

Cron expressions
    ``cron(minutes hours day-of-month month day-of-week year)``, six fields separated by
    white space, evaluated in UTC; a firing is at second 0 of a matching minute.

    ===============  ==================  ==========================
    field            values              wildcards
    ===============  ==================  ==========================
    minutes          0-59                ``, - * /``
    hours            0-23                ``, - * /``
    day-of-month     1-31                ``, - * ? / L W``
    month            1-12 or JAN-DEC     ``, - * /``
    day-of-week      1-7 or SUN-SAT      ``, - * ? L #`` (1 = SUN)
    year             1970-2199           ``, - * /``
    ===============  ==================  ==========================

    Exactly one of day-of-month and day-of-week is ``?``. Choices where the guide is silent:

    * Names (``JAN``, ``mon``) are case-insensitive; ``cron``/``rate`` and the rate unit are
      lower case only.
    * ``a/n`` runs from ``a`` to the field's maximum, ``*/n`` from its minimum, ``a-b/n``
      from ``a`` to ``b``. The increment ``n`` is at least 1 and at most 59 (minutes),
      23 (hours), 31 (day-of-month), 12 (month) or 229 (year); ``*/60`` is rejected as AWS
      rejects it.
    * A range whose start is past its end wraps around in the cyclic fields (``22-2`` hours,
      ``NOV-FEB``, ``FRI-MON``, ``25-5`` days); in the year field it is invalid.
    * Day-of-month ``L`` is the month's last day, ``LW`` its last weekday (Mon-Fri), ``nW``
      the weekday nearest day ``n`` without leaving the month (a Saturday 1st moves to
      Monday 3rd, a Sunday last day to Friday); when day ``n`` does not exist in a month
      (``31W`` in April) that month has no firing. Quartz's ``L-n`` offset is not accepted.
    * Day-of-week ``L`` alone is Saturday (the last day of the week); ``nL`` is the last
      day ``n`` of the month (``6L``: last Friday); ``n#k`` the k-th (1-5) day ``n`` of the
      month. ``L``, ``LW``, ``nW``, ``nL`` and ``n#k`` each stand alone in their field
      (the guide: with ``#`` only one expression is allowed in day-of-week).
    * ``/`` is not accepted in day-of-week (the English guide's table omits it).
    * A field with a value outside its range is invalid, as is a seventh field or a fifth.
    * Fields (and a rate's value and unit) are separated by runs of white space; white
      space just inside the parentheses is ignored, outside them it is not.
    * A rate whose period does not fit a ``timedelta`` (about 2.7 million years) is invalid.

Invalid expressions raise :class:`~fastbridge.bus.errors.ValidationException` with PutRule's
message, ``Parameter ScheduleExpression is not valid.``
"""

from __future__ import annotations

import calendar
import re
import threading
import time
from abc import ABC, abstractmethod
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from fastbridge.bus.errors import ValidationException

__all__ = [
    "INVALID_SCHEDULE_MESSAGE",
    "Clock",
    "CronSchedule",
    "FakeClock",
    "RateSchedule",
    "Schedule",
    "SystemClock",
    "due_times",
    "parse_schedule",
]

INVALID_SCHEDULE_MESSAGE = "Parameter ScheduleExpression is not valid."

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MIN_YEAR = 1970
MAX_YEAR = 2199

UTC = timezone.utc


_DIGITS = re.compile(r"[0-9]+")


def _invalid() -> ValidationException:
    return ValidationException(INVALID_SCHEDULE_MESSAGE)


def _as_utc(t: datetime, what: str = "t") -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {t!r}")
    return t.astimezone(timezone.utc)


def _total_us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Schedule(ABC):
    """A parsed schedule expression."""

    expression: str

    @abstractmethod
    def next_after(self, t: datetime) -> datetime | None:
        """The first firing time strictly after ``t`` (timezone-aware; converted to UTC).

        The result is aware UTC, or ``None`` when the schedule never fires after ``t`` (a
        cron whose years are all past).
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.expression!r})"


# --------------------------------------------------------------------------- rate

_RATE_UNITS: dict[str, tuple[int, bool]] = {
    # unit -> (seconds, is singular)
    "minute": (60, True),
    "minutes": (60, False),
    "hour": (3600, True),
    "hours": (3600, False),
    "day": (86_400, True),
    "days": (86_400, False),
}


class RateSchedule(Schedule):
    """``rate(value unit)``: fires at ``start + k * period`` for every ``k >= 1``.

    ``start`` is when the rule was created or enabled; ``None`` aligns the schedule to the
    Unix epoch (1970-01-01T00:00:00Z), so firings fall on multiples of the period.
    """

    def __init__(self, expression: str, start: datetime | None = None) -> None:
        if not (expression.startswith("rate(") and expression.endswith(")")):
            raise _invalid()
        parts = expression[5:-1].split()
        if len(parts) != 2 or not _DIGITS.fullmatch(parts[0]):
            raise _invalid()
        value = int(parts[0])
        unit = parts[1]
        if unit not in _RATE_UNITS or value <= 0:
            raise _invalid()
        seconds, singular = _RATE_UNITS[unit]
        if singular != (value == 1):
            raise _invalid()
        try:
            period = timedelta(seconds=value * seconds)
        except OverflowError:
            raise _invalid() from None
        self.expression = expression
        self.value = value
        self.unit = unit
        self.period = period
        self.start = EPOCH if start is None else _as_utc(start, "start")
        self._period_us = value * seconds * 1_000_000

    def next_after(self, t: datetime) -> datetime | None:
        elapsed = _total_us(_as_utc(t) - self.start)
        k = max(elapsed // self._period_us + 1, 1)
        try:
            return self.start + timedelta(microseconds=k * self._period_us)
        except OverflowError:
            return None


# --------------------------------------------------------------------------- cron


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    max_step: int
    names: dict[str, int]
    cyclic: bool


_MONTH_NAMES = {
    name: i + 1
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DOW_NAMES = {
    name: i + 1 for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])
}

_MINUTES = _Field("minutes", 0, 59, 59, {}, True)
_HOURS = _Field("hours", 0, 23, 23, {}, True)
_DOM = _Field("day-of-month", 1, 31, 31, {}, True)
_MONTH = _Field("month", 1, 12, 12, _MONTH_NAMES, True)
_DOW = _Field("day-of-week", 1, 7, 7, _DOW_NAMES, True)
_YEAR = _Field("year", MIN_YEAR, MAX_YEAR, MAX_YEAR - MIN_YEAR, {}, False)


def _value(text: str, field: _Field) -> int:
    if _DIGITS.fullmatch(text):
        v = int(text)
    else:
        named = field.names.get(text.upper())
        if named is None:
            raise _invalid()
        v = named
    if not field.lo <= v <= field.hi:
        raise _invalid()
    return v


def _values(text: str, field: _Field, allow_step: bool = True) -> frozenset[int]:
    """The set a list of ``* v a-b */n v/n a-b/n`` terms denotes."""
    out: set[int] = set()
    for term in text.split(","):
        base, slash, step_text = term.partition("/")
        step = 1
        if slash:
            if not allow_step or not _DIGITS.fullmatch(step_text):
                raise _invalid()
            step = int(step_text)
            if not 1 <= step <= field.max_step:
                raise _invalid()
        if base == "*":
            first, last = field.lo, field.hi
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _value(a, field), _value(b, field)
            if first > last and not field.cyclic:
                raise _invalid()
        else:
            first = _value(base, field)
            last = field.hi if slash else first
        span = field.hi - field.lo + 1
        count = (last - first) % span + 1 if field.cyclic else last - first + 1
        for i in range(0, count, step):
            out.add(field.lo + (first - field.lo + i) % span)
    return frozenset(out)


@dataclass(frozen=True)
class _DaySpec:
    """How one of day-of-month / day-of-week picks days; ``kind`` is one of
    ``any`` (``?``), ``set`` (days of the month), ``weekdays`` (days of the week),
    ``last`` (DOM L), ``last_weekday`` (LW), ``nearest`` (nW),
    ``last_dow`` (nL), ``nth`` (n#k)."""

    kind: str
    values: frozenset[int] = frozenset()
    n: int = 0
    k: int = 0


def _parse_dom(text: str) -> _DaySpec:
    if text == "?":
        return _DaySpec("any")
    upper = text.upper()
    if upper == "L":
        return _DaySpec("last")
    if upper == "LW":
        return _DaySpec("last_weekday")
    if upper.endswith("W"):
        body = text[:-1]
        if not _DIGITS.fullmatch(body):
            raise _invalid()
        return _DaySpec("nearest", n=_value(body, _DOM))
    return _DaySpec("set", values=_values(text, _DOM))


def _parse_dow(text: str) -> _DaySpec:
    if text == "?":
        return _DaySpec("any")
    upper = text.upper()
    if upper == "L":
        return _DaySpec("weekdays", values=frozenset({7}))
    if "#" in text:
        day, _, nth = text.partition("#")
        if not re.fullmatch(r"[1-5]", nth):
            raise _invalid()
        return _DaySpec("nth", n=_value(day, _DOW), k=int(nth))
    if upper.endswith("L"):
        return _DaySpec("last_dow", n=_value(text[:-1], _DOW))
    return _DaySpec("weekdays", values=_values(text, _DOW, allow_step=False))


def _aws_dow(year: int, month: int, day: int) -> int:
    """Day of week in AWS numbering, 1 = Sunday ... 7 = Saturday."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


def _days(spec: _DaySpec, year: int, month: int) -> list[int]:
    """The days of ``year-month`` a (non-``any``) spec selects, ascending."""
    ndays = calendar.monthrange(year, month)[1]
    kind = spec.kind
    if kind == "set":
        return [d for d in range(1, ndays + 1) if d in spec.values]
    if kind == "weekdays":
        return [d for d in range(1, ndays + 1) if _aws_dow(year, month, d) in spec.values]
    if kind == "last":
        return [ndays]
    if kind == "last_weekday":
        d = ndays
        while _aws_dow(year, month, d) in (1, 7):
            d -= 1
        return [d]
    if kind == "nearest":
        n = spec.n
        if n > ndays:
            return []
        dow = _aws_dow(year, month, n)
        if dow == 7:  # Saturday: the Friday before, or Monday 3rd for the 1st
            return [n - 1] if n > 1 else [n + 2]
        if dow == 1:  # Sunday: the Monday after, or the Friday before for the last day
            return [n + 1] if n < ndays else [n - 2]
        return [n]
    if kind == "last_dow":
        d = ndays
        while _aws_dow(year, month, d) != spec.n:
            d -= 1
        return [d]
    if kind == "nth":
        first = 1 + (spec.n - _aws_dow(year, month, 1)) % 7
        d = first + 7 * (spec.k - 1)
        return [d] if d <= ndays else []
    raise AssertionError(kind)  # pragma: no cover


def _at_or_after(values: list[int], v: int) -> list[int]:
    return values[bisect_left(values, v) :]


class CronSchedule(Schedule):
    """``cron(minutes hours day-of-month month day-of-week year)``, in UTC.

    Fires at second 0 of every matching minute. :meth:`next_after` walks the fields from
    the year down, so it jumps over non-matching years, months, days and hours instead of
    stepping minute by minute.
    """

    def __init__(self, expression: str) -> None:
        if not (expression.startswith("cron(") and expression.endswith(")")):
            raise _invalid()
        fields = expression[5:-1].split()
        if len(fields) != 6:
            raise _invalid()
        minutes, hours, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise _invalid()
        if "?" in minutes + hours + month + year:
            raise _invalid()
        self.expression = expression
        self.minutes = sorted(_values(minutes, _MINUTES))
        self.hours = sorted(_values(hours, _HOURS))
        self.months = sorted(_values(month, _MONTH))
        self.years = sorted(_values(year, _YEAR))
        self._day_spec = _parse_dom(dom) if dow == "?" else _parse_dow(dow)

    def days_in(self, year: int, month: int) -> list[int]:
        """The days of ``year-month`` this schedule fires on (ignoring the year and month
        fields), ascending."""
        return _days(self._day_spec, year, month)

    def next_after(self, t: datetime) -> datetime | None:
        t = _as_utc(t)
        if t.year > MAX_YEAR:
            return None
        c = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for year in _at_or_after(self.years, c.year):
            same_y = year == c.year
            for month in _at_or_after(self.months, c.month if same_y else 1):
                same_m = same_y and month == c.month
                for day in _at_or_after(self.days_in(year, month), c.day if same_m else 1):
                    same_d = same_m and day == c.day
                    for hour in _at_or_after(self.hours, c.hour if same_d else 0):
                        same_h = same_d and hour == c.hour
                        minutes = _at_or_after(self.minutes, c.minute if same_h else 0)
                        if minutes:
                            return datetime(year, month, day, hour, minutes[0], tzinfo=UTC)
        return None


# --------------------------------------------------------------------------- entry points


def parse_schedule(expression: str, start: datetime | None = None) -> Schedule:
    """Parse a ``ScheduleExpression``; raise ``ValidationException`` if AWS would refuse it.

    ``start`` (aware) anchors a rate expression (when its rule was created or enabled); it
    is ignored for cron expressions. See :class:`RateSchedule` for the default.
    """
    if not isinstance(expression, str):
        raise _invalid()
    if expression.startswith("rate("):
        return RateSchedule(expression, start)
    if expression.startswith("cron("):
        return CronSchedule(expression)
    raise _invalid()


def due_times(
    schedule: Schedule, after: datetime, until: datetime, limit: int = 1000
) -> list[datetime]:
    """Every firing of ``schedule`` in ``(after, until]``, ascending, at most ``limit``.

    When more than ``limit`` firings fall in the window the earliest ``limit`` are returned
    (the caller can ask again from the last one).
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    until = _as_utc(until, "until")
    out: list[datetime] = []
    t: datetime | None = _as_utc(after, "after")
    while len(out) < limit:
        assert t is not None
        t = schedule.next_after(t)
        if t is None or t > until:
            break
        out.append(t)
    return out


# --------------------------------------------------------------------------- clocks


class Clock(Protocol):
    """Where the bus reads time: wall-clock UTC for schedules, a monotonic counter for
    durations."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a counter that never goes backwards."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to; safe to share between threads.

    ``monotonic()`` starts at 0.0 and moves with :meth:`advance`, and with :meth:`set` when
    that moves forward; setting the wall clock backwards leaves it where it is.
    """

    def __init__(self, start: datetime) -> None:
        self._now = _as_utc(start, "start")
        self._mono = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds`` (not negative)."""
        if not seconds >= 0:
            raise ValueError(f"cannot advance a clock by {seconds!r} seconds")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds

    def set(self, t: datetime) -> None:
        """Set the wall clock to ``t`` (aware)."""
        t = _as_utc(t)
        with self._lock:
            forward = _total_us(t - self._now)
            if forward > 0:
                self._mono += forward / 1_000_000
            self._now = t

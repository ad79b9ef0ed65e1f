"""When a journey touchpoint is due: local windows, business days, public holidays and DST.

Every datetime taken or returned is timezone-aware; every datetime returned is in UTC. Nothing here
reads the clock: the caller passes the instant it is reasoning about.

Business days come from the ``holidays`` package: its per-country weekend (which also knows about
historic changes, e.g. the UAE moving to Saturday+Sunday in 2022), its moved working days, and its
public holidays (including "observed" days). A country the package does not know, or ``None``,
falls back to a Saturday+Sunday weekend without public holidays rather than failing the engine.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Sequence
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "LocalWindow",
    "is_business_day",
    "add_business_days",
    "due_at",
    "earliest_slot",
    "next_business_morning",
    "in_window",
    "time_zone",
    "shift",
    "add_business_hours",
    "business_hours_between",
]

UTC = timezone.utc

_DEFAULT_WEEKEND = frozenset({5, 6})  # Saturday, Sunday


@lru_cache(maxsize=None)
def time_zone(key: str | None) -> ZoneInfo:
    """The (cached) ZoneInfo for an IANA key; UTC when none is set (a person or customer without a zone)."""
    return ZoneInfo(key or "UTC")


@dataclass(frozen=True)
class LocalWindow:
    """Hours of a day, in one time zone, during which a touchpoint may happen."""

    tz: str
    start: time
    end: time
    country: str | None
    business_days: bool = True

    def __post_init__(self) -> None:
        # Fail when the journey is saved, not at 3 a.m. in the tick.
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("LocalWindow start/end are local wall-clock times and must be naive")
        if not self.end > self.start:
            raise ValueError(
                f"LocalWindow end {self.end.isoformat()} must be after start "
                f"{self.start.isoformat()}"
            )
        try:
            ZoneInfo(self.tz)  # strict: a window names its zone (no UTC default)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError on malformed keys
            raise ValueError(f"unknown time zone {self.tz!r}") from exc


# --- business days -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Year:
    """Business days of one country in one calendar year, as sorted proleptic ordinals."""

    ordinals: tuple[int, ...]
    members: frozenset[int]


# Plain dict rather than lru_cache: it is hit on every step of every enrollment, and the key space
# (countries x years actually used) is small.
_YEARS: dict[tuple[str | None, int], _Year] = {}


def _country_key(country: str | None) -> str | None:
    return country.strip().upper() if country and country.strip() else None


def _year(country: str | None, year: int) -> _Year:
    """Return the business days of `country` in `year`, computing them once."""
    key = (country, year)
    cached = _YEARS.get(key)
    if cached is not None:
        return cached
    first = date(year, 1, 1).toordinal()
    last = date(year, 12, 31).toordinal()
    calendar = None
    if country is not None:
        try:
            calendar = holidays.country_holidays(country, years=year)
        except NotImplementedError:
            calendar = None
    if calendar is None:
        ordinals = tuple(
            o
            for o in range(first, last + 1)
            if date.fromordinal(o).weekday() not in _DEFAULT_WEEKEND
        )
    else:
        # is_working_day knows the country's weekend for that date and its moved working days.
        ordinals = tuple(
            o for o in range(first, last + 1) if calendar.is_working_day(date.fromordinal(o))
        )
    result = _Year(ordinals, frozenset(ordinals))
    _YEARS[key] = result
    return result


def is_business_day(day: date, country: str | None) -> bool:
    """Tell whether `day` is neither a weekend day nor a public holiday in `country`."""
    if isinstance(day, datetime):
        day = day.date()
    return day.toordinal() in _year(_country_key(country), day.year).members


def add_business_days(day: date, n: int, country: str | None) -> date:
    """Return the n-th business day after `day` (before if n < 0); n == 0 rolls forward to one."""
    if isinstance(day, datetime):
        day = day.date()
    country = _country_key(country)
    year = day.year
    ordinal = day.toordinal()
    if n >= 0:
        cal = _year(country, year)
        # n == 0 means "this day, or the next business day"; n > 0 counts days strictly after.
        index = bisect.bisect_left(cal.ordinals, ordinal) if n == 0 else bisect.bisect_right(
            cal.ordinals, ordinal
        )
        remaining = max(n - 1, 0)
        while index + remaining >= len(cal.ordinals):
            remaining -= len(cal.ordinals) - index
            year += 1
            cal = _year(country, year)
            index = 0
        return date.fromordinal(cal.ordinals[index + remaining])
    cal = _year(country, year)
    index = bisect.bisect_left(cal.ordinals, ordinal) - 1
    remaining = -n - 1
    while index - remaining < 0:
        remaining -= index + 1
        year -= 1
        cal = _year(country, year)
        index = len(cal.ordinals) - 1
    return date.fromordinal(cal.ordinals[index - remaining])


# --- local wall clock -> UTC ---------------------------------------------------------------------


def _require_aware(dt: datetime, name: str) -> None:
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {dt.isoformat()}")


def _gap_end(tz: ZoneInfo, before: timedelta, after: timedelta, wall: datetime) -> datetime:
    """Return the UTC instant at which the DST gap containing the naive `wall` ends."""
    # The transition lies between the two readings of the wall time; tz transitions fall on whole
    # seconds, so bisect over integer epoch seconds.
    epoch = datetime(1970, 1, 1)
    lo = int((wall - after - epoch).total_seconds()) - 1  # still on the old offset
    hi = int((wall - before - epoch).total_seconds()) + 1  # already on the new offset
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


@lru_cache(maxsize=65536)
def _local_to_utc(tz_key: str, ordinal: int, at: time) -> datetime:
    """Return the UTC instant of wall-clock `at` on local day `ordinal` in `tz_key`.

    A wall time skipped by a spring-forward gap becomes the first instant after the gap; a wall time
    repeated by a fall-back is taken at its first occurrence.
    """
    tz = time_zone(tz_key)
    wall = datetime.combine(date.fromordinal(ordinal), at)
    first = wall.replace(tzinfo=tz, fold=0)
    off0 = first.utcoffset()
    off1 = wall.replace(tzinfo=tz, fold=1).utcoffset()
    # PEP 495: in a gap fold=1 reads the later (larger) offset; in an overlap, the smaller one.
    if off1 > off0:
        return _gap_end(tz, off0, off1, wall)
    return (wall - off0).replace(tzinfo=UTC)


def _local_date(dt: datetime, tz_key: str) -> date:
    return dt.astimezone(time_zone(tz_key)).date()


def _to_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def _open_on(window: LocalWindow, ordinal: int) -> bool:
    if not window.business_days:
        return True
    return is_business_day(date.fromordinal(ordinal), window.country)


@lru_cache(maxsize=65536)
def _interval(window: LocalWindow, ordinal: int) -> tuple[datetime, datetime] | None:
    """Return the window's UTC [start, end) on local day `ordinal`, or None if closed that day."""
    if not _open_on(window, ordinal):
        return None
    start = _local_to_utc(window.tz, ordinal, window.start)
    end = _local_to_utc(window.tz, ordinal, window.end)
    # A window lying wholly inside a DST gap never opens that day.
    return (start, end) if end > start else None


# --- public scheduling ---------------------------------------------------------------------------


def due_at(anchor: datetime, day_offset: int, window: LocalWindow) -> datetime:
    """Return the UTC instant of window.start on the anchor's local date plus `day_offset` days."""
    _require_aware(anchor, "anchor")
    local = _local_date(anchor, window.tz)
    if window.business_days:
        day = add_business_days(local, day_offset, window.country)
    else:
        day = local + timedelta(days=day_offset)
    # Deliberately not moved past `anchor` when day 0's window already began: the caller decides
    # whether a step in the past is skipped or sent.
    return _local_to_utc(window.tz, day.toordinal(), window.start)


def in_window(dt: datetime, window: LocalWindow) -> bool:
    """Tell whether instant `dt` lies inside the window, on a day the window is open."""
    _require_aware(dt, "dt")
    span = _interval(window, _local_date(dt, window.tz).toordinal())
    if span is None:
        return False
    utc = _to_utc(dt)
    return span[0] <= utc < span[1]


def _next_open(
    window: LocalWindow, t: datetime, limit: datetime
) -> tuple[datetime, datetime] | None:
    """Return the window's first interval ending after `t` and starting before `limit`."""
    # Start a day early: around fall-back at midnight, yesterday's window can still be open.
    ordinal = _local_date(t, window.tz).toordinal() - 1
    last = _local_date(limit, window.tz).toordinal()
    while ordinal <= last:
        span = _interval(window, ordinal)
        if span is not None and span[1] > t:
            return span if span[0] <= limit else None
        ordinal += 1
    return None


def earliest_slot(
    candidate: datetime, windows: Sequence[LocalWindow], max_days: int = 21
) -> datetime | None:
    """Return the earliest instant >= candidate inside all windows at once, None past max_days."""
    _require_aware(candidate, "candidate")
    t = _to_utc(candidate)
    if not windows:
        return t
    limit = t + timedelta(days=max_days)
    while t <= limit:
        latest_start = t
        for window in windows:
            span = _next_open(window, t, limit)
            if span is None:
                return None
            if span[0] > latest_start:
                latest_start = span[0]
        if latest_start == t:
            # Every window's current interval contains t (each ends after t, none starts later).
            return t
        # No instant before latest_start can be in all windows; jump there and re-check.
        t = latest_start
    return None


def next_business_morning(after: datetime, window: LocalWindow) -> datetime:
    """Return window.start on the first open day strictly after `after`'s local date, in UTC."""
    # "Open day" is a business day of window.country, or any day when the window ignores them.
    return due_at(after, 1, window)


def shift(dt: datetime, delta: timedelta) -> datetime:
    """Return `dt` moved by `delta` of elapsed time, in UTC; a pause keeps durations."""
    _require_aware(dt, "dt")
    return _to_utc(dt) + delta


# --- business hours (complaint targets: retention/complaints/sla.py) ------------------------------

# No calendar has a whole year without a business day; past this many days the caller's hours cannot be counted.
_MAX_DAYS_COUNTED = 3660


def add_business_hours(start: datetime, hours: float | timedelta, window: LocalWindow) -> datetime:
    """Return the UTC instant `hours` of the window's open time after `start` (weekends, holidays, DST counted).

    Time before the window opens or after it closes does not count; a start outside the window counts from the
    next opening. Ending exactly at a day's close returns that close (due by 17:00, not 09:00 the next day).
    """
    _require_aware(start, "start")
    remaining = hours if isinstance(hours, timedelta) else timedelta(hours=float(hours))
    t = _to_utc(start)
    if remaining <= timedelta(0):
        return t
    ordinal = _local_date(t, window.tz).toordinal() - 1  # a day early: see _next_open
    for ordinal in range(ordinal, ordinal + _MAX_DAYS_COUNTED):
        span = _interval(window, ordinal)
        if span is None or span[1] <= t:
            continue
        begin = max(span[0], t)
        available = span[1] - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise ValueError(f"no business hours in {_MAX_DAYS_COUNTED} days of {window!r}")


def business_hours_between(start: datetime, end: datetime, window: LocalWindow) -> timedelta:
    """Return how much of the window's open time lies between `start` and `end` (negative when end < start)."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    a, b = _to_utc(start), _to_utc(end)
    if b < a:
        return -business_hours_between(end, start, window)
    total = timedelta(0)
    first = _local_date(a, window.tz).toordinal() - 1
    last = _local_date(b, window.tz).toordinal() + 1
    for ordinal in range(first, min(last, first + _MAX_DAYS_COUNTED) + 1):
        span = _interval(window, ordinal)
        if span is None:
            continue
        lo, hi = max(span[0], a), min(span[1], b)
        if hi > lo:
            total += hi - lo
    return total

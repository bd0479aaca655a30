"""When reminders go out: offsets before a meeting, Stockholm time, no SMS at night.

Whole-day offsets (48 h) keep the wall-clock time ("two days before, same time"), so a
summer-time switch in between does not shift them by an hour; shorter offsets (2 h) are
elapsed time. A reminder that would land in quiet hours (21:00-08:00) is moved EARLIER,
to 20:59 the evening before, never dropped and never later (later would be too close).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")
QUIET_FROM, QUIET_UNTIL, LAST_BEFORE_QUIET = time(21, 0), time(8, 0), time(20, 59)
DEFAULT_OFFSETS = (timedelta(hours=48), timedelta(hours=2))


def reminder_offsets(hours: Iterable[float]) -> tuple[timedelta, ...]:
    """The configured reminder times (REMINDER_OFFSETS_HOURS), or the defaults."""
    return tuple(timedelta(hours=h) for h in hours) or DEFAULT_OFFSETS


_DAY = timedelta(days=1)


def local_wall_time(day: date, at: time) -> datetime:
    """A Stockholm wall-clock time as an aware UTC instant (zoneinfo picks the offset)."""
    return datetime.combine(day, at, tzinfo=STOCKHOLM).astimezone(UTC)


def before(starts_at: datetime, offset: timedelta) -> datetime:
    """The instant `offset` before the meeting (whole days on the Stockholm calendar)."""
    if offset % _DAY == timedelta(0):
        local = starts_at.astimezone(STOCKHOLM)
        return local_wall_time(local.date() - offset // _DAY * _DAY, local.time())
    return starts_at.astimezone(UTC) - offset  # elapsed time: arithmetic in UTC


def out_of_quiet_hours(at: datetime) -> datetime:
    """Move an instant inside 21:00-08:00 Stockholm back to 20:59 that evening."""
    local = at.astimezone(STOCKHOLM)
    if local.time() >= QUIET_FROM:
        return local_wall_time(local.date(), LAST_BEFORE_QUIET)
    if local.time() < QUIET_UNTIL:
        return local_wall_time(local.date() - _DAY, LAST_BEFORE_QUIET)
    return at.astimezone(UTC)


def in_quiet_hours(at: datetime) -> bool:
    local = at.astimezone(STOCKHOLM).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def first_allowed(now: datetime, *, before: datetime) -> datetime:
    """Now, or 08:00 if it is night, unless that would be too late for `before`."""
    if not in_quiet_hours(now):
        return now.astimezone(UTC)
    local = now.astimezone(STOCKHOLM)
    day = local.date() + (_DAY if local.time() >= QUIET_FROM else timedelta(0))
    morning = local_wall_time(day, QUIET_UNTIL)
    return morning if morning < before else now.astimezone(UTC)


def reminder_times(
    starts_at: datetime, *, offsets: Iterable[timedelta] = DEFAULT_OFFSETS, now: datetime
) -> list[datetime]:
    """Send times (UTC, ascending, distinct) still ahead of `now`; passed ones are skipped."""
    times = {out_of_quiet_hours(before(starts_at, offset)) for offset in offsets}
    return sorted(t for t in times if now < t < starts_at)


def add_months(starts_at: datetime, months: int) -> datetime:
    """Same Stockholm wall-clock time `months` later (day clamped, weekend -> Monday)."""
    local = starts_at.astimezone(STOCKHOLM)
    year, month0 = divmod(local.month - 1 + months, 12)
    year += local.year
    day = min(local.day, calendar.monthrange(year, month0 + 1)[1])
    target = date(year, month0 + 1, day)
    if target.weekday() >= 5:  # meetings are held on weekdays
        target += timedelta(days=7 - target.weekday())
    return local_wall_time(target, local.time())
